"""LIKE / ILIKE with a pattern that starts with a wildcard (or is a parameter that may).

Bad::

    SELECT id, name FROM candidates WHERE name ILIKE '%' || $1 || '%'

Good (a trigram index serves infix and ILIKE searches)::

    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX CONCURRENTLY candidates_name_trgm_idx ON candidates USING gin (name gin_trgm_ops);

Why: a btree can only serve a LIKE whose pattern starts with fixed text (and, in a non-C
collation, only with text_pattern_ops); `%term%` reads the whole table on every keystroke of a
search box. pg_trgm's GIN index finds the rows from trigrams. A pattern given as a parameter is
reported as low: whether it starts with % depends on the caller.
"""

from __future__ import annotations

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, expression_tag, finding, index_name, quote_ident, scaled
from analyzer.sql.shape import LIKE_INFIX

NAME = "leading-wildcard-like"
SEVERITY = "medium"
TITLE = "LIKE with a leading wildcard"


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query:
        return []
    out: list[Finding] = []
    seen: set[tuple[str | None, str]] = set()
    for scope in shape.scopes:
        for p in scope.predicates:
            if p.op != LIKE_INFIX:
                continue
            table = p.column.table or (scope.tables[0].key if len(scope.tables) == 1 else None)
            target = p.expression or p.column.column
            if (table, target) in seen:
                continue
            seen.add((table, target))
            known_pattern = p.constant
            base = SEVERITY if known_pattern else "low"
            op = "ILIKE" if p.case_insensitive else "LIKE"
            col_sql = f"({p.expression})" if p.expression else quote_ident(p.column.column)
            ddl = None
            if table:
                name = index_name(table, p.column.column, *expression_tag(p.expression), suffix="trgm_idx")
                ddl = ("CREATE EXTENSION IF NOT EXISTS pg_trgm;\n"
                       f"CREATE INDEX CONCURRENTLY {name} "
                       f"ON {table} USING gin ({col_sql} gin_trgm_ops);")
            message = (f"{op} on {table + '.' if table else ''}{target} with a pattern that "
                       + ("starts with a wildcard" if known_pattern else "is a parameter (it may start with "
                                                                           "a wildcard)")
                       + ": no btree index can serve it, so every row is read and matched.")
            out.append(finding(NAME, scaled(base, s, ctx), TITLE, s, ctx, message=message,
                               recommendation="Create a pg_trgm GIN index on the column (suggested SQL), or "
                               "search a prefix (`term%`) when that is what users need.",
                               evidence={"table": table, "column": p.column.column, "operator": op,
                                         "pattern": "constant" if known_pattern else "parameter",
                                         **({"expression": p.expression} if p.expression else {})},
                               suggested_sql=ddl, key=f"{table}.{target}"))
    return out
