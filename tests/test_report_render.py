"""The three renderers over one hand-built Report: what a reader sees first, widths, ranking,
Markdown structure and the JSON contract (schema-validated)."""

from __future__ import annotations

import json
import re

import pytest
import sqlglot
from test_report_sample import UNPAGED, rich_report

from analyzer.model import Finding, Report, Statement
from analyzer.report import render


def _sql_blocks(md: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)\n```", md, re.S)


def test_text_summary_fits_one_screen_and_shows_what_matters_first() -> None:
    text = render(rich_report(), "text", width=100)
    head = text.splitlines()[:40]
    summary = "\n".join(head)
    # target, every source with its status, workload and skipped count, findings by severity
    assert "PostgreSQL 17.6, database ats" in summary
    for src in ("pg_stat_statements ok", "catalog ok", "performance_insights skipped", "logs error"):
        assert src in " ".join(summary.split())  # wrapped lines read as one
    assert "2 skipped" in summary
    assert "1 critical, 1 high, 2 medium, 2 low, 1 info" in summary
    # top statements by total time with their share of the workload: 60 s of 100 s
    assert "Top statements by total time" in summary
    first_row = next(line for line in head if line.lstrip().startswith("#0"))
    assert "60.0%" in first_row
    # index suggestion DDL and its improvement; connections
    assert "41.5%" in summary and "CREATE INDEX CONCURRENTLY" in summary
    assert "72 of 95 usable slots used" in summary
    # the most important finding first: the critical server finding, then the 60 % statement
    findings_table = summary[summary.index("Top findings") :]
    assert findings_table.index("idle-in-transaction") < findings_table.index("unpaged-list")
    assert findings_table.index("unpaged-list") < findings_table.index("wide-select-join")


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_text_lines_fit_the_width(width: int) -> None:
    text = render(rich_report(), "text", width=width)
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long[:3]
    assert "Findings by statement" in text  # details follow the summary at every width


def test_ranking_by_share_then_severity_grouped_by_statement() -> None:
    from analyzer.report import rank

    r = rich_report()
    ranked = rank.ranked_findings(r)
    rules = [f.rule for f in ranked]
    # high/critical server findings lead, low ones close; statements by share (60, 25, 10, 5 %)
    assert rules[0] == "idle-in-transaction"
    assert rules[1:5] == [
        "unpaged-list",
        "wide-select-join",
        "union-all-aggregates",
        "upsert-without-change-guard",
    ]
    assert rules[-1] == "connection-guard-missing"
    # shares are total_ms over the sum of total_ms
    assert rank.statement_share(r, r.statements[0]) == pytest.approx(60000 / 100000)
    # two findings of one statement stay together, the worse one first
    r.findings.append(
        Finding(
            "extra-rule",
            "critical",
            "Worse problem of the same statement",
            "m",
            statement_index=2,
            fingerprint="fp-union",
        )
    )
    groups = rank.groups(r)
    union = next(g for g in groups if g.statement is not None and g.statement.fingerprint == "fp-union")
    assert [f.rule for f in union.findings] == ["extra-rule", "union-all-aggregates"]
    # ...but the statement keeps its place by share: a critical finding on 10 % of the time does
    # not outrank the statement that takes 60 %
    order = [g.statement.fingerprint for g in groups if g.statement is not None]
    assert order.index("fp-unpaged") < order.index("fp-union")


def test_markdown_has_headings_tables_and_parseable_sql_blocks() -> None:
    md = render(rich_report(), "markdown")
    assert md.startswith("# pgqa report: ats\n")
    for heading in (
        "## Top statements by total time",
        "## Findings, in the order to fix them",
        "## Index suggestions",
        "## Connections",
        "## Connection history",
        "## Skipped statements",
    ):
        assert f"\n{heading}" in md
    # pipe tables: each row has as many cells as its header
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if (
            line.startswith("| ")
            and i + 1 < len(lines)
            and re.match(r"^\| (-+:?|:?-+)( \| (-+:?|-+))* \|$", lines[i + 1])
        ):
            cols = len(re.split(r"(?<!\\)\|", line)) - 2
            j = i + 2
            while j < len(lines) and lines[j].startswith("| "):
                assert len(re.split(r"(?<!\\)\|", lines[j])) - 2 == cols, lines[j]
                j += 1
    blocks = _sql_blocks(md)
    assert len(blocks) >= 6
    for block in blocks:
        assert sqlglot.parse(block.replace("$", ""), read="postgres"), block
    # the statement's numbers sit next to it
    assert "| 60.0% | 4,000 | 1.0 min | 15.0 ms |" in md


def test_json_is_the_contract_and_validates() -> None:
    from analyzer.report.json import validate

    doc = json.loads(render(rich_report(), "json"))
    validate(doc)
    assert doc["schema"] == "pgqa.report/1"
    assert [f["rule"] for f in doc["findings"]][:2] == ["idle-in-transaction", "unpaged-list"]
    s0 = doc["statements"][0]
    for key in ("index", "queryid", "fingerprint", "text", "calls", "total_ms", "mean_ms", "rows", "source"):
        assert key in s0
    assert s0["share_pct"] == 60.0
    f = next(f for f in doc["findings"] if f["rule"] == "unpaged-list")
    assert f["statement"] == {"index": 0, "fingerprint": "fp-unpaged"}
    assert set(f) >= {
        "id",
        "rule",
        "severity",
        "title",
        "message",
        "evidence",
        "recommendation",
        "suggested_sql",
    }
    assert doc["index_suggestions"][0]["statements"] == ["fp-unpaged"]
    assert doc["connections"]["usable"] == 95


def test_json_reads_back_into_the_same_report() -> None:
    from analyzer.report.json import dumps, from_dict

    first = dumps(rich_report())
    again = dumps(from_dict(json.loads(first)))
    assert json.loads(again) == json.loads(first)


def test_schema_violation_raises_when_validation_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.report.json import SchemaViolation, dumps

    monkeypatch.setenv("PGQA_VALIDATE_SCHEMA", "1")
    r = rich_report()
    r.findings[0].severity = "urgent"  # not one of the five severities
    with pytest.raises(SchemaViolation, match="severity"):
        dumps(r)
    monkeypatch.setenv("PGQA_VALIDATE_SCHEMA", "0")
    assert '"urgent"' in dumps(r)


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_reports_without_server_or_findings_render(fmt: str) -> None:
    """A lint-style report (no target, statements without counters) and an empty one."""
    lint = Report(
        generated_at="2026-12-04T14:00:00+00:00",
        pgqa_version="0.1.0",
        statements=[Statement(UNPAGED, source="file", fingerprint="f1", has_stats=False)],
        findings=[
            Finding("unpaged-list", "high", "List without LIMIT", "m", statement_index=0, fingerprint="f1")
        ],
    )
    out = render(lint, fmt, width=80)
    assert "unpaged-list" in out
    empty = render(Report(generated_at="2026-12-04T14:00:00+00:00", pgqa_version="0.1.0"), fmt, width=80)
    if fmt == "json":
        assert json.loads(empty)["findings"] == []
    else:
        assert "pgqa report" in empty
