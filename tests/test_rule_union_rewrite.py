"""union-all-aggregates' single-scan rewrite, statically: shared conditions hoisted into the WHERE,
the caller's placeholder numbers kept, columns named after literal labels (never after values).
tests/test_rule_suggestions_pg.py runs the rewrites on a real server."""

from __future__ import annotations

from analyzer.model import Finding, Report, Statement
from analyzer.rules import run_rules
from analyzer.workload import prepare

EVENTS = ("SELECT $3 AS kpi, count(*) AS value FROM application_events WHERE company_id = $1 "
          "AND event_type = $4 AND created_at >= $2 UNION ALL SELECT $5, count(*) FROM application_events "
          "WHERE company_id = $1 AND event_type = $6 AND created_at >= $2 UNION ALL SELECT $7, count(*) "
          "FROM application_events WHERE company_id = $1 AND event_type = $8 AND created_at >= $2")


def rewrite(text: str, source: str = "pg_stat_statements") -> Finding:
    s = Statement(text=text, source=source, has_stats=False)
    prepare(Report(generated_at="", pgqa_version=""), [s], None)
    [f] = run_rules([s], None, include=["union-all-aggregates"])
    return f


def test_shared_conditions_go_into_the_where_with_the_original_numbers() -> None:
    f = rewrite(EVENTS)
    sql = f.suggested_sql or ""
    assert sql.endswith("FROM application_events WHERE company_id = $1 AND created_at >= $2")
    assert "FILTER(WHERE event_type = $4)" in sql and "FILTER(WHERE event_type = $8)" in sql
    assert f.evidence["common_predicates"] == ["company_id = $1", "created_at >= $2"]
    assert f.evidence["unused_parameters"] == ["$3", "$5", "$7"]
    assert "keep their numbers" in f.recommendation
    assert "from 3 rows to one row" in f.recommendation and "value_1, value_2, value_3" in f.recommendation


def test_no_shared_condition_when_one_branch_lacks_it() -> None:
    f = rewrite("SELECT count(*) FROM applications WHERE status = $1 AND created_at >= $2 UNION ALL "
                "SELECT count(*) FROM applications WHERE status = $3")
    assert "common_predicates" not in f.evidence
    assert (f.suggested_sql or "").endswith("FROM applications")
    assert "FILTER(WHERE status = $1 AND created_at >= $2)" in (f.suggested_sql or "")


def test_literal_texts_are_numbered_in_order_and_labels_name_the_columns() -> None:
    f = rewrite("SELECT 'open' AS kpi, count(*) FROM applications WHERE company_id = 3 AND status = 'open' "
                "UNION ALL SELECT 'Hired!', count(*) FROM applications WHERE status = 'hired' AND "
                "company_id = 3",
                source="pg_stat_activity")
    assert f.suggested_sql == ("SELECT COUNT(*) FILTER(WHERE status = $1) AS open, COUNT(*) "
                               "FILTER(WHERE status = $2) AS hired FROM applications WHERE company_id = $3")
    assert f.evidence["common_predicates"] == ["company_id = $3"]
    assert "unused_parameters" not in f.evidence
    assert "stand for the statement's literals" in f.recommendation
    assert "keep their numbers" not in f.recommendation


def test_labels_that_look_like_data_do_not_become_column_names() -> None:
    f = rewrite("SELECT 'alice@example.com' AS k, count(*) FROM t WHERE a = 1 UNION ALL "
                "SELECT 'order 123456', count(*) FROM t WHERE a = 2", source="pg_stat_activity")
    assert f.evidence["output_columns"] == ["value_1", "value_2"]
    assert "alice" not in (f.suggested_sql or "") and "123456" not in (f.suggested_sql or "")


def test_branches_under_different_aliases_get_no_rewrite() -> None:
    f = rewrite("SELECT count(*) FROM applications a WHERE a.status = $1 UNION ALL "
                "SELECT count(*) FROM applications b WHERE b.status = $2")
    assert f.suggested_sql is None and "scans" in f.evidence
