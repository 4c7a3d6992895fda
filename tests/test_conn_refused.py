"""A refused connection is data: a server whose ordinary slots are all taken."""

from __future__ import annotations

import json
import secrets
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from conftest import require

from analyzer import localpg
from analyzer.cli import main
from analyzer.connections.store import open_store

SMALL = {"max_connections": "6", "superuser_reserved_connections": "2"}


@pytest.fixture(scope="module", params=[15, 17], ids=["pg15", "pg17"])
def small_server(request: pytest.FixtureRequest) -> Iterator[tuple[localpg.LocalServer, str]]:
    binaries = localpg.find_binaries(request.param)
    require(binaries is not None, f"PostgreSQL {request.param} binaries (run ./run setup)")
    assert binaries is not None
    server = localpg.start(binaries, SMALL)
    password = secrets.token_hex(8)
    with server.connect() as conn:
        conn.execute(f"CREATE ROLE app LOGIN PASSWORD '{password}'")
    try:
        yield server, password
    finally:
        server.remove()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def pgqa(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """The pgqa CLI entry point, in this process (no interpreter start per call)."""
    def run(*args: str) -> Result:
        code = main(list(args))
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def _fill(server: localpg.LocalServer, dsn: str, n: int, app: str, stack: ExitStack) -> None:
    for _ in range(n):
        conn = psycopg.connect(dsn, autocommit=True, application_name=app)
        stack.callback(conn.close)


def _stored(store: Path) -> list[dict]:
    with sqlite3.connect(store) as db:
        return [json.loads(r[0]) for r in db.execute("SELECT data FROM snapshots ORDER BY id")]


def test_refused_snapshot_is_stored_with_the_server_message(pgqa, small_server, tmp_path: Path) -> None:
    server, password = small_server
    app_dsn = server.dsn(user="app", password=password)
    store = tmp_path / "s.db"
    with ExitStack() as stack:
        _fill(server, app_dsn, 4, "lambda-a", stack)  # every slot an ordinary role may use
        res = pgqa("snapshot", "--dsn", app_dsn, "--store", f"sqlite:///{store}")
        assert res.returncode == 3, res.stderr
        assert "refused" in res.stderr and "remaining connection slots are reserved" in res.stderr
        assert password not in res.stderr + res.stdout

        res2 = pgqa("snapshot", "--dsn", app_dsn, "--reserved-dsn", server.dsn(), "--store", f"sqlite:///{store}")
        assert res2.returncode == 3, res2.stderr
        live = pgqa("connections", "--dsn", app_dsn, "--format", "json")
        assert live.returncode == 3, live.stderr
        doc = json.loads(live.stdout)
        assert doc["connections"]["status"] == "refused"
        assert "connections-refused" in {f["rule"] for f in doc["findings"]}
    first, second = _stored(store)
    assert first["status"] == "refused" and "remaining connection slots are reserved" in first["error"]
    assert first["used"] is None and first["groups"] == []
    assert password not in json.dumps(first)
    # through the reserved slot pgqa still saw who held the others
    assert second["status"] == "refused" and "remaining connection slots are reserved" in second["error"]
    assert second["captured_via"] == "reserved-dsn"
    holders = {(g["user"], g["application_name"]): g["count"] for g in second["groups"]}
    assert holders[("app", "lambda-a")] == 4
    assert holders[("postgres", "pgqa")] == 1
    assert second["usable"] == 4 and second["used"] == 5
    assert first["instance"] == second["instance"] == f"127.0.0.1:{server.port}/postgres"


def test_too_many_clients_when_even_reserved_slots_are_gone(pgqa, small_server, tmp_path: Path) -> None:
    server, password = small_server
    store_url = f"sqlite:///{tmp_path / 's.db'}"
    with ExitStack() as stack:
        _fill(server, server.dsn(user="app", password=password), 4, "lambda-b", stack)
        _fill(server, server.dsn(), 2, "admin", stack)
        res = pgqa("snapshot", "--dsn", server.dsn(), "--store", store_url)
    assert res.returncode == 3
    with open_store(store_url) as st:
        (snap,) = st.snapshots(st.instances()[0])
    assert snap.status == "refused" and "too many clients already" in (snap.error or "")
    # the history report lists the event and the connections-refused finding
    res = pgqa("connections", "--since", "1h", "--store", store_url, "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [e["status"] for e in out["connections_history"]["events"]] == ["refused"]
    assert "connections-refused" in {f["rule"] for f in out["findings"]}


def test_timeout_and_unreachable_are_stored_too(pgqa, tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 's.db'}"
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts TCP but never speaks the protocol
    port = silent.getsockname()[1]
    accepted: list[socket.socket] = []
    t = threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True)
    t.start()
    try:
        res = pgqa("snapshot", "--dsn", f"host=127.0.0.1 port={port} dbname=x user=x",
                   "--connect-timeout", "1", "--store", store_url)
    finally:
        for s in accepted:
            s.close()
        silent.close()
    assert res.returncode == 3
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free_port = closed.getsockname()[1]
    closed.close()
    res2 = pgqa("snapshot", "--dsn", f"host=127.0.0.1 port={free_port} dbname=x user=x", "--store", store_url)
    assert res2.returncode == 3
    assert "Traceback" not in res.stderr + res2.stderr
    with open_store(store_url) as st:
        snaps = [s for i in st.instances() for s in st.snapshots(i)]
    by_port = {s.instance: s for s in snaps}
    assert by_port[f"127.0.0.1:{port}/x"].status == "timeout"
    refused_tcp = by_port[f"127.0.0.1:{free_port}/x"]
    assert refused_tcp.status == "error" and "refused" in (refused_tcp.error or "").lower()


@pytest.mark.parametrize("message, status", [
    ("FATAL:  sorry, too many clients already", "refused"),
    ("FATAL:  remaining connection slots are reserved for non-replication superuser connections", "refused"),
    ("FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute", "refused"),
    ('FATAL:  remaining connection slots are reserved for roles with privileges of the '
     '"pg_use_reserved_connections" role', "refused"),
    ("FATAL:  remaining connection slots are reserved for non-replication superuser and rds_superuser "
     "connections", "refused"),
    ('FATAL:  remaining connection slots are reserved for roles with privileges of the "rds_reserved" role',
     "refused"),
    ('FATAL:  too many connections for role "app"', "refused"),
    ('FATAL:  too many connections for database "ats"', "refused"),
    ("connection timeout expired", "timeout"),
    ('connection to server at "10.0.0.5", port 5432 failed: Connection refused', "error"),
    ('FATAL:  password authentication failed for user "app"', "error"),
])
def test_every_out_of_slots_text_is_a_refusal(message: str, status: str) -> None:
    from analyzer.connections.snapshot import classify_failure

    assert classify_failure(message) == status


def test_snapshot_redaction_leaves_no_literal() -> None:
    from analyzer.connections.snapshot import redact

    out = redact("SELECT * FROM t2 WHERE email = 'ann@example.com' AND id = 42 AND x = $$a$$")
    assert "ann@example.com" not in out and "42" not in out and "$$a$$" not in out and "t2" in out
