-- Estimated plan of a statement with literal values; nothing is executed.
EXPLAIN (FORMAT JSON) {statement}
