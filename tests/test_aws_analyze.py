"""`pgqa analyze --pi --format json` over a real PostgreSQL: PI's top SQL (Stubber) merged with
pg_stat_statements by fingerprint, PI-only statements through the rules, CloudWatch from moto.

The boto3 session is injected through AnalyzeOptions.extra["aws_session"]; everything else runs
as the CLI runs it (argument parsing, the pipeline, the JSON renderer)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from moto import mock_aws
from test_aws_helpers import Seeder, Stubs, assert_schema, aws_env  # noqa: F401  (fixture)

from analyzer import localpg

pytestmark = pytest.mark.usefixtures("aws_env")

CANDIDATE_LIST = ("SELECT c.id, c.name, c.email, c.status, c.created_at FROM candidates c "
                  "WHERE c.status = %s ORDER BY c.created_at DESC")


@pytest.fixture
def ats_dsn(pg15: localpg.LocalServer) -> Iterator[str]:
    name = f"ats_pi_{os.getpid()}"
    with pg15.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        with pg15.connect(name) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("""
                CREATE TABLE candidates (id bigserial PRIMARY KEY, external_id text UNIQUE, name text,
                    email text, status text, created_at timestamptz DEFAULT now(), updated_at timestamptz);
                CREATE TABLE applications (id bigserial PRIMARY KEY,
                    candidate_id bigint REFERENCES candidates,
                    status text, created_at timestamptz DEFAULT now());
                INSERT INTO candidates (external_id, name, email, status)
                    SELECT 'k' || g, 'name ' || g, 'c' || g || '@example.com', 'applied'
                    FROM generate_series(1, 200) g;
            """)
            for _ in range(5):
                conn.execute(CANDIDATE_LIST, ("applied",)).fetchall()
        yield pg15.dsn(name)
    finally:
        with pg15.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@mock_aws
def test_analyze_pi_json_merges_and_applies_rules(ats_dsn: str) -> None:
    from analyzer.cli import build_parser
    from analyzer.commands import analyze as analyze_cmd
    from analyzer.pipeline import analyze
    from analyzer.report import render

    seed = Seeder()
    stubs = Stubs(seed).instance().metrics().pages().full_text()
    args = build_parser().parse_args(["analyze", "--dsn", ats_dsn, "--pi", "--db-instance", "ats-db",
                                      "--format", "json", "--no-explain", "--no-advice", "--no-connections"])
    options = analyze_cmd.options_from_args(args)
    assert options.pi and options.db_instance == "ats-db"
    options.extra["aws_session"] = stubs.session
    with stubs:
        report = analyze(options)
    out = json.loads(render(report, "json"))
    assert_schema(out)

    sources = {s["name"]: s["status"] for s in out["sources"]}
    assert sources["performance_insights"] == "ok" and sources["cloudwatch"] == "ok"
    by_source: dict[str, list] = {}
    for s in out["statements"]:
        by_source.setdefault(s["source"], []).append(s)

    # the candidate list is in both: the server's exact counters, PI's load and waits
    [merged] = by_source["pg_stat_statements+performance_insights"]
    assert "FROM candidates c" in merged["text"] and "ORDER BY c.created_at DESC" in merged["text"]
    assert merged["calls"] == 5  # from pg_stat_statements, not PI's 2/s x 3600 s estimate
    assert merged["extra"]["db_load"] == 0.42 and merged["extra"]["waits"]["CPU"] == 0.30

    pi_only = by_source["performance_insights"]
    assert len(pi_only) == 3
    texts = " | ".join(s["text"] for s in pi_only)
    assert "LEFT JOIN applications" in texts and "UNION ALL" in texts and "ON CONFLICT" in texts
    assert all(s["extra"]["db_load"] > 0 for s in pi_only)

    # rules ran on PI-only statements too
    pi_fps = {s["fingerprint"] for s in pi_only}
    rules_on_pi = {f["rule"] for f in out["findings"] if (f["statement"] or {}).get("fingerprint") in pi_fps}
    assert rules_on_pi, out["findings"]
    assert rules_on_pi & {"union-all-aggregates", "upsert-without-change-guard", "wide-select-join"}
    assert "cloudwatch" in out["extra"]


@mock_aws
def test_analyze_goes_on_when_pi_is_denied(ats_dsn: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from analyzer.pipeline import AnalyzeOptions, analyze

    seed = Seeder()
    stubs = Stubs(seed).instance()
    stubs.pi_stub.add_client_error("list_available_resource_metrics",
                                   service_error_code="AccessDeniedException",
                                   http_status_code=403)
    options = AnalyzeOptions(dsn=ats_dsn, pi=True, db_instance="ats-db", explain=False, advise=False,
                             connections=False, extra={"aws_session": stubs.session})
    with stubs:
        report = analyze(options)
    status = {s.name: s for s in report.sources}
    assert status["performance_insights"].status == "skipped"
    assert "pi:ListAvailableResourceMetrics" in status["performance_insights"].detail
    assert any("FROM candidates c" in s.text and s.source == "pg_stat_statements" for s in report.statements)
    assert "pi:ListAvailableResourceMetrics" in capsys.readouterr().err


def test_cli_analyze_pi_without_credentials_goes_on(ats_dsn: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from test_aws_helpers import no_credentials_env

    res = subprocess.run([sys.executable, "-m", "analyzer", "analyze", "--dsn", ats_dsn, "--pi",
                          "--db-instance", "ats-db", "--format", "json", "--no-explain", "--no-advice",
                          "--no-connections"],
                         capture_output=True, text=True, timeout=120, env=no_credentials_env(tmp_path))
    assert res.returncode == 0, res.stderr
    err = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "no AWS credentials" in err[0]
    out = json.loads(res.stdout)
    sources = {s["name"]: s["status"] for s in out["sources"]}
    assert sources["performance_insights"] == "skipped" and sources["pg_stat_statements"] == "ok"
    assert any("FROM candidates c" in s["text"] for s in out["statements"])
