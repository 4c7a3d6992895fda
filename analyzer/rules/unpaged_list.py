"""A statement returns every matching row: no LIMIT / FETCH FIRST.

Bad::

    SELECT c.id, c.name FROM candidates c WHERE c.status = $1 ORDER BY c.created_at DESC

Good (keyset pagination: the client passes the last row it saw)::

    SELECT c.id, c.name FROM candidates c
    WHERE c.status = $1 AND (c.created_at, c.id) < ($2, $3)
    ORDER BY c.created_at DESC, c.id DESC LIMIT $4

Why: the work and the reply grow with the table. With ORDER BY the whole result is sorted before
the first row leaves the server; a caller with a 3 s timeout (a Lambda) times out as the table
grows, and retries pile up connections. Not reported for one-row results (aggregates without GROUP
BY, EXISTS), lookups by a unique key, grouped results, INSERT ... SELECT, or truncated texts (the
LIMIT may be in the part that was cut). A CTE or subquery read whole by an unlimited outer query
counts.
"""

from __future__ import annotations

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, aggregate_only, finding, safe_sql, scaled, shift, single_row_lookup
from analyzer.rules.keyset import keyset_sql
from analyzer.sql.shape import SELECT

NAME = "unpaged-list"
SEVERITY = "medium"
TITLE = "List query without LIMIT"


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query or shape.kind != SELECT or shape.truncated:
        return []
    root = shape.root
    if root is None or root.limit is not None or aggregate_only(root) or root.group_by:
        return []
    whole = [sc for sc in shape.scopes[1:] if sc.reads_whole and sc.tables and not aggregate_only(sc)
             and not sc.group_by and sc.limit is None]
    if not root.tables and not whole:
        return []
    if root.tables and single_row_lookup(root, ctx):
        return []
    if not root.tables and all(single_row_lookup(sc, ctx) for sc in whole):
        return []
    ordered = bool(root.order_by) or any(sc.order_by for sc in whole)
    severity = scaled(shift(SEVERITY, 1) if ordered else SEVERITY, s, ctx, rows_matter=True)
    tables = [t.key for t in root.tables] or sorted({t.key for sc in whole for t in sc.tables})
    evidence: dict[str, object] = {"tables": tables}
    if root.order_by:
        evidence["order_by"] = [o.expression + (" DESC" if o.descending else "") for o in root.order_by]
    if whole:
        evidence["read_whole"] = [sc.name or sc.kind for sc in whole]
    sql, keys = keyset_sql(s, root, ctx) if root.tables else (None, [])
    if keys:
        evidence["keyset_columns"] = keys
    what = "sorts and returns every matching row" if ordered else "returns every matching row"
    names = ", ".join(sc.name or sc.kind for sc in whole)  # CTE / derived table names
    via = f" (reading {names} whole)" if whole and not root.tables else ""
    message = f"The statement {what} of {', '.join(tables)}{via}: there is no LIMIT or FETCH FIRST."
    if keys:
        recommendation = ("Page the list with keyset pagination on " + ", ".join(keys) + ": the client "
                          "passes the sort values of the last row it showed, the server reads one page "
                          "through an index on those columns and never sorts the whole result.")
    else:
        recommendation = ("Add LIMIT with an ORDER BY on a unique key and page with keyset pagination "
                          "(WHERE (sort keys) > (last seen) ... LIMIT n).")
    return [finding(NAME, severity, TITLE, s, ctx, message=message, recommendation=recommendation,
                    evidence=evidence, suggested_sql=safe_sql(sql))]
