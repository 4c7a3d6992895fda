"""EXPLAIN over pgqa's one session: generic plans on both paths (PREPARE before 16, GENERIC_PLAN
from 16), reasons instead of crashes, ANALYZE only when asked and only for SELECT, the plan checks
on real plans, and the psql-like rendering."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from analyzer import localpg
from analyzer.model import Catalog, Statement
from analyzer.plans.checks import plan_findings
from analyzer.plans.explain import explain
from analyzer.plans.render import render_plan
from analyzer.sources import catalog as catalog_source
from analyzer.target import Target


@pytest.fixture(scope="module")
def plans_db(pg: localpg.LocalServer) -> Iterator[str]:
    """One table of 60,000 rows per server; the tests only read it (ANALYZE runs roll back)."""
    name = f"plans_{os.getpid()}"
    with pg.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL, c text)")
        conn.execute("INSERT INTO t SELECT g, g % 1000, g % 1000, 'row ' || g "
                     "FROM generate_series(1, 60000) g")
        conn.execute("CREATE INDEX t_a ON t (a)")
        conn.execute("VACUUM ANALYZE t")
    yield pg.dsn(name)
    with pg.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def target(plans_db: str) -> Iterator[Target]:
    with Target.connect(plans_db) as t:
        yield t


def _prepared(target: Target) -> list[str]:
    return [r["name"] for r in target.run("SELECT name FROM pg_prepared_statements")]


def test_generic_plan_of_a_normalized_statement(target: Target) -> None:
    ex = explain(target, "SELECT * FROM t WHERE b = $1 ORDER BY c LIMIT $2")
    assert ex.plan is not None, ex.reason
    assert ex.plan.generic
    assert ex.method == ("generic_plan" if target.major >= 16 else "prepare")
    scan = next(n for n in ex.plan.root.walk() if n.relation == "t")
    assert scan.node_type == "Seq Scan" and "$1" in (scan.filter or "")
    assert _prepared(target) == [], "pgqa must deallocate what it prepared"
    # a generic plan, not a custom plan for NULL (which would be a one-time-false Result)
    assert ex.plan.total_cost > 100


def test_prepare_path_works_on_every_version(target: Target) -> None:
    ex = explain(target, "SELECT id FROM t WHERE a = $1", generic_plan=False)
    assert ex.method == "prepare" and ex.plan is not None, ex.reason
    assert "t_a" in ex.plan.root.uses_index()
    assert _prepared(target) == []


def test_statements_that_cannot_be_explained_get_a_reason_and_the_session_goes_on(target: Target) -> None:
    untyped = explain(target, "SELECT $1 + $2")
    assert untyped.plan is None and "operator is not unique" in (untyped.reason or "")
    dropped = explain(target, "SELECT * FROM no_such_table WHERE x = $1")
    assert dropped.plan is None and "does not exist" in (dropped.reason or "")
    syntax = explain(target, "SELEC 1")
    assert syntax.plan is None and "syntax error" in (syntax.reason or "")
    assert _prepared(target) == []
    assert explain(target, "SELECT count(*) FROM t").plan is not None


def test_more_than_one_statement_is_refused_and_nothing_runs(target: Target) -> None:
    ex = explain(target, "SELECT 1; DELETE FROM t")
    assert ex.plan is None and "more than one statement" in (ex.reason or "")
    # a semicolon inside a string is not a second statement
    assert explain(target, "SELECT count(*) FROM t WHERE c <> 'a;b';").plan is not None
    assert target.run("SELECT count(*) AS n FROM t")[0]["n"] == 60000


def test_analyze_only_for_select_and_rolled_back(target: Target) -> None:
    ex = explain(target, "SELECT count(*) FROM t WHERE b = 7", analyze=True)
    assert ex.plan is not None and ex.plan.analyzed and ex.plan.execution_ms is not None
    assert ex.plan.root.actual_rows == 1
    upd = explain(target, "UPDATE t SET c = 'x' WHERE id = 1", analyze=True)
    assert upd.plan is not None and not upd.plan.analyzed and "only for SELECT" in (upd.note or "")
    cte = explain(target, "WITH d AS (DELETE FROM t WHERE id = 2 RETURNING *) SELECT * FROM d",
                  analyze=True)
    assert cte.plan is not None and not cte.plan.analyzed
    param = explain(target, "SELECT * FROM t WHERE b = $1", analyze=True)
    assert param.plan is not None and not param.plan.analyzed and "literal values" in (param.note or "")
    assert target.run("SELECT c FROM t WHERE id = 1")[0]["c"] == "row 1"
    assert target.run("SELECT count(*) AS n FROM t WHERE id = 2")[0]["n"] == 1


def test_statement_timeout_applies_to_explain_analyze(fresh_db: str) -> None:
    from analyzer.target import SessionSettings

    with Target.connect(fresh_db, SessionSettings(statement_timeout_s=0.2)) as t:
        ex = explain(t, "SELECT pg_sleep(2)", analyze=True)
        assert ex.plan is None and "statement timeout" in (ex.reason or "")
        assert explain(t, "SELECT 1").plan is not None


def _statement() -> Statement:
    return Statement(text="(test)", fingerprint="fp-test", index=3)


def test_plan_checks_on_estimated_plans(target: Target) -> None:
    catalog = catalog_source.collect(target)
    seq = explain(target, "SELECT * FROM t WHERE b = $1")
    rules = {f.rule: f for f in plan_findings(seq.plan, _statement(), catalog)}  # type: ignore[arg-type]
    f = rules["seq-scan-large-table"]
    assert f.evidence["relation"] == "t" and f.evidence["table_rows"] >= 60000
    assert f.statement_index == 3 and f.fingerprint == "fp-test"
    # the same plan through an index: no finding
    idx = explain(target, "SELECT * FROM t WHERE a = $1")
    assert not plan_findings(idx.plan, _statement(), catalog)  # type: ignore[arg-type]
    top = explain(target, "SELECT * FROM t ORDER BY c DESC LIMIT 10")
    rules = {f.rule for f in plan_findings(top.plan, _statement(), catalog)}  # type: ignore[arg-type]
    assert "sort-feeding-limit" in rules
    target.run("SET enable_hashjoin = off")
    target.run("SET enable_mergejoin = off")
    target.run("SET enable_indexscan = off")
    target.run("SET enable_bitmapscan = off")
    nl = explain(target, "SELECT * FROM t x JOIN t y ON y.b = x.a WHERE x.id < 100")
    target.run("RESET ALL")
    assert nl.plan is not None and any(n.node_type == "Nested Loop" for n in nl.plan.root.walk())
    assert "nested-loop-large-inner" in {f.rule for f in plan_findings(nl.plan, None, catalog)}


def test_plan_checks_that_need_analyze(target: Target) -> None:
    catalog = catalog_source.collect(target)
    target.run("SET work_mem = '64kB'")
    spill = explain(target, "SELECT * FROM t ORDER BY c", analyze=True)
    target.run("RESET work_mem")
    assert "spill-to-disk" in {f.rule for f in plan_findings(spill.plan, None, catalog)}  # type: ignore[arg-type]
    # a = b on every row: the planner multiplies the selectivities and expects 20x too few
    off = explain(target, "SELECT * FROM t WHERE a < 50 AND b < 50", analyze=True)
    found = {f.rule: f for f in plan_findings(off.plan, None, catalog)}  # type: ignore[arg-type]
    assert "row-estimate-off" in found and found["row-estimate-off"].evidence["factor"] >= 10
    waste = explain(target, "SELECT * FROM t WHERE a < 500 AND c = 'row 77'", analyze=True)
    rules = {f.rule for f in plan_findings(waste.plan, None, catalog)}  # type: ignore[arg-type]
    if any(n.node_type in ("Index Scan", "Bitmap Heap Scan") for n in waste.plan.root.walk()):  # type: ignore[union-attr]
        assert "index-filter-discards-rows" in rules
    # estimated plans never claim what only execution shows
    est = explain(target, "SELECT * FROM t ORDER BY c")
    est_rules = {f.rule for f in plan_findings(est.plan, None, catalog)}  # type: ignore[arg-type]
    assert not {"spill-to-disk", "row-estimate-off"} & est_rules


def test_render_matches_psql_text_format(target: Target) -> None:
    text = ("SELECT x.c, count(*) FROM t x LEFT JOIN t y ON y.id = x.a WHERE x.b < 10 "
            "GROUP BY x.c ORDER BY 2 DESC LIMIT 5")
    ex = explain(target, text)
    mine = render_plan(ex.plan)  # type: ignore[arg-type]
    server = [r["QUERY PLAN"] for r in target.run(f"EXPLAIN {text}")]
    node_lines = [ln for ln in mine.splitlines() if "(cost=" in ln]
    server_nodes = [ln for ln in server if "(cost=" in ln]
    assert node_lines == server_nodes
    assert any(ln.strip().startswith("Filter:") for ln in mine.splitlines())


def test_catalog_is_optional_for_checks(target: Target) -> None:
    seq = explain(target, "SELECT * FROM t WHERE b = 3", analyze=True)
    found = plan_findings(seq.plan, None, Catalog())  # type: ignore[arg-type]
    assert "seq-scan-large-table" in {f.rule for f in found}


def test_pgqa_explain_command_analyze_and_errors(plans_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from analyzer.cli import main

    rc = main(["explain", "--dsn", plans_db, "--format", "text", "--analyze",
               "SELECT * FROM t WHERE b = 42 ORDER BY c LIMIT 5"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("executed plan:") and "actual time=" in out and "Execution Time:" in out
    assert "seq-scan-large-table" in out
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_b" in out  # hypopg-verified or heuristic
    rc = main(["explain", "--dsn", plans_db, "--format", "text", "SELECT * FROM missing_table"])
    out = capsys.readouterr().out
    assert rc == 0 and "no plan: not explainable" in out and "does not exist" in out
    with pytest.raises(SystemExit):
        main(["explain", "--dsn", plans_db])
    assert main(["explain", "--dsn", plans_db, "  ;  "]) == 2


def test_advisor_reports_unexplainable_statements_and_goes_on(plans_db: str) -> None:
    from analyzer.advisor import advise_into
    from analyzer.model import Report
    from analyzer.pipeline import AnalyzeOptions
    from analyzer.workload import prepare

    report = Report(generated_at="now", pgqa_version="test")
    statements = [Statement(text="SELECT $1 + $2", calls=1000, total_ms=5000.0, source="test"),
                  Statement(text="SELECT * FROM dropped_since WHERE id = $1", calls=10, total_ms=900.0,
                            source="test"),
                  Statement(text="SELECT * FROM t WHERE b = $1", calls=500, total_ms=4000.0, source="test")]
    with Target.connect(plans_db) as t:
        catalog = catalog_source.collect(t)
        prepare(report, statements, catalog)
        report.statements = statements
        advise_into(report, t, catalog, AnalyzeOptions())
        assert _prepared(t) == []
    reasons = {s["fingerprint"]: s["reason"] for s in report.skipped}
    assert "operator is not unique" in reasons[statements[0].fingerprint]
    assert "does not exist" in reasons[statements[1].fingerprint]
    notes = {n["fingerprint"]: n["reason"] for n in report.advice_notes}
    assert notes[statements[0].fingerprint].startswith("not explainable")
    # the explainable statement still got its plan finding and its index
    assert any(f.fingerprint == statements[2].fingerprint for f in report.findings)
    assert [s.columns for s in report.index_suggestions] == [["b"]]
