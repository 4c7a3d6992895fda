-- Generic plan of a statement with $n parameters (PostgreSQL 16+); the statement is the user's text.
EXPLAIN (GENERIC_PLAN, FORMAT JSON) {statement}
