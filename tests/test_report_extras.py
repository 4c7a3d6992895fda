"""What the reports say beyond findings: the sources' notes in the summary, the statements' user,
database and toplevel in the JSON, passwords that stay masked when a renderer wraps or cuts a line,
and the recorded command line."""

from __future__ import annotations

import json
import re

from test_report_sample import rich_report

from analyzer.model import Report, SourceStatus, Statement
from analyzer.report import render
from analyzer.report.json import validate

HIDDEN = (
    "3 texts hidden as <insufficient privilege> (statements of other roles): GRANT pg_read_all_stats TO dba;"
)
OTHERS = "6 more in other databases (connect to them with --dsn to analyze those)"
PGSS = f"extension 1.11: 5 of 5 statements in database ats, top by total execution time; {OTHERS}; {HIDDEN}"
HYPOPG = "hypopg 1.4.1: 18 candidate indexes costed in pgqa's session"


def _noted_report() -> Report:
    r = rich_report()
    r.sources[0] = SourceStatus("pg_stat_statements", "ok", PGSS)
    r.sources.insert(2, SourceStatus("hypopg", "ok", HYPOPG))
    return r


def _summary(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[: next(i for i, line in enumerate(lines) if line.startswith("Top statements"))]


def test_text_summary_shows_the_notes_of_ok_sources_one_line_each() -> None:
    for width in (80, 100, 200):
        text = render(_noted_report(), "text", width=width)
        head = _summary(text)
        assert all(len(line) <= width for line in head), width
        # one line a source with a detail, under the Sources line, name first
        pgss = [line for line in head if line.strip().startswith("pg_stat_statements:")]
        assert len(pgss) == 1 and pgss[0].strip().startswith("pg_stat_statements: extension 1.11")
        assert any(line.strip() == f"hypopg: {HYPOPG}" for line in head)
        # the summary stays one screen: exactly one line for each of the four sources with a
        # detail, and the head before the tables well within a 24-line terminal
        names = ("pg_stat_statements:", "catalog:", "hypopg:", "performance_insights:", "logs:")
        assert sum(line.strip().startswith(names) for line in head) == 4
        assert len(head) <= 18, head
        # what a cut line leaves out is in full further down, wrapped but complete
        flat = " ".join(text.split())
        assert HIDDEN in flat and OTHERS in flat
    # wide enough, the notes are in the summary itself (nothing is cut)
    wide = " ".join(_summary(render(_noted_report(), "text", width=400)))
    assert "GRANT pg_read_all_stats TO dba;" in wide and "6 more in other databases" in wide


def test_markdown_summary_lists_the_notes_of_ok_sources() -> None:
    md = render(_noted_report(), "markdown")
    summary = md.split("\n## ", 1)[0]
    assert f"  - pg_stat_statements: {PGSS}" in summary.splitlines()
    assert f"  - hypopg: {HYPOPG}" in summary.splitlines()
    # a source that was skipped keeps its reason
    assert "  - performance_insights: no --pi" in summary.splitlines()


def test_passwords_stay_masked_when_a_line_is_wrapped_or_cut() -> None:
    # the rich report's logs source fails with a URI carrying a password; at narrow widths the
    # line is cut or wrapped inside the password, where the output-wide mask no longer sees it
    for width in (60, 70, 80, 100, 120):
        text = render(rich_report(), "text", width=width)
        assert "s3cr3" not in text, width
        assert "postgresql://dba:***@" in " ".join(text.split()) or "postgresql://dba:*" in text


def test_json_statements_carry_user_database_and_toplevel() -> None:
    r = Report(generated_at="2026-01-01T00:00:00+00:00", pgqa_version="0.1.0")
    r.statements = [
        Statement(
            "SELECT 1", fingerprint="a", user="app", database="shop", toplevel=False, calls=2, total_ms=4.0
        ),
        Statement("SELECT 2", source="file", fingerprint="b", has_stats=False),
    ]
    doc = json.loads(render(r, "json"))
    validate(doc)
    first, from_file = doc["statements"]
    assert (first["user"], first["database"], first["toplevel"]) == ("app", "shop", False)
    # the keys are always there, null where the source does not say
    assert {k: from_file[k] for k in ("user", "database", "toplevel")} == {
        "user": None,
        "database": None,
        "toplevel": None,
    }


def test_markdown_shows_the_recorded_command_to_reproduce() -> None:
    r = rich_report()
    r.extra["command"] = "pgqa demo --format json --output demo.json"
    md = render(r, "markdown")
    section = md.split("\n## Reproduce\n", 1)[1]
    assert re.search(r"```sh\npgqa demo --format json --output demo.json\n```", section)
    assert "## Reproduce" not in render(rich_report(), "markdown")


def test_info_findings_stay_out_of_the_fix_these_first_table() -> None:
    from analyzer.model import Finding

    r = Report(generated_at="2026-12-04T00:00:00+00:00", pgqa_version="0")
    r.statements = [
        Statement(text="SELECT a FROM t WHERE k = $1", fingerprint="f0", index=0, calls=10, total_ms=900.0),
        Statement(text="SELECT b FROM u ORDER BY c", fingerprint="f1", index=1, calls=10, total_ms=100.0),
    ]
    r.findings = [
        Finding("unpaged-list", "info", "Short list without LIMIT", "2 rows per call",
                statement_index=0, fingerprint="f0"),
        Finding("unpaged-list", "high", "Long list without LIMIT", "4,000 rows per call",
                statement_index=1, fingerprint="f1"),
    ]
    text = render(r, "text", width=120)
    top = text.split("Top findings (fix these first)", 1)[1].split("\n\n", 1)[0]
    assert "Long list without LIMIT" in top
    assert "Short list without LIMIT" not in top
    # still reported further down, with the statement it belongs to
    assert "Short list without LIMIT" in text.split("Top findings (fix these first)", 1)[1]
