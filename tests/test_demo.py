"""The demo database and its workload, on every PostgreSQL version: what is loaded, and what
pg_stat_statements holds after the replay."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator

import psycopg
import pytest
from conftest import require
from psycopg import sql

from analyzer import localpg
from analyzer.demo import replay, reset_statements, setup_demo

SCALE = 0.05

# The documented size of the demo at scale 1.0 (analyzer/demo/__init__.py); lookup tables keep theirs,
# the others scale but keep at least 100 rows.
DOCUMENTED_ROWS = {
    "companies": 40, "stages": 8, "jobs": 1_500, "candidates": 200_000, "applications": 400_000,
    "interviews": 120_000, "application_events": 600_000, "kintone_candidates": 20_000,
}
LOOKUP = {"companies", "stages"}

# One distinctive piece of each shape's normalized text (whitespace collapsed).
FRAGMENTS = {
    "candidate_detail": "FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id",
    "candidate_list": "WHERE c.company_id = $1 AND c.deleted_at IS NULL ORDER BY c.created_at DESC",
    "kpi_applications": "count(*) AS value FROM applications WHERE status = $",
    "kpi_events": "count(*) AS value FROM application_events WHERE company_id = $1 AND event_type = $",
    "kintone_upsert": "ON CONFLICT (external_id) DO UPDATE",
    "job_by_id": "FROM jobs WHERE id = $1",
    "application_with_job": "JOIN jobs j ON j.id = a.job_id WHERE a.id = $1",
    "candidates_page": "WHERE company_id = $1 AND id > $2 ORDER BY id LIMIT $",
    "candidate_applications": "FROM applications WHERE candidate_id = $1",
    "job_pipeline": "FROM applications WHERE job_id = $1",
    "candidate_by_id": "FROM candidates WHERE id = $1",
    "candidates_offset_page": "ORDER BY id LIMIT $3 OFFSET $2",
    "candidate_by_email": "WHERE lower(email) = $1",
    "candidate_search": "AND name LIKE $3 || $2 || $4",
}

# The columns the heavy statements filter, join or sort on: no index may start with them.
UNINDEXED = [
    ("candidates", "company_id"), ("candidates", "created_at"), ("candidates", "email"),
    ("applications", "candidate_id"), ("applications", "job_id"), ("applications", "status"),
    ("application_events", "company_id"), ("application_events", "created_at"),
]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def connect(dsn: str) -> psycopg.Connection:
    """The tests' own connection, which pg_stat_statements ignores: what it holds is the replay's."""
    return psycopg.connect(dsn, autocommit=True, options="-c pg_stat_statements.track=none")


def workload_entries(dsn: str) -> list[tuple[str, int]]:
    """(normalized text, calls) of every pg_stat_statements entry of this database."""
    with connect(dsn) as conn:
        rows = conn.execute(
            "SELECT query, calls FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    return [(flat(q), int(c)) for q, c in rows]


def drop_database(server: localpg.LocalServer, name: str) -> None:
    with server.connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def small_demo(pg: localpg.LocalServer) -> Iterator[tuple[localpg.LocalServer, str, dict[str, int]]]:
    """The demo at a small scale on `pg`, its statistics reset, then one replay whose counts we know."""
    name = f"pgqa_demo_small_{pg.major}"
    dsn = setup_demo(pg, dbname=name, scale=SCALE)
    reset_statements(dsn)
    calls = replay(dsn, rounds=2)
    yield pg, dsn, calls
    drop_database(pg, name)


def test_row_counts_follow_the_scale() -> None:
    from analyzer.demo import row_counts

    assert row_counts(1.0) == DOCUMENTED_ROWS
    half = row_counts(0.5)
    assert half["candidates"] == 100_000 and half["companies"] == 40 and half["stages"] == 8
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError):
            row_counts(bad)


def test_tables_hold_the_documented_number_of_rows(small_demo: tuple) -> None:
    _, dsn, calls = small_demo
    with connect(dsn) as conn:
        for table, base in DOCUMENTED_ROWS.items():
            n = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            expected = base if table in LOOKUP else max(100, round(base * SCALE))
            if table == "kintone_candidates":
                # the sync inserts records it has not seen before and updates the others
                assert expected <= n <= expected + calls["kintone_upsert"] * 3, table
            else:
                assert n == expected, table


def test_keys_everywhere_but_no_index_on_what_the_heavy_statements_filter(small_demo: tuple) -> None:
    _, dsn, _ = small_demo
    with connect(dsn) as conn:
        without_pk = conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
            " AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_index i"
            " WHERE i.indrelid = c.oid AND i.indisprimary)").fetchall()
        assert without_pk == []
        leading = {
            (t, a) for t, a in conn.execute(
                "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
                " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
                " WHERE c.relnamespace = 'public'::regnamespace")
        }
        assert ("kintone_candidates", "external_id") in leading  # the key the upsert needs
        assert not leading & set(UNINDEXED)
        fks = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                           " AND connamespace = 'public'::regnamespace").fetchone()[0]
        assert fks >= 5


def test_pg_stat_statements_counts_every_shape_as_often_as_replayed(small_demo: tuple) -> None:
    _, dsn, calls = small_demo
    assert set(calls) == set(FRAGMENTS)
    entries = workload_entries(dsn)
    for name, fragment in FRAGMENTS.items():
        matching = [c for text, c in entries if fragment in text]
        assert len(matching) == 1, (name, [t for t, _ in entries if fragment in t])
        assert matching[0] == calls[name] > 0, name
    # nothing else: no setup statement, no reset, no helper query of the replayer
    strays = [t for t, _ in entries if not any(f in t for f in FRAGMENTS.values())]
    assert strays == []


def test_statements_are_normalized_without_literals(small_demo: tuple) -> None:
    _, dsn, _ = small_demo
    texts = {t for t, _ in workload_entries(dsn)}
    for text in texts:
        assert "'" not in text, text  # every literal and parameter became $n
        assert "%s" not in text, text
    by_name = {name: next(t for t in texts if f in t) for name, f in FRAGMENTS.items()}
    # the incident's four shapes, as Performance Insights showed them
    detail = by_name["candidate_detail"]
    assert detail.startswith("SELECT c.*,") and detail.count("LEFT JOIN") >= 2
    assert detail.endswith("WHERE c.id = $1")
    listing = by_name["candidate_list"]
    assert listing.startswith("SELECT c.id, c.name") and "LIMIT" not in listing
    kpi = by_name["kpi_applications"]
    assert kpi.count("UNION ALL") >= 3 and kpi.count("count(*)") == kpi.count("UNION ALL") + 1
    upsert = by_name["kintone_upsert"]
    assert upsert.startswith("INSERT INTO kintone_candidates") and "VALUES ($1, $2, $3" in upsert
    assert "DO UPDATE SET" in upsert and " WHERE " not in upsert.split("DO UPDATE", 1)[1]


def test_replay_is_repeatable_and_calls_add_up(small_demo: tuple) -> None:
    _, dsn, first = small_demo
    second = replay(dsn, rounds=2)
    assert second == first
    totals = dict((f, 0) for f in FRAGMENTS.values())
    for text, c in workload_entries(dsn):
        for f in totals:
            if f in text:
                totals[f] += c
    assert all(totals[FRAGMENTS[name]] == 2 * first[name] for name in first)
    # the cheap per-row lookup runs orders of magnitude more often than the list driving it
    assert first["candidate_by_id"] >= 50 * first["job_pipeline"]


def test_same_data_on_every_version(pg15: localpg.LocalServer, pg17: localpg.LocalServer) -> None:
    from analyzer.demo.load import create_database, load_data, row_counts

    digests = []
    for server in (pg15, pg17):
        name = "pgqa_demo_digest"
        create_database(server.dsn(), name)
        try:
            load_data(server.dsn(name), row_counts(0.01))
            with connect(server.dsn(name)) as conn:
                rows = conn.execute(
                    "SELECT (SELECT string_agg(concat_ws('|', id, company_id, name, email, status,"
                    " created_at, deleted_at), ',' ORDER BY id) FROM candidates),"
                    " (SELECT string_agg(concat_ws('|', id, candidate_id, job_id, status, created_at), ','"
                    " ORDER BY id) FROM applications)").fetchone()
            digests.append(hashlib.sha256(repr(rows).encode()).hexdigest())
        finally:
            drop_database(server, name)
    assert digests[0] == digests[1]


def test_lingering_connections_show_up_per_application_and_close(small_demo: tuple) -> None:
    from analyzer.demo import APPS, lingering_connections

    _, dsn, _ = small_demo
    before = workload_entries(dsn)
    count_apps = ("SELECT application_name, count(*) FROM pg_stat_activity"
                  " WHERE datname = current_database() AND application_name <> '' GROUP BY 1")
    with connect(dsn) as conn:
        with lingering_connections(dsn, per_app=2) as n:
            during = dict(conn.execute(count_apps).fetchall())
        assert n == 2 * len(APPS)
        assert all(during.get(app) == 2 for app in APPS), during
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            after = dict(conn.execute(count_apps).fetchall())
            if not set(after) & set(APPS):
                break
            time.sleep(0.05)
        assert not set(after) & set(APPS), after
    assert sorted(workload_entries(dsn)) == sorted(before)  # they sent no statement


def test_replay_as_an_ordinary_role(pg: localpg.LocalServer) -> None:
    """Without superuser rights the replayer cannot hide its one helper query from
    pg_stat_statements; it still replays everything."""
    from analyzer.demo.load import create_database, load_data, row_counts

    name = f"pgqa_demo_role_{pg.major}"
    password = secrets.token_hex(8)
    create_database(pg.dsn(), name)
    try:
        load_data(pg.dsn(name), row_counts(0.01))
        with connect(pg.dsn(name)) as conn:
            conn.execute("DROP ROLE IF EXISTS demo_app")
            conn.execute(sql.SQL("CREATE ROLE demo_app LOGIN PASSWORD {}").format(password))
            conn.execute("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO demo_app")
        calls = replay(pg.dsn(name, user="demo_app", password=password), rounds=1)
        assert set(calls) == set(FRAGMENTS) and all(n > 0 for n in calls.values())
        with connect(pg.dsn(name)) as conn:
            ran = conn.execute(
                "SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid"
                " WHERE r.rolname = 'demo_app'").fetchall()
        texts = [flat(q) for q, _ in ran]
        for shape, fragment in FRAGMENTS.items():
            assert sum(c for q, c in ran if fragment in flat(q)) == calls[shape], shape
        assert len(texts) == len(FRAGMENTS) + 1  # the shapes and the replayer's size query
    finally:
        drop_database(pg, name)
        with pg.connect() as conn:
            conn.execute("DROP ROLE IF EXISTS demo_app")


def test_lingering_connections_take_what_a_full_server_gives() -> None:
    from analyzer.demo import APPS, lingering_connections

    binaries = localpg.find_binaries(15) or localpg.find_binaries(17)
    require(binaries is not None, "a PostgreSQL server (run ./run setup)")
    assert binaries is not None
    server = localpg.start(binaries, {"max_connections": "10"})
    try:
        with lingering_connections(server.dsn(), per_app=2) as n:
            assert 0 < n < 2 * len(APPS)  # refused beyond the slots, no error
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(server.dsn(), connect_timeout=5).close()
        with psycopg.connect(server.dsn()) as conn:  # all given back
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.remove()
