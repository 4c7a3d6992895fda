"""pgqa tickets over a hand-built report: one self-contained file per finding (or statement),
index.md, findings.json, baselines, charts, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from test_report_sample import rich_json, rich_report

from analyzer.report.json import dumps, validate

SECTIONS = (
    "## Statement",
    "## Numbers",
    "## Evidence",
    "## Recommendation",
    "## How to verify the fix",
    "## Reproduce",
)


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (fast); one test below runs it as a real subprocess."""
    import contextlib
    import io

    from analyzer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(["pgqa", *args], code, out.getvalue(), err.getvalue())


def pgqa_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=120
    )


def sql_blocks(md: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)\n```", md, re.S)


def assert_sql_parses(md: str) -> None:
    for block in sql_blocks(md):
        # $n placeholders are not SQL sqlglot reads in every position: read them as numbers
        assert sqlglot.parse(re.sub(r"\$(\d+)", r"\1", block), read="postgres"), block


def test_one_self_contained_ticket_per_finding(tmp_path: Path) -> None:
    out = tmp_path / "tickets"
    res = pgqa("tickets", "--input", rich_json(tmp_path), "--out-dir", str(out))
    assert res.returncode == 0, res.stderr
    report = json.loads(dumps(rich_report()))
    files = {p.name for p in out.glob("*.md")} - {"index.md"}
    # named by stable id with the rule's slug
    assert files == {f"{f['id']}-{f['rule']}.md" for f in report["findings"]}
    unpaged = next(f for f in report["findings"] if f["rule"] == "unpaged-list")
    md = (out / f"{unpaged['id']}-unpaged-list.md").read_text()
    title = md.splitlines()[0]
    assert title.startswith("# [HIGH] ") and len(title) < 120 and "60.0%" in title
    for section in (
        *SECTIONS,
        "## Problem",
        "## Plan excerpt",
        "## Suggested change",
        "## Index suggestions that help this statement",
    ):
        assert f"\n{section}\n" in md, section
    # the numbers a developer needs, the plan, the fix, the matching index, how to check it
    assert "| calls | 4,000 |" in md and "| share of database time | 60.0% |" in md
    assert "| PI load (AAS) | 1.4 |" in md
    assert "Seq Scan on candidates" in md
    assert "LIMIT 50" in md  # pgqa's own constant in the suggested SQL stays readable
    assert "CREATE INDEX CONCURRENTLY ON public.candidates (status, created_at DESC)" in md
    assert "rows per call" in md and "queryid = -8812" in md
    assert "pgqa analyze --dsn" in md and "pgqa tickets --input report.json" in md
    assert_sql_parses(md)
    # an index that does not help a statement is not in its ticket
    wide = next(f for f in report["findings"] if f["rule"] == "wide-select-join")
    assert "CREATE INDEX" not in (out / f"{wide['id']}-wide-select-join.md").read_text()


def test_index_and_findings_json(tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert pgqa("tickets", "--input", rich_json(tmp_path), "--out-dir", str(out)).returncode == 0
    index = (out / "index.md").read_text()
    links = re.findall(r"\]\(([^)]+\.md)\)", index)
    assert set(links) == {p.name for p in out.glob("*.md")} - {"index.md"}
    assert index.index("idle-in-transaction") < index.index("unpaged-list")  # order to fix them
    doc = json.loads((out / "findings.json").read_text())
    validate(doc)
    assert {f["ticket"] for f in doc["findings"]} == set(links)
    assert {s["fingerprint"] for s in doc["statements"]} == {
        "fp-unpaged",
        "fp-wide",
        "fp-union",
        "fp-upsert",
        "fp-activity",
    }
    # findings.json is itself a report pgqa tickets can read again
    again = tmp_path / "again"
    assert pgqa("tickets", "--input", str(out / "findings.json"), "--out-dir", str(again)).returncode == 0
    assert {p.name for p in again.glob("*.md")} == {p.name for p in out.glob("*.md")}


def test_group_by_statement(tmp_path: Path) -> None:
    from analyzer.model import Finding
    from analyzer.report.tickets import write_tickets

    r = rich_report()
    r.findings.append(
        Finding(
            "order-by-without-index",
            "low",
            "Sort without a matching index",
            "Sorts 10k rows.",
            statement_index=0,
            fingerprint="fp-unpaged",
        )
    )
    tickets = write_tickets(r, tmp_path, group="statement")
    by_stmt = [t for t in tickets if t.statement is not None]
    assert len(by_stmt) == 5  # one per statement with findings
    t0 = next(t for t in by_stmt if t.statement.fingerprint == "fp-unpaged")
    md = (tmp_path / t0.name).read_text()
    assert "unpaged-list" in md and "order-by-without-index" in md
    assert md.count("## Statement\n") == 1 and "and 1 more" in md.splitlines()[0]
    for section in SECTIONS:  # per-finding sections one level down
        assert re.search(rf"\n#?{section}\n", md), section
    assert md.count("### Recommendation\n") == 2
    assert_sql_parses(md)


def test_only_new_against_a_baseline(tmp_path: Path) -> None:
    old = rich_report()
    old.findings = [f for f in old.findings if f.rule != "unpaged-list"]
    old.generated_at = "2026-11-01T10:00:00+00:00"
    old_path = tmp_path / "old.json"
    old_path.write_text(dumps(old))
    out = tmp_path / "new"
    res = pgqa(
        "tickets",
        "--input",
        rich_json(tmp_path),
        "--out-dir",
        str(out),
        "--baseline",
        str(old_path),
        "--only-new",
    )
    assert res.returncode == 0, res.stderr
    assert [p.name.split("-", 1)[1] for p in out.glob("*.md") if p.name != "index.md"] == ["unpaged-list.md"]
    doc = json.loads((out / "findings.json").read_text())
    assert [f["status"] for f in doc["findings"]] == ["new"]
    # without a baseline, --only-new cannot know what is new: one line, exit 2
    res = pgqa("tickets", "--input", rich_json(tmp_path), "--out-dir", str(out), "--only-new")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--baseline" in res.stderr


def test_charts_are_written_and_linked(tmp_path: Path) -> None:
    out = tmp_path / "c"
    res = pgqa("tickets", "--input", rich_json(tmp_path), "--out-dir", str(out), "--chart")
    assert res.returncode == 0, res.stderr
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["chart-connections.png", "chart-top-statements.png"]
    for name in pngs:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = (out / "index.md").read_text()
    assert all(f"]({name})" in index for name in pngs)
    unpaged = next(out.glob("*-unpaged-list.md")).read_text()
    assert "](chart-top-statements.png)" in unpaged
    assert "](chart-connections.png)" in next(out.glob("*-idle-in-transaction.md")).read_text()


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        '{"hello": "world"}',
        "[1, 2]",
        '{"schema": "pgqa.report/9", "findings": []}',
        '{"schema": "pgqa.report/1", "findings": [{"id": 7, "rule": "x"}], "statements": []}',
        '{"schema": "pgqa.report/1", "findings": [], "statements": [{"text": "SELECT 1", "calls": "many"}]}',
        None,
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    # the first case as a real process: what a user's shell sees
    run = pgqa_process if content == "not json at all" else pgqa
    res = run("tickets", "--input", str(path), "--out-dir", str(tmp_path / "out"))
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr and str(path) in res.stderr
    assert not (tmp_path / "out").exists()


def test_fail_on_and_min_severity(tmp_path: Path) -> None:
    src = rich_json(tmp_path)
    res = pgqa(
        "tickets",
        "--input",
        src,
        "--out-dir",
        str(tmp_path / "a"),
        "--min-severity",
        "high",
        "--fail-on",
        "critical",
    )
    assert res.returncode == 1
    names = {p.name for p in (tmp_path / "a").glob("*.md")} - {"index.md"}
    assert {n.split("-", 1)[1] for n in names} == {"idle-in-transaction.md", "unpaged-list.md"}


def test_file_names_stay_unique(tmp_path: Path) -> None:
    """Two statements with one fingerprint (another user's copy) and a rule hitting one statement
    twice still give one file per ticket."""
    import copy

    from analyzer.model import Finding
    from analyzer.report.tickets import write_tickets

    r = rich_report()
    twin = copy.deepcopy(r.statements[0])
    twin.index, twin.user = 9, "reporting"
    r.statements.append(twin)
    f = next(f for f in r.findings if f.rule == "unpaged-list")
    r.findings.append(
        Finding(
            f.rule, f.severity, "Same rule, same statement", "m", statement_index=0, fingerprint=f.fingerprint
        )
    )
    tickets = write_tickets(r, tmp_path / "f")
    assert len({t.name for t in tickets}) == len(tickets) == len(r.findings)
    assert len(list((tmp_path / "f").glob("*.md"))) == len(tickets) + 1
