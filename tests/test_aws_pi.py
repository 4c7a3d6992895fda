"""Performance Insights top SQL: responses through botocore's Stubber (validated against the PI
service model), throttling through botocore's real retry handler, CloudWatch from moto.

rds.describe_db_instances is stubbed as well: moto does not model Performance Insights (its
instances never say PerformanceInsightsEnabled)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from test_aws_helpers import (
    FakeSession,
    Seeder,
    Stubs,
    aws_env,  # noqa: F401  (fixture)
    error_body,
    no_credentials_env,
    recorded,
    replay,
    top_params,
)

from analyzer.aws.window import Window
from analyzer.errors import UsageError
from analyzer.model import Report, Statement
from analyzer.sources import insights

pytestmark = pytest.mark.usefixtures("aws_env")

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
HOUR = Window(END - timedelta(hours=1), END)


def _report() -> Report:
    from analyzer.pipeline import new_report

    return new_report()


def _source(report: Report, name: str) -> tuple[str, str]:
    s = next(s for s in report.sources if s.name == name)
    return s.status, s.detail


@mock_aws
def test_top_sql_across_two_pages_with_a_completed_text() -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics().pages().full_text()
    report = _report()
    with stubs:
        statements = insights.run_into(report, stubs.session, "ats-db", HOUR)
        stubs.pi_stub.assert_no_pending_responses()
    assert _source(report, "performance_insights")[0] == "ok"
    assert [s.extra["pi_id"] for s in statements] == ["tok-CANDLIST", "tok-CANDDETAIL", "tok-KPIUNION",
                                                      "tok-KINTONE"]
    by_id = {s.extra["pi_id"]: s for s in statements}

    cand = by_id["tok-CANDLIST"]
    assert cand.source == "performance_insights" and cand.has_stats
    assert cand.calls == 2 * 3600 and cand.mean_ms == 180.0 and cand.total_ms == 2 * 3600 * 180.0
    assert cand.rows == 5000 * 2 * 3600 and cand.shared_blks_read == 12 * 2 * 3600
    assert cand.extra["db_load"] == 0.42
    assert cand.extra["waits"] == {"CPU": 0.30, "IO": 0.10, "Client": 0.02}
    assert cand.extra["source_limit"] == 500 and not cand.truncated
    # the second page has its own partition keys
    assert by_id["tok-KINTONE"].extra["waits"] == {"CPU": 0.02, "IO": 0.01, "Lock": 0.05}

    kpi = by_id["tok-KPIUNION"]
    cut = stubs.data["pages"][1]["Keys"][0]["Dimensions"]["db.sql_tokenized.statement"]
    assert len(cut.encode()) == 500
    assert kpi.text == stubs.data["details"]["Dimensions"][0]["Value"] and len(kpi.text) > 1000
    assert not kpi.truncated and kpi.extra["text_from"] == "db.sql.statement"
    # the completed literal text and the cut tokenized one name the same statement
    from analyzer.sql.parse import fingerprint

    assert kpi.fingerprint == fingerprint(stubs.data["kpi_tokenized_full"])


@mock_aws
def test_additional_metrics_are_those_the_instance_offers() -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics()
    first = stubs.data["pages"][0]
    asked: dict[str, Any] = {}

    def capture(params: dict[str, Any], **kwargs: Any) -> None:
        asked.update(params)

    stubs.pi.meta.events.register("provide-client-params.pi.DescribeDimensionKeys", capture)
    stubs.pi_stub.add_response("describe_dimension_keys", {"Keys": first["Keys"][:1]}, top_params())
    report = _report()
    with stubs:
        insights.run_into(report, stubs.session, "ats-db", HOUR)
    assert _source(report, "performance_insights")[0] == "ok"
    wanted = asked["AdditionalMetrics"]
    assert "db.sql_tokenized.stats.calls_per_sec.avg" in wanted
    assert "db.sql_tokenized.stats.shared_blks_hit_per_call.avg" in wanted  # listed without .avg
    assert not [m for m in wanted if "total_time_per_sec" in m]  # offered but not used


@mock_aws
def test_a_text_that_stays_cut_is_marked_truncated() -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics().pages().full_text(status="PROCESSING")
    report = _report()
    with stubs:
        statements = insights.run_into(report, stubs.session, "ats-db", HOUR)
        stubs.pi_stub.assert_no_pending_responses()
    assert _source(report, "performance_insights")[0] == "ok"
    kpi = next(s for s in statements if s.extra["pi_id"] == "tok-KPIUNION")
    assert kpi.truncated and len(kpi.text.encode()) == 500 and kpi.extra["source_limit"] == 500
    assert [s.extra["pi_id"] for s in statements if s.truncated] == ["tok-KPIUNION"]


@mock_aws
def test_access_denied_names_the_iam_action_and_cloudwatch_goes_on(
        capsys: pytest.CaptureFixture[str]) -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics()
    stubs.pi_stub.add_client_error("describe_dimension_keys", service_error_code="AccessDeniedException",
                                   service_message="User is not authorized", http_status_code=403)
    report = _report()
    with stubs:
        statements = insights.run_into(report, stubs.session, "ats-db", HOUR)
    assert statements == []
    status, detail = _source(report, "performance_insights")
    assert status == "skipped" and "pi:DescribeDimensionKeys" in detail
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "pi:DescribeDimensionKeys" in err[0] and "access denied" in err[0]
    assert _source(report, "cloudwatch")[0] == "ok" and "cloudwatch" in report.extra


@mock_aws
def test_pi_disabled_is_skipped_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance(pi_enabled=False)
    report = _report()
    with stubs:
        assert insights.run_into(report, stubs.session, "ats-db", HOUR) == []
    status, detail = _source(report, "performance_insights")
    assert status == "skipped" and "not enabled" in detail and "--enable-performance-insights" in detail
    assert len([ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]) == 1
    assert _source(report, "cloudwatch")[0] == "ok"


@mock_aws
def test_throttling_is_retried_by_botocore_then_reported(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    seed = Seeder()
    stubs = Stubs(seed).instance()
    pi = seed.pgqa_client("pi")  # not stubbed: the real request/retry path, answered by a recording
    body, headers = error_body(pi, "ThrottlingException", "Rate exceeded")
    seen = replay(pi, "ListAvailableResourceMetrics", body, status=400, headers=headers)
    session = FakeSession(seed.session, rds=stubs.rds, pi=pi)
    report = _report()
    with stubs:
        insights.run_into(report, session, "ats-db", HOUR)
    assert len(seen) == 3  # botocore's standard retry mode tried three times
    status, detail = _source(report, "performance_insights")
    assert status == "error" and "throttled" in detail and "after 3 attempts" in detail
    assert "pi:ListAvailableResourceMetrics" in capsys.readouterr().err


@mock_aws
def test_stubbed_throttling_error_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    # The Stubber answers before botocore's retry handler runs: only the message is observable here.
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics()
    stubs.pi_stub.add_client_error("describe_dimension_keys", service_error_code="ThrottlingException",
                                   service_message="Rate exceeded", http_status_code=400)
    report = _report()
    with stubs:
        insights.run_into(report, stubs.session, "ats-db", HOUR)
    assert _source(report, "performance_insights")[0] == "error"
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "throttled" in err[0] and "Traceback" not in err[0]


@mock_aws
def test_unknown_instance_is_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    report = _report()
    insights.run_into(report, FakeSession(Seeder().session), "no-such-db", HOUR)
    assert _source(report, "performance_insights")[0] == "error"
    assert _source(report, "cloudwatch")[0] == "error"
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "unknown RDS instance 'no-such-db'" in err[0]


def test_limits_are_validated_before_any_call() -> None:
    with pytest.raises(UsageError, match="1..25"):
        insights.validate(26, 60, HOUR)
    with pytest.raises(UsageError, match="1, 60, 300, 3600, 86400"):
        insights.validate(10, 30, HOUR)
    with pytest.raises(UsageError, match="shorter than one period"):
        insights.validate(10, 3600, Window(HOUR.start, HOUR.start + timedelta(minutes=5)))
    with pytest.raises(UsageError, match="end after"):
        insights.validate(10, 60, Window(HOUR.end, HOUR.start))
    assert insights.choose_period(HOUR) == 60
    assert insights.choose_period(Window(HOUR.start, HOUR.start + timedelta(days=30))) == 3600


def test_merge_keeps_server_counters_and_appends_pi_only_statements() -> None:
    pgss = [Statement(text="SELECT c.id, c.name, c.email, c.status, c.created_at FROM candidates c "
                           "WHERE c.status = $1 ORDER BY c.created_at DESC", calls=812, total_ms=9000.0,
                      mean_ms=11.08, rows=4060000, queryid="-4411"),
            Statement(text="SELECT 1", calls=3)]
    pi_side = [insights.to_statement(insights.PiKey(
        {"db.sql_tokenized.id": "tok-CANDLIST", "db.sql_tokenized.statement":
            "SELECT c.id, c.name, c.email, c.status, c.created_at FROM candidates c WHERE c.status = ? "
            "ORDER BY c.created_at DESC"}, 0.42, {"db.sql_tokenized.stats.calls_per_sec.avg": 2.0,
                                                  "db.sql_tokenized.stats.avg_latency_per_call.avg": 180.0},
        {"CPU": 0.4}), 3600, "SELECT c.id, c.name, c.email, c.status, c.created_at FROM candidates c "
                             "WHERE c.status = ? ORDER BY c.created_at DESC", False),
        insights.to_statement(insights.PiKey({"db.sql_tokenized.id": "tok-X"}, 0.1, {}, {}), 3600,
                              "SELECT * FROM jobs WHERE id = ?", False)]
    for s in pi_side:
        s.fingerprint = insights.fingerprint(s.text)
    merged = insights.merge(pgss, pi_side)
    assert len(merged) == 3
    cand = merged[0]
    assert cand.source == "pg_stat_statements+performance_insights"
    assert (cand.calls, cand.total_ms, cand.queryid) == (812, 9000.0, "-4411")  # the server's exact counters
    assert cand.extra["db_load"] == 0.42 and cand.extra["waits"] == {"CPU": 0.4}
    assert merged[2].source == "performance_insights" and not merged[2].has_stats


def test_pgqa_pi_rejects_a_limit_over_25(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "analyzer", "pi", "--db-instance", "ats-db", "--limit", "30"],
                         capture_output=True, text=True, timeout=60, env=no_credentials_env(tmp_path))
    assert res.returncode == 2 and "1..25" in res.stderr and "Traceback" not in res.stderr


def test_pgqa_pi_without_credentials_is_one_line_and_a_report(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "analyzer", "pi", "--db-instance", "ats-db",
                          "--format", "json"],
                         capture_output=True, text=True, timeout=60, env=no_credentials_env(tmp_path))
    assert res.returncode == 3
    err = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "no AWS credentials" in err[0]
    import json

    sources = {s["name"]: s["status"] for s in json.loads(res.stdout)["sources"]}
    assert sources == {"performance_insights": "skipped", "cloudwatch": "skipped"}


@mock_aws
def test_pgqa_pi_runs_the_rules_on_pi_statements(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from analyzer.cli import build_parser
    from analyzer.commands import pi as pi_cmd

    seed = Seeder()
    stubs = Stubs(seed).instance().metrics().pages().full_text()
    args = build_parser().parse_args(["pi", "--db-instance", "ats-db", "--since", "1h", "--format", "json",
                                      "--fail-on", "critical"])
    with stubs:
        code = pi_cmd.run(args, session=stubs.session)
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    assert {s["source"] for s in out["statements"]} == {"performance_insights"}
    assert [s["index"] for s in out["statements"]] == list(range(4))
    fps = {s["fingerprint"]: s for s in out["statements"]}
    rules = {(f["rule"], fps[f["statement"]["fingerprint"]]["extra"]["pi_id"]) for f in out["findings"]
             if f["statement"] and f["statement"]["fingerprint"] in fps}
    assert ("unpaged-list", "tok-CANDLIST") in rules
    assert ("union-all-aggregates", "tok-KPIUNION") in rules
    assert out["extra"]["aws"]["instance"]["performance_insights"] is True


@mock_aws
def test_window_is_kept_within_pi_retention() -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics()  # the recorded instance keeps 7 days
    asked: dict[str, Any] = {}
    stubs.pi.meta.events.register("provide-client-params.pi.DescribeDimensionKeys",
                                  lambda params, **kw: asked.update(params))
    p = top_params()
    p["PeriodInSeconds"] = 300  # chosen for the 7 days left of the window
    stubs.pi_stub.add_response("describe_dimension_keys", {"Keys": []}, p)
    report = _report()
    month = Window(END - timedelta(days=30), END)
    with stubs:
        insights.run_into(report, stubs.session, "ats-db", month)
    assert _source(report, "performance_insights")[0] == "ok"
    assert END - asked["StartTime"] <= timedelta(days=7, minutes=1)
    assert any("7 days" in n for n in report.extra["aws"]["pi_notes"])


@mock_aws
def test_full_text_refused_keeps_the_cut_statement(capsys: pytest.CaptureFixture[str]) -> None:
    seed = Seeder()
    stubs = Stubs(seed).instance().metrics().pages()
    stubs.pi_stub.add_client_error("describe_dimension_keys", service_error_code="NotAuthorizedException",
                                   http_status_code=403)
    report = _report()
    with stubs:
        statements = insights.run_into(report, stubs.session, "ats-db", HOUR)
    assert _source(report, "performance_insights")[0] == "ok" and len(statements) == 4
    kpi = next(s for s in statements if s.extra["pi_id"] == "tok-KPIUNION")
    assert kpi.truncated and "text_from" not in kpi.extra
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "pi:DescribeDimensionKeys" in err[0] and "cut texts stay cut" in err[0]


def test_a_cut_pi_text_merges_by_prefix_with_the_full_server_text() -> None:
    import itertools

    data = recorded("pi_top_sql.json")
    numbers = itertools.count(1)
    full = "".join(f"${next(numbers)}" if ch == "?" else ch for ch in data["kpi_tokenized_full"])
    cut = data["pages"][1]["Keys"][0]["Dimensions"]["db.sql_tokenized.statement"]
    server = Statement(text=full, calls=60, total_ms=5700.0)
    pi_key = insights.PiKey({"db.sql_tokenized.id": "tok-KPIUNION"}, 0.15, {}, {"CPU": 0.12})
    pi_side = insights.to_statement(pi_key, 3600, cut, truncated=True)
    pi_side.fingerprint = insights.fingerprint(cut)
    assert pi_side.fingerprint != insights.fingerprint(full)
    merged = insights.merge([server], [pi_side])
    assert merged == [server] and server.extra["db_load"] == 0.15 and server.calls == 60
    assert server.source == "pg_stat_statements+performance_insights"


def test_two_pi_digests_of_one_statement_add_up() -> None:
    server = Statement(text="SELECT * FROM jobs WHERE id IN ($1, $2, $3)", calls=10)
    pis = []
    for i, text in enumerate(["SELECT * FROM jobs WHERE id IN (?, ?)", "SELECT * FROM jobs WHERE id IN (?)"]):
        s = insights.to_statement(insights.PiKey({"db.sql_tokenized.id": f"tok-{i}"}, 0.25, {},
                                                 {"CPU": 0.2, "IO": 0.05}), 3600, text, False)
        s.fingerprint = insights.fingerprint(text)
        pis.append(s)
    assert pis[0].fingerprint == pis[1].fingerprint == insights.fingerprint(server.text)
    assert insights.merge([server], pis) == [server]
    assert server.extra["db_load"] == 0.5 and server.extra["waits"] == {"CPU": 0.4, "IO": 0.1}
    assert server.extra["pi_ids"] == ["tok-0", "tok-1"]
