"""A column wrapped in a function or cast in WHERE / JOIN: an index on the column cannot serve it.

Bad::

    SELECT id FROM candidates WHERE lower(email) = $1
    SELECT count(*) FROM applications WHERE created_at::date = $1

Good::

    CREATE INDEX CONCURRENTLY candidates_email_lower_idx ON candidates ((lower(email)));
    SELECT count(*) FROM applications WHERE created_at >= $1::date AND created_at < $1::date + 1

Why: the planner matches an index to an expression only when the index is on that very expression.
`lower(email)` or `created_at::date` hides the column, so a btree on `email` or `created_at` is
useless and the table is scanned. Either index the expression, or rewrite the condition so the
bare column is compared (a range for dates, arithmetic moved to the parameter side). Not reported
when the catalog shows an index on the expression already, nor when the same scope finds its row
by a unique key (`id = $1`): the wrapped condition then only filters that one row.
"""

from __future__ import annotations

import re

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, expression_tag, finding, index_name, scaled, single_row_lookup
from analyzer.sql.shape import EQ, IN, LIKE_PREFIX, RANGE, Predicate

NAME = "non-sargable-predicate"
SEVERITY = "medium"
TITLE = "Function or cast on an indexed column"

_SARGABLE_OPS = (EQ, RANGE, IN, LIKE_PREFIX)


def _norm(text: str) -> str:
    return re.sub(r"[\s()\"]+", "", text.lower())


def _rewrite(p: Predicate) -> str | None:
    e = (p.expression or "").lower()
    col = p.column.column
    if re.fullmatch(r"cast\(\w+ as date\)|\w+::date", e) or e.startswith("date_trunc('day'"):
        return (f"compare the bare column with a half-open range: {col} >= $1::date AND "
                f"{col} < $1::date + 1 (for a timestamp column)")
    if e.startswith(("lower(", "upper(")):
        return (f"index the expression, or store {col} normalized (or as citext) and compare the bare "
                "column")
    if re.search(r"[+\-*/]", e) and "(" not in e:
        return f"move the arithmetic to the parameter side so {col} stands alone"
    if e.startswith("coalesce("):
        return f"split into `{col} = $1 OR {col} IS NULL` style conditions, or index the expression"
    return None


def _has_expression_index(ctx: Context, table: str | None, expression: str) -> bool:
    t = ctx.table(table)
    if t is None:
        return False
    want = _norm(expression)
    return any(i.columns and _norm(i.columns[0]) == want for i in t.indexes)


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query:
        return []
    out: list[Finding] = []
    seen: set[tuple[str | None, str]] = set()
    for scope in shape.scopes:
        found_by_key = scope.tables[0].key if single_row_lookup(scope, ctx) else None
        for p in scope.predicates:
            if not p.expression or p.op not in _SARGABLE_OPS:
                continue
            if found_by_key is not None and p.column.table in (found_by_key, None):
                continue
            table = p.column.table or (scope.tables[0].key if len(scope.tables) == 1 else None)
            if (table, p.expression) in seen or _has_expression_index(ctx, table, p.expression):
                continue
            seen.add((table, p.expression))
            rewrite = _rewrite(p)
            ddl = None
            if table:
                name = index_name(table, p.column.column, *expression_tag(p.expression))
                ddl = (f"CREATE INDEX CONCURRENTLY {name} "
                       f"ON {table} (({p.expression}));")
            where = "a JOIN condition" if p.in_join else "WHERE"
            message = (f"{where} compares {p.expression} rather than the column {p.column.column}"
                       + (f" of {table}" if table else "") + ": an index on the column cannot be used.")
            recommendation = "Create an expression index (suggested SQL)" + (
                f", or {rewrite}" if rewrite else "") + "."
            out.append(finding(NAME, scaled(SEVERITY, s, ctx), TITLE, s, ctx, message=message,
                               recommendation=recommendation,
                               evidence={"table": table, "column": p.column.column,
                                         "expression": p.expression, "operator": p.op,
                                         **({"rewrite": rewrite} if rewrite else {})},
                               suggested_sql=ddl, key=f"{table}.{p.expression}"))
    return out
