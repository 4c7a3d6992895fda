"""The snapshot store: concurrent writers, a writer killed mid-run, migration from schema v1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzer import sqlfiles
from analyzer.connections.store import SCHEMA_VERSION, StoreError, open_store
from analyzer.localpg import LocalServer
from analyzer.model import ConnectionGroup, ConnectionSnapshot

# One writer process: N snapshots (forever with N < 0) of instance TAG, printing "id seq" after
# each commit. Each snapshot has many groups, so a kill is likely to land inside a transaction.
WRITER = """
import sys
from analyzer.connections.store import open_store
from analyzer.model import ConnectionGroup, ConnectionSnapshot
url, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_store(url) as st:
    i = 0
    while n < 0 or i < n:
        groups = [ConnectionGroup("db", "u", f"app{k}", "10.0.0.1", count=1, by_state={"idle": 1})
                  for k in range(200)]
        snap = ConnectionSnapshot(taken_at=f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}+00:00",
                                  instance=tag, used=i, usable=100, used_pct=float(i), groups=groups)
        print(st.save_snapshot(snap), i, flush=True)
        i += 1
"""


def _writer(url: str, tag: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WRITER, url, tag, str(n)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _pg_store_url(server: LocalServer, db: str) -> str:
    return f"postgresql://postgres:{server.password}@{server.host}:{server.port}/{db}"


@pytest.fixture
def pg_store(pg17: LocalServer) -> Iterator[str]:
    name = f"store_{os.getpid()}_{time.monotonic_ns()}"
    with pg17.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield _pg_store_url(pg17, name)
    with pg17.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_writers_lose_nothing(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}" if kind == "sqlite" else request.getfixturevalue("pg_store")
    procs = {f"w{k}": _writer(url, f"w{k}", 15) for k in range(4)}
    ids = {}
    for tag, p in procs.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids[tag] = [int(line.split()[0]) for line in out.splitlines()]
        assert len(ids[tag]) == 15
    with open_store(url) as st:
        assert st.count() == 60
        assert sorted(st.instances()) == sorted(procs)
        for tag in procs:
            snaps = st.snapshots(tag)
            assert [s.used for s in snaps] == list(range(15))
            assert all(len(s.groups) == 200 for s in snaps)
    all_ids = [i for v in ids.values() for i in v]
    assert len(set(all_ids)) == 60


def test_sigkill_mid_run_keeps_every_committed_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    p = _writer(url, "victim", -1)
    committed = []
    assert p.stdout is not None
    while len(committed) < 25:
        line = p.stdout.readline()
        assert line, p.stderr.read() if p.stderr else "writer died"
        committed.append(int(line.split()[0]))
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    # everything printed was committed before the kill; one more may have made it
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with open_store(url) as st:
        snaps = st.snapshots("victim")
        assert len(snaps) >= len(committed)
        assert [s.used for s in snaps] == list(range(len(snaps)))  # no half-written snapshot
        assert all(len(s.groups) == 200 for s in snaps)
        # the store takes new snapshots after the crash
        st.save_snapshot(ConnectionSnapshot(taken_at="2026-01-02T00:00:00+00:00", instance="victim", used=1))
        assert len(st.snapshots("victim")) == len(snaps) + 1


V1_SNAPSHOT = ConnectionSnapshot(
    taken_at="2026-01-01T10:00:00+00:00", instance="old", used=12, usable=97, used_pct=12.4,
    groups=[ConnectionGroup("app", "web", "lambda-a", "10.0.0.7", count=9, by_state={"idle": 8, "active": 1},
                            max_idle_s=420.0),
            ConnectionGroup("app", "etl", "kintone-sync", "10.0.0.9", count=3,
                            by_state={"idle in transaction": 2, "idle": 1})])


def _make_v1_sqlite(path: Path) -> None:
    """A store as pgqa's schema v1 left it: the v1 DDL and a snapshot row without v2's columns."""
    db = sqlite3.connect(path)
    ddl = sqlfiles.load("connections/store/sqlite_v1")
    db.executescript(ddl)
    db.execute("INSERT INTO schema_version VALUES (1)")
    from dataclasses import asdict

    db.execute("INSERT INTO snapshots (instance, taken_at, status, error, used, usable, used_pct, data) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               ("old", V1_SNAPSHOT.taken_at, "ok", None, 12, 97, 12.4, json.dumps(asdict(V1_SNAPSHOT))))
    db.commit()
    db.close()


def test_migrates_a_v1_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _make_v1_sqlite(path)
    with open_store(f"sqlite:///{path}") as st:
        assert st.version() == SCHEMA_VERSION == 2
        (old,) = st.snapshots("old")
        assert old.used == 12 and [g.count for g in old.groups] == [9, 3]
        st.save_snapshot(ConnectionSnapshot(taken_at="2026-01-01T11:00:00+00:00", instance="old", used=3))
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT application_name, count, idle, idle_in_transaction, active, max_idle_s "
                          "FROM snapshot_groups WHERE snapshot_id = 1 ORDER BY count DESC").fetchall()
        versions = db.execute("SELECT pgqa_version FROM snapshots ORDER BY id").fetchall()
    # v2's groups table was filled from the v1 snapshot's JSON
    assert rows == [("lambda-a", 9, 8, 0, 1, 420.0), ("kintone-sync", 3, 1, 2, 0, 0.0)]
    assert versions[0][0] is None and versions[1][0]  # old rows have no writer version, new ones do


def test_migrates_a_v1_postgresql_store(pg_store: str) -> None:
    from dataclasses import asdict

    import psycopg

    with psycopg.connect(pg_store, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA pgqa")
        conn.execute("SET search_path = pgqa")
        conn.execute(sqlfiles.load("connections/store/postgresql_v1"))
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute("INSERT INTO snapshots (instance, taken_at, status, used, usable, used_pct, data) "
                     "VALUES ('old', %s, 'ok', 12, 97, 12.4, %s)",
                     [V1_SNAPSHOT.taken_at, json.dumps(asdict(V1_SNAPSHOT))])
    with open_store(pg_store) as st:
        assert st.version() == 2
        assert [g.application_name for g in st.snapshots("old")[0].groups] == ["lambda-a", "kintone-sync"]
    with psycopg.connect(pg_store) as conn:
        n = conn.execute("SELECT sum(count) FROM pgqa.snapshot_groups").fetchone()[0]
    assert n == 12


def test_a_newer_store_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with open_store(f"sqlite:///{path}"):
        pass
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer than this pgqa"):
        with open_store(f"sqlite:///{path}"):
            pass


def test_unwritable_store_is_one_line_exit_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = subprocess.run([sys.executable, "-m", "analyzer", "snapshot", "--store",
                          f"sqlite:///{blocker}/sub/store.db"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 3
    assert "Traceback" not in res.stderr and "snapshot store" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_prune_forgets_old_snapshots_of_one_instance_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(url) as st:
        for day in (1, 2, 3):
            for inst in ("a", "b"):
                st.save_snapshot(ConnectionSnapshot(taken_at=f"2026-01-0{day}T00:00:00+00:00", instance=inst,
                                                    used=day, groups=V1_SNAPSHOT.groups))
        assert st.prune("a", "2026-01-03T00:00:00+00:00") == 2
        assert [s.used for s in st.snapshots("a")] == [3]
        assert [s.used for s in st.snapshots("b")] == [1, 2, 3]
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT count(*) FROM snapshot_groups").fetchone()[0] == 4 * 2
