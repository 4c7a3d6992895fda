"""What to fix first: statements by share of total time, findings by impact, grouped by statement.

A statement's share is its total time over the workload's total time. Findings of a statement
rank by that share, then by severity; a finding about the whole server (connection slots, a
guard that is missing) has no share: high and critical ones come before every statement, because
they hurt all of them, the others after.

`Ranking(report)` computes the totals and lookups once; renderers make one per output. The
module-level functions are the same questions for a single call.
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


def _finding_key(f: Finding) -> tuple[int, str, str]:
    return (-severity_rank(f.severity), f.rule, f.id)


class Ranking:
    """Shares, statement lookup and the fix-first order of one report."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.total = total_ms(report)
        self._by_fp: dict[str, Statement] = {}
        self._by_index: dict[int, Statement] = {}
        for s in report.statements:
            if s.fingerprint:
                self._by_fp.setdefault(s.fingerprint, s)
            self._by_index.setdefault(s.index, s)
        self._groups: list[FindingGroup] | None = None

    def share(self, s: Statement | None) -> float | None:
        if s is None or not s.has_stats or self.total <= 0:
            return None
        return s.total_ms / self.total

    def statement_of(self, f: Finding) -> Statement | None:
        """The finding's statement: by fingerprint first (stable), then by index."""
        if f.fingerprint and f.fingerprint in self._by_fp:
            return self._by_fp[f.fingerprint]
        if f.statement_index is not None:
            return self._by_index.get(f.statement_index)
        return None

    def findings_per_statement(self) -> dict[int, int]:
        """id(statement) -> number of findings."""
        out: dict[int, int] = {}
        for f in self.report.findings:
            s = self.statement_of(f)
            if s is not None:
                out[id(s)] = out.get(id(s), 0) + 1
        return out

    def groups(self) -> list[FindingGroup]:
        """Findings grouped by statement, in the order to fix them."""
        if self._groups is not None:
            return self._groups
        by_stmt: dict[int, FindingGroup] = {}
        server: list[Finding] = []
        for f in self.report.findings:
            s = self.statement_of(f)
            if s is None:
                server.append(f)
                continue
            g = by_stmt.setdefault(id(s), FindingGroup(s, self.share(s)))
            g.findings.append(f)
        stmt_groups = list(by_stmt.values())
        for g in stmt_groups:
            g.findings.sort(key=_finding_key)
        stmt_groups.sort(
            key=lambda g: (-(g.share or 0.0), -g.top_severity, g.statement.index if g.statement else 0)
        )
        server.sort(key=_finding_key)
        first = [
            FindingGroup(None, None, [f]) for f in server if severity_rank(f.severity) >= SERVER_FIRST_RANK
        ]
        last = [f for f in server if severity_rank(f.severity) < SERVER_FIRST_RANK]
        self._groups = first + stmt_groups + ([FindingGroup(None, None, last)] if last else [])
        return self._groups

    def ranked_findings(self) -> list[Finding]:
        return [f for g in self.groups() for f in g.findings]


def shares(report: Report) -> dict[int, float]:
    """id(statement) -> share of total time."""
    ranking = Ranking(report)
    return {id(s): v for s in report.statements if (v := ranking.share(s)) is not None}


def statement_share(report: Report, statement: Statement | None) -> float | None:
    return Ranking(report).share(statement)


def top_statements(report: Report, n: int | None = None) -> list[Statement]:
    ranked = sorted(report.statements, key=lambda s: (-s.total_ms, s.index))
    return ranked[:n] if n is not None else ranked


def statement_of(report: Report, f: Finding) -> Statement | None:
    return Ranking(report).statement_of(f)


def groups(report: Report) -> list[FindingGroup]:
    return Ranking(report).groups()


def ranked_findings(report: Report) -> list[Finding]:
    return Ranking(report).ranked_findings()


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in sorted(findings, key=lambda f: -severity_rank(f.severity)):
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return counts
