"""pg_stat_statements snapshots in the store, and windows over them as deltas across resets."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from analyzer.cli import main
from analyzer.connections import pgss
from analyzer.connections.snapshot import instance_from_dsn
from analyzer.connections.store import StatementSnapshot, open_store, statement_window, window_deltas
from analyzer.target import Target

Q1 = "SELECT count(*) FROM w1 WHERE id > {}"
Q2 = "SELECT count(*) FROM w2 WHERE id > {}"
Q3 = "SELECT count(*) FROM w3 WHERE id > {}"


def _run(conn: psycopg.Connection, q: str, times: int) -> None:
    for i in range(times):
        conn.execute(q.format(i))


def _snapshot(dsn: str, url: str) -> None:
    with Target.connect(dsn) as target:
        snap, texts = pgss.take(target)
    with open_store(url) as st:
        st.save_statements(instance_from_dsn(dsn), snap, texts)


def _by_table(statements: list) -> dict[str, int]:
    out = {}
    for s in statements:
        for t in ("w1", "w2", "w3"):
            if f"FROM {t} " in s.text:
                out[t] = s.calls
    return out


def test_window_counts_deltas_across_a_reset_in_the_middle(isolated_pg, isolated_db: str,
                                                          tmp_path: Path) -> None:
    # A full pg_stat_statements_reset() below: on a server of its own, not the shared one.
    fresh_db = isolated_db
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for t in ("w1", "w2", "w3"):
            conn.execute(f"CREATE TABLE {t} (id int)")
        _run(conn, Q1, 3)
        _run(conn, Q2, 3)
        _run(conn, Q3, 1)
        _snapshot(fresh_db, url)                      # A: the baseline, not counted
        _run(conn, Q1, 5)
        _run(conn, Q2, 1)
        _run(conn, Q3, 1)
        _snapshot(fresh_db, url)                      # B: +5, +1, +1
        _run(conn, Q1, 2)                             # lost: ran between B and the reset
        conn.execute("SELECT pg_stat_statements_reset()")
        _run(conn, Q1, 4)
        _run(conn, Q2, 3)
        _run(conn, Q3, 1)
        _snapshot(fresh_db, url)                      # C: stats_reset moved: +4, +3, +1
        _run(conn, Q1, 1)
        q2_id, q3_id = (conn.execute("SELECT queryid FROM pg_stat_statements WHERE query LIKE %s",
                                     [f"%FROM {t} %"]).fetchone()[0] for t in ("w2", "w3"))
        oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
        uid = conn.execute("SELECT oid FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        for qid in (q2_id, q3_id):  # evict one entry each: it comes back from zero
            conn.execute("SELECT pg_stat_statements_reset(%s, %s, %s)", [uid, oid, qid])
        _run(conn, Q2, 2)                             # calls went down (3 -> 2)
        _run(conn, Q3, 4)                             # calls went up (1 -> 4): only stats_since tells
        _snapshot(fresh_db, url)                      # D: +1, +2, +4

    statements = statement_window(url, instance_from_dsn(fresh_db), "1h")
    calls = _by_table(statements)
    assert calls["w1"] == 5 + 4 + 1
    assert calls["w2"] == 1 + 3 + 2
    if isolated_pg.major >= 17:
        assert calls["w3"] == 1 + 1 + 4  # PG17's stats_since shows the entry was recreated
    else:
        assert calls["w3"] == 1 + 1 + (4 - 1)  # PG15 cannot tell a recreated entry whose calls went up
    w = next(s for s in statements if "FROM w1 " in s.text)
    assert "$1" in w.text and w.mean_ms == pytest.approx(w.total_ms / w.calls)
    assert w.extra["window"]["snapshots"] == 4 and w.extra["window"]["resets"] == 1
    assert [s.index for s in statements] == list(range(len(statements)))
    assert statements == sorted(statements, key=lambda s: -s.total_ms)


def _snap(taken_at: str, calls: int, reset: str | None = None, since: str | None = None) -> StatementSnapshot:
    row = {"userid": 10, "dbid": 5, "queryid": "42", "toplevel": True, "calls": calls,
           "total_exec_ms": calls * 2.0, "total_plan_ms": 0.0, "rows": calls, "shared_blks_hit": 0,
           "shared_blks_read": 0, "temp_blks_read": 0, "temp_blks_written": 0, "wal_bytes": 0,
           "stats_since": since}
    return StatementSnapshot(taken_at, [row], reset)


def test_window_starts_at_the_last_snapshot_before_since() -> None:
    snaps = [_snap("2026-01-01T09:00:00+00:00", 100), _snap("2026-01-01T10:00:00+00:00", 150),
             _snap("2026-01-01T10:30:00+00:00", 170), _snap("2026-01-01T11:00:00+00:00", 20, since="x")]
    totals, info = window_deltas(snaps, "2026-01-01T10:00:00+00:00")
    # 10:00 is the baseline: +20 to 10:30, then the entry was recreated (stats_since): +20
    assert totals[(10, 5, "42", True)]["calls"] == 40
    assert info["snapshots"] == 3 and info["entry_resets"] == 1


def test_snapshot_statements_flag_and_analyze_since(pg, fresh_db: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE w1 (id int)")
        cmd = ["snapshot", "--dsn", fresh_db, "--store", url, "--statements", "--quiet"]
        assert main(cmd) == 0
        _run(conn, Q1, 7)
        assert main(cmd) == 0
    from analyzer.pipeline import AnalyzeOptions, analyze

    report = analyze(AnalyzeOptions(dsn=fresh_db, since="1h", store=url, explain=False, advise=False,
                                    connections=False))
    assert _by_table(report.statements)["w1"] == 7
    assert any(s.name == "statement_window" and s.status == "ok" for s in report.sources)


def test_readings_leave_out_pgqas_own_statements_and_find_the_view_in_its_schema(
        pg, fresh_db: str, tmp_path: Path) -> None:
    from analyzer.target import OWN_MARKER

    url = f"sqlite:///{tmp_path / 'store.db'}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        # pg_stat_statements in a schema of its own, not on the search_path
        conn.execute("DROP EXTENSION pg_stat_statements")
        conn.execute("CREATE SCHEMA monitoring")
        conn.execute("CREATE EXTENSION pg_stat_statements SCHEMA monitoring")
        conn.execute("CREATE TABLE w1 (id int)")
        _snapshot(fresh_db, url)
        _run(conn, Q1, 3)
        _snapshot(fresh_db, url)  # the first reading's own query is in pg_stat_statements now
    with open_store(url) as st:
        snaps = st.statement_snapshots(instance_from_dsn(fresh_db))
    assert len(snaps) == 2 and snaps[-1].rows
    statements = statement_window(url, instance_from_dsn(fresh_db), "1h")
    assert _by_table(statements)["w1"] == 3
    assert not [s.text for s in statements if s.text.startswith(OWN_MARKER)]
