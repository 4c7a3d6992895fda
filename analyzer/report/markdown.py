"""The Markdown report: GitHub-flavoured, also readable pasted into Jira (headings, pipe tables,
```sql blocks). The pieces are shared with the tickets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analyzer.model import Finding, IndexSuggestion, Report, Statement, severity_rank
from analyzer.report import fmt, rank, sections
from analyzer.report.redact import mask_secrets, prepare
from analyzer.report.sqlfmt import pretty_sql

TOP_STATEMENTS = 10
STATEMENT_CELL = 90


def cell(value: object) -> str:
    """A table cell: one line, pipes escaped."""
    return fmt.one_line(str(value)).replace("\\", "\\\\").replace("|", "\\|") or " "


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> list[str]:
    """A GFM pipe table; align is one letter per column (l, r)."""
    marks = ["---:" if (align and align[i] == "r") else "---" for i in range(len(headers))]
    out = ["| " + " | ".join(cell(h) for h in headers) + " |", "| " + " | ".join(marks) + " |"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out


def code(text: str, lang: str = "") -> list[str]:
    """A fenced block whose fence cannot be closed by the text inside."""
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + lang, text.rstrip("\n"), fence]


def inline(text: str) -> str:
    t = fmt.one_line(text)
    tick = "``" if "`" in t else "`"
    return f"{tick} {t} {tick}" if tick == "``" else f"`{t}`"


def sql_block(text: str | None, truncated: bool = False) -> list[str]:
    return code(pretty_sql(text, truncated), "sql")


def statement_numbers_table(report: Report, s: Statement, rk: rank.Ranking | None = None) -> list[str]:
    nums = fmt.statement_numbers(s)
    share = (rk or rank.Ranking(report)).share(s)
    if share is not None:
        nums.insert(0, ("share of total time", fmt.pct(share)))
    return table([k for k, _ in nums], [[v for _, v in nums]], "r" * (len(nums) - 1) + "l")


def evidence_lines(f: Finding) -> list[str]:
    """Simple values as a list, multi-line values (plan excerpts, SQL) as blocks."""
    out: list[str] = []
    blocks: list[tuple[str, str]] = []
    for k, v in f.evidence.items():
        if isinstance(v, str) and "\n" in v:
            blocks.append((k, v))
        else:
            out.append(f"- **{k}**: {_md_value(v)}")
    for k, v in blocks:
        if is_plan_key(k):
            continue  # shown as the plan excerpt
        out += ["", f"**{k}**:", "", *code(v, "sql" if _looks_sql(v) else "text")]
    return out


def is_plan_key(key: str) -> bool:
    return "plan" in key.lower()


def plan_excerpt(f: Finding) -> str | None:
    for k, v in f.evidence.items():
        if is_plan_key(k) and isinstance(v, str | list | dict):
            if isinstance(v, str):
                return v
            import json

            return json.dumps(v, indent=2, default=str)
    return None


def _looks_sql(text: str) -> bool:
    return text.lstrip().split(" ", 1)[0].upper() in ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE")


def _md_value(v: Any) -> str:
    if isinstance(v, str):
        return inline(v) if any(ch in v for ch in "*_<>|$`") or len(v) > 60 else v
    return fmt.value_text(v)


def finding_heading(f: Finding) -> str:
    return f"[{f.severity.upper()}] {f.rule}: {f.title}"


def helping_indexes(report: Report, s: Statement | None) -> list[IndexSuggestion]:
    if s is None or not s.fingerprint:
        return []
    return [i for i in report.index_suggestions if s.fingerprint in i.statements]


def index_lines(i: IndexSuggestion, fingerprint: str | None = None) -> list[str]:
    detail = (
        f"Workload cost -{i.workload_improvement_pct:.1f}%, plan cost {fmt.num(i.cost_before)} → "
        f"{fmt.num(i.cost_after)}, estimated size {fmt.size(i.size_bytes)}, verified with {i.verified_with}."
    )
    if fingerprint:
        for c in i.per_statement:
            if c.fingerprint == fingerprint:
                detail += (
                    f" This statement: cost {fmt.num(c.cost_before)} → {fmt.num(c.cost_after)}"
                    f" ({fmt.improvement(c.cost_before, c.cost_after)} less)."
                )
    out = [*code(i.ddl, "sql"), "", detail]
    out += [f"- {n}" for n in i.notes]
    return out


def render_markdown(
    report: Report,
    *,
    show_literals: bool = False,
    mask_hosts: bool = False,
    charts: Mapping[str, str] | None = None,
) -> str:
    """charts: chart name ("top_statements", "connections") -> image path to link."""
    r = prepare(report, show_literals=show_literals, mask_hosts=mask_hosts)
    # --chart FILE of analyze and demo records its link in the report
    recorded = r.extra.get("charts")
    charts = charts or (recorded if isinstance(recorded, dict) else {})
    title = f"pgqa report: {r.target.database}" if r.target and r.target.database else "pgqa report"
    lines = [f"# {title}", "", *_summary(r), ""]
    rk = rank.Ranking(r)
    lines += _top_statements(r, charts, rk)
    lines += _findings(r, rk)
    lines += _indexes(r)
    lines += _connections(r, charts)
    lines += _history(r)
    lines += _skipped(r)
    lines += _resolved(r)
    lines += _reproduce(r)
    return mask_secrets("\n".join(lines).rstrip() + "\n")


def _summary(r: Report) -> list[str]:
    counts = rank.severity_counts(r.findings)
    out = [
        f"- **Generated:** {r.generated_at} by pgqa {r.pgqa_version}",
        f"- **Target:** {fmt.target_line(r)}",
    ]
    if r.sources:
        out.append("- **Sources:** " + sections.sources_line(r, ", "))
        out += [f"  - {src.name}: {fmt.one_line(src.detail)}" for src in sections.sources_with_detail(r)]
    out.append(f"- **Workload:** {sections.workload_line(r)}")
    out.append(
        f"- **Findings:** {len(r.findings)}" + (f" ({fmt.severity_summary(counts)})" if counts else "")
    )
    if r.baseline is not None:
        out.append(f"- **Against baseline** of {sections.baseline_counts(r.baseline)}")
    if r.index_suggestions:
        best = max(r.index_suggestions, key=lambda i: i.workload_improvement_pct)
        out.append(
            f"- **Index suggestions:** {len(r.index_suggestions)} "
            f"(best: -{best.workload_improvement_pct:.1f}% workload cost)"
        )
    if r.connections is not None:
        c = r.connections
        if c.status != "ok":
            out.append(f"- **Connections:** {c.status}: {c.error or 'no snapshot'}")
        elif c.used is not None:
            out.append(
                f"- **Connections:** {c.used} of {c.usable if c.usable is not None else '?'} usable slots "
                f"used ({fmt.num(c.used_pct)}%)"
            )
    return out


def _top_statements(r: Report, charts: Mapping[str, str], rk: rank.Ranking) -> list[str]:
    top = [s for s in rank.top_statements(r) if s.has_stats][:TOP_STATEMENTS]
    if not top:
        return []
    nfind = rk.findings_per_statement()
    rows = [
        [*sections.top_statement_cells(s, rk, nfind), inline(fmt.shorten(s.text, STATEMENT_CELL))]
        for s in top
    ]
    out = ["## Top statements by total time", ""]
    out += table(
        ["#", "share", "total", "calls", "mean", "rows/call", "findings", "statement"], rows, "rrrrrrrl"
    )
    if charts.get("top_statements"):
        out += ["", f"![Top statements by total time]({charts['top_statements']})"]
    return out + [""]


def _findings(r: Report, rk: rank.Ranking) -> list[str]:
    gs = rk.groups()
    if not gs:
        return []
    out = ["## Findings, in the order to fix them", ""]
    for g in gs:
        s = g.statement
        if s is None:
            first = any(severity_rank(f.severity) >= rank.SERVER_FIRST_RANK for f in g.findings)
            out += ["### Server and connections" if first else "### Other findings", ""]
        else:
            out += [
                f"### Statement #{s.index}"
                + (f": {fmt.pct(g.share)} of total time" if g.share is not None else f" (from {s.source})"),
                "",
            ]
            out += statement_numbers_table(r, s, rk) + [""]
            out += sql_block(s.text, s.truncated) + [""]
        for f in g.findings:
            out += finding_section(f, "####")
    return out


def finding_section(f: Finding, level: str) -> list[str]:
    out = [f"{level} {finding_heading(f)}", ""]
    meta = f"Severity **{f.severity}** · id `{f.id}`"
    if f.status:
        meta += f" · **{f.status}**" + (
            f" (first seen {f.first_seen})" if f.first_seen and f.status != "new" else ""
        )
    out += [meta, ""]
    if f.message:
        out += [f.message, ""]
    if f.evidence:
        out += ["**Evidence:**", "", *evidence_lines(f), ""]
    plan = plan_excerpt(f)
    if plan:
        out += ["**Plan excerpt:**", "", *code(plan, "text"), ""]
    if f.recommendation:
        out += [f"**Recommendation:** {f.recommendation}", ""]
    if f.suggested_sql:
        out += ["**Suggested SQL:**", "", *sql_block(f.suggested_sql), ""]
    return out


def _indexes(r: Report) -> list[str]:
    if not r.index_suggestions and not r.advice_notes:
        return []
    out = ["## Index suggestions", ""]
    by_fp = {s.fingerprint: s for s in r.statements if s.fingerprint}
    for i in sections.ranked_indexes(r):
        helped = ", ".join(f"#{by_fp[fp].index}" for fp in i.statements if fp in by_fp)
        out += [f"### {i.table} ({', '.join(i.columns)})" + (f": helps {helped}" if helped else ""), ""]
        out += index_lines(i) + [""]
    if r.advice_notes:
        out += ["**No index suggested for:**", ""]
        for n in r.advice_notes:
            label = sections.note_label(n) or str(n.get("fingerprint", ""))
            out.append(f"- {label}: {sections.note_reason(n)}")
        out.append("")
    return out


def _connections(r: Report, charts: Mapping[str, str]) -> list[str]:
    c = r.connections
    if c is None:
        return []
    out = ["## Connections", ""]
    if c.status != "ok":
        out += [f"Snapshot {c.status}: {c.error or ''}", ""]
    rows = [
        ["max_connections", fmt.num(c.max_connections)],
        ["reserved", ", ".join(f"{k} {v}" for k, v in c.reserved.items()) or "-"],
        ["usable", fmt.num(c.usable)],
        ["used", f"{fmt.num(c.used)} ({fmt.num(c.used_pct)}%)"],
        ["by state", fmt.value_text(c.by_state) or "-"],
        ["waiting on locks", fmt.num(c.waiting)],
    ]
    if c.idle_age:
        rows.append(["idle for", fmt.value_text(c.idle_age)])
    if c.oldest_xact_age_s is not None:
        rows.append(["oldest open transaction", f"{fmt.num(c.oldest_xact_age_s)} s"])
    if c.blocked:
        rows.append(["blocked", sections.blocked_text(c.blocked)])
    for k, v in c.guards.items():
        rows.append([k, v])
    out += table(["", "value"], rows, "lr") + [""]
    if c.longest_active:
        q, secs = sections.longest_active(c.longest_active)
        out += [f"Longest active statement{secs}:", ""]
        if q:
            out += sql_block(q, truncated=True) + [""]
    if c.groups:
        out += ["### Connections by client", ""]
        out += table(sections.CONNECTION_GROUP_HEADERS, sections.connection_group_rows(c.groups), "rlrllll")
        out += [""]
    if charts.get("connections"):
        out += [f"![Connections over time]({charts['connections']})", ""]
    return out


def _history(r: Report) -> list[str]:
    h = r.connections_history
    if not h:
        return []
    out = ["## Connection history", "", sections.history_line(h), ""]
    rows = sections.event_rows(h, 20)
    if rows:
        out += table(["at", "status", "error"], rows) + [""]
    return out


def _skipped(r: Report) -> list[str]:
    if not r.skipped:
        return []
    return [
        f"## Skipped statements ({len(r.skipped)})",
        "",
        *table(["count", "reason"], sections.skipped_reasons(r), "rl"),
        "",
    ]


def _resolved(r: Report) -> list[str]:
    if r.baseline is None or not r.resolved_findings:
        return []
    return [
        f"## Resolved since the baseline ({len(r.resolved_findings)})",
        "",
        *table(
            [*sections.RESOLVED_HEADERS, "id"],
            [
                [*row, f"`{x.get('id', '')}`"]
                for row, x in zip(sections.resolved_rows(r), r.resolved_findings, strict=True)
            ],
        ),
        "",
    ]


def _reproduce(r: Report) -> list[str]:
    cmd = r.extra.get("command")
    if not isinstance(cmd, str) or not cmd:
        return []
    return ["## Reproduce", "", *code(cmd, "sh"), ""]
