"""The index advisor on the demo database (the incident's recruiting application): the indexes a
DBA would create, nothing for primary-key lookups or small tables, and the suggested indexes,
built for real in a copy, make the replayed workload cheaper and faster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from analyzer.commands.advise import advise
from analyzer.model import Report
from analyzer.pipeline import AnalyzeOptions
from analyzer.plans.explain import explain
from analyzer.target import Target


@pytest.fixture(scope="module")
def advice(demo_dsn: str) -> Report:
    return advise(AnalyzeOptions(dsn=demo_dsn))


def _text(report: Report, fingerprint: str) -> str:
    return next(s.text for s in report.statements if s.fingerprint == fingerprint)


def test_the_indexes_a_dba_would_create(advice: Report) -> None:
    got = {(s.table, tuple(s.columns)) for s in advice.index_suggestions}
    assert ("public.applications", ("candidate_id",)) in got
    assert ("public.candidates", ("company_id", "created_at DESC")) in got
    # the unpaged list ORDER BY created_at DESC is among what the candidates index serves
    ix = next(s for s in advice.index_suggestions if s.columns == ["company_id", "created_at DESC"])
    assert any("ORDER BY c.created_at DESC" in _text(advice, fp) for fp in ix.statements)
    detail = next(s for s in advice.index_suggestions if s.columns == ["candidate_id"])
    assert any("LEFT JOIN applications" in _text(advice, fp) for fp in detail.statements)
    for s in advice.index_suggestions:
        assert s.verified_with == "hypopg" and s.cost_after < s.cost_before and s.size_bytes > 0


def test_nothing_for_primary_key_lookups_or_small_tables(advice: Report) -> None:
    tables = {s.table for s in advice.index_suggestions}
    assert not tables & {"public.companies", "public.stages", "public.jobs"}
    helped = {fp for s in advice.index_suggestions for fp in s.statements}
    for st in advice.statements:
        if st.text.strip().endswith("WHERE id = $1") and "JOIN" not in st.text:
            assert st.fingerprint not in helped, st.text
    noted = {n["fingerprint"]: n["reason"] for n in advice.advice_notes}
    pk_lookups = [st for st in advice.statements if "FROM jobs WHERE id = $1" in st.text]
    for st in pk_lookups:
        if st.fingerprint in noted:
            assert noted[st.fingerprint].startswith("already indexed")


def test_advisor_cost_is_reported(advice: Report) -> None:
    whatif = advice.extra["whatif"]
    assert whatif["explain_calls"] > 0 and whatif["cache_hits"] > 0
    assert advice.extra["advisor"]["seconds"] > 0


def _copy(demo_dsn: str) -> Iterator[str]:
    params = conninfo.conninfo_to_dict(demo_dsn)
    src = str(params["dbname"])
    name = f"{src}_indexed"
    admin = conninfo.make_conninfo(demo_dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {src}")
    try:
        yield conninfo.make_conninfo(demo_dsn, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def demo_copy(demo_dsn: str) -> Iterator[str]:
    yield from _copy(demo_dsn)


def _planner_cost(dsn: str, report: Report) -> float:
    """Time-weighted planner cost of the report's statements (generic plans)."""
    total = 0.0
    with Target.connect(dsn) as t:
        for st in report.statements:
            ex = explain(t, st.text)
            if ex.plan is not None:
                total += st.total_ms * ex.plan.total_cost
    return total


def test_building_the_suggestions_for_real_makes_the_workload_faster(advice: Report, demo_copy: str) -> None:
    from analyzer.demo import replay

    cost_before = _planner_cost(demo_copy, advice)
    start = time.perf_counter()
    replay(demo_copy, 1)
    time_before = time.perf_counter() - start
    with psycopg.connect(demo_copy, autocommit=True) as conn:
        for s in advice.index_suggestions:
            conn.execute(s.ddl)  # CREATE INDEX CONCURRENTLY IF NOT EXISTS, as printed
        conn.execute("ANALYZE")
    cost_after = _planner_cost(demo_copy, advice)
    start = time.perf_counter()
    replay(demo_copy, 1)
    time_after = time.perf_counter() - start
    assert cost_after < 0.5 * cost_before, (cost_before, cost_after)
    assert time_after < 0.8 * time_before, (time_before, time_after)
    # and the advisor, run again, has nothing left to add for the same statements
    again = advise(AnalyzeOptions(dsn=demo_copy))
    built = {(s.table, tuple(s.columns)) for s in advice.index_suggestions}
    assert not built & {(s.table, tuple(s.columns)) for s in again.index_suggestions}


def test_pgqa_advise_json_follows_the_report_contract(demo_dsn: str) -> None:
    res = subprocess.run([sys.executable, "-m", "analyzer", "advise", "--dsn", demo_dsn, "--format", "json",
                          "--max-indexes", "3"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema"] == "pgqa.report/1"
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "report-schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert 1 <= len(doc["index_suggestions"]) <= 3
    for s in doc["index_suggestions"]:
        assert {"table", "columns", "include", "where", "ddl", "cost_before", "cost_after",
                "workload_improvement_pct", "size_bytes", "statements", "verified_with"} <= set(s)
    assert any(src["name"] == "hypopg" and src["status"] == "ok" for src in doc["sources"])


def test_pgqa_explain_prints_plan_findings_and_advice(demo_dsn: str) -> None:
    sql = "SELECT c.id, c.name FROM candidates c WHERE c.company_id = $1 ORDER BY c.created_at DESC LIMIT 20"
    res = subprocess.run([sys.executable, "-m", "analyzer", "explain", "--dsn", demo_dsn, "--format", "text",
                          sql], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.startswith("generic plan:")
    assert "->  " in out and "Seq Scan on candidates c" in out
    assert "sort-feeding-limit" in out or "seq-scan-large-table" in out
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS" in out and "(company_id, created_at DESC" in out
    bad = subprocess.run([sys.executable, "-m", "analyzer", "explain", "--dsn", demo_dsn, "--format", "text",
                          "SELECT $1 + $2"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 0, bad.stderr
    assert "no plan: not explainable" in bad.stdout and "Traceback" not in bad.stderr
    doc = json.loads(subprocess.run(
        [sys.executable, "-m", "analyzer", "explain", "--dsn", demo_dsn, "--format", "json",
         "SELECT id FROM jobs WHERE id = 5"], capture_output=True, text=True, timeout=120).stdout)
    assert doc["index_suggestions"] == []
    assert doc["advice_notes"][0]["reason"].startswith("already indexed")
