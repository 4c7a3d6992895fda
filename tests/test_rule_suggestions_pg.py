"""The SQL the rules suggest runs on a real PostgreSQL and does what the finding promises: the
FILTER rewrite returns the same figures as the UNION ALL, keyset pages return the same rows as the
unpaged list, the change guard leaves unchanged rows alone, the index DDL is accepted."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest
from conftest import require
from psycopg import sql

from analyzer.model import Finding, Report, Statement
from analyzer.rules import run_rules
from analyzer.workload import prepare

SCHEMA = """
CREATE TABLE candidates (id bigint PRIMARY KEY, ext_id int UNIQUE, org_id int NOT NULL, name text,
                         email text, status text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE applications (id bigint PRIMARY KEY, candidate_id bigint REFERENCES candidates,
                           stage text NOT NULL, created_at timestamptz NOT NULL);
"""


@pytest.fixture
def db(fresh_db: str) -> psycopg.Connection:
    conn = psycopg.connect(fresh_db, autocommit=True)
    conn.execute(SCHEMA)
    base = datetime(2026, 1, 1)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO candidates VALUES (%s, %s, %s, %s, %s, %s, %s)", [
            (i, 1000 + i, i % 3, f"Person {i}", f"p{i}@example.com", ["active", "archived"][i % 4 == 0],
             base + timedelta(hours=i % 17)) for i in range(1, 121)])
        cur.executemany("INSERT INTO applications VALUES (%s, %s, %s, %s)", [
            (i, 1 + i % 120, ["new", "screen", "hired"][i % 3], base + timedelta(days=i % 20))
            for i in range(1, 301)])
    yield conn
    conn.close()


def findings(text: str, rule: str) -> list[Finding]:
    s = Statement(text=text, source="pg_stat_activity", has_stats=False)
    prepare(Report(generated_at="", pgqa_version=""), [s], None)
    return run_rules([s], None, include=[rule])


def run_prepared(conn: psycopg.Connection, sql: str, params: list[object]) -> list[tuple]:
    """Run suggested SQL with $n placeholders through PREPARE / EXECUTE, as an application would."""
    conn.execute("DEALLOCATE ALL")
    conn.execute(f"PREPARE s AS {sql}")
    return execute(conn, "s", params).fetchall()


def execute(conn: psycopg.Connection, name: str, params: list[object]) -> psycopg.Cursor:
    # client-side values: EXECUTE's arguments take their types from the prepared statement
    values = sql.SQL(", ").join(map(sql.Literal, params))
    query = sql.SQL("EXECUTE {}({})").format(sql.Identifier(name), values)
    return conn.execute(query)


def test_filter_rewrite_returns_the_union_figures(db: psycopg.Connection) -> None:
    original = ("SELECT count(*) FROM applications WHERE stage = 'new' UNION ALL "
                "SELECT count(*) FROM applications WHERE stage = 'hired' UNION ALL "
                "SELECT max(created_at) - min(created_at) FROM applications WHERE candidate_id > 100")
    [f] = findings(original.replace("max(created_at) - min(created_at)", "count(*)"), "union-all-aggregates")
    assert "FILTER" in f.suggested_sql and f.suggested_sql.count("FROM applications") == 1
    union = [r[0] for r in db.execute(original.replace("max(created_at) - min(created_at)", "count(*)"))]
    [row] = run_prepared(db, f.suggested_sql, ["new", "hired", 100])
    assert list(row) == union


def test_keyset_pages_return_the_unpaged_list(db: psycopg.Connection) -> None:
    text = "SELECT c.id, c.name FROM candidates c WHERE c.status = 'active' ORDER BY c.created_at DESC"
    [f] = findings(text, "unpaged-list")
    assert f.evidence["keyset_columns"] == ["c.created_at", "c.id"]
    full = db.execute(text.replace("c.created_at DESC", "c.created_at DESC, c.id DESC")).fetchall()
    # the keyset query needs the sort values of the last row: fetch them alongside
    sql = f.suggested_sql.replace("SELECT c.id, c.name", "SELECT c.id, c.name, c.created_at", 1)
    pages: list[tuple] = []
    last: tuple[datetime, int] = (datetime(9999, 1, 1).astimezone(), 2**62)
    while True:
        rows = run_prepared(db, sql, ["active", last[0], last[1], 25])
        if not rows:
            break
        pages += [(r[0], r[1]) for r in rows]
        last = (rows[-1][2], rows[-1][0])
    assert pages == full and len(full) == 90


def test_offset_rewrite_is_keyset(db: psycopg.Connection) -> None:
    [f] = findings("SELECT id, name FROM candidates WHERE org_id = 1 ORDER BY id LIMIT 10 OFFSET 20",
                   "deep-offset-pagination")
    assert "OFFSET" not in f.suggested_sql
    offset_page = db.execute("SELECT id, name FROM candidates WHERE org_id = 1 ORDER BY id LIMIT 10 OFFSET 20"
                             ).fetchall()
    before = db.execute("SELECT id FROM candidates WHERE org_id = 1 ORDER BY id LIMIT 20").fetchall()
    assert run_prepared(db, f.suggested_sql, [1, before[-1][0], 10]) == offset_page


def test_change_guard_skips_unchanged_rows(db: psycopg.Connection) -> None:
    text = ("INSERT INTO candidates (id, ext_id, org_id, name, email, status, created_at) "
            "VALUES (5, 1005, 2, 'Person 5', 'p5@example.com', 'active', '2026-01-01') "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email")
    [f] = findings(text, "upsert-without-change-guard")
    assert "IS DISTINCT FROM" in f.suggested_sql and f.evidence["guard_columns"] == ["name", "email"]
    params: list[object] = [5, 1005, 2, "Person 5", "p5@example.com", "active", "2026-01-01"]

    def xmin() -> str:
        return db.execute("SELECT xmin::text FROM candidates WHERE id = 5").fetchone()[0]

    db.execute("DEALLOCATE ALL")
    db.execute(f"PREPARE up AS {f.suggested_sql}")
    before = xmin()
    execute(db, "up", params)
    assert xmin() == before  # nothing changed: no new row version
    execute(db, "up", [*params[:3], "Person Five", *params[4:]])
    assert xmin() != before
    assert db.execute("SELECT name FROM candidates WHERE id = 5").fetchone()[0] == "Person Five"
    # the unguarded original rewrites the row although nothing changed
    guarded = xmin()
    db.execute(text.replace("'Person 5'", "'Person Five'"))
    assert xmin() != guarded


def test_index_ddl_is_accepted(db: psycopg.Connection) -> None:
    ddl = []
    [like] = findings("SELECT id FROM candidates WHERE name ILIKE '%son 1%'", "leading-wildcard-like")
    [expr] = findings("SELECT id FROM candidates WHERE lower(email) = 'p1@example.com'",
                      "non-sargable-predicate")
    [cast] = findings("SELECT count(*) FROM applications WHERE created_at::date = '2026-01-02'",
                      "non-sargable-predicate")
    available = db.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
                           ).fetchone()[0]
    require(available == 1, "pg_trgm in the PostgreSQL contrib modules")
    [wrapped] = findings("SELECT id FROM candidates WHERE lower(name) LIKE '%son%'", "leading-wildcard-like")
    for f in (like, expr, wrapped):
        ddl += [s.strip() for s in f.suggested_sql.split(";") if s.strip()]
    for statement in ddl:
        db.execute(statement)
    # a timestamptz cast to date is not immutable: PostgreSQL refuses that expression index, which is
    # why the finding also offers the range rewrite
    assert "rewrite" in cast.evidence
    names = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'candidates'")}
    assert {"candidates_name_trgm_idx", "candidates_name_lower_trgm_idx",
            "candidates_email_lower_idx"} <= names


KPI = ("SELECT $2 AS kpi, count(*) AS value FROM applications WHERE stage = $3 AND created_at >= $1 "
       "UNION ALL SELECT $4, count(*) FROM applications WHERE stage = $5 AND created_at >= $1 "
       "UNION ALL SELECT $6, count(*) FROM applications WHERE created_at >= $1 AND candidate_id > $7")


def test_filter_rewrite_keeps_the_parameters_and_scans_only_the_shared_rows(db: psycopg.Connection) -> None:
    """The demo's KPI shape in pg_stat_statements form: the shared `created_at >= $1` goes into the
    WHERE, the caller's parameters keep their numbers and the label parameters are no longer read."""
    s = Statement(text=KPI, calls=3, rows=9, total_ms=30.0, mean_ms=10.0)
    prepare(Report(generated_at="", pgqa_version=""), [s], None)
    [f] = run_rules([s], None, include=["union-all-aggregates"])
    assert f.evidence["common_predicates"] == ["created_at >= $1"]
    assert f.evidence["unused_parameters"] == ["$2", "$4", "$6"]
    assert f.evidence["output_columns"] == ["value_1", "value_2", "value_3"]
    assert "from 3 rows to one row" in f.recommendation
    assert f.suggested_sql.count("FROM applications") == 1 and "WHERE created_at >= $1" in f.suggested_sql
    types = "(timestamptz, text, text, text, text, text, int)"
    params: list[object] = [datetime(2026, 1, 8).astimezone(), "new", "new", "hired", "hired", "late", 60]
    db.execute("DEALLOCATE ALL")
    db.execute(f"PREPARE original {types} AS {KPI}")
    union = [r[1] for r in execute(db, "original", params).fetchall()]
    db.execute(f"PREPARE rewrite {types} AS {f.suggested_sql}")
    [row] = execute(db, "rewrite", params).fetchall()
    assert list(row) == union and all(n > 0 for n in union)
    # the one scan reads only the rows the branches read: the plan filters on the shared condition
    plan = execute_explain(db, types, f.suggested_sql, params)
    assert "created_at >=" in plan


def execute_explain(db: psycopg.Connection, types: str, text: str, params: list[object]) -> str:
    db.execute("DEALLOCATE ALL")
    db.execute(f"PREPARE p {types} AS {text}")
    values = sql.SQL(", ").join(map(sql.Literal, params))
    rows = db.execute(sql.SQL("EXPLAIN (COSTS OFF) EXECUTE p({})").format(values)).fetchall()
    return "\n".join(r[0] for r in rows)


def test_filter_rewrite_of_literal_labels_names_the_columns(db: psycopg.Connection) -> None:
    text = ("SELECT 'screening' AS kpi, count(*) FROM applications WHERE candidate_id <= 60 AND "
            "stage = 'screen' UNION ALL SELECT 'Hired!' AS kpi, count(*) FROM applications "
            "WHERE stage = 'hired' AND candidate_id <= 60")
    [f] = findings(text, "union-all-aggregates")
    assert f.evidence["output_columns"] == ["screening", "hired"]
    assert f.evidence["common_predicates"] == ["candidate_id <= $3"]
    union = [r[1] for r in db.execute(text)]
    db.execute("DEALLOCATE ALL")
    db.execute(f"PREPARE s AS {f.suggested_sql}")
    cur = execute(db, "s", ["screen", "hired", 60])
    assert [c.name for c in cur.description] == ["screening", "hired"]
    assert list(cur.fetchone()) == union and all(n > 0 for n in union)
