"""Baselines by stable finding id: new, persisting with first_seen carried over, resolved."""

from __future__ import annotations

import json

from test_report_sample import rich_report

from analyzer.model import Finding, finding_id
from analyzer.report import render
from analyzer.report.baseline import apply_baseline
from analyzer.report.json import dumps, validate


def test_ids_are_stable_and_do_not_depend_on_numbers() -> None:
    a, b = rich_report(), rich_report()
    b.statements[0].total_ms *= 3
    b.statements[0].index = 7
    b.findings[2].statement_index = 7
    b.findings[2].title = "List without LIMIT returns 30,000 rows per call"
    assert [f.id for f in a.findings] == [f.id for f in b.findings]
    assert a.findings[2].id == finding_id("unpaged-list", "fp-unpaged")


def test_baseline_marks_new_persisting_and_resolved() -> None:
    old = rich_report()
    old.generated_at = "2026-11-01T10:00:00+00:00"
    old_doc = json.loads(dumps(old))
    # the first report had been compared with an even older one: first_seen goes back further
    wide = next(f for f in old_doc["findings"] if f["rule"] == "wide-select-join")
    wide["first_seen"] = "2026-10-01T09:00:00+00:00"

    new = rich_report()
    # the upsert got its WHERE guard: the finding is gone, the statement stays
    new.findings = [f for f in new.findings if f.rule != "upsert-without-change-guard"]
    # the unpaged list was replaced by a keyset page: the statement is gone as well
    new.findings = [f for f in new.findings if f.rule != "unpaged-list"]
    new.statements = [s for s in new.statements if s.fingerprint != "fp-unpaged"]
    # and something new showed up
    new.findings.append(
        Finding(
            "n-plus-one",
            "medium",
            "Called once per row of another statement",
            "m",
            statement_index=1,
            fingerprint="fp-wide",
        )
    )
    apply_baseline(new, old_doc)

    status = {f.rule: (f.status, f.first_seen) for f in new.findings}
    assert status["n-plus-one"] == ("new", new.generated_at)
    assert status["wide-select-join"] == ("persisting", "2026-10-01T09:00:00+00:00")
    assert status["union-all-aggregates"] == ("persisting", "2026-11-01T10:00:00+00:00")
    resolved = {r["rule"]: r for r in new.resolved_findings}
    assert set(resolved) == {"upsert-without-change-guard", "unpaged-list"}
    assert resolved["upsert-without-change-guard"]["statement_present"] is True
    assert resolved["unpaged-list"]["statement_present"] is False
    assert new.baseline == {
        "generated_at": "2026-11-01T10:00:00+00:00",
        "new": 1,
        "persisting": len(new.findings) - 1,
        "resolved": 2,
    }

    doc = json.loads(dumps(new))
    validate(doc)
    assert doc["baseline"]["resolved"] == 2
    assert {r["id"] for r in doc["resolved_findings"]} == {r["id"] for r in new.resolved_findings}
    text = render(new, "text", width=100)
    assert "1 new" in text and "2 resolved" in text and "Resolved since the baseline (2)" in text
    md = render(new, "markdown")
    assert "## Resolved since the baseline (2)" in md and "**new**" in md


def test_analyze_refuses_a_baseline_that_is_not_a_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    bad = tmp_path / "old.json"
    bad.write_text('{"not": "a report"}')
    # the file is checked before any connection: an unreachable DSN does not matter
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer",
            "analyze",
            "--dsn",
            "host=127.0.0.1 port=1",
            "--baseline",
            str(bad),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr
    assert "not a pgqa JSON report" in res.stderr and len(res.stderr.strip().splitlines()) == 1
