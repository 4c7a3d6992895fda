"""`pgqa demo` as a user runs it: a subprocess that starts its own server, prints a report and
cleans up (or, with --keep, leaves a server the user can connect to and stop)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from conftest import require

from analyzer import localpg

SCALE = "0.05"


def pgqa(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True,
                          timeout=timeout)


def have_server() -> None:
    found = any(localpg.find_binaries(m) for m in (18, 17, 16, 15, 14, 13))
    require(found, "a PostgreSQL server (run ./run setup)")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_demo_prints_the_incident_statements_as_json() -> None:
    have_server()
    res = pgqa("demo", "--format", "json", "--scale", SCALE)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    for step in ("starting PostgreSQL", "loading demo data", "replaying workload", "analyzing"):
        assert step in res.stderr
    report = json.loads(res.stdout)
    assert report["schema"] == "pgqa.report/1"
    assert report["target"]["database"] == "pgqa_demo"
    sources = {s["name"]: s["status"] for s in report["sources"]}
    assert sources.get("pg_stat_statements") == "ok", report["sources"]
    statements = report["statements"]
    texts = [flat(s["text"]) for s in statements]
    for fragment in ("FROM candidates c LEFT JOIN applications a",
                     "ORDER BY c.created_at DESC", "UNION ALL", "ON CONFLICT (external_id) DO UPDATE"):
        assert any(fragment in t for t in texts), fragment
    assert all(s["calls"] > 0 for s in statements)
    totals = [s["total_ms"] for s in statements]
    assert totals == sorted(totals, reverse=True)  # ranked by total time
    # the unindexed scans rank above the primary-key lookups
    top = " ".join(texts[:4])
    assert "FROM jobs WHERE id = $1" not in top


def test_demo_keep_leaves_a_server_to_connect_to_and_stop() -> None:
    """On PostgreSQL 17.6 (no hypopg), and with --fail-on info: exit 1 (the demo has findings),
    yet the server is kept."""
    require(localpg.find_binaries(17) is not None, "PostgreSQL 17 binaries (run ./run setup)")
    res = pgqa("demo", "--format", "json", "--scale", "0.01", "--rounds", "1", "--keep", "--pg-version", "17",
               "--fail-on", "info")
    assert res.returncode == 1, res.stderr
    assert "starting PostgreSQL 17" in res.stderr
    dsn = re.search(r"dsn:\s+(.+)", res.stderr)
    stop = re.search(r"stop: kill (\d+) && rm -rf (\S+)", res.stderr)
    assert dsn and stop, res.stderr
    pid, base = int(stop.group(1)), Path(stop.group(2))
    try:
        assert "127.0.0.1" in res.stderr and "local" in res.stderr
        password = re.search(r"password=(\S+)", dsn.group(1))
        assert password and password.group(1) not in res.stdout  # only on stderr, never in the report
        report = json.loads(res.stdout)
        assert report["target"]["server_version"].startswith("17.") and report["findings"]
        with psycopg.connect(dsn.group(1).strip(), connect_timeout=5) as conn:
            n = conn.execute("SELECT count(*) FROM candidates").fetchone()[0]
        assert n > 0
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)
    assert not base.exists()


def test_demo_without_server_binaries_says_what_to_do() -> None:
    res = pgqa("demo", "--pg-version", "9")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "PostgreSQL 9" in lines[0] and "./run setup" in lines[0]


def test_demo_rejects_a_scale_of_zero() -> None:
    res = pgqa("demo", "--scale", "0")
    assert res.returncode == 2
    assert "--scale" in res.stderr and "Traceback" not in res.stderr


def test_demo_terminated_midway_removes_its_server() -> None:
    have_server()
    proc = subprocess.Popen([sys.executable, "-m", "analyzer", "demo", "--format", "json", "--scale", "0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    base = None
    try:
        for line in proc.stderr:
            m = re.search(r"data in (\S+)", line)
            if m:
                base = Path(m.group(1))
            if "loading demo data" in line:
                break
        assert base is not None and base.exists()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert not base.exists()
