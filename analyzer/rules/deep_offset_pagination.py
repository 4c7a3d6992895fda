"""OFFSET paging: the server reads and throws away every row before the page.

Bad::

    SELECT id, title FROM jobs WHERE org_id = $1 ORDER BY created_at DESC LIMIT $2 OFFSET $3

Good (keyset: remember the last row of the previous page)::

    SELECT id, title FROM jobs WHERE org_id = $1 AND (created_at, id) < ($2, $3)
    ORDER BY created_at DESC, id DESC LIMIT $4

Why: page n costs n pages of reads and sorting, so deep pages get slower and slower, and rows
inserted meanwhile shift pages (duplicates, gaps). A keyset condition reads one page through an
index whatever the depth. A constant small OFFSET (under 100) is reported as low.
"""

from __future__ import annotations

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, finding, safe_sql, scaled
from analyzer.rules.keyset import keyset_sql

NAME = "deep-offset-pagination"
SEVERITY = "medium"
TITLE = "OFFSET pagination"


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query:
        return []
    paged = [sc for sc in shape.scopes if sc.offset is not None and sc.offset.strip() not in ("0", "NULL")]
    if not paged:
        return []
    scope = paged[0]
    base = SEVERITY
    offset = scope.offset or ""
    if offset.isdigit():
        value = int(offset)
        base = "high" if value >= 1000 else ("low" if value < 100 else SEVERITY)
    severity = scaled(base, s, ctx)
    sql, keys = keyset_sql(s, scope, ctx) if scope is shape.scopes[0] else (None, [])
    evidence: dict[str, object] = {"offset": "constant" if offset.isdigit() else "parameter",
                                   "order_by": [o.expression for o in scope.order_by],
                                   "tables": [t.key for t in scope.tables]}
    if offset.isdigit():
        evidence["offset_rows"] = int(offset)
    if keys:
        evidence["keyset_columns"] = keys
    message = ("The statement pages with OFFSET: every page reads, sorts and discards all rows of the "
               "pages before it, so deep pages cost more and more.")
    if not scope.order_by:
        message += " It has no ORDER BY either, so pages are not even stable."
    recommendation = ("Replace OFFSET with keyset pagination" + (f" on {', '.join(keys)}" if keys else "")
                      + ": filter on the sort key of the last row seen and keep LIMIT; back it with an "
                      "index on the filter columns followed by the sort keys.")
    return [finding(NAME, severity, TITLE, s, ctx, message=message, recommendation=recommendation,
                    evidence=evidence, suggested_sql=safe_sql(sql))]
