"""The Markdown report (placeholder until the reports issue fills it in)."""

from __future__ import annotations

from analyzer.model import Report


def render_markdown(report: Report, *, show_literals: bool = False, mask_hosts: bool = False) -> str:
    lines = [f"# pgqa report {report.generated_at}", ""]
    for f in report.findings:
        lines.append(f"- **{f.severity}** `{f.rule}`: {f.title}")
    return "\n".join(lines) + "\n"
