"""The terminal report: a one-screen summary first, then the details, most important first."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from tabulate import tabulate

from analyzer.model import Report, severity_rank
from analyzer.report import fmt, rank, sections
from analyzer.report.redact import mask_secrets, prepare

SUMMARY_STATEMENTS = 5
SUMMARY_FINDINGS = 5
SUMMARY_INDEXES = 3
DETAIL_STATEMENTS = 20
MIN_WIDTH = 60
LABEL_WIDTH = 13
MIN_FLEX = 8


def fit_table(
    rows: Sequence[Sequence[object]],
    headers: Sequence[str],
    width: int,
    flex: int | Sequence[int],
    align: Sequence[str] | None = None,
    droppable: Sequence[int] = (),
) -> str:
    """A tabulate table no wider than width: the free-text columns in `flex` are cut, widest
    first, until the table fits (never below a few characters); when that is not enough, the
    `droppable` columns go, in that order."""
    flexible = [flex] if isinstance(flex, int) else list(flex)
    cells = [[fmt.one_line(str(c)) for c in r] for r in rows]
    keep = list(range(len(headers)))
    # tabulate pads headers by 2 (its MIN_PADDING) in the "simple" format
    widths = {i: max([len(headers[i]) + 2] + [len(r[i]) for r in cells]) for i in keep}
    floor = {i: max(MIN_FLEX, min(len(headers[i]) + 2, widths[i])) for i in flexible}

    def least() -> int:
        return sum(floor.get(i, widths[i]) for i in keep) + 2 * (len(keep) - 1)

    for i in droppable:
        if least() <= width:
            break
        keep.remove(i)
    excess = sum(widths[i] for i in keep) + 2 * (len(keep) - 1) - width
    while excess > 0:
        i = max(flexible, key=lambda j: widths[j] - floor[j])
        if widths[i] <= floor[i]:
            break
        cut = min(excess, widths[i] - floor[i], max(1, (widths[i] - floor[i]) // 2))
        widths[i] -= cut
        excess -= cut
    out = [[fmt.shorten(r[i], widths[i]) if i in flexible else r[i] for i in keep] for r in cells]
    return tabulate(
        out,
        headers=[headers[i] for i in keep],
        tablefmt="simple",
        disable_numparse=True,
        colalign=[align[i] for i in keep] if align else None,
    )


def _wrap(text: str, width: int, indent: str) -> list[str]:
    out: list[str] = []
    for para in (text or "").splitlines() or [""]:
        out += textwrap.wrap(
            para,
            width=max(20, width - len(indent)),
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=True,
            break_on_hyphens=False,
        ) or [""]
    return out


def _labelled(label: str, text: str, width: int) -> list[str]:
    """`Label:     text` with continuation lines under the text."""
    pad = " " * LABEL_WIDTH
    return textwrap.wrap(
        text,
        width=max(20, width),
        initial_indent=label.ljust(LABEL_WIDTH),
        subsequent_indent=pad,
        break_on_hyphens=False,
    ) or [label]


def _heading(title: str, width: int) -> list[str]:
    return ["", title, "=" * min(width, len(title))]


def render_text(
    report: Report, *, show_literals: bool = False, mask_hosts: bool = False, width: int = 120
) -> str:
    r = prepare(report, show_literals=show_literals, mask_hosts=mask_hosts)
    width = max(MIN_WIDTH, width)
    rk = rank.Ranking(r)
    lines = summary(r, width, rk)
    lines += _finding_details(r, width, rk)
    lines += _index_details(r, width)
    lines += _statement_table(r, width, rk)
    lines += _connection_details(r, width)
    lines += _history(r, width)
    lines += _skipped(r, width)
    lines += _resolved(r, width)
    lines += _source_details(r, width)
    return mask_secrets("\n".join(lines).rstrip() + "\n")


def summary(r: Report, width: int, rk: rank.Ranking | None = None) -> list[str]:
    """What fits one screen: target, sources, top statements, findings, indexes, connections."""
    rk = rk or rank.Ranking(r)
    lines = [
        f"pgqa report · {r.generated_at} · pgqa {r.pgqa_version}",
        "",
        *_labelled("Target:", fmt.target_line(r), width),
    ]
    if r.sources:
        lines += _labelled("Sources:", sections.sources_line(r, " · "), width)
        # one line a source: what was read, what is hidden and what to do (in full at the end)
        pad = " " * LABEL_WIDTH
        lines += [
            pad + fmt.shorten(f"{src.name}: {src.detail}", width - LABEL_WIDTH)
            for src in sections.sources_with_detail(r)
        ]
    lines += _labelled("Workload:", sections.workload_line(r), width)
    counts = rank.severity_counts(r.findings)
    line = f"{len(r.findings)}" + (f" ({fmt.severity_summary(counts)})" if counts else "")
    if r.baseline is not None:
        line += f"; against baseline of {sections.baseline_counts(r.baseline)}"
    lines += _labelled("Findings:", line, width)
    if r.connections is not None:
        lines += _labelled("Connections:", _connections_line(r), width)

    top = [s for s in rank.top_statements(r) if s.has_stats][:SUMMARY_STATEMENTS]
    if top:
        lines += ["", "Top statements by total time"]
        nfind = rk.findings_per_statement()
        rows = [[*sections.top_statement_cells(s, rk, nfind), s.text] for s in top]
        lines.append(
            fit_table(
                rows,
                ["#", "share", "total", "calls", "mean", "rows/call", "findings", "statement"],
                width,
                7,
                ["right", "right", "right", "right", "right", "right", "right", "left"],
                droppable=[6, 5, 3],
            )
        )
    # Info findings are context, not work: they stay out of the "fix these first" table.
    ranked = [f for f in rk.ranked_findings() if severity_rank(f.severity) > 0] or rk.ranked_findings()
    if ranked:
        lines += ["", "Top findings (fix these first)"]
        rows = []
        for f in ranked[:SUMMARY_FINDINGS]:
            s = rk.statement_of(f)
            rows.append(
                [
                    f.severity,
                    f.rule,
                    f"#{s.index}" if s else "server",
                    fmt.pct(rk.share(s)) if s else "-",
                    (f"[{f.status}] " if f.status == "new" else "") + f.title,
                ]
            )
        lines.append(
            fit_table(rows, ["severity", "rule", "stmt", "share", "finding"], width, [4, 1], droppable=[3])
        )
        if len(ranked) > SUMMARY_FINDINGS:
            lines.append(f"… and {len(ranked) - SUMMARY_FINDINGS} more below")
    if r.index_suggestions:
        lines += ["", "Index suggestions"]
        rows = [
            [f"{i.workload_improvement_pct:.1f}%", i.verified_with, len(i.statements), i.ddl]
            for i in sections.ranked_indexes(r)[:SUMMARY_INDEXES]
        ]
        lines.append(
            fit_table(
                rows,
                ["workload gain", "verified", "stmts", "DDL"],
                width,
                3,
                ["right", "left", "right", "left"],
            )
        )
    return lines


def _connections_line(r: Report) -> str:
    c = r.connections
    assert c is not None
    if c.status != "ok":
        return f"{c.status}: {c.error or 'no snapshot'}"
    parts = []
    if c.used is not None and c.usable:
        parts.append(f"{c.used} of {c.usable} usable slots used ({fmt.num(c.used_pct)}%)")
    elif c.used is not None:
        parts.append(f"{c.used} connections")
    if c.by_state:
        parts.append(
            ", ".join(f"{n} {state}" for state, n in sorted(c.by_state.items(), key=lambda kv: -kv[1]))
        )
    if c.waiting:
        parts.append(f"{c.waiting} waiting on locks")
    return "; ".join(parts) or "snapshot taken"


def _finding_details(r: Report, width: int, rk: rank.Ranking) -> list[str]:
    gs = rk.groups()
    if not gs:
        return []
    lines = _heading("Findings by statement, in the order to fix them", width)
    for g in gs:
        lines.append("")
        s = g.statement
        if s is None:
            lines.append(
                "Server and connections"
                if any(severity_rank(f.severity) >= rank.SERVER_FIRST_RANK for f in g.findings)
                else "Other findings"
            )
        else:
            head = f"Statement #{s.index}"
            if g.share is not None:
                head += (
                    f" · {fmt.pct(g.share)} of total time · {fmt.num(s.calls)} calls"
                    f" · mean {fmt.ms(s.mean_ms)} · {fmt.num(round(s.rows_per_call, 1))} rows/call"
                )
            lines += _wrap(head, width, "")
            lines += _wrap(s.text, width, "    ")
        for f in g.findings:
            since = f", first seen {f.first_seen}" if f.status == "persisting" and f.first_seen else ""
            status = f" [{f.status}{since}]" if f.status else ""
            lines += _wrap(f"[{f.severity}] {f.rule}: {f.title}{status}", width, "  ")
            if f.message:
                lines += _wrap(f.message, width, "      ")
            inline = {k: v for k, v in f.evidence.items() if not _is_block(v)}
            if inline:
                lines += _wrap(
                    "Evidence: " + "; ".join(f"{k}={fmt.value_text(v)}" for k, v in inline.items()),
                    width,
                    "      ",
                )
            for k, v in f.evidence.items():
                if _is_block(v):
                    lines.append(f"      {k}:")
                    lines += [("        " + ln)[:width] for ln in str(v).splitlines()[:15]]
            if f.recommendation:
                lines += _wrap("Fix: " + f.recommendation, width, "      ")
            if f.suggested_sql:
                lines.append("      Suggested:")
                lines += _wrap(f.suggested_sql, width, "        ")
            lines.append(f"      id {f.id}")
    return lines


def _is_block(value: object) -> bool:
    return isinstance(value, str) and "\n" in value


def _index_details(r: Report, width: int) -> list[str]:
    if not r.index_suggestions and not r.advice_notes:
        return []
    lines = _heading("Index suggestions", width)
    by_fp = {s.fingerprint: s for s in r.statements if s.fingerprint}
    for i in sections.ranked_indexes(r):
        lines.append("")
        lines += _wrap(i.ddl, width, "  ")
        detail = (
            f"workload cost -{i.workload_improvement_pct:.1f}%, cost {fmt.num(i.cost_before)} -> "
            f"{fmt.num(i.cost_after)}, size {fmt.size(i.size_bytes)}, verified with {i.verified_with}"
        )
        lines += _wrap(detail, width, "      ")
        helped = [f"#{by_fp[fp].index}" for fp in i.statements if fp in by_fp]
        if helped:
            lines += _wrap("helps statements " + ", ".join(helped), width, "      ")
        for note in i.notes:
            lines += _wrap("note: " + note, width, "      ")
    if r.advice_notes:
        lines += ["", "No index suggested for:"]
        for n in r.advice_notes:
            label = sections.note_label(n) or fmt.shorten(str(n.get("fingerprint", "")), 16)
            lines += _wrap(f"{label}: {sections.note_reason(n)}", width, "  ")
    return lines


def _statement_table(r: Report, width: int, rk: rank.Ranking) -> list[str]:
    if len(r.statements) <= SUMMARY_STATEMENTS:
        return []
    top = rank.top_statements(r, DETAIL_STATEMENTS)
    lines = _heading(f"Statements by total time (top {len(top)} of {len(r.statements)})", width)
    rows = [[*sections.statement_cells(s, rk), fmt.num(s.rows), s.text] for s in top]
    lines.append(
        fit_table(
            rows,
            ["#", "share", "total", "calls", "mean", "rows", "statement"],
            width,
            6,
            ["right"] * 6 + ["left"],
            droppable=[5, 3],
        )
    )
    return lines


def _connection_details(r: Report, width: int) -> list[str]:
    c = r.connections
    if c is None:
        return []
    lines = _heading("Connections", width)
    lines += _wrap(_connections_line(r), width, "")
    if c.max_connections is not None:
        reserved = ", ".join(f"{k} {v}" for k, v in c.reserved.items() if v)
        lines += _wrap(
            f"max_connections {c.max_connections}"
            + (f", reserved: {reserved}" if reserved else "")
            + (f", usable {c.usable}" if c.usable is not None else ""),
            width,
            "",
        )
    if c.idle_age:
        lines += _wrap("idle for: " + ", ".join(f"{k} {v}" for k, v in c.idle_age.items()), width, "")
    if c.oldest_xact_age_s is not None:
        lines.append(f"oldest open transaction: {fmt.num(c.oldest_xact_age_s)} s")
    if c.blocked:
        lines += _wrap("blocked: " + sections.blocked_text(c.blocked), width, "")
    if c.longest_active:
        q, secs = sections.longest_active(c.longest_active)
        lines += _wrap(f"longest active statement{secs}: {q}", width, "")
    if c.guards:
        lines += _wrap("guards: " + ", ".join(f"{k}={v}" for k, v in c.guards.items()), width, "")
    if c.groups:
        rows = sections.connection_group_rows(c.groups, 15)
        lines += [
            "",
            fit_table(
                rows,
                sections.CONNECTION_GROUP_HEADERS,
                width,
                [1, 3, 4, 5, 6],
                ["right", "left", "right"] + ["left"] * 4,
                droppable=[2, 3],
            ),
        ]
    return lines


def _history(r: Report, width: int) -> list[str]:
    h = r.connections_history
    if not h:
        return []
    lines = _heading("Connection history", width)
    lines += _wrap(sections.history_line(h), width, "")
    from analyzer.connections.report import history_lines  # sparkline time line, holders at the peak

    lines += history_lines(h, width)
    rows = sections.event_rows(h, 10)
    if rows:
        lines += ["", fit_table(rows, ["at", "status", "error"], width, [2, 0])]
    return lines


def _skipped(r: Report, width: int) -> list[str]:
    if not r.skipped:
        return []
    lines = _heading(f"Skipped statements ({len(r.skipped)})", width)
    lines.append(fit_table(sections.skipped_reasons(r), ["count", "reason"], width, 1, ["right", "left"]))
    return lines


def _resolved(r: Report, width: int) -> list[str]:
    if r.baseline is None or not r.resolved_findings:
        return []
    lines = _heading(f"Resolved since the baseline ({len(r.resolved_findings)})", width)
    lines.append(fit_table(sections.resolved_rows(r), sections.RESOLVED_HEADERS, width, [3, 1]))
    return lines


def _source_details(r: Report, width: int) -> list[str]:
    """The sources' details in full, as the summary's one line each may cut them."""
    shown = sections.sources_with_detail(r)
    if not shown:
        return []
    lines = _heading("Sources", width)
    for src in shown:
        lines += _wrap(f"{src.name} {src.status}: {src.detail}", width, "")
    return lines
