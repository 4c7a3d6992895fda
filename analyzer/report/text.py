"""The terminal report (placeholder until the reports issue fills it in)."""

from __future__ import annotations

from tabulate import tabulate

from analyzer.model import Report


def render_text(report: Report, *, show_literals: bool = False, mask_hosts: bool = False,
                width: int = 120) -> str:
    lines = [f"pgqa report {report.generated_at}"]
    for s in report.sources:
        lines.append(f"  source {s.name}: {s.status} {s.detail}".rstrip())
    rows = [[s.index, s.calls, f"{s.total_ms:.1f}", f"{s.mean_ms:.2f}", s.text[:80]]
            for s in report.statements]
    lines.append(tabulate(rows, headers=["#", "calls", "total ms", "mean ms", "statement"]))
    for f in report.findings:
        lines.append(f"[{f.severity}] {f.rule}: {f.title}")
    return "\n".join(lines) + "\n"
