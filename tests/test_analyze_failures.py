"""What a user sees when pgqa cannot do its job: one line on stderr naming the cause (with the
SQLSTATE where the server sent one), exit 3 when the target cannot be reached, and a report
that goes on without what is missing (pg_stat_statements, other roles' query texts)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import MAJORS, require

from analyzer import localpg

SECRET = "Wr0ng-Secret-Pw-4711"


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True,
                          timeout=180, env=clean)


def one_line_error(res: subprocess.CompletedProcess[str], code: int = 3) -> str:
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
    return lines[0]


def source(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in report["sources"] if s["name"] == name]
    assert found, report["sources"]
    return found[0]


def test_wrong_password(pg: localpg.LocalServer) -> None:
    res = pgqa("analyze", "--dsn", pg.dsn(password=SECRET), "--format", "json")
    line = one_line_error(res)
    assert "password authentication failed" in line
    assert "28P01" in line
    assert SECRET not in res.stdout + res.stderr
    # The same through a URI, where the password sits inside the host part.
    uri = f"postgresql://postgres:{SECRET}@{pg.host}:{pg.port}/postgres"
    res = pgqa("analyze", "--dsn", uri)
    assert "28P01" in one_line_error(res)
    assert SECRET not in res.stdout + res.stderr


def test_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_line_error(pgqa("analyze", "--dsn", f"host=127.0.0.1 port={port} user=x dbname=x"))
    assert "refused" in line.lower()
    assert str(port) in line


def test_missing_database(pg: localpg.LocalServer) -> None:
    line = one_line_error(pgqa("analyze", "--dsn", pg.dsn("no_such_db_here")))
    assert "no_such_db_here" in line
    assert "3D000" in line
    assert pg.password not in line


def test_unparseable_dsn_is_a_usage_error() -> None:
    res = pgqa("analyze", "--dsn", f"host=127.0.0.1 password={SECRET} port")
    line = one_line_error(res, code=2)
    assert "dsn" in line.lower()
    assert SECRET not in res.stdout + res.stderr


def test_missing_pg_stat_statements(pg: localpg.LocalServer, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    res = pgqa("analyze", "--dsn", fresh_db, "--format", "json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    pgss = source(report, "pg_stat_statements")
    assert pgss["status"] == "skipped"
    assert "CREATE EXTENSION pg_stat_statements;" in pgss["detail"]
    assert report["statements"] == []
    # The run went on: the catalog was still read.
    assert source(report, "catalog")["status"] == "ok"
    assert "Traceback" not in res.stderr
    # and the user is told on stderr, in one line, what to run
    told = [ln for ln in res.stderr.splitlines() if "pg_stat_statements" in ln]
    assert len(told) == 1 and "CREATE EXTENSION pg_stat_statements;" in told[0]


def _role(conn: psycopg.Connection[Any], name: str, password: str) -> None:
    conn.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        psycopg.sql.Identifier(name), psycopg.sql.Literal(password)))


def _drop_roles(server: localpg.LocalServer, *names: str) -> None:
    with server.connect() as conn:
        for name in names:
            conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(name)))


def test_role_without_pg_read_all_stats(pg: localpg.LocalServer, fresh_db: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    app, viewer = f"{dbname}_app", f"{dbname}_viewer"
    with pg.connect() as conn:
        _role(conn, app, "app-pw")
        _role(conn, viewer, "viewer-pw")
    try:
        with psycopg.connect(pg.dsn(dbname, user=app, password="app-pw"), autocommit=True) as conn:
            for i in range(9):
                conn.execute("SELECT %s::int * 2 AS doubled, 'app statement' AS tag", [i])
        with psycopg.connect(pg.dsn(dbname, user=viewer, password="viewer-pw"), autocommit=True) as conn:
            for i in range(3):
                conn.execute("SELECT %s::int + 1 AS viewer_own", [i])
        res = pgqa("analyze", "--dsn", pg.dsn(dbname, user=viewer, password="viewer-pw"),
                   "--format", "json")
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        report = json.loads(res.stdout)
        assert report["target"]["can_read_all_stats"] is False
        pgss = source(report, "pg_stat_statements")
        assert pgss["status"] == "ok"
        assert "<insufficient privilege>" in pgss["detail"]
        assert f"GRANT pg_read_all_stats TO {viewer};" in pgss["detail"]
        hidden = [s for s in report["statements"] if s["extra"].get("hidden_text")]
        assert hidden and all(s["text"] == "<insufficient privilege>" for s in hidden)
        assert any(s["calls"] == 9 for s in hidden)  # the app's statement: counted, text hidden
        own = [s for s in report["statements"] if "viewer_own" in s["text"]]
        assert [s["calls"] for s in own] == [3]
        assert not own[0]["extra"].get("hidden_text")
        told = [ln for ln in res.stderr.splitlines() if "<insufficient privilege>" in ln]
        assert len(told) == 1 and f"GRANT pg_read_all_stats TO {viewer};" in told[0]
    finally:
        _drop_roles(pg, app, viewer)


@pytest.fixture(scope="module", params=MAJORS, ids=[f"pg{m}" for m in MAJORS])
def small_server(request: pytest.FixtureRequest) -> Iterator[localpg.LocalServer]:
    """A server with 5 slots, 2 of them reserved for superusers: 3 for ordinary roles."""
    binaries = localpg.find_binaries(request.param)
    require(binaries is not None, f"PostgreSQL {request.param} binaries (run ./run setup)")
    assert binaries is not None
    server = localpg.start(binaries, {"max_connections": "5", "superuser_reserved_connections": "2"})
    yield server
    server.remove()


def test_server_at_max_connections(small_server: localpg.LocalServer) -> None:
    with small_server.connect() as conn:
        _role(conn, "app", "app-pw")
        conn.execute("GRANT pg_read_all_stats TO app")
    dsn = small_server.dsn(user="app", password="app-pw")
    held: list[psycopg.Connection[Any]] = []
    try:
        while True:  # fill every ordinary slot with idle sessions of the role
            try:
                held.append(psycopg.connect(dsn, autocommit=True))
            except psycopg.OperationalError:
                break
            assert len(held) <= 5
        assert len(held) == 3
        line = one_line_error(pgqa("analyze", "--dsn", dsn, "--format", "json"))
        assert "53300" in line
        assert "slots" in line
        assert "app-pw" not in line
    finally:
        for conn in held:
            conn.close()
        _drop_roles(small_server, "app")


def test_connection_lost_mid_run(pg: localpg.LocalServer, fresh_db: str) -> None:
    """The server ends pgqa's session while it runs (an admin's pg_terminate_backend, a failover):
    one line, exit 3, and whatever was gathered before is still written out."""
    import threading
    import time

    dbname = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    killed: list[int] = []
    finished = threading.Event()

    def kill_pgqa() -> None:
        with pg.connect() as conn:
            deadline = time.monotonic() + 60
            while not killed and not finished.is_set() and time.monotonic() < deadline:
                # once it is past connecting (version, extensions, session guards)
                row = conn.execute(
                    "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name = 'pgqa' AND query <> '' "
                    "AND query NOT LIKE '%%server_version_num%%' AND query NOT LIKE '%%FROM pg_extension%%' "
                    "AND query NOT LIKE '%%set_config%%'", [dbname]).fetchone()
                if row and row[0]:
                    killed.append(int(row[1]))
                time.sleep(0.002)

    killer = threading.Thread(target=kill_pgqa, daemon=True)
    killer.start()
    res = pgqa("analyze", "--dsn", fresh_db, "--format", "json")
    finished.set()
    killer.join(timeout=70)
    assert killed, "pgqa's session was never seen"
    assert res.returncode == 3, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "lost the connection" in lines[0]
    partial = json.loads(res.stdout)  # what was gathered before is written out
    assert partial["schema"] == "pgqa.report/1"
    assert partial["target"]["database"] == dbname
    assert any(s["name"] == "target" and s["status"] == "error" for s in partial["sources"])
