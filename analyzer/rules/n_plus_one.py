"""A cheap single-row statement called orders of magnitude more often than the rest (statistics only).

Bad (one list query, then one lookup per listed row)::

    SELECT id, name FROM candidates WHERE job_id = $1           -- 1,000 calls, 50 rows per call
    SELECT * FROM applications WHERE candidate_id = $1 LIMIT 1  -- 50,000 calls, 1 row per call

Good (one round trip for the whole page)::

    SELECT c.id, c.name, a.status FROM candidates c
    LEFT JOIN applications a ON a.candidate_id = c.id WHERE c.job_id = $1
    -- or: SELECT ... FROM applications WHERE candidate_id = ANY($1)

Why: each call costs a network round trip, a connection held for longer and executor start-up;
sub-millisecond statements called a hundred times more often than the others usually come from
a loop in the application (an ORM's lazy load). The evidence names the statements whose rows
match the number of calls, the likely driver of the loop. Needs pg_stat_statements counters: not
reported for files.
"""

from __future__ import annotations

from statistics import median

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, finding, redact, scaled, single_row_lookup
from analyzer.sql.shape import SELECT

NAME = "n-plus-one"
SEVERITY = "medium"
TITLE = "Single-row statement called in a loop (N+1)"
NEEDS_STATS = True

MIN_CALLS = 1000
RATIO = 100.0  # "orders of magnitude": at least 100x the median of the other statements
CHEAP_MS = 2.0


def _single_row(s: Statement, ctx: Context) -> bool:
    shape = s.shape
    if shape is None or not shape.is_query or shape.kind != SELECT or shape.root is None:
        return False
    if s.calls and s.rows_per_call <= 1.0:
        return True
    return single_row_lookup(shape.root, ctx) or shape.root.limit == "1"


def check(s: Statement, ctx: Context) -> list[Finding]:
    if not s.has_stats or s.calls < MIN_CALLS or s.mean_ms > CHEAP_MS or not _single_row(s, ctx):
        return []
    others = [o for o in ctx.statements if o is not s and o.has_stats and o.calls > 0]
    if len(others) < 2:
        return []
    typical = median(o.calls for o in others)
    if typical <= 0 or s.calls < RATIO * typical:
        return []
    drivers = sorted((o for o in others if o.rows > 0 and 0.5 * s.calls <= o.rows <= 2.0 * s.calls
                      and o.calls < s.calls / 10), key=lambda o: abs(o.rows - s.calls))[:3]
    evidence: dict[str, object] = {
        "calls": s.calls, "median_calls_of_others": typical, "ratio": round(s.calls / typical, 1),
        "mean_ms": round(s.mean_ms, 3),
        "likely_drivers": [{"index": o.index, "fingerprint": o.fingerprint, "calls": o.calls, "rows": o.rows,
                            "text": redact(o.text)[:200]} for o in drivers],
    }
    which = "; ".join(f"#{o.index} ({o.calls} calls returning {o.rows} rows)" for o in drivers)
    message = (f"This cheap single-row statement ran {s.calls} times, {s.calls / typical:.0f}x the median "
               f"of the other statements ({typical:g} calls): the pattern of a per-row loop in the "
               "application.")
    if which:
        message += f" Rows returned by {which} match its number of calls: the likely driver."
    return [finding(NAME, scaled(SEVERITY, s, ctx), TITLE, s, ctx, message=message,
                    recommendation="Fetch the rows for the whole list in one statement (a JOIN with the "
                    "driving query, or `= ANY($1)` with the list of keys) instead of one call per row.",
                    evidence=evidence)]
