"""What to fix first: statements by share of total time, findings by impact, grouped by statement.

A statement's share is its total time over the workload's total time. Findings of a statement
rank by that share, then by severity; a finding about the whole server (connection slots, a
guard that is missing) has no share: high and critical ones come before every statement, because
they hurt all of them, the others after.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.model import Finding, Report, Statement, severity_rank

SERVER_FIRST_RANK = severity_rank("high")


@dataclass
class FindingGroup:
    statement: Statement | None  # None: findings about the server, or of an unknown statement
    share: float | None  # 0..1 of the workload's total time; None without counters
    findings: list[Finding] = field(default_factory=list)

    @property
    def top_severity(self) -> int:
        return max((severity_rank(f.severity) for f in self.findings), default=0)


def total_ms(report: Report) -> float:
    return sum(s.total_ms for s in report.statements if s.has_stats and s.total_ms > 0)


def shares(report: Report) -> dict[int, float]:
    """id(statement) -> share of total time."""
    total = total_ms(report)
    if total <= 0:
        return {}
    return {id(s): (s.total_ms / total) for s in report.statements if s.has_stats}


def statement_share(report: Report, statement: Statement | None) -> float | None:
    if statement is None or not statement.has_stats:
        return None
    total = total_ms(report)
    return statement.total_ms / total if total > 0 else None


def top_statements(report: Report, n: int | None = None) -> list[Statement]:
    ranked = sorted(report.statements, key=lambda s: (-s.total_ms, s.index))
    return ranked[:n] if n is not None else ranked


def statement_of(report: Report, f: Finding) -> Statement | None:
    """The finding's statement: by fingerprint first (stable), then by index."""
    if f.fingerprint:
        for s in report.statements:
            if s.fingerprint == f.fingerprint:
                return s
    if f.statement_index is not None:
        for s in report.statements:
            if s.index == f.statement_index:
                return s
    return None


def _finding_key(f: Finding) -> tuple[int, str, str]:
    return (-severity_rank(f.severity), f.rule, f.id)


def groups(report: Report) -> list[FindingGroup]:
    """Findings grouped by statement, in the order to fix them."""
    by_stmt: dict[int, FindingGroup] = {}
    server: list[Finding] = []
    for f in report.findings:
        s = statement_of(report, f)
        if s is None:
            server.append(f)
            continue
        g = by_stmt.setdefault(id(s), FindingGroup(s, statement_share(report, s)))
        g.findings.append(f)
    stmt_groups = list(by_stmt.values())
    for g in stmt_groups:
        g.findings.sort(key=_finding_key)
    stmt_groups.sort(
        key=lambda g: (-(g.share or 0.0), -g.top_severity, g.statement.index if g.statement else 0)
    )
    server.sort(key=_finding_key)
    first = [FindingGroup(None, None, [f]) for f in server if severity_rank(f.severity) >= SERVER_FIRST_RANK]
    last = [f for f in server if severity_rank(f.severity) < SERVER_FIRST_RANK]
    return first + stmt_groups + ([FindingGroup(None, None, last)] if last else [])


def ranked_findings(report: Report) -> list[Finding]:
    return [f for g in groups(report) for f in g.findings]


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in sorted(findings, key=lambda f: -severity_rank(f.severity)):
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return counts
