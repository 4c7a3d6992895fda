"""`*` or `alias.*` in a query that joins: every column of the expanded tables crosses the wire.

Bad::

    SELECT c.* FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id WHERE c.id = $1

Good::

    SELECT c.id, c.name, c.email, a.status FROM candidates c
    LEFT JOIN applications a ON a.candidate_id = c.id WHERE c.id = $1

Why: a join multiplies rows (a LEFT JOIN to a child table repeats the parent's columns once per
child), and `*` repeats every wide column (notes, resumes, JSON) on each of them. The reply grows,
index-only scans become impossible, and a column added to a table silently widens every such
query. List the columns the caller uses.

Severity follows what the star really costs: bytes per call (rows per call measured by
pg_stat_statements times the bytes per row from pg_stats avg_width), not the statement's share of
the time, which usually comes from its plan (a scan the plan check and the index advice cover).
With statistics: under 8 KB per call (or, with no width known, under 10 rows per call) low, medium
from 1% of the time; from 1 MB or 1,000 rows per call high, critical when it also takes a quarter
of the time; in between medium, one level more for a quarter of the time or 50 expanded columns and
one less under 0.1% of the time, never above high. Without statistics (lint), or without measured
rows (Performance Insights lacking its rows statistic): medium, high when a LEFT JOIN can multiply
rows.
"""

from __future__ import annotations

from sqlglot import exp

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, finding, redacted_tree, safe_sql, shift, to_sql, unique_keys
from analyzer.sql.shape import Scope, TableRef

NAME = "wide-select-join"
SEVERITY = "medium"
TITLE = "SELECT * across a join"

SMALL_BYTES, LARGE_BYTES = 8 * 1024, 1024 * 1024
FEW_ROWS, MANY_ROWS = 10, 1000
WIDE_COLUMNS = 50
BIG_SHARE, SOME_SHARE, TINY_SHARE = 0.25, 0.01, 0.001


def _measured_severity(rows: float, bytes_per_call: float | None, columns: int, share: float) -> str:
    """Severity from what one call carries; the share of time moves it one level at most."""
    if rows >= MANY_ROWS or (bytes_per_call is not None and bytes_per_call >= LARGE_BYTES):
        return "critical" if share >= BIG_SHARE else "high"
    if (bytes_per_call < SMALL_BYTES) if bytes_per_call is not None else rows < FEW_ROWS:
        return "medium" if share >= SOME_SHARE else "low"
    steps = int(share >= BIG_SHARE) + int(columns >= WIDE_COLUMNS) - int(share < TINY_SHARE)
    return shift(SEVERITY, min(steps, 1))


def _measured_rows(s: Statement, ctx: Context) -> float | None:
    """Rows per call when the source measured them: Performance Insights may lack the rows
    statistic (then rows is 0 without meaning 0), and a statement without calls has no per-call."""
    if ctx.share(s) is None or s.calls <= 0:
        return None
    pi_stats = s.extra.get("pi_stats")
    if isinstance(pi_stats, dict) and "rows_per_call" not in pi_stats:
        return None
    return s.rows_per_call


def _bytes(n: float) -> str:
    if n >= LARGE_BYTES:
        return f"{n / LARGE_BYTES:,.1f} MB"
    if n >= 1024:
        return f"{n / 1024:,.1f} KB"
    return f"{n:,.0f} bytes"


def _expanded(scope: Scope) -> list[TableRef]:
    out: list[TableRef] = []
    for star in scope.stars:
        if star == "*":
            out += scope.tables
        else:
            out += [t for t in scope.tables
                    if (t.alias or t.name.rsplit(".", 1)[-1]) == star or t.name == star]
    return out


def _multiplying_left_joins(scope: Scope, ctx: Context) -> list[str]:
    """LEFT JOINed tables whose ON columns are not a unique key of the joined table (from the
    catalog; without it every LEFT JOIN may multiply rows)."""
    out: list[str] = []
    for j in scope.joins:
        if j.kind != "left":
            continue
        cols = {c.column for pair in j.on for c in pair if c.table == j.table.key}
        keys = unique_keys(ctx.table(j.table))
        if keys and any(all(k in cols for k in key) for key in keys):
            continue
        out.append(j.table.alias or j.table.name)
    return out


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query:
        return []
    hits = [sc for sc in shape.scopes if sc.stars and sc.joins]
    if not hits:
        return []
    scope = hits[0]
    expanded = _expanded(scope)
    aliases = [star if star != "*" else "*" for star in scope.stars]
    evidence: dict[str, object] = {"expanded": aliases, "joins": [j.kind for j in scope.joins],
                                   "tables": [t.key for t in scope.tables]}
    columns: list[str] = []
    width = 0
    known = True
    for ref in expanded:
        table = ctx.table(ref)
        if table is None or not table.columns:
            known = False
            continue
        prefix = ref.alias or ref.name.rsplit(".", 1)[-1]
        columns += [f"{prefix}.{c.name}" for c in table.columns]
        width += sum(c.avg_width or 0 for c in table.columns)
    if columns:
        evidence["expanded_columns"] = len(columns)
        if known and width:
            evidence["estimated_bytes_per_row"] = width
    multiplying = _multiplying_left_joins(scope, ctx)
    if multiplying:
        evidence["left_joins_may_multiply_rows"] = multiplying
    share = ctx.share(s)
    rows = _measured_rows(s, ctx)
    bytes_per_call = rows * width if rows is not None and known and width else None
    if share is None or rows is None:
        severity = shift(SEVERITY, 1) if multiplying else SEVERITY
    else:
        severity = _measured_severity(rows, bytes_per_call, len(columns), share)
        if bytes_per_call is not None:
            evidence["estimated_bytes_per_call"] = round(bytes_per_call)
    what = ", ".join(f"{a}.*" if a != "*" else "*" for a in aliases)
    message = f"The statement selects {what} while joining {len(scope.joins)} table(s)"
    if columns:
        message += f": {len(columns)} columns per row"
        if known and width:
            message += f", about {width} bytes per row by pg_stats"
    if rows is not None:
        message += f"; {rows:,.1f} rows per call" if rows < FEW_ROWS else f"; {rows:,.0f} rows per call"
        if bytes_per_call is not None:
            message += f", about {_bytes(bytes_per_call)} per call"
    message += "."
    if multiplying:
        message += (f" LEFT JOIN to {', '.join(multiplying)} can repeat each row once per joined row, "
                    "with every expanded column repeated as well.")
    suggested = None
    if columns and known:
        tree = redacted_tree(s)
        if isinstance(tree, exp.Select):
            keep = [e for e in tree.expressions if not _is_star(e)]
            tree.set("expressions", [exp.column(c.split(".")[1], c.split(".")[0]) for c in columns] + keep)
            suggested = safe_sql(to_sql(tree))
    recommendation = ("List only the columns the caller uses instead of "
                      f"{what}" + (" (start from the list in the suggested SQL and remove what is not "
                                   "needed)" if suggested else "") + "; it narrows every joined row and "
                      "can allow index-only scans.")
    return [finding(NAME, severity, TITLE, s, ctx, message=message, recommendation=recommendation,
                    evidence=evidence, suggested_sql=suggested)]


def _is_star(e: exp.Expression) -> bool:
    return isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
