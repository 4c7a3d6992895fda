"""The demo's report and its tickets: every query shape of the incident gets a ticket that reads on
its own, ids are stable across runs, and the Markdown report of `pgqa demo` is complete."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlglot

from analyzer.localpg import LocalServer
from analyzer.report.json import validate

SHAPES = ("unpaged-list", "wide-select-join", "union-all-aggregates", "upsert-without-change-guard")
TICKET_SECTIONS = (
    "## Problem",
    "## Statement",
    "## Numbers",
    "## Evidence",
    "## Recommendation",
    "## How to verify the fix",
    "## Reproduce",
)


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=300
    )


def sql_blocks(md: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)\n```", md, re.S)


def parses(block: str) -> bool:
    try:
        # $n placeholders are parameters; sqlglot reads them everywhere as numbers
        return bool(sqlglot.parse(re.sub(r"\$(\d+)", r"\1", block), read="postgres"))
    except sqlglot.errors.SqlglotError:
        return False


@pytest.fixture(scope="module")
def demo_db(pg15: LocalServer) -> Iterator[str]:
    """A demo database of this module's own: other tests reset pg_stat_statements server-wide,
    which would leave the shared demo database without a workload by the time these run."""
    from analyzer.demo import setup_demo

    name = "pgqa_demo_tickets"
    dsn = setup_demo(pg15, dbname=name, scale=0.2)
    try:
        yield dsn
    finally:
        with pg15.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def demo_report(demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.json"
    res = pgqa("analyze", "--dsn", demo_db, "--format", "json", "--output", str(path))
    assert res.returncode == 0, res.stderr
    return path


def test_tickets_for_every_incident_shape(demo_report: Path, tmp_path: Path) -> None:
    doc = json.loads(demo_report.read_text())
    validate(doc)
    out = tmp_path / "tickets"
    res = pgqa("tickets", "--input", str(demo_report), "--out-dir", str(out))
    assert res.returncode == 0, res.stderr
    by_rule: dict[str, list[Path]] = {}
    for f in doc["findings"]:
        by_rule.setdefault(f["rule"], []).append(out / f"{f['id']}-{f['rule']}.md")
    for rule in SHAPES:
        assert by_rule.get(rule), f"no {rule} finding in the demo report"
        for path in by_rule[rule]:
            md = path.read_text()
            assert md.startswith("# [") and len(md.splitlines()[0]) <= 120
            for section in TICKET_SECTIONS:
                assert f"\n{section}\n" in md, f"{path.name} lacks {section}"
            blocks = sql_blocks(md)
            assert blocks, path.name
            for block in blocks:
                assert parses(block), f"{path.name}: {block}"
            # the statement's numbers and the pgqa command sit in the ticket itself
            assert "| calls |" in md and "| share of database time |" in md
            assert "pgqa analyze --dsn" in md
    # the incident's upsert ticket shows the guarded statement as its suggested change
    upsert = by_rule["upsert-without-change-guard"][0].read_text()
    if "## Suggested change" in upsert:
        assert "IS DISTINCT FROM" in upsert.split("## Suggested change", 1)[1]
    index = (out / "index.md").read_text()
    assert all(p.name in index for paths in by_rule.values() for p in paths)
    validate(json.loads((out / "findings.json").read_text()))


def test_demo_ids_are_stable_across_runs(demo_report: Path, demo_db: str, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    res = pgqa("analyze", "--dsn", demo_db, "--format", "json", "--output", str(again))
    assert res.returncode == 0, res.stderr

    def ids(path: Path) -> dict[tuple[str, str, str], str]:
        return {
            (f["rule"], (f["statement"] or {}).get("fingerprint") or "", f.get("key", "")): f["id"]
            for f in json.loads(path.read_text())["findings"]
        }

    a, b = ids(demo_report), ids(again)
    # the same rule on the same statement has the same id in both runs; the incident's shapes are
    # found in both (rules driven by counters, like n-plus-one against the median of the others,
    # may come and go as the counters move between runs)
    assert {k: a[k] for k in a.keys() & b.keys()} == {k: b[k] for k in a.keys() & b.keys()}
    assert {k: v for k, v in a.items() if k[0] in SHAPES} == {k: v for k, v in b.items() if k[0] in SHAPES}
    assert {k[0] for k in a} >= set(SHAPES)
    assert len(a.keys() & b.keys()) >= 0.8 * len(a)
    first = {(k[0], v) for k, v in a.items()}
    # against itself as a baseline, nothing is new and nothing resolved
    res = pgqa(
        "analyze",
        "--dsn",
        demo_db,
        "--format",
        "json",
        "--baseline",
        str(demo_report),
        "--no-advice",
        "--no-explain",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    shapes = [f for f in doc["findings"] if f["rule"] in SHAPES]
    assert shapes and all(f["status"] == "persisting" for f in shapes)
    assert all(f["first_seen"] == json.loads(demo_report.read_text())["generated_at"] for f in shapes)
    # the plan findings of the first run are not made without EXPLAIN: listed as resolved
    resolved = {r["id"] for r in doc["resolved_findings"]}
    assert resolved == {i for _, i in first} - {f["id"] for f in doc["findings"]}


def test_demo_markdown_report(tmp_path: Path) -> None:
    res = pgqa("demo", "--format", "markdown", "--scale", "0.05", "--rounds", "1")
    assert res.returncode == 0, res.stderr
    md = res.stdout
    assert md.startswith("# pgqa report")
    for heading in (
        "## Top statements by total time",
        "## Findings, in the order to fix them",
        "## Index suggestions",
        "## Connections",
    ):
        assert f"\n{heading}\n" in md
    for rule in SHAPES:
        assert f"] {rule}: " in md, rule
    for block in sql_blocks(md):
        assert parses(block), block
