"""unpaged-list severity follows what the list returns: rows per call from pg_stat_statements when
there are statistics, the catalog's unique indexes and statistics or the predicate when there are
none. Statements in pg_stat_statements form, as the demo's report shows them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from analyzer import localpg
from analyzer.model import Catalog, Column, Finding, Index, Report, Statement, Table
from analyzer.rules import run_rules
from analyzer.workload import prepare

RANKS = ["info", "low", "medium", "high", "critical"]

BY_CANDIDATE = "SELECT id, job_id, stage_id, status, created_at FROM applications WHERE candidate_id = $1"
BY_EMAIL = "SELECT id, name, email, status FROM candidates WHERE lower(email) = $1"
BY_JOB = "SELECT id, candidate_id, stage_id, status FROM applications WHERE job_id = $1"
CANDIDATE_LIST = ("SELECT c.id, c.name, c.email, c.status, c.source, c.owner_name, c.created_at "
                  "FROM candidates c WHERE c.company_id = $1 AND c.deleted_at IS NULL "
                  "ORDER BY c.created_at DESC")
OTHER = "SELECT pg_sleep($1)"


def with_stats(text: str, calls: int, rows: int, total_ms: float, rest_ms: float,
               catalog: Catalog | None = None) -> list[Finding]:
    """The rule on one statement measured by pg_stat_statements, beside another statement that
    takes rest_ms, so the statement's share of the time is total_ms / (total_ms + rest_ms)."""
    s = Statement(text=text, calls=calls, rows=rows, total_ms=total_ms, mean_ms=total_ms / calls)
    other = Statement(text=OTHER, calls=10, rows=10, total_ms=rest_ms, mean_ms=rest_ms / 10)
    prepare(Report(generated_at="", pgqa_version=""), [s, other], catalog)
    return [f for f in run_rules([s, other], catalog, include=["unpaged-list"]) if f.statement_index == 0]


def static(text: str, catalog: Catalog | None = None) -> list[Finding]:
    s = Statement(text=text, source="file", has_stats=False)
    prepare(Report(generated_at="", pgqa_version=""), [s], catalog)
    return run_rules([s], catalog, include=["unpaged-list"])


def test_few_rows_per_call_is_info_even_when_the_statement_costs_a_lot() -> None:
    # the demo's statement #1: 20% of the time, 2.4 rows per call
    [f] = with_stats(BY_CANDIDATE, calls=30, rows=73, total_ms=4776, rest_ms=18_850)
    assert f.severity == "info"
    assert "2.4 rows per call" in f.message
    assert f.suggested_sql and "LIMIT" in f.suggested_sql  # the keyset suggestion stays
    [g] = with_stats(BY_EMAIL, calls=6, rows=6, total_ms=1858, rest_ms=21_800)
    assert g.severity == "info" and "1 row per call" in g.message
    assert f.recommendation.startswith("Nothing urgent")


def test_a_few_dozen_rows_per_call_is_at_most_low() -> None:
    [f] = with_stats(BY_CANDIDATE, calls=10, rows=300, total_ms=9000, rest_ms=1000)  # 90% of the time
    assert f.severity == "low" and "30 rows per call" in f.message


def test_thousands_of_rows_per_call_is_high_or_critical() -> None:
    # the demo's candidate list: 4,728 rows per call, sorted, 9.7% of the time
    [f] = with_stats(CANDIDATE_LIST, calls=9, rows=9 * 4728, total_ms=2295, rest_ms=21_350)
    assert f.severity == "critical" and "4,728 rows per call" in f.message
    unsorted = CANDIDATE_LIST.replace(" ORDER BY c.created_at DESC", "")
    [g] = with_stats(unsorted, calls=9, rows=9 * 4728, total_ms=2295, rest_ms=21_350)
    assert g.severity == "high"
    [h] = with_stats(unsorted, calls=9, rows=9 * 20_000, total_ms=2295, rest_ms=21_350)
    assert h.severity == "critical"


def test_hundreds_of_rows_per_call_follow_the_share_of_time() -> None:
    [mid] = with_stats(BY_JOB, calls=6, rows=1589, total_ms=916, rest_ms=22_700)  # 264.8 rows, 3.9%
    assert mid.severity == "medium" and "265 rows per call" in mid.message
    [heavy] = with_stats(BY_JOB, calls=6, rows=1589, total_ms=9000, rest_ms=1000)
    [light] = with_stats(BY_JOB, calls=6, rows=1589, total_ms=0.5, rest_ms=10_000)
    assert RANKS.index(light.severity) < RANKS.index(mid.severity) < RANKS.index(heavy.severity)


def test_without_statistics_a_foreign_key_list_is_low_and_a_tenant_list_is_not() -> None:
    [fk] = static(BY_CANDIDATE)
    assert fk.severity == "low" and fk.evidence["foreign_key_equality"] == "candidate_id"
    [tenant] = static(CANDIDATE_LIST)  # company_id selects a customer's whole list, sorted
    assert tenant.severity == "high"
    [plain] = static("SELECT id, name FROM candidates WHERE status = $1")
    assert plain.severity == "medium"
    assert static("SELECT id, name FROM candidates WHERE id = $1") == []


def catalog() -> Catalog:
    cand = Table("public", "candidates", live_rows=200_000,
                 columns=[Column("id"), Column("email"), Column("name"), Column("status", n_distinct=4),
                          Column("company_id", n_distinct=40), Column("ext_ref"),
                          Column("tenant", n_distinct=9)],
                 primary_key=["id"],
                 indexes=[Index("candidates_pkey", "public.candidates", "", ["id"], unique=True,
                                primary=True),
                          Index("candidates_email_lower_key", "public.candidates", "", ["lower(email)"],
                                unique=True),
                          Index("candidates_tenant_ref_key", "public.candidates", "", ["tenant", "ext_ref"],
                                unique=True),
                          Index("candidates_name_key", "public.candidates", "", ["name"], unique=True,
                                partial=True)])
    apps = Table("public", "applications", live_rows=400_000,
                 columns=[Column("id"), Column("candidate_id", n_distinct=-0.4), Column("job_id")],
                 primary_key=["id"],
                 indexes=[Index("applications_pkey", "public.applications", "", ["id"], unique=True,
                                primary=True)])
    return Catalog(tables={t.qualified: t for t in (cand, apps)})


def test_catalog_unique_indexes_make_single_row_lookups() -> None:
    cat = catalog()
    assert static(BY_EMAIL, cat) == []  # a unique expression index on lower(email)
    assert static("SELECT id FROM candidates WHERE tenant = $1 AND ext_ref = $2", cat) == []
    # one key column of a two-column unique index is no lookup, nor is a partial unique index
    assert static("SELECT id FROM candidates WHERE ext_ref = $1", cat) != []
    assert static("SELECT id FROM candidates WHERE name = $1", cat) != []
    # `<table>_id` is not taken for unique: the catalog says applications.candidate_id is no key
    assert static(BY_CANDIDATE, cat) != []


def test_catalog_statistics_estimate_rows_per_value_without_pg_stat_statements() -> None:
    cat = catalog()
    [fk] = static(BY_CANDIDATE, cat)  # n_distinct -0.4: 2.5 rows per candidate
    assert fk.severity == "info" and fk.evidence["estimated_rows_per_value"] == 2.5
    [status] = static("SELECT id FROM candidates WHERE status = $1", cat)  # 50,000 rows per status
    assert status.severity == "high" and "50,000 rows per value" in status.message


@pytest.fixture
def db17(pg17: localpg.LocalServer) -> Iterator[str]:
    with pg17.connect() as conn:
        name = f"u{os.getpid()}_{time.monotonic_ns()}"
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg17.dsn(name)
    finally:
        with pg17.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_analyze_uses_the_catalogs_unique_indexes(db17: str) -> None:
    """Through `pgqa analyze`: the catalog read from the server reaches the rules."""
    lookup = "SELECT id, email FROM accounts WHERE tenant = %s AND ext_ref = %s"
    listing = "SELECT id, email FROM accounts WHERE tenant = %s"
    with psycopg.connect(db17, autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, tenant int NOT NULL, ext_ref text NOT NULL, "
                     "email text, UNIQUE (tenant, ext_ref))")
        conn.execute("INSERT INTO accounts SELECT g, g % 4, 'r' || g, 'u' || g || '@example.com' "
                     "FROM generate_series(1, 8000) g")
        conn.execute("ANALYZE accounts")
        for i in range(1, 21):
            conn.execute(lookup, [i % 4, f"r{i}"])
            conn.execute(listing, [i % 4])
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    res = subprocess.run([sys.executable, "-m", "analyzer", "analyze", "--dsn", db17, "--format", "json",
                          "--rule", "unpaged-list", "--no-advice", "--no-explain", "--no-connections"],
                         capture_output=True, text=True, timeout=180, env=clean)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    texts = {s["index"]: s["text"] for s in report["statements"]}
    fired = {texts[f["statement"]["index"]]: f for f in report["findings"] if f["rule"] == "unpaged-list"}
    assert not any("ext_ref" in t for t in fired), list(fired)
    [(text, f)] = [(t, f) for t, f in fired.items() if "FROM accounts WHERE tenant" in t]
    # 2,000 rows per call and most of the time
    assert f["severity"] in ("high", "critical") and "2,000 rows per call" in f["message"]
