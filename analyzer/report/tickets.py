"""Tickets: one self-contained Markdown file per finding (or per statement), an index.md listing
them, and findings.json (a `pgqa.report/1` subset) for automation.

A ticket must be understood without pgqa: it names the problem, shows the statement and its
numbers, the evidence and the plan, says what to change (with SQL), how to check that the change
worked and how to run pgqa again. It never shows a literal value unless --show-literals.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.model import Finding, Report, Statement, severity_rank
from analyzer.report import fmt, markdown, rank, reproduce
from analyzer.report.redact import mask_secrets, prepare

GROUPS = ("finding", "statement")
TITLE_MAX = 110

# What should drop once the fix is in, by rule: (figure, how to read it from pg_stat_statements).
_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("unpaged", "rows per call", "rows / calls"),
    ("limit", "rows per call", "rows / calls"),
    ("wide", "mean time and shared blocks per call", "mean_exec_time"),
    ("star", "mean time and shared blocks per call", "mean_exec_time"),
    ("upsert", "rows written and WAL bytes per call", "wal_bytes / calls"),
    ("change-guard", "rows written and WAL bytes per call", "wal_bytes / calls"),
    ("union", "mean time", "mean_exec_time"),
    ("aggregate", "mean time", "mean_exec_time"),
    ("seq-scan", "shared blocks read per call", "shared_blks_read / calls"),
    ("sort", "temp blocks written per call", "temp_blks_written / calls"),
    ("temp", "temp blocks written per call", "temp_blks_written / calls"),
)


@dataclass
class Ticket:
    name: str  # file name in the output directory
    title: str
    statement: Statement | None
    share: float | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return max(self.findings, key=lambda f: severity_rank(f.severity)).severity


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "finding"


def finding_file(f: Finding) -> str:
    return f"{f.id}-{slug(f.rule)}.md"


def statement_file(s: Statement) -> str:
    key = slug(s.fingerprint, 24) if s.fingerprint else f"n{s.index}"
    return f"statement-{key}.md"


def _title(text: str) -> str:
    text = fmt.one_line(text)
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1].rstrip() + "…"


def finding_title(f: Finding, share: float | None) -> str:
    where = f" ({fmt.pct(share)} of database time)" if share else ""
    return _title(f"[{f.severity.upper()}] {f.title}{where}")


def plan(report: Report, group: str = "finding", only_new: bool = False) -> list[Ticket]:
    """The tickets to write, in the order to fix them."""
    tickets: list[Ticket] = []
    for g in rank.groups(report):
        findings = [f for f in g.findings if not only_new or f.status == "new"]
        if not findings:
            continue
        if group == "statement" and g.statement is not None:
            s = g.statement
            top = findings[0]
            extra = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
            title = _title(
                f"[{top.severity.upper()}] Statement #{s.index}: {top.title}{extra}"
                + (f" ({fmt.pct(g.share)} of database time)" if g.share else "")
            )
            tickets.append(Ticket(statement_file(s), title, s, g.share, findings))
        else:
            for f in findings:
                tickets.append(Ticket(finding_file(f), finding_title(f, g.share), g.statement, g.share, [f]))
    # Two statements can share a fingerprint (other user or database), a rule can hit one statement
    # twice: the file names stay stable for the first and get a suffix for the others.
    seen: set[str] = set()
    for t in tickets:
        name, n = t.name, 1
        while name in seen:
            n += 1
            name = t.name.removesuffix(".md") + f"-{n}.md"
        seen.add(name)
        t.name = name
    return tickets


def _dsn_hint(report: Report) -> str:
    t = report.target
    if t is None:
        return ""
    return reproduce.dsn_hint(t.host, t.database, t.user)


def reproduce_command(report: Report, input_name: str | None = None) -> list[str]:
    """The pgqa commands that produce this report again, and the ticket files from it."""
    name = shlex.quote(input_name or "report.json")
    cmd = report.extra.get("command") if isinstance(report.extra.get("command"), str) else None
    if cmd:  # as recorded by the command that wrote the report, writing to this file's name
        first = reproduce.with_output(cmd, input_name or "report.json")
    elif report.target is not None:
        first = f"pgqa analyze --dsn {shlex.quote(_dsn_hint(report))} --format json --output {name}"
    else:
        first = f"pgqa lint FILE.sql --format json --output {name}"
    return [first, f"pgqa tickets --input {name} --out-dir tickets"]


def _verify(report: Report, t: Ticket, input_name: str | None) -> list[str]:
    s = t.statement
    out = ["## How to verify the fix", ""]
    if s is not None and s.has_stats:
        figure, expr = "mean time", "mean_exec_time"
        rules = " ".join(f.rule for f in t.findings)
        for key, fig, e in _FIGURES:
            if key in rules:
                figure, expr = fig, e
                break
        now = {
            "rows / calls": fmt.num(round(s.rows_per_call, 1)),
            "mean_exec_time": fmt.ms(s.mean_ms),
            "wal_bytes / calls": fmt.size(s.wal_bytes / s.calls) if s.calls else "-",
            "shared_blks_read / calls": fmt.num(round(s.shared_blks_read / s.calls, 1)) if s.calls else "-",
            "temp_blks_written / calls": fmt.num(round(s.temp_blks_written / s.calls, 1)) if s.calls else "-",
        }
        out += [
            f"The figure that should drop: **{figure}** of this statement (now {now.get(expr, '-')}"
            + (f"; mean time {fmt.ms(s.mean_ms)}" if expr != "mean_exec_time" else "")
            + f"; {fmt.pct(t.share)} of the database's total time).",
            "",
        ]
        kind = fmt.one_line(s.text).split(" ", 1)[0].upper()
        out += [
            "1. Re-run the statement with real parameter values and compare the plan and timing "
            "(EXPLAIN ANALYZE executes it: for writes, keep the ROLLBACK):",
            "",
        ]
        explain = f"EXPLAIN (ANALYZE, BUFFERS) {fmt.one_line(s.text)};"
        if kind in ("INSERT", "UPDATE", "DELETE", "MERGE", "WITH"):
            explain = f"BEGIN;\n{explain}\nROLLBACK;"
        out += markdown.code(explain, "sql") + [""]
        if s.queryid is not None:
            out += [
                "2. After the deploy, watch the statement's counters in pg_stat_statements (they are "
                "cumulative since the last reset, so compare two readings):",
                "",
            ]
            out += markdown.code(
                "SELECT calls, mean_exec_time, total_exec_time, rows / NULLIF(calls, 0) AS rows_per_call,\n"
                "       shared_blks_read / NULLIF(calls, 0) AS blks_read_per_call,\n"
                "       wal_bytes / NULLIF(calls, 0) AS wal_bytes_per_call\n"
                f"FROM pg_stat_statements WHERE queryid = {s.queryid};",
                "sql",
            ) + [""]
        step = 3 if s.queryid is not None else 2
    else:
        out += [
            "The finding describes the server rather than one statement: after the change, take a new "
            "snapshot and check that the figures in the evidence above are back in range.",
            "",
        ]
        step = 1
    ids = ", ".join(f"`{f.id}`" for f in t.findings)
    out += [
        f"{step}. Run pgqa again with this report as the baseline: {ids} should be listed as resolved.",
        "",
    ]
    name = shlex.quote(input_name or "report.json")
    first = reproduce_command(report, input_name)[0]
    cmd = first.replace(f"--output {name}", "--output after.json")
    if first.startswith("pgqa analyze"):
        out += markdown.code(f"{cmd} --baseline {name}", "sh") + [""]
    else:  # the command has no --baseline of its own (pgqa demo): compare in the tickets
        out += markdown.code(
            f"{cmd}\npgqa tickets --input after.json --baseline {name} --out-dir tickets", "sh"
        )
        out += [""]
    return out


def render_ticket(
    report: Report, t: Ticket, charts: dict[str, str] | None = None, input_name: str | None = None
) -> str:
    """One ticket; `report` must already be redacted (see write_tickets)."""
    charts = charts or {}
    s = t.statement
    first = t.findings[0]
    out = [f"# {t.title}", ""]
    meta = [
        ("Severity", t.severity),
        ("Rule", ", ".join(sorted({f"`{f.rule}`" for f in t.findings}))),
        ("Finding id", ", ".join(f"`{f.id}`" for f in t.findings)),
    ]
    if any(f.status for f in t.findings):
        meta.append(
            (
                "Status",
                ", ".join(
                    f"{f.status}"
                    + (f" (first seen {f.first_seen})" if f.first_seen and f.status == "persisting" else "")
                    for f in t.findings
                ),
            )
        )
    meta += [
        ("Database", fmt.target_line(report)),
        ("Report", f"{report.generated_at}, pgqa {report.pgqa_version}"),
    ]
    if s is not None:
        meta.append(
            (
                "Statement",
                f"#{s.index}"
                + (f", queryid {s.queryid}" if s.queryid else "")
                + (f", fingerprint `{s.fingerprint}`" if s.fingerprint else ""),
            )
        )
    out += [f"- **{k}:** {v}" for k, v in meta] + [""]
    if len(t.findings) == 1 and first.message:
        out += ["## Problem", "", first.message, ""]
    if s is not None:
        out += ["## Statement", ""]
        if s.truncated:
            out += ["The text was cut at the source's length limit; the end of the statement is missing.", ""]
        out += markdown.sql_block(s.text, s.truncated) + [""]
        out += ["## Numbers", ""]
        nums = fmt.statement_numbers(s)
        if t.share is not None:
            nums.insert(3, ("share of database time", fmt.pct(t.share)))
        out += markdown.table(["figure", "value"], nums, "lr") + [""]
        if charts.get("top_statements"):
            out += [f"![Top statements by total time]({charts['top_statements']})", ""]
    for f in t.findings:
        if len(t.findings) > 1:
            out += [f"## {markdown.finding_heading(f)}", "", f"Severity **{f.severity}** · id `{f.id}`", ""]
            if f.message:
                out += [f.message, ""]
        level = "###" if len(t.findings) > 1 else "##"
        if f.evidence:
            out += [f"{level} Evidence", "", *markdown.evidence_lines(f), ""]
        excerpt = markdown.plan_excerpt(f)
        if excerpt:
            out += [f"{level} Plan excerpt", "", *markdown.code(excerpt, "text"), ""]
        out += [f"{level} Recommendation", "", f.recommendation or "See the evidence above.", ""]
        if f.suggested_sql:
            out += [f"{level} Suggested change", "", *markdown.sql_block(f.suggested_sql), ""]
    helping = markdown.helping_indexes(report, s)
    if helping:
        out += ["## Index suggestions that help this statement", ""]
        for i in helping:
            out += markdown.index_lines(i, s.fingerprint if s else None) + [""]
        out += ["Create indexes with CONCURRENTLY outside peak hours; pgqa never creates them itself.", ""]
    if (
        s is None
        and charts.get("connections")
        and any("connection" in f.rule or "idle" in f.rule or "slot" in f.rule for f in t.findings)
    ):
        out += [f"![Connection slots over time]({charts['connections']})", ""]
    out += _verify(report, t, input_name)
    out += ["## Reproduce", "", *markdown.code("\n".join(reproduce_command(report, input_name)), "sh"), ""]
    out += [
        f"_Written by pgqa {report.pgqa_version} from the report of {report.generated_at}. "
        "Literal values in statements are replaced by placeholders._",
        "",
    ]
    return mask_secrets("\n".join(out).rstrip() + "\n")


def render_index(report: Report, tickets: list[Ticket], charts: dict[str, str], only_new: bool) -> str:
    out = [
        f"# pgqa tickets: {report.target.database}"
        if report.target and report.target.database
        else "# pgqa tickets",
        "",
    ]
    out += [
        f"- **Database:** {fmt.target_line(report)}",
        f"- **Report:** {report.generated_at}",
        f"- **Tickets:** {len(tickets)}" + (" (new findings only)" if only_new else ""),
    ]
    counts = rank.severity_counts([f for t in tickets for f in t.findings])
    if counts:
        out.append(f"- **Findings:** {fmt.severity_summary(counts)}")
    if report.baseline is not None:
        b = report.baseline
        out.append(
            f"- **Against baseline** of {b.get('generated_at')}: {b.get('new', 0)} new, "
            f"{b.get('persisting', 0)} persisting, {b.get('resolved', 0)} resolved"
        )
    out.append("")
    if tickets:
        rows = []
        for n, t in enumerate(tickets, 1):
            status = ", ".join(sorted({f.status for f in t.findings if f.status})) or "-"
            rows.append(
                [
                    n,
                    t.severity,
                    ", ".join(sorted({f.rule for f in t.findings})),
                    f"#{t.statement.index}" if t.statement else "server",
                    fmt.pct(t.share) if t.share else "-",
                    status,
                    f"[{t.title.replace('[', '(').replace(']', ')')}]({t.name})",
                ]
            )
        out += ["## Tickets, in the order to fix them", ""]
        out += markdown.table(
            ["#", "severity", "rule", "statement", "share", "status", "ticket"], rows, "rllrrll"
        )
        out.append("")
    else:
        out += ["No findings to write tickets for.", ""]
    if report.baseline is not None and report.resolved_findings:
        out += ["## Resolved since the baseline", ""]
        out += markdown.table(
            ["severity", "rule", "first seen", "finding", "id"],
            [
                [
                    x.get("severity"),
                    x.get("rule"),
                    x.get("first_seen") or "-",
                    x.get("title"),
                    f"`{x.get('id')}`",
                ]
                for x in report.resolved_findings
            ],
        ) + [""]
    if charts:
        out += ["## Charts", ""]
        if charts.get("top_statements"):
            out += [f"![Top statements by total time]({charts['top_statements']})", ""]
        if charts.get("connections"):
            out += [f"![Connection slots over time]({charts['connections']})", ""]
    return mask_secrets("\n".join(out).rstrip() + "\n")


def findings_document(report: Report, tickets: list[Ticket]) -> dict:
    """findings.json: a `pgqa.report/1` document with only the ticketed findings, their statements
    and the index suggestions that help them; each finding names its ticket file."""
    from analyzer.report.json import to_dict

    chosen = {f.id: t.name for t in tickets for f in t.findings}
    fps = {t.statement.fingerprint for t in tickets if t.statement is not None and t.statement.fingerprint}
    doc = to_dict(report)
    doc["findings"] = [dict(f, ticket=chosen[f["id"]]) for f in doc["findings"] if f["id"] in chosen]
    keep = {id(t.statement) for t in tickets if t.statement is not None}
    doc["statements"] = [
        d for s, d in zip(report.statements, doc["statements"], strict=True) if id(s) in keep
    ]
    doc["index_suggestions"] = [i for i in doc["index_suggestions"] if fps & set(i.get("statements") or [])]
    return doc


def write_tickets(
    report: Report,
    out_dir: Path,
    *,
    group: str = "finding",
    only_new: bool = False,
    chart: bool = False,
    show_literals: bool = False,
    mask_hosts: bool = False,
    input_name: str | None = None,
) -> list[Ticket]:
    """Write the tickets, index.md and findings.json into out_dir (created); returns the tickets."""
    import os

    from analyzer.report.json import VALIDATE_ENV, validate
    from analyzer.report.redact import scrub_strings

    r = prepare(report, show_literals=show_literals, mask_hosts=mask_hosts)
    tickets = plan(r, group, only_new)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts: dict[str, str] = {}
    if chart:
        from analyzer.report.charts import write_charts

        charts = write_charts(r, out_dir)
    for t in tickets:
        (out_dir / t.name).write_text(render_ticket(r, t, charts, input_name), encoding="utf-8")
    (out_dir / "index.md").write_text(render_index(r, tickets, charts, only_new), encoding="utf-8")
    doc = scrub_strings(findings_document(r, tickets), mask_secrets)
    if os.environ.get(VALIDATE_ENV) == "1":
        validate(doc)
    (out_dir / "findings.json").write_text(
        json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return tickets
