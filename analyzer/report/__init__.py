"""Renderers: one Report in, text / Markdown / JSON out."""

from __future__ import annotations

from analyzer.model import Report


def render(
    report: Report, fmt: str, *, show_literals: bool = False, mask_hosts: bool = False, width: int = 120
) -> str:
    if fmt == "json":
        from analyzer.report.json import dumps

        return dumps(report, show_literals=show_literals, mask_hosts=mask_hosts)
    if fmt == "markdown":
        from analyzer.report.markdown import render_markdown

        return render_markdown(report, show_literals=show_literals, mask_hosts=mask_hosts)
    from analyzer.report.text import render_text

    return render_text(report, show_literals=show_literals, mask_hosts=mask_hosts, width=width)
