"""Fingerprints: one statement seen by pg_stat_statements, Performance Insights and pg_stat_activity
gets one fingerprint, so the sources can be joined; different statements get different ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.sql.parse import classify, fingerprint, for_parser

# (pg_stat_statements form, Performance Insights tokenized form, pg_stat_activity literal form)
THREE_FORMS = [
    ("SELECT c.id, c.name FROM candidates c WHERE c.status = $1 ORDER BY c.created_at DESC",
     "select c.id, c.name from candidates c where c.status = ? order by c.created_at desc",
     "SELECT c.id, c.name FROM candidates c WHERE c.status = 'active' ORDER BY c.created_at DESC"),
    ("SELECT * FROM applications WHERE id IN ($1,$2,$3) AND score > $4",
     "SELECT * FROM applications WHERE id IN (?, ?) AND score > ?",
     "SELECT * FROM applications\n  WHERE id IN (10, 11, 12, 13, 14, 15)\n  AND score > -2.5"),
    ("INSERT INTO candidates (ext_id, name, email) VALUES ($1, $2, $3) ON CONFLICT (ext_id) DO UPDATE "
     "SET name = EXCLUDED.name",
     "INSERT INTO candidates (ext_id, name, email) VALUES (?, ?, ?) ON CONFLICT (ext_id) DO UPDATE "
     "SET name = EXCLUDED.name",
     "insert into candidates (ext_id, name, email) values (42, 'Bob O''Neil', 'bob@example.com') "
     "on conflict (ext_id) do update set name = excluded.name;"),
    ("UPDATE jobs SET closed_at = now(), status = $1 WHERE id = $2 AND flag = $3",
     "UPDATE jobs SET closed_at = now(), status = ? WHERE id = ? AND flag = ?",
     "UPDATE jobs SET closed_at = now(), status = $$closed$$ WHERE id = 7 AND flag = true"),
    ("SELECT count(*) FROM events WHERE created_at > $1 /* app=kpi */",
     "SELECT count(*) FROM events WHERE created_at > ?",
     "SELECT count(*) FROM events WHERE created_at > '2026-01-01 00:00:00+00'  -- from the dashboard"),
    ("SELECT * FROM t WHERE a = $1 AND b = ANY($2)",
     "SELECT * FROM t WHERE a = ? AND b = ANY(?)",
     "SELECT * FROM t WHERE a = E'it\\'s' AND b = ANY('{1,2,3}')"),
]


@pytest.mark.parametrize("pgss,pi,activity", THREE_FORMS)
def test_three_forms_of_one_statement_share_a_fingerprint(pgss: str, pi: str, activity: str) -> None:
    assert fingerprint(pgss) == fingerprint(pi) == fingerprint(activity)


def test_pg18_collapsed_in_list_matches_the_expanded_one() -> None:
    assert fingerprint("SELECT * FROM t WHERE id IN ($1 /*, ... */)") == \
        fingerprint("SELECT * FROM t WHERE id IN ($1, $2, $3, $4)")


def test_multi_row_values_match_one_row() -> None:
    assert fingerprint("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')") == \
        fingerprint("INSERT INTO t (a, b) VALUES ($1, $2)")


@pytest.mark.parametrize("a,b", [
    ("SELECT id FROM candidates WHERE id = $1", "SELECT id FROM jobs WHERE id = $1"),
    ("SELECT id FROM candidates WHERE id = $1", "SELECT id FROM candidates WHERE id > $1"),
    ("SELECT id FROM candidates WHERE id = $1", "SELECT name FROM candidates WHERE id = $1"),
    ("SELECT a - $1 FROM t", "SELECT a FROM t"),
    ('SELECT "Name" FROM t', "SELECT name FROM t"),
    ("SELECT * FROM t WHERE x IS NULL", "SELECT * FROM t WHERE x IS NOT NULL"),
    ("SELECT * FROM t ORDER BY a", "SELECT * FROM t ORDER BY a DESC"),
])
def test_different_statements_get_different_fingerprints(a: str, b: str) -> None:
    assert fingerprint(a) != fingerprint(b)


def test_fingerprint_is_stable_and_short() -> None:
    fp = fingerprint("SELECT 1")
    assert fp == fingerprint("  select   1 ; ")
    assert len(fp) == 16 and all(c in "0123456789abcdef" for c in fp)


@pytest.mark.parametrize("text", ["", ";", "'unterminated", "$$ never closed", "/* open comment",
                                  "SELECT \x00 garbage ¤§", "))))((((", "$1$2$3"])
def test_fingerprint_answers_any_text(text: str) -> None:
    assert len(fingerprint(text)) == 16


def test_placeholders_are_spaced_for_the_parser() -> None:
    # sqlglot reads `$1,$2` as the start of a dollar-quoted string; the parser input gets a space.
    import sqlglot

    with pytest.raises(sqlglot.errors.TokenError):
        sqlglot.parse_one("SELECT * FROM t WHERE a IN ($1,$2)", read="postgres")
    tree = sqlglot.parse_one(for_parser("SELECT * FROM t WHERE a IN ($1,$2) AND b = $3||$4"), read="postgres")
    assert tree.sql("postgres") == "SELECT * FROM t WHERE a IN ($1, $2) AND b = $3 || $4"


@pytest.mark.parametrize("text,kind", [
    ("SELECT 1", "select"), ("  /* c */ WITH x AS (SELECT 1) SELECT * FROM x", "select"),
    ("(SELECT 1) UNION (SELECT 2)", "select"), ("VALUES (1)", "select"),
    ("INSERT INTO t VALUES (1)", "insert"), ("update t set a = 1", "update"), ("DELETE FROM t", "delete"),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "merge"),
    ("BEGIN", "transaction"), ("COMMIT", "transaction"), ("ROLLBACK TO SAVEPOINT a", "transaction"),
    ("SAVEPOINT a", "transaction"), ("RELEASE SAVEPOINT a", "transaction"),
    ("PREPARE TRANSACTION 'x'", "transaction"), ("START TRANSACTION READ ONLY", "transaction"),
    ("EXPLAIN SELECT 1", "utility"), ("SHOW work_mem", "utility"), ("VACUUM ANALYZE t", "utility"),
    ("DEALLOCATE ALL", "utility"), ("DISCARD ALL", "utility"), ("SET search_path = app", "utility"),
    ("CREATE INDEX ON t (a)", "utility"), ("COPY t TO STDOUT", "utility"),
    ("", "unknown"), ("-- only a comment", "unknown"),
])
def test_statement_kind_comes_from_the_first_keyword(text: str, kind: str) -> None:
    assert classify(text) == kind


LITERAL = st.one_of(
    st.integers(min_value=-10**9, max_value=10**9).map(str),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
    .map(lambda s: "'" + s.replace("'", "''") + "'"),
    st.sampled_from(["true", "false", "NULL", "$$a;b$$", "E'x\\'y'"]),
)
TEMPLATES = [
    "SELECT c.id, c.name FROM candidates c WHERE c.status = {} AND c.org_id = {} ORDER BY c.id LIMIT {}",
    "UPDATE jobs SET title = {}, closed = {} WHERE id = {}",
    "INSERT INTO t (a, b, c) VALUES ({}, {}, {})",
    "SELECT count(*) FROM applications WHERE stage IN ({}, {}) AND score > {}",
    "DELETE FROM sessions WHERE expires_at < {} OR user_id = {} OR token = {}",
]


@settings(max_examples=150, deadline=None)
@given(template=st.sampled_from(TEMPLATES), values=st.lists(LITERAL, min_size=3, max_size=3),
       upper=st.booleans(), spaces=st.sampled_from([" ", "  ", "\n  "]))
def test_generated_statements_share_a_fingerprint_across_forms(template: str, values: list[str], upper: bool,
                                                               spaces: str) -> None:
    pgss = template.format("$1", "$2", "$3")
    pi = template.format("?", "?", "?").lower()
    activity = template.format(*values).replace(" WHERE ", f"{spaces}WHERE{spaces}")
    if upper:
        activity = activity.replace("SELECT", "select").replace("FROM", "from")
    assert fingerprint(pgss) == fingerprint(pi) == fingerprint(activity), (pgss, activity)


ACTIVITY_FORMS = [
    "SELECT * FROM fp_t WHERE a = DATE '2026-01-01'",
    "SELECT * FROM fp_t WHERE b = true AND c = -5 AND d IS NULL",
    "SELECT * FROM fp_t WHERE d = NULL OR d = 'Alice Martin'",
    "SELECT * FROM fp_t WHERE a > now() - interval '7 days'",
    "SELECT * FROM fp_t WHERE c IN (1,2,3) OR c = ANY('{4,5}')",
    "SELECT 'x'::text, 1::bigint FROM fp_t LIMIT 5 OFFSET 10",
    "INSERT INTO fp_t VALUES ('2026-01-01', false, 1, 'x'), ('2026-01-02', true, 2, 'y')",
    "UPDATE fp_t SET d = $$it's$$, c = c + 1 WHERE b IS NOT TRUE",
    "select   *\n from fp_t  where d like 'A%' /* app */ order by c desc nulls last fetch first 3 rows only",
]


def test_pg_stat_statements_texts_match_the_literal_forms(fresh_db: str) -> None:
    """The server's own normalization (pg_stat_statements) against the literal text sent."""
    import psycopg

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("CREATE TABLE fp_t (a date, b bool, c int, d text)")
        # Only this database's entries: the shared server also holds the demo's workload.
        conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
                     "WHERE datname = current_database()), 0)")
        for q in ACTIVITY_FORMS:
            conn.execute(q)
        texts = [r[0] for r in conn.execute(
            "SELECT query FROM pg_stat_statements WHERE query LIKE '%fp_t%' AND dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())")]
    normalized = {fingerprint(t) for t in texts}
    assert len(texts) == len(ACTIVITY_FORMS)
    assert {fingerprint(q) for q in ACTIVITY_FORMS} == normalized
