"""`ORDER BY random()`: reads and sorts the whole input to pick a few rows.

Bad::

    SELECT id, title FROM jobs WHERE org_id = $1 ORDER BY random() LIMIT $2

Good (sample, or pick random keys)::

    SELECT id, title FROM jobs TABLESAMPLE SYSTEM_ROWS(100) WHERE org_id = $1 LIMIT $2
    -- or: WHERE id >= (SELECT floor(random() * max(id)) FROM jobs) ORDER BY id LIMIT $2

Why: every qualifying row gets a random number and the whole set is sorted, whatever the LIMIT,
so the cost grows with the table. TABLESAMPLE (tsm_system_rows) or a random key lookup reads a
handful of pages.
"""

from __future__ import annotations

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, finding, scaled

NAME = "order-by-random"
SEVERITY = "medium"
TITLE = "ORDER BY random()"


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query:
        return []
    for scope in shape.scopes:
        if any(o.expression.lower().replace(" ", "") in ("random()", "rand()") for o in scope.order_by):
            tables = [t.key for t in scope.tables]
            return [finding(NAME, scaled(SEVERITY, s, ctx), TITLE, s, ctx,
                            message=f"ORDER BY random() over {', '.join(tables) or 'the input'}: every "
                            "qualifying row is read and sorted to return a few.",
                            recommendation="Use TABLESAMPLE (SYSTEM_ROWS via tsm_system_rows) or pick "
                            "random key values and read them through the primary key.",
                            evidence={"tables": tables, "limit": scope.limit is not None})]
    return []
