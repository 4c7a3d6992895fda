"""A connection-slot snapshot of known sessions on a real server: every count and group exact."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from psycopg import conninfo

from analyzer.connections import checks, snapshot
from analyzer.target import Target

ARCH_KEYS = {"taken_at", "status", "error", "max_connections", "reserved", "usable", "used", "used_pct",
             "by_state", "groups", "idle_age", "waiting", "blocked", "oldest_xact_age_s"}
GROUP_KEYS = {"database", "user", "application_name", "client_addr", "count", "by_state",
              "oldest_backend_start", "max_idle_s"}


def _session(dsn: str, app: str, stack: ExitStack) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True, application_name=app)
    stack.callback(conn.close)
    return conn


def _wait_until(conn: psycopg.Connection, sql: str, params: list, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute(sql, params).fetchone()[0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not reached: {sql}")


@pytest.fixture
def known_sessions(fresh_db: str) -> Iterator[dict]:
    """7 idle lambda-a, 3 idle lambda-b, 2 idle in transaction (worker, one holding a row lock),
    1 waiting on that lock (waiter). All in fresh_db."""
    dbname = conninfo.conninfo_to_dict(fresh_db)["dbname"]
    with ExitStack() as stack:
        admin = _session(fresh_db, "test-admin", stack)
        admin.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        admin.execute("INSERT INTO t VALUES (1, 'x')")
        admin.execute(f"ALTER DATABASE {dbname} SET idle_in_transaction_session_timeout = '10min'")
        for app, n in (("lambda-a", 7), ("lambda-b", 3)):
            for _ in range(n):
                _session(fresh_db, app, stack).execute("SELECT 1")
        workers = [_session(fresh_db, "worker", stack) for _ in range(2)]
        started = time.monotonic()
        for w in workers:
            w.execute("BEGIN")
        workers[0].execute("SELECT * FROM t WHERE id = 1 FOR UPDATE")
        workers[1].execute("SELECT 1")
        holder_pid = workers[0].info.backend_pid
        waiter = _session(fresh_db, "waiter", stack)
        waiter_pid = waiter.info.backend_pid
        thread = threading.Thread(target=lambda: waiter.execute(
            "UPDATE t SET v = 'ann@example.com' WHERE id = 1"), daemon=True)
        thread.start()
        _wait_until(admin, "SELECT count(*) = 1 FROM pg_stat_activity "
                    "WHERE pid = %s AND wait_event_type = 'Lock'", [waiter_pid])
        admin.close()  # not one of the known sessions
        yield {"dsn": fresh_db, "db": dbname, "holder": holder_pid, "waiter": waiter_pid, "started": started}
        workers[0].execute("ROLLBACK")
        thread.join(timeout=10)


def test_snapshot_counts_and_groups_exactly(pg, known_sessions: dict) -> None:
    k = known_sessions
    with Target.connect(k["dsn"]) as target:
        before = time.monotonic()
        snap = snapshot.take(target)
        own_pid = target.conn.info.backend_pid
    elapsed_since_begin = before - k["started"]

    assert snap.status == "ok" and snap.error is None
    mine = {g.application_name: g for g in snap.groups if g.database == k["db"]}
    assert sorted(mine) == ["lambda-a", "lambda-b", "pgqa", "waiter", "worker"]
    expected = {"lambda-a": (7, {"idle": 7}), "lambda-b": (3, {"idle": 3}),
                "worker": (2, {"idle in transaction": 2}), "waiter": (1, {"active": 1}),
                "pgqa": (1, {"active": 1})}
    for app, (count, states) in expected.items():
        g = mine[app]
        assert (g.count, g.by_state) == (count, states), app
        assert (g.user, g.client_addr) == ("postgres", "127.0.0.1")
        assert g.oldest_backend_start is not None
    assert 0 <= mine["lambda-a"].max_idle_s < 60 and mine["lambda-a"].idle_over_1m == 0
    assert mine["worker"].max_idle_in_xact_s > 0

    # pgqa's own session holds a slot: counted, and named
    assert snap.pgqa_pid == own_pid and snap.own_connections == 1
    others = [g for g in snap.groups if g.database != k["db"]]
    assert snap.used == 14 + sum(g.count for g in others)
    other_states: Counter[str] = Counter()
    for g in others:
        other_states.update(g.by_state)
    want_states = Counter({"idle": 10, "idle in transaction": 2, "active": 2}) + other_states
    assert snap.by_state == dict(want_states)

    assert snap.max_connections == 100
    assert snap.reserved["superuser"] == 3
    if pg.major >= 16:
        assert snap.reserved["reserved_connections"] == 0
    else:
        assert "reserved_connections" not in snap.reserved
    assert snap.usable == 97
    assert snap.used_pct == round(100 * snap.used / 97, 1)

    idle_others = sum(n for g in others for s, n in g.by_state.items() if s.startswith("idle"))
    assert snap.idle_age == {"lt_1m": 12 + idle_others, "1m_5m": 0, "5m_1h": 0, "gt_1h": 0}
    assert snap.waiting == 1
    assert snap.blocked == [{"pid": k["waiter"], "blocked_by": [k["holder"]]}]
    assert snap.oldest_xact_age_s is not None and snap.oldest_xact_age_s >= elapsed_since_begin - 0.5

    la = snap.longest_active
    assert la is not None and la["pid"] == k["waiter"] and la["wait_event_type"] == "Lock"
    assert "UPDATE t SET v" in la["query"] and "ann@example.com" not in la["query"]
    assert "'" not in la["query"]

    # the guards other sessions get, not pgqa's own session timeouts
    assert snap.guards["statement_timeout"] == "0"
    assert snap.guards["idle_in_transaction_session_timeout"] == "10min"
    assert snap.guards["idle_session_timeout"] == "0"
    assert set(snap.database_sessions) == {"sessions", "sessions_abandoned", "sessions_fatal",
                                           "sessions_killed"}
    assert snap.database_sessions["sessions"] >= 14

    # fresh sessions are not hoarding; none of the findings fire on a quiet server
    assert checks.snapshot_findings(snap) == []


def test_live_report_json_and_alert_exit_codes(known_sessions: dict,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from analyzer.cli import main

    args = ["connections", "--dsn", known_sessions["dsn"], "--format", "json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    c = doc["connections"]
    assert ARCH_KEYS <= set(c)
    groups = {g["application_name"]: g for g in c["groups"] if g["database"] == known_sessions["db"]}
    assert GROUP_KEYS <= set(groups["lambda-a"])
    assert groups["lambda-a"]["count"] == 7 and groups["lambda-b"]["by_state"] == {"idle": 3}
    assert c["waiting"] == 1
    assert doc["target"]["database"] == known_sessions["db"]
    # 14 of 97 usable slots are in use (>= 14.4%): an alert at 10% is crossed, one at 90% is not
    assert main([*args, "--alert-at", "10"]) == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "connection-saturation" in rules
    assert main([*args, "--alert-at", "90"]) == 0


def test_a_role_without_pg_read_all_stats_still_counts_every_slot(pg, known_sessions: dict) -> None:
    import os
    import secrets

    role, password = f"lowpriv_{os.getpid()}", secrets.token_hex(8)
    with psycopg.connect(pg.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        snap = snapshot.capture(pg.dsn(known_sessions["db"], user=role, password=password))
    finally:
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")
    assert snap.status == "ok"
    mine = {g.application_name: g for g in snap.groups if g.database == known_sessions["db"]}
    # other roles' sessions are still counted (they hold slots), their state hidden
    assert (mine["lambda-a"].count, mine["lambda-a"].by_state) == (7, {"unknown": 7})
    assert (mine["worker"].count, mine["waiter"].count, mine["pgqa"].count) == (2, 1, 1)
    assert mine["pgqa"].user == role and mine["pgqa"].by_state == {"active": 1}
    assert snap.notes and "pg_read_all_stats" in snap.notes[0]


def test_a_vanished_client_shows_as_an_abandoned_session(fresh_db: str) -> None:
    """A client killed without closing its connection (a frozen or timed-out Lambda) is counted in
    sessions_abandoned; the delta between two snapshots becomes the abandoned-sessions finding."""
    import signal
    import subprocess
    import sys

    with Target.connect(fresh_db) as target:
        before = snapshot.take(target)
    client = subprocess.Popen([sys.executable, "-c", "import psycopg, sys, time\n"
                               f"c = psycopg.connect({fresh_db!r}, application_name='frozen')\n"
                               "print('connected', flush=True)\ntime.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None and client.stdout.readline().strip() == "connected"
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=10)
    deadline = time.monotonic() + 15
    while True:
        with Target.connect(fresh_db) as target:
            after = snapshot.take(target)
        grown = after.database_sessions["sessions_abandoned"] - before.database_sessions["sessions_abandoned"]
        if grown >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert grown >= 1
    (f,) = [f for f in checks.history_findings([before, after]) if f.rule == "abandoned-sessions"]
    assert f.evidence["sessions_abandoned_delta"] == grown
    assert "finally" in f.recommendation
