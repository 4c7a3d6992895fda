"""Real PostgreSQL servers for the tests: started once per session, removed at the end.

`pg` runs a test on every version this machine has (15 from Debian with hypopg, 17.6 from npm);
`pg15` / `pg17` pin one. With CI=true a missing server or hypopg fails the test instead of
skipping it: CI must never turn green by testing nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from analyzer import localpg

# Every JSON report written during the tests (in-process and in subprocesses, which inherit the
# environment) is checked against docs/report-schema.json by analyzer.report.json.dumps.
os.environ.setdefault("PGQA_VALIDATE_SCHEMA", "1")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MAJORS = (15, 17)


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine that lacks a part, fail in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI requires it: {reason}")
    pytest.skip(reason)


_servers: dict[int, localpg.LocalServer] = {}


def server_for(major: int) -> localpg.LocalServer:
    if major not in _servers:
        binaries = localpg.find_binaries(major)
        require(binaries is not None, f"PostgreSQL {major} binaries (run ./run setup)")
        assert binaries is not None
        _servers[major] = localpg.start(binaries)
    return _servers[major]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for server in _servers.values():
        server.remove()
    _servers.clear()


@pytest.fixture(scope="session", params=MAJORS, ids=[f"pg{m}" for m in MAJORS])
def pg(request: pytest.FixtureRequest) -> localpg.LocalServer:
    return server_for(request.param)


@pytest.fixture(scope="session")
def pg15() -> localpg.LocalServer:
    server = server_for(15)
    require(server.has_extension("hypopg"), "hypopg for PostgreSQL 15 (apt-get install postgresql-15-hypopg)")
    return server


@pytest.fixture(scope="session")
def pg17() -> localpg.LocalServer:
    return server_for(17)


_db_counter = iter(range(1_000_000))


@pytest.fixture
def fresh_db(pg: localpg.LocalServer) -> Iterator[str]:
    """A new empty database (with the extensions from template1) on `pg`; yields its DSN."""
    yield from _make_db(pg)


def _make_db(server: localpg.LocalServer) -> Iterator[str]:
    name = f"t{os.getpid()}_{next(_db_counter)}"
    with server.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield server.dsn(name)
    finally:
        with server.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def demo_dsn(pg15: localpg.LocalServer) -> str:
    """The demo database (schema, data, replayed workload) on PostgreSQL 15 with hypopg.
    Tests must not change it; make a fresh_db for that."""
    from analyzer.demo import setup_demo

    return setup_demo(pg15, dbname="pgqa_demo_tests")


@pytest.fixture(scope="module", params=MAJORS, ids=[f"pg{m}" for m in MAJORS])
def isolated_pg(request: pytest.FixtureRequest) -> Iterator[localpg.LocalServer]:
    """A server of its own, for tests that change server-wide state (a full
    pg_stat_statements_reset(), settings): the shared servers hold the demo's workload."""
    binaries = localpg.find_binaries(request.param)
    require(binaries is not None, f"PostgreSQL {request.param} binaries (run ./run setup)")
    assert binaries is not None
    server = localpg.start(binaries)
    yield server
    server.remove()


@pytest.fixture
def isolated_db(isolated_pg: localpg.LocalServer) -> Iterator[str]:
    """A new database on `isolated_pg`; yields its DSN."""
    yield from _make_db(isolated_pg)
