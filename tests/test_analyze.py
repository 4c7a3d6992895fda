"""`pgqa analyze` as a user runs it (a subprocess, `python -m analyzer`) against real servers:
call counts as executed, exactly one connection per run, the report's sources."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import require

from analyzer import localpg

CALLS = 37
OWN_MARKER = "/* pgqa */"
# Transaction control and prepared-statement housekeeping, with or without a leading comment.
SESSION_CONTROL = re.compile(r"^\s*(?:/\*.*?\*/\s*)?(?:--[^\n]*\n\s*)*"
                             r"(BEGIN|START|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|DEALLOCATE)\b",
                             re.I | re.S)


@pytest.fixture
def fresh_db17(pg17: localpg.LocalServer) -> Iterator[str]:
    """A new database on PostgreSQL 17 only, for tests where one version says enough."""
    with pg17.connect() as conn:
        name = f"a{os.getpid()}_{time.monotonic_ns()}"
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg17.dsn(name)
    finally:
        with pg17.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pgqa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True,
                          timeout=180, env={**clean, **(env or {})})


def analyze_json(dsn: str, *extra: str) -> dict[str, Any]:
    res = pgqa("analyze", "--dsn", dsn, "--format", "json", *extra)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def source(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in report["sources"] if s["name"] == name]
    assert found, f"no source {name} in {report['sources']}"
    return found[0]


def run_workload(dsn: str) -> None:
    """One statement, executed CALLS times with bound parameters from the test's own connection."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int, total numeric)")
        conn.execute("INSERT INTO orders SELECT g, g % 50, g * 1.5 FROM generate_series(1, 2000) g")
        for i in range(CALLS):
            conn.execute("SELECT id, total FROM orders WHERE customer = %s ORDER BY id", [i])


def pgss_calls(server: localpg.LocalServer, dbname: str) -> dict[str, int]:
    """calls of each pg_stat_statements entry of the database (read from another database, so the
    probe itself is no entry of this one)."""
    with server.connect() as conn:
        rows = conn.execute(
            "SELECT query, sum(calls)::bigint FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s) GROUP BY query",
            [dbname]).fetchall()
    return {str(q): int(n) for q, n in rows}


def db_sessions(server: localpg.LocalServer, dbname: str) -> int:
    with server.connect() as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [dbname]).fetchone()
    return int(row[0]) if row else 0


def wait_for_sessions(server: localpg.LocalServer, dbname: str, at_least: int, timeout: float = 10) -> int:
    """pg_stat_database counts a session when its backend exits, a moment after the client left."""
    deadline = time.monotonic() + timeout
    value = db_sessions(server, dbname)
    while value < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
        value = db_sessions(server, dbname)
    time.sleep(0.3)  # a second session, if there were one, would have ended by now too
    return db_sessions(server, dbname)


class PgqaSampler(threading.Thread):
    """Samples pg_stat_activity from another session while pgqa runs."""

    def __init__(self, server: localpg.LocalServer, dbname: str) -> None:
        super().__init__(daemon=True)
        self.server, self.dbname = server, dbname
        self.stop = threading.Event()
        self.pids: set[tuple[int, str]] = set()
        self.max_concurrent = 0
        self.samples = 0

    def run(self) -> None:
        with self.server.connect() as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT pid, backend_start::text FROM pg_stat_activity "
                    "WHERE datname = %s AND (application_name = 'pgqa' OR backend_type = 'client backend')",
                    [self.dbname]).fetchall()
                self.pids.update((int(pid), start) for pid, start in rows)
                self.max_concurrent = max(self.max_concurrent, len(rows))
                self.samples += 1
                time.sleep(0.003)


def test_calls_as_executed_and_one_connection(pg: localpg.LocalServer, fresh_db: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    before = db_sessions(pg, dbname)
    run_workload(fresh_db)
    after_workload = wait_for_sessions(pg, dbname, before + 1)
    assert after_workload == before + 1

    sampler = PgqaSampler(pg, dbname)
    sampler.start()
    try:
        report = analyze_json(fresh_db)
    finally:
        sampler.stop.set()
        sampler.join(timeout=10)

    assert report["schema"] == "pgqa.report/1"
    assert report["target"]["server_version"].split(".")[0] == str(pg.major)
    assert source(report, "pg_stat_statements")["status"] == "ok"
    mine = [s for s in report["statements"]
            if s["text"] == "SELECT id, total FROM orders WHERE customer = $1 ORDER BY id"]
    assert len(mine) == 1, [s["text"] for s in report["statements"]]
    assert mine[0]["calls"] == CALLS
    assert mine[0]["rows"] == CALLS * (2000 // 50)  # customers 0..36, 40 orders each
    # pgqa's own statements never count as the workload, not even those of an earlier run.
    assert not any(s["text"].startswith("/* pgqa */") for s in report["statements"])

    # Exactly one session from pgqa: the server's own session counter and the sampled activity.
    assert wait_for_sessions(pg, dbname, after_workload + 1) == after_workload + 1
    assert sampler.samples > 0
    assert sampler.max_concurrent <= 1
    assert len(sampler.pids) <= 1

    # A second run (explain and advice on, as by default): nothing the first one sent (catalog
    # reads, pg_stat_statements, EXPLAINs, the advisor's what-ifs) shows up as workload.
    control_before = {q: n for q, n in pgss_calls(pg, dbname).items() if SESSION_CONTROL.match(q)}
    second = analyze_json(fresh_db)
    entries = pgss_calls(pg, dbname)
    control_after = {q: n for q, n in entries.items() if SESSION_CONTROL.match(q)}
    texts_first = {s["text"] for s in report["statements"]}
    texts_second = {s["text"] for s in second["statements"]}
    assert texts_second <= texts_first, texts_second - texts_first
    assert not any(t.startswith(OWN_MARKER) or SESSION_CONTROL.match(t) for t in texts_second)
    # the run did explain and cost the workload's statement (its plans are pgqa's, marked, entries)
    assert any(q.startswith(OWN_MARKER) and "EXPLAIN" in q for q in entries), sorted(entries)
    if pg.major < 16:
        assert source(second, "hypopg")["status"] == "ok"
    # Every entry pgqa's runs left is marked: besides them, only the workload's own statements.
    assert {q for q in entries if not q.startswith(OWN_MARKER)} <= texts_first, sorted(entries)
    # No unmarked BEGIN / ROLLBACK / SAVEPOINT / DEALLOCATE entry of the user's grew by pgqa's run.
    grown = {q: (control_before.get(q, 0), n) for q, n in control_after.items()
             if n > control_before.get(q, 0) and not q.startswith(OWN_MARKER)}
    assert not grown
    if pg.major < 16:
        # Utility statements are told apart by their text: pgqa's PREPARE path (no GENERIC_PLAN
        # before 16) runs in marked transactions, entries of their own, and the workload
        # (autocommit) has no transaction-control entry at all. (Before 17 pg_stat_statements
        # tracks neither PREPARE nor DEALLOCATE; pgqa's PREPARE text starts with the marker anyway.)
        assert all(q.startswith(OWN_MARKER) for q in control_after), control_after
        assert any(re.search(r"\bROLLBACK\b", q) for q in control_after), control_after
    else:
        # 16+ jumbles utility statements by parse tree, so a marked BEGIN would share (and inflate)
        # the user's BEGIN entry: there pgqa sends none at all (EXPLAIN (GENERIC_PLAN) in autocommit,
        # no PREPARE / DEALLOCATE, no hypopg savepoint outside a transaction).
        assert control_after == {}, control_after
    assert second["extra"]["queries_sent"] >= 4


@pytest.fixture(scope="module", params=[17], ids=["pg17"])
def logging_server(request: pytest.FixtureRequest) -> Any:
    binaries = localpg.find_binaries(request.param)
    require(binaries is not None, f"PostgreSQL {request.param} binaries (run ./run setup)")
    assert binaries is not None
    server = localpg.start(binaries, {"log_connections": "on"})
    yield server
    server.remove()


def test_server_log_shows_one_connection(logging_server: localpg.LocalServer) -> None:
    log = Path(logging_server.logfile)
    with logging_server.connect() as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    time.sleep(0.2)
    start = log.stat().st_size
    res = pgqa("analyze", "--dsn", logging_server.dsn(), "--format", "json")
    assert res.returncode == 0, res.stderr
    time.sleep(0.3)
    with log.open("rb") as fh:
        fh.seek(start)
        during = fh.read().decode(errors="replace").splitlines()
    received = [ln for ln in during if "connection received" in ln]
    authorized = [ln for ln in during if "connection authorized" in ln]
    assert len(received) == 1, during
    assert len(authorized) == 1 and "application_name=pgqa" in authorized[0], during


def test_text_and_markdown_list_the_statement(pg17: localpg.LocalServer, fresh_db17: str) -> None:
    fresh_db = fresh_db17
    run_workload(fresh_db)
    res = pgqa("analyze", "--dsn", fresh_db, "--format", "text", "--no-advice", "--no-explain")
    assert res.returncode == 0, res.stderr
    assert "FROM orders WHERE customer" in res.stdout
    md = pgqa("analyze", "--dsn", fresh_db, "--format", "markdown", "--no-advice", "--no-explain")
    assert md.returncode == 0, md.stderr
    assert "orders" in md.stdout


def test_top_and_min_calls_limit_the_statements(pg17: localpg.LocalServer, fresh_db17: str) -> None:
    fresh_db = fresh_db17
    run_workload(fresh_db)
    report = analyze_json(fresh_db, "--top", "1", "--no-advice", "--no-explain", "--no-connections")
    assert len(report["statements"]) == 1
    frequent = analyze_json(fresh_db, "--min-calls", str(CALLS), "--no-advice", "--no-explain")
    assert [s["calls"] for s in frequent["statements"]] == [CALLS]


def test_libpq_environment_is_used_without_dsn(pg17: localpg.LocalServer, fresh_db17: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(fresh_db17)
    env = {"PGHOST": str(params["host"]), "PGPORT": str(params["port"]), "PGUSER": str(params["user"]),
           "PGPASSWORD": str(params["password"]), "PGDATABASE": str(params["dbname"])}
    res = pgqa("analyze", "--format", "json", "--no-advice", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["target"]["database"] == params["dbname"]
    assert str(params["password"]) not in res.stdout + res.stderr


@pytest.mark.parametrize("args", [["--top", "0"], ["--statement-timeout", "0"], ["--whatif", "maybe"]])
def test_bad_options_exit_2(args: list[str]) -> None:
    res = pgqa("analyze", "--dsn", "host=127.0.0.1 port=1", *args)
    assert res.returncode == 2
    assert res.stderr.strip()
    assert "Traceback" not in res.stderr
