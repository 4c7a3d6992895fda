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

Severity follows what the list really returns. With statistics: under 10 rows per call is info and
under 50 low (the list is naturally bounded, e.g. the applications of one candidate); from 1,000
rows per call high, critical when it is also sorted, returns 10,000 rows or more, or costs a quarter
of the time. Without statistics: the catalog's estimate of rows per value (pg_stats) when known,
else an equality on a `<parent>_id` column (the children of one row) is low, a tenant key such as
`org_id` or no equality at all medium; ORDER BY adds one level.
"""

from __future__ import annotations

from analyzer.model import Finding, Statement
from analyzer.rules.base import (
    Context,
    aggregate_only,
    finding,
    foreign_key_equality,
    rows_per_value,
    safe_sql,
    shift,
    single_row_lookup,
)
from analyzer.rules.keyset import keyset_sql
from analyzer.sql.shape import SELECT

NAME = "unpaged-list"
SEVERITY = "medium"
TITLE = "List query without LIMIT"

FEW_ROWS, BOUNDED_ROWS, MANY_ROWS, HUGE_ROWS = 10, 50, 1000, 10_000


def _measured_severity(rows: float, ordered: bool, share: float) -> str:
    """Severity from the rows per call pg_stat_statements measured and the share of total time."""
    if rows < FEW_ROWS:
        return "info"
    if rows < BOUNDED_ROWS:
        return "low"
    if rows < MANY_ROWS:
        severity = "high" if share >= 0.25 else "medium"
        return shift(severity, -1) if share < 0.001 else severity
    return "critical" if ordered or rows >= HUGE_ROWS or share >= 0.25 else "high"


def _static_severity(estimate: float | None, fk: str | None, ordered: bool) -> str:
    """Severity without statistics: the catalog's rows-per-value estimate, else the predicate."""
    if estimate is not None:
        base = "info" if estimate < FEW_ROWS else "low" if estimate < BOUNDED_ROWS else \
            "medium" if estimate < MANY_ROWS else "high"
    else:
        base = "low" if fk else SEVERITY
    return shift(base, 1) if ordered else base


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
    share = ctx.share(s) if s.calls > 0 else None
    measured = s.rows_per_call if share is not None else None
    estimate = rows_per_value(root, ctx) if root.tables and measured is None else None
    fk = foreign_key_equality(root) if root.tables else None
    if measured is not None and share is not None:
        severity = _measured_severity(measured, ordered, share)
    else:
        severity = _static_severity(estimate, fk, ordered)
    tables = [t.key for t in root.tables] or sorted({t.key for sc in whole for t in sc.tables})
    evidence: dict[str, object] = {"tables": tables}
    if root.order_by:
        evidence["order_by"] = [o.expression + (" DESC" if o.descending else "") for o in root.order_by]
    if estimate is not None:
        evidence["estimated_rows_per_value"] = round(estimate, 1)
    if fk and measured is None and estimate is None:
        evidence["foreign_key_equality"] = fk
    if whole:
        evidence["read_whole"] = [sc.name or sc.kind for sc in whole]
    sql, keys = keyset_sql(s, root, ctx) if root.tables else (None, [])
    if keys:
        evidence["keyset_columns"] = keys
    what = "sorts and returns every matching row" if ordered else "returns every matching row"
    names = ", ".join(sc.name or sc.kind for sc in whole)  # CTE / derived table names
    via = f" (reading {names} whole)" if whole and not root.tables else ""
    message = f"The statement {what} of {', '.join(tables)}{via}: there is no LIMIT or FETCH FIRST."
    if measured is not None:
        message += f" It returns {_rows(measured)} {'row' if _rows(measured) == '1' else 'rows'} per call"
        message += (" (a naturally bounded list: page it only if it can grow)." if measured < BOUNDED_ROWS
                    else ".")
    elif estimate is not None:
        message += f" The catalog's statistics estimate {_rows(estimate)} rows per value of the filter."
    elif fk:
        message += (f" The equality on {fk} looks like a foreign key: the list is probably the few "
                    "children of one row.")
    if measured is not None and measured < BOUNDED_ROWS:
        recommendation = ("Nothing urgent while the list stays this short. If it can grow (more children per "
                          "parent over time), page it with keyset pagination" + (
                              " on " + ", ".join(keys) if keys else "") + " (suggested SQL).")
    elif keys:
        recommendation = ("Page the list with keyset pagination on " + ", ".join(keys) + ": the client "
                          "passes the sort values of the last row it showed, the server reads one page "
                          "through an index on those columns and never sorts the whole result.")
    else:
        recommendation = ("Add LIMIT with an ORDER BY on a unique key and page with keyset pagination "
                          "(WHERE (sort keys) > (last seen) ... LIMIT n).")
    return [finding(NAME, severity, TITLE, s, ctx, message=message, recommendation=recommendation,
                    evidence=evidence, suggested_sql=safe_sql(sql))]


def _rows(n: float) -> str:
    return f"{n:,.0f}" if n >= 100 else f"{n:,.1f}".removesuffix(".0")
