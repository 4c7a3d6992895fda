"""The one safe session: its name, guards, read-only transactions, what it reports about the
server, and that nothing it sends counts as the user's workload."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest

from analyzer import localpg
from analyzer.errors import TargetError, UsageError
from analyzer.model import Report
from analyzer.pipeline import AnalyzeOptions
from analyzer.sources import statements
from analyzer.target import APPLICATION_NAME, SessionSettings, Target, capabilities, safe_dsn

SECRET = "s3cr3t-Pw-0815"


@pytest.mark.parametrize("dsn", [
    f"host=db.example port=5432 user=app password={SECRET} dbname=ats",
    f"postgresql://app:{SECRET}@db.example:5432/ats?sslmode=require",
])
def test_safe_dsn_drops_the_password(dsn: str) -> None:
    shown = safe_dsn(dsn)
    assert SECRET not in shown
    assert "db.example" in shown and "ats" in shown and "app" in shown


def test_unparseable_dsn_never_echoes_its_password() -> None:
    with pytest.raises(UsageError) as err, Target.connect(f"host=x password={SECRET} port"):
        pass
    assert SECRET not in str(err.value)


def test_session_is_named_guarded_and_read_only(pg: localpg.LocalServer, fresh_db: str) -> None:
    settings = SessionSettings(statement_timeout_s=0.4, lock_timeout_s=0.5, idle_in_transaction_timeout_s=9)
    with Target.connect(fresh_db, settings) as target:
        row = target.run("SELECT current_setting('application_name') AS app, "
                         "current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, "
                         "current_setting('idle_in_transaction_session_timeout') AS it, "
                         "current_setting('transaction_read_only') AS ro")[0]
        assert row == {"app": APPLICATION_NAME, "st": "400ms", "lt": "500ms", "it": "9s", "ro": "on"}
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            target.run("CREATE TABLE pgqa_must_not_exist (id int)")
        # statement_timeout cancels a slow statement; the session stays usable
        with pytest.raises(psycopg.errors.QueryCanceled):
            target.run("SELECT pg_sleep(5)")
        assert target.run("SELECT 1 AS one") == [{"one": 1}]
        info = target.info
        assert info.server_version.split(".")[0] == str(pg.major)
        assert info.server_version_num // 10000 == pg.major == target.major
        assert info.database == psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
        assert info.user == "postgres" and info.host == "127.0.0.1"
        assert info.extensions["pg_stat_statements"] and info.pgss_preloaded and info.can_read_all_stats
        assert ("hypopg" in info.extensions) == pg.has_extension("hypopg")
        assert capabilities(info).statements and capabilities(info).hypopg == pg.has_extension("hypopg")
        assert target.extension_schemas["pg_stat_statements"] == "public"


def test_plain_role_can_connect_and_is_told_what_it_lacks(pg: localpg.LocalServer, fresh_db: str) -> None:
    """A role without pg_read_all_settings cannot read shared_preload_libraries: the session must
    still start and still know that pg_stat_statements is loaded."""
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    role = f"{dbname}_plain"
    with pg.connect() as conn:
        conn.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'plain-pw'").format(
            psycopg.sql.Identifier(role)))
    try:
        with Target.connect(pg.dsn(dbname, user=role, password="plain-pw")) as target:
            assert target.info.pgss_preloaded is True
            assert target.info.can_read_all_stats is False
            caps = capabilities(target.info)
            assert caps.statements
            assert any(f"GRANT pg_read_all_stats TO {role};" in n for n in caps.notes)
    finally:
        with pg.connect() as conn:
            conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))


def _listed(dsn: str) -> list[str]:
    with Target.connect(dsn) as target:
        r = Report(generated_at="", pgqa_version="")
        return [s.text for s in statements.collect_into(r, target, AnalyzeOptions(top=1000))]


def test_nothing_pgqa_sends_counts_as_workload(pg: localpg.LocalServer, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    with Target.connect(fresh_db) as target:
        sent_before = target.queries_sent
        target.run("SELECT count(*) AS n FROM t WHERE v = %s", ["pgqa-own-select"])
        with target.transaction(force_rollback=True):
            target.run("SELECT id FROM t WHERE id = %s", [1])
            with target.transaction():
                target.run("EXPLAIN (FORMAT JSON) SELECT * FROM t WHERE v = 'x'")
            with pytest.raises(psycopg.errors.UndefinedTable), target.transaction():
                target.run("SELECT * FROM no_such_table")
            target.run("SELECT 2 AS still_fine")
        assert target.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert target.queries_sent > sent_before + 8
    texts = _listed(fresh_db)
    assert any(t.startswith("CREATE TABLE t") for t in texts)  # the user's own statement is there
    assert not any("FROM t WHERE" in t or "still_fine" in t or "no_such_table" in t for t in texts), texts
    assert not any(t.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
                   for t in texts), texts


def test_lost_connection_is_a_target_error(pg: localpg.LocalServer, fresh_db: str) -> None:
    with Target.connect(fresh_db) as target:
        pid = target.conn.info.backend_pid
        with pg.connect() as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(TargetError) as err:
            for _ in range(50):  # the first statement after the kill may still be answered
                target.run("SELECT 1")
    assert err.value.exit_code == 3
    assert "lost the connection" in str(err.value)


def test_libpq_environment(pg: localpg.LocalServer, fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    params: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(fresh_db)
    for key, env in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("dbname", "PGDATABASE"),
                     ("password", "PGPASSWORD")):
        monkeypatch.setenv(env, str(params[key]))
    with Target.connect(None) as target:
        assert target.info.database == params["dbname"]
    assert safe_dsn(None) == "(libpq environment)"
    monkeypatch.setenv("PGPASSWORD", SECRET)
    with pytest.raises(TargetError) as err, Target.connect(None):
        pass
    assert "28P01" in str(err.value) and SECRET not in str(err.value)
    assert os.environ["PGPASSWORD"] == SECRET


def test_dsn_options_are_kept_but_cannot_lift_the_guards(pg: localpg.LocalServer, fresh_db: str) -> None:
    dsn = fresh_db + " options='-c search_path=app,public -c default_transaction_read_only=off'"
    with Target.connect(dsn) as target:
        row = target.run("SELECT current_setting('search_path') AS sp, "
                         "current_setting('transaction_read_only') AS ro, "
                         "current_setting('application_name') AS app")[0]
    assert row == {"sp": "app,public", "ro": "on", "app": APPLICATION_NAME}
