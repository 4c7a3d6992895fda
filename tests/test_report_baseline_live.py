"""A baseline run against a real server: the statement that was fixed shows as resolved, the one
that appeared as new, the unchanged one as persisting with its first sighting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

UNPAGED = "SELECT id, name FROM candidates WHERE status = %s ORDER BY created_at DESC"
FIXED = "SELECT id, name FROM candidates WHERE status = %s ORDER BY created_at DESC, id DESC LIMIT 50"
UNCHANGED = (
    "SELECT c.*, a.* FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id WHERE c.id = %s"
)
NEW = (
    "SELECT 'applied' AS kpi, count(*) FROM applications WHERE status = 'applied' "
    "UNION ALL SELECT 'hired', count(*) FROM applications WHERE status = 'hired'"
)


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=180
    )


def run(dsn: str, statements: list[tuple[str, tuple[object, ...]]]) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        # forget this database's statements only: other tests share the server
        c.execute(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
            "WHERE datname = current_database()), 0)"
        )
        for sql, params in statements:
            for _ in range(5):
                c.execute(sql, params)  # type: ignore[arg-type]


def test_baseline_marks_fixed_resolved_and_new_new(fresh_db: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as c:
        c.execute(
            "CREATE TABLE candidates (id int PRIMARY KEY, name text, status text, created_at timestamptz)"
        )
        c.execute("CREATE TABLE applications (id int PRIMARY KEY, candidate_id int, status text)")
        c.execute(
            "INSERT INTO candidates SELECT g, 'n' || g, 'open', now() - g * interval '1 min' "
            "FROM generate_series(1, 500) g"
        )
        c.execute("INSERT INTO applications SELECT g, g % 500 + 1, 'applied' FROM generate_series(1, 1000) g")
        c.execute("ANALYZE")
    run(fresh_db, [(UNPAGED, ("open",)), (UNCHANGED, (1,))])
    before = tmp_path / "before.json"
    res = pgqa("analyze", "--dsn", fresh_db, "--format", "json", "--output", str(before), "--no-advice")
    assert res.returncode == 0, res.stderr
    old = json.loads(before.read_text())
    rules_before = {f["rule"] for f in old["findings"]}
    assert {"unpaged-list", "wide-select-join"} <= rules_before

    # the list gets its LIMIT, the KPI query arrives
    run(fresh_db, [(FIXED, ("open",)), (UNCHANGED, (1,)), (NEW, ())])
    after = tmp_path / "after.json"
    res = pgqa(
        "analyze",
        "--dsn",
        fresh_db,
        "--format",
        "json",
        "--output",
        str(after),
        "--no-advice",
        "--baseline",
        str(before),
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(after.read_text())
    status = {f["rule"]: f for f in doc["findings"]}
    assert status["union-all-aggregates"]["status"] == "new"
    assert status["wide-select-join"]["status"] == "persisting"
    assert status["wide-select-join"]["first_seen"] == old["generated_at"]
    assert "unpaged-list" not in status
    resolved = {r["rule"]: r for r in doc["resolved_findings"]}
    unpaged_id = next(f["id"] for f in old["findings"] if f["rule"] == "unpaged-list")
    assert resolved["unpaged-list"]["id"] == unpaged_id
    assert doc["baseline"]["generated_at"] == old["generated_at"]

    # tickets for what is new only
    out = tmp_path / "tickets"
    res = pgqa("tickets", "--input", str(after), "--out-dir", str(out), "--only-new")
    assert res.returncode == 0, res.stderr
    written = {p.name for p in out.glob("*.md")} - {"index.md"}
    assert written == {f"{f['id']}-{f['rule']}.md" for f in doc["findings"] if f["status"] == "new"}
    index = (out / "index.md").read_text()
    assert "## Resolved since the baseline" in index and unpaged_id in index
