"""The collectors against real servers: pg_stat_statements for every extension version the
servers here can install, the catalog, one pg_stat_activity snapshot and the settings."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlglot
from sqlglot import exp

from analyzer import localpg, sqlfiles
from analyzer.model import Report
from analyzer.pipeline import AnalyzeOptions
from analyzer.sources import activity, catalog, settings, statements
from analyzer.target import APPLICATION_NAME, Target

QUERIES = Path(statements.__file__).resolve().parent.parent / "queries"
VARIANTS = sorted((sqlfiles.parse_version(p.stem), p) for p in (QUERIES / "statements").glob("*.sql"))
SUPPORTED = ("1.8", "1.9", "1.10", "1.11", "1.12")


def report() -> Report:
    return Report(generated_at="", pgqa_version="")


# -- statements: which file for which extension version ---------------------------------------

def test_every_supported_extension_version_has_its_own_file() -> None:
    assert [".".join(map(str, v)) for v, _ in VARIANTS] == list(SUPPORTED)


@pytest.mark.parametrize(("installed", "expected"), [
    ("1.8", "1.8"), ("1.9", "1.9"), ("1.10", "1.10"), ("1.11", "1.11"), ("1.12", "1.12"),
    ("1.13", "1.12"),  # a newer extension still has every column of the newest variant
])
def test_loader_picks_the_variant_of_the_installed_version(installed: str, expected: str) -> None:
    assert statements.query_text(installed) == (QUERIES / "statements" / f"{expected}.sql").read_text()


def test_versions_before_1_8_have_no_variant() -> None:
    with pytest.raises(LookupError):
        statements.query_text("1.7")


def _parse(path: Path) -> exp.Expression:
    text = path.read_text()
    text = re.sub(r"%\(\w+\)s", "1", text)
    text = re.sub(r"\{(\w+)\}", r"\1", text)  # identifier slots filled by psycopg.sql at run time
    tree = sqlglot.parse_one(text, read="postgres")
    assert isinstance(tree, exp.Select), type(tree)
    return tree


def _ranked_columns(tree: exp.Expression) -> list[str]:
    cte = next(c for c in tree.find_all(exp.CTE) if c.alias == "ranked")
    return list(cte.this.named_selects)


def test_every_variant_parses_and_returns_the_same_columns() -> None:
    columns = {v: _ranked_columns(_parse(p)) for v, p in VARIANTS}
    base = columns[(1, 8)]
    for version, cols in columns.items():
        assert cols[: len(base)] == base, version
    # Only 1.12 adds columns, and those go to Statement.extra.
    assert columns[(1, 12)][len(base):] == ["wal_buffers_full", "parallel_workers_to_launch",
                                            "parallel_workers_launched"]


def _versions_available(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT version FROM pg_available_extension_versions "
                        "WHERE name = 'pg_stat_statements'").fetchall()
    have = {r[0] for r in rows}
    return sorted((v for v in SUPPORTED if v in have), key=sqlfiles.parse_version)


def test_each_installable_variant_runs_and_maps_the_same_fields(pg: localpg.LocalServer,
                                                                  fresh_db: str) -> None:
    """CREATE EXTENSION at 1.8, then ALTER EXTENSION UPDATE step by step: each step's view has that
    version's columns, and the collector must pick the matching file."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        versions = _versions_available(conn)
        conn.execute("DROP EXTENSION pg_stat_statements")
        conn.execute("CREATE EXTENSION pg_stat_statements VERSION '1.8'")
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, price int)")
        conn.execute("INSERT INTO items SELECT g, g FROM generate_series(1, 100) g")
        for i in range(7):
            conn.execute("SELECT price FROM items WHERE id = %s", [i])
    expected_latest = {15: "1.10", 17: "1.11"}[pg.major]
    assert versions[0] == "1.8" and versions[-1] == expected_latest

    seen: dict[str, dict[str, Any]] = {}
    for version in versions:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("ALTER EXTENSION pg_stat_statements UPDATE TO {}").format(
                psycopg.sql.Literal(version)))
        with Target.connect(fresh_db) as target:
            assert target.extension_version("pg_stat_statements") == version
            r = report()
            found = statements.collect_into(r, target, AnalyzeOptions(top=50))
        assert r.sources[-1].status == "ok", r.sources
        assert r.sources[-1].detail.startswith(f"extension {version}:")
        mine = [s for s in found if s.text == "SELECT price FROM items WHERE id = $1"]
        assert len(mine) == 1
        s = mine[0]
        assert s.calls == 7 and s.rows == 6  # ids 0..6; id 0 does not exist
        assert s.shared_blks_hit + s.shared_blks_read > 0
        assert s.total_ms > 0 and s.mean_ms == pytest.approx(s.total_ms / 7, rel=1e-6)
        assert s.queryid and s.user == "postgres" and s.database == target.info.database
        assert s.toplevel is (None if version == "1.8" else True)
        seen[version] = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)
                         if f.name not in ("extra", "shape", "toplevel", "index")}
    first = seen[versions[0]]
    for version, fields in seen.items():
        assert fields == first, version


def test_plan_time_where_tracked(pg: localpg.LocalServer, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SET pg_stat_statements.track_planning = on")
        for i in range(3):
            conn.execute("SELECT %s::int + 40 AS planned", [i])
        conn.execute("SET pg_stat_statements.track_planning = off")
        for i in range(3):
            conn.execute("SELECT upper(%s::text) AS unplanned", [str(i)])
    with Target.connect(fresh_db) as target:
        found = {s.text: s for s in statements.collect_into(report(), target, AnalyzeOptions())}
    # (aliases do not count in pg_stat_statements' queryid: the two differ in shape)
    planned = found["SELECT $1::int + $2 AS planned"]
    unplanned = found["SELECT upper($1::text) AS unplanned"]
    assert planned.plan_ms is not None and planned.plan_ms > 0 and planned.extra["plans"] == 3
    assert unplanned.plan_ms is None


def test_top_min_calls_and_other_databases(pg: localpg.LocalServer, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for n in range(1, 6):  # the statement with n columns is called n times
            for _ in range(n):
                conn.execute("SELECT " + ", ".join(["1"] * n))
    with Target.connect(fresh_db) as target:
        r = report()
        top2 = statements.collect_into(r, target, AnalyzeOptions(top=2))
        frequent = statements.collect_into(report(), target, AnalyzeOptions(top=50, min_calls=4))
    assert len(top2) == 2 and [s.index for s in top2] == [0, 1]
    assert top2[0].total_ms >= top2[1].total_ms
    assert sorted(s.calls for s in frequent if s.text.startswith("SELECT $1")) == [4, 5]
    assert all(s.calls >= 4 for s in frequent)
    # the servers' other databases (postgres, other tests) hold statements too: say so
    assert "more in other databases" in r.sources[-1].detail


def test_created_but_not_loaded_is_skipped_with_the_preload_command(pg: localpg.LocalServer) -> None:
    binaries = localpg.find_binaries(pg.major)
    assert binaries is not None
    server = localpg.start(binaries, {"shared_preload_libraries": ""})
    try:
        with Target.connect(server.dsn()) as target:
            assert "pg_stat_statements" in target.info.extensions
            assert target.info.pgss_preloaded is False
            r = report()
            assert statements.collect_into(r, target, AnalyzeOptions()) == []
    finally:
        server.remove()
    assert r.sources[0].status == "skipped"
    assert "shared_preload_libraries" in r.sources[0].detail
    assert "restart" in r.sources[0].detail


# -- catalog -----------------------------------------------------------------------------------

CATALOG_SETUP = """
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
    tenant int NOT NULL, id bigint NOT NULL, status text, note text, created_at timestamptz,
    PRIMARY KEY (tenant, id));
INSERT INTO shop.orders
SELECT g % 4, g, (ARRAY['new', 'paid', 'sent'])[g % 3 + 1], CASE WHEN g % 2 = 0 THEN 'n' END,
       now() - g * interval '1 minute'
FROM generate_series(1, 3000) g;
CREATE INDEX orders_status_created ON shop.orders (status, created_at DESC) INCLUDE (note);
CREATE INDEX orders_open ON shop.orders (created_at) WHERE status = 'new';
CREATE INDEX orders_lower_note ON shop.orders (lower(note));
CREATE INDEX orders_note_hash ON shop.orders USING hash (note);
CREATE TABLE public.dupes (v int);
INSERT INTO public.dupes VALUES (1), (1);
ANALYZE shop.orders;
"""


def _wait_for_counters(dsn: str, table: str, inserted: int) -> None:
    deadline = time.monotonic() + 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = %s::regclass",
                               [table]).fetchone()
            if row and row[0] >= inserted:
                return
            time.sleep(0.05)
    raise AssertionError(f"statistics of {table} never showed {inserted} inserts")


def test_catalog(pg: localpg.LocalServer, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(CATALOG_SETUP)
        # a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index behind
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dupes_v ON public.dupes (v)")
        for i in range(5):
            conn.execute("SELECT * FROM shop.orders WHERE tenant = 1 AND id = %s", [i])
    _wait_for_counters(fresh_db, "shop.orders", 3000)
    with Target.connect(fresh_db) as target:
        cat = catalog.collect(target)
    assert set(cat.tables) == {"shop.orders", "public.dupes"}
    assert not any(t.schema in ("pg_catalog", "information_schema") for t in cat.tables.values())
    assert cat.find("dupes") is cat.tables["public.dupes"]
    orders = cat.tables["shop.orders"]
    assert orders.primary_key == ["tenant", "id"]
    assert orders.live_rows == 3000 and orders.n_tup_ins == 3000
    assert orders.size_bytes > 0
    assert orders.idx_scan >= 5
    assert [c.name for c in orders.columns] == ["tenant", "id", "status", "note", "created_at"]
    status, note, ident = orders.column("status"), orders.column("note"), orders.column("id")
    assert status is not None and note is not None and ident is not None
    assert status.n_distinct == 3 and status.null_frac == 0
    assert note.null_frac == pytest.approx(0.5, abs=0.01)
    assert ident.n_distinct == -1 and ident.correlation == pytest.approx(1.0)
    assert orders.column("tenant").not_null and not status.not_null  # type: ignore[union-attr]
    assert status.type == "text" and orders.column("created_at").type == "timestamp with time zone"  # type: ignore[union-attr]

    idx = {i.name: i for i in orders.indexes}
    assert set(idx) == {"orders_pkey", "orders_status_created", "orders_open", "orders_lower_note",
                        "orders_note_hash"}
    pkey = idx["orders_pkey"]
    assert pkey.primary and pkey.unique and pkey.columns == ["tenant", "id"] and pkey.scans >= 5
    sc = idx["orders_status_created"]
    assert sc.columns == ["status", "created_at"] and sc.include == ["note"]  # DESC: in definition
    assert "created_at DESC" in sc.definition
    assert not sc.unique and not sc.partial and sc.method == "btree" and sc.size_bytes > 0
    assert "INCLUDE (note)" in sc.definition and sc.table == "shop.orders"
    assert idx["orders_open"].partial and idx["orders_open"].columns == ["created_at"]
    assert idx["orders_lower_note"].columns == ["lower(note)"]
    assert idx["orders_note_hash"].method == "hash"
    dupes = cat.tables["public.dupes"]
    assert [(i.name, i.valid, i.unique) for i in dupes.indexes] == [("dupes_v", False, True)]
    assert dupes.primary_key == []


# -- activity ----------------------------------------------------------------------------------

def test_activity_snapshot(pg: localpg.LocalServer, fresh_db: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    idle_tx = psycopg.connect(fresh_db, autocommit=True, application_name="collect-idle-tx")
    holder = psycopg.connect(fresh_db, autocommit=True, application_name="collect-holder")
    waiter = psycopg.connect(fresh_db, autocommit=True, application_name="collect-waiter")
    try:
        holder.execute("CREATE TABLE locked (id int)")
        idle_tx.execute("BEGIN")
        idle_tx.execute("SELECT 1")
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        wait = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM locked"), daemon=True)
        wait.start()
        rows: list[dict[str, Any]] = []
        with Target.connect(fresh_db) as target:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                rows = activity.collect(target)
                if any(r["application_name"] == "collect-waiter" and r["blocking_pids"] for r in rows):
                    break
                time.sleep(0.05)
        by_app = {r["application_name"]: r for r in rows if r["datname"] == dbname}
        assert by_app["collect-waiter"]["blocking_pids"] == [holder.info.backend_pid]
        assert by_app["collect-waiter"]["state"] == "active"
        assert by_app["collect-waiter"]["wait_event_type"] == "Lock"
        assert "FROM locked" in by_app["collect-waiter"]["query"]
        tx = by_app["collect-idle-tx"]
        assert tx["state"] == "idle in transaction" and tx["xact_start"] is not None
        assert tx["backend_type"] == "client backend" and tx["xact_age_s"] >= 0
        assert tx["pid"] == idle_tx.info.backend_pid and tx["blocking_pids"] == []
        me = [r for r in rows if r["is_self"]]
        assert len(me) == 1 and me[0]["application_name"] == APPLICATION_NAME
        assert any(r["backend_type"] != "client backend" for r in rows)  # checkpointer & co
        assert all(r["taken_at"] == rows[0]["taken_at"] for r in rows)
        if pg.major >= 14:
            assert "query_id" in rows[0]
    finally:
        holder.execute("ROLLBACK")
        wait.join(timeout=10)
        for c in (idle_tx, holder, waiter):
            c.close()


# -- settings ----------------------------------------------------------------------------------

def test_settings_are_the_servers_not_pgqas_session(pg: localpg.LocalServer, fresh_db: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    with pg.connect() as conn:
        conn.execute(psycopg.sql.SQL("ALTER DATABASE {} SET statement_timeout = '7s'").format(
            psycopg.sql.Identifier(dbname)))
        conn.execute(psycopg.sql.SQL("ALTER DATABASE {} SET idle_in_transaction_session_timeout = '45s'")
                     .format(psycopg.sql.Identifier(dbname)))
    with Target.connect(fresh_db) as target:
        values = settings.collect(target)
        own = target.run("SELECT current_setting('statement_timeout') AS st, "
                         "current_setting('idle_in_transaction_session_timeout') AS it")[0]
    # pgqa's own session runs with its guards...
    assert own == {"st": "5s", "it": "30s"}
    # ...and the report gets the values the database's sessions get.
    assert values["statement_timeout"] == "7000"
    assert values["idle_in_transaction_session_timeout"] == "45000"
    assert values["lock_timeout"] == "0"
    assert values["max_connections"] == pg.settings["max_connections"]
    assert values["superuser_reserved_connections"] == "3"
    assert values["pg_stat_statements.max"] == pg.settings["pg_stat_statements.max"]
    assert values["pg_stat_statements.track"] == pg.settings["pg_stat_statements.track"]
    assert values["track_activity_query_size"] == "1024"
    assert ("reserved_connections" in values) == (pg.major >= 16)
    assert values["idle_session_timeout"] == "0"
    assert not any(k.startswith("rds.") for k in values)


def test_extension_in_its_own_schema(pg: localpg.LocalServer, fresh_db: str) -> None:
    """Managed services often install extensions into a schema of their own, off the search_path."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
        conn.execute("CREATE SCHEMA extensions")
        conn.execute("CREATE EXTENSION pg_stat_statements SCHEMA extensions")
        for i in range(4):
            conn.execute("SELECT %s::int * 3 AS tripled", [i])
    with Target.connect(fresh_db) as target:
        assert target.extension_schemas["pg_stat_statements"] == "extensions"
        r = report()
        found = statements.collect_into(r, target, AnalyzeOptions())
    assert r.sources[0].status == "ok", r.sources
    assert [s.calls for s in found if s.text == "SELECT $1::int * $2 AS tripled"] == [4]
