"""`pgqa analyze` and `pgqa demo` against real servers: the command line the report records for
tickets (never the password, never a demo server that is gone), the statements' user and database
in the JSON, and `--chart FILE` writing the top-statements PNG linked from the Markdown."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from analyzer.localpg import LocalServer
from analyzer.report.charts import TOP_N
from analyzer.report.json import validate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=300
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def expected_size(statements: int) -> tuple[int, int]:
    # charts.top_statements: figsize (11, 0.45 per bar + 1.4) inches at 100 dpi, bars up to TOP_N
    bars = min(statements, TOP_N)
    return 1100, round((0.45 * bars + 1.4) * 100)


@pytest.fixture
def workload_db(pg17: LocalServer) -> Iterator[str]:
    """A database of its own with a few statements in pg_stat_statements; yields its DSN."""
    import psycopg

    name = "pgqa_report_commands"
    with pg17.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    dsn = pg17.dsn(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric)")
            conn.execute("INSERT INTO orders SELECT g, 'c' || (g % 100), g FROM generate_series(1, 20000) g")
            for i in range(20):
                conn.execute("SELECT * FROM orders WHERE customer = %s", (f"c{i}",))
                conn.execute("SELECT count(*) FROM orders WHERE total > %s", (i,))
        yield dsn
    finally:
        with pg17.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_analyze_records_its_command_without_the_password_and_links_the_chart(
    workload_db: str, tmp_path: Path
) -> None:
    password = conninfo_to_dict(workload_db).get("password")
    assert password, "the test server's DSN carries a password"
    out = tmp_path / "out"
    out.mkdir()
    report_json = out / "report.json"
    chart = out / "charts" / "top.png"
    chart.parent.mkdir()
    args = ("--dsn", workload_db, "--top", "5", "--no-advice", "--no-connections")
    res = pgqa("analyze", *args, "--format", "json", "--output", str(report_json), "--chart", str(chart))
    assert res.returncode == 0, res.stderr
    doc = json.loads(report_json.read_text())
    validate(doc)
    # the statements say who ran them where, as pg_stat_statements does
    ours = [s for s in doc["statements"] if "orders" in s["text"]]
    assert ours and all(
        s["database"] == "pgqa_report_commands" and s["user"] == conninfo_to_dict(workload_db)["user"]
        for s in ours
    )
    assert all(s["toplevel"] is True for s in ours)
    # the recorded command: same target and options, JSON out, no password anywhere
    cmd = doc["extra"]["command"]
    assert cmd.startswith("pgqa analyze --dsn ") and "--top 5" in cmd and "--no-advice" in cmd
    assert "dbname=pgqa_report_commands" in cmd and "--chart" not in cmd
    assert password not in report_json.read_text()
    # the PNG: a real PNG of matplotlib's size for the statements with counters
    with_stats = [s for s in doc["statements"] if s["has_stats"] and s["total_ms"] > 0]
    assert png_size(chart) == expected_size(len(with_stats))
    # tickets reproduce with that command and never show the password
    tickets = tmp_path / "tickets"
    res = pgqa("tickets", "--input", str(report_json), "--out-dir", str(tickets))
    assert res.returncode == 0, res.stderr
    files = list(tickets.glob("*.md"))
    assert files
    for f in files:
        assert password not in f.read_text(), f.name
    one = next(f for f in files if f.name != "index.md").read_text()
    reproduce = one.split("\n## Reproduce\n", 1)[1]
    assert "pgqa analyze --dsn" in reproduce and "--top 5" in reproduce
    # the Markdown report links the chart relative to the report file
    md_path = out / "report.md"
    res = pgqa("analyze", *args, "--format", "markdown", "--output", str(md_path), "--chart", str(chart))
    assert res.returncode == 0, res.stderr
    md = md_path.read_text()
    assert "![Top statements by total time](charts/top.png)" in md
    assert (md_path.parent / "charts" / "top.png").read_bytes()[:8] == PNG_MAGIC
    assert password not in md and "\n## Reproduce\n" in md


def test_analyze_chart_into_a_missing_directory_is_one_line(workload_db: str, tmp_path: Path) -> None:
    res = pgqa(
        "analyze",
        "--dsn",
        workload_db,
        "--no-advice",
        "--no-explain",
        "--no-connections",
        "--format",
        "json",
        "--chart",
        str(tmp_path / "no" / "such" / "top.png"),
    )
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "cannot write the chart" in res.stderr


def test_demo_tickets_reproduce_with_the_demo_and_the_chart_is_written(tmp_path: Path) -> None:
    report = tmp_path / "demo.json"
    chart = tmp_path / "demo-top.png"
    res = pgqa(
        "demo",
        "--scale",
        "0.05",
        "--rounds",
        "1",
        "--format",
        "json",
        "--output",
        str(report),
        "--chart",
        str(chart),
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(report.read_text())
    validate(doc)
    assert doc["extra"]["command"] == "pgqa demo --scale 0.05 --rounds 1 --format json --output demo.json"
    with_stats = [s for s in doc["statements"] if s["has_stats"] and s["total_ms"] > 0]
    assert png_size(chart) == expected_size(len(with_stats))
    tickets = tmp_path / "tickets"
    res = pgqa("tickets", "--input", str(report), "--out-dir", str(tickets))
    assert res.returncode == 0, res.stderr
    files = [f for f in tickets.glob("*.md") if f.name != "index.md"]
    assert files
    for f in files:
        md = f.read_text()
        reproduce = md.split("\n## Reproduce\n", 1)[1]
        assert "pgqa demo --scale 0.05 --rounds 1 --format json --output demo.json" in reproduce
        # the throw-away server is gone: no command that would connect to it
        assert "--dsn" not in md and "pgqa analyze" not in md, f.name
        # the fix is checked against this report in the tickets (the demo has no --baseline)
        assert "pgqa tickets --input after.json --baseline demo.json" in md
