"""What the text and Markdown reports say in the same words: the summary lines and the rows of
their tables. The renderers only lay these out (tabulate or pipe tables, wrapping, escaping)."""

from __future__ import annotations

from typing import Any

from analyzer.model import ConnectionGroup, IndexSuggestion, Report, SourceStatus, Statement
from analyzer.report import fmt, rank

CONNECTION_GROUP_HEADERS = ["count", "states", "max idle s", "database", "user", "client", "application"]
RESOLVED_HEADERS = ["severity", "rule", "first seen", "finding"]


def sources_line(r: Report, sep: str) -> str:
    """Every source with its status, e.g. `pg_stat_statements ok · catalog ok`."""
    return sep.join(f"{s.name} {s.status}" for s in r.sources)


def sources_with_detail(r: Report) -> list[SourceStatus]:
    """The sources whose detail says more than the status: how many statements were read, how
    many were hidden or in other databases and what to do about it, why a source was skipped."""
    return [s for s in r.sources if s.detail and s.detail.strip()]


def workload_line(r: Report) -> str:
    with_stats = [s for s in r.statements if s.has_stats]
    work = f"{len(r.statements)} statements"
    if with_stats:
        work += f", {fmt.num(sum(s.calls for s in with_stats))} calls, {fmt.ms(rank.total_ms(r))} total time"
    if r.skipped:
        work += f"; {len(r.skipped)} skipped by the checks"
    return work


def baseline_counts(b: dict[str, Any]) -> str:
    return (
        f"{b.get('generated_at', '?')}: {b.get('new', 0)} new, "
        f"{b.get('persisting', 0)} persisting, {b.get('resolved', 0)} resolved"
    )


def statement_cells(s: Statement, rk: rank.Ranking) -> list[object]:
    """#rank, share, total, calls, mean: the first columns of every statement table."""
    return [f"#{s.index}", fmt.pct(rk.share(s)), fmt.ms(s.total_ms), fmt.num(s.calls), fmt.ms(s.mean_ms)]


def top_statement_cells(s: Statement, rk: rank.Ranking, nfind: dict[int, int]) -> list[object]:
    """The summary's statement row without the text: the numbers, rows per call, findings."""
    return [*statement_cells(s, rk), fmt.num(round(s.rows_per_call, 1)), nfind.get(id(s), 0)]


def ranked_indexes(r: Report) -> list[IndexSuggestion]:
    return sorted(r.index_suggestions, key=lambda i: -i.workload_improvement_pct)


def note_label(note: dict) -> str:
    """#rank of the statement an advice note is about, when it says."""
    for key in ("index", "statement"):
        if isinstance(note.get(key), int):
            return f"#{note[key]}"
    return ""


def note_reason(note: dict) -> str:
    return str(note.get("reason") or note.get("note") or fmt.value_text(note))


def blocked_text(blocked: list[dict[str, Any]]) -> str:
    return "; ".join(f"pid {b.get('pid')} by {b.get('blocked_by')}" for b in blocked)


def longest_active(la: dict[str, Any]) -> tuple[str, str]:
    """(the statement's text, ` (N s)` or empty) of the longest active statement."""
    q = la.get("query") or la.get("text") or ""
    secs = la.get("duration_s") or la.get("age_s") or la.get("seconds")
    return str(q), f" ({fmt.num(secs)} s)" if secs is not None else ""


def connection_group_rows(groups: list[ConnectionGroup], limit: int | None = None) -> list[list[object]]:
    return [
        [
            g.count,
            fmt.value_text(g.by_state),
            fmt.num(g.max_idle_s),
            g.database or "-",
            g.user or "-",
            g.client_addr or "-",
            g.application_name or "-",
        ]
        for g in sorted(groups, key=lambda g: -g.count)[:limit]
    ]


def history_line(h: dict[str, Any]) -> str:
    peak = h.get("peak") or {}
    return (
        f"{h.get('snapshots', 0)} snapshots since {h.get('since') or '?'}"
        + (
            f"; peak {peak.get('used')} used ({fmt.num(peak.get('used_pct'))}%) at {peak.get('taken_at')}"
            if peak
            else ""
        )
        + (f"; p95 {fmt.num(h.get('p95_used_pct'))}%" if h.get("p95_used_pct") is not None else "")
    )


def event_rows(h: dict[str, Any], last: int) -> list[list[object]]:
    events = h.get("events") or []
    return [[e.get("taken_at", ""), e.get("status", ""), e.get("error") or ""] for e in events[-last:]]


def skipped_reasons(r: Report) -> list[list[object]]:
    """[count, reason] rows, the most common reason first."""
    reasons: dict[str, int] = {}
    for sk in r.skipped:
        reason = str(sk.get("reason") or sk.get("detail") or "unknown")
        reasons[reason] = reasons.get(reason, 0) + 1
    return [[n, reason] for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])]


def resolved_rows(r: Report) -> list[list[Any]]:
    """[severity, rule, first seen, finding] of the findings gone since the baseline."""
    return [
        [x.get("severity", ""), x.get("rule", ""), x.get("first_seen") or "-", x.get("title", "")]
        for x in r.resolved_findings
    ]
