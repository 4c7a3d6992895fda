"""pgqa budget: the incident rebuilt in moto (23 Lambda functions on one endpoint, no reserved
concurrency, an RDS Proxy whose target is UNAVAILABLE) and the findings a DBA would act on.

moto models neither Lambda's GetAccountSettings nor an UNAVAILABLE proxy target (its targets turn
AVAILABLE on their own), so those two calls are answered with recorded responses
(tests/data/aws/) that botocore parses like AWS's own; everything else is moto's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from moto import mock_aws
from test_aws_helpers import (
    FakeSession,
    Seeder,
    assert_schema,
    aws_env,  # noqa: F401  (fixture)
    no_credentials_env,
    recorded,
    replay,
)

from analyzer.aws.serverless import budget_into
from analyzer.model import Report

pytestmark = pytest.mark.usefixtures("aws_env")

# The documented RDS default, computed here from the formula rather than by the code under test
T4G_MICRO_MAX_CONNECTIONS = min(1024 ** 3 // 9531392, 5000)
RDS_RESERVED = 3 + 2  # superuser_reserved_connections + rds.rds_superuser_reserved_connections
FUNCTIONS = [f"ats-{n}" for n in (
    "candidates-list", "candidate-detail", "candidate-create", "candidate-update", "candidate-delete",
    "jobs-list", "job-detail", "job-create", "job-update", "applications-list", "application-detail",
    "application-move", "interviews-list", "interview-create", "offers-list", "offer-create", "kpi-summary",
    "kpi-funnel", "kpi-sources", "kintone-sync", "kintone-webhook", "users-list", "auth-login")]


def _report() -> Report:
    from analyzer.pipeline import new_report

    return new_report()


def _session_with_recordings(seed: Seeder, unavailable_target: bool = True) -> FakeSession:
    rds, lam = seed.pgqa_client("rds"), seed.pgqa_client("lambda")
    replay(lam, "GetAccountSettings", json.dumps(recorded("lambda_get_account_settings.json")).encode(),
           headers={"content-type": "application/json"})
    if unavailable_target:
        replay(rds, "DescribeDBProxyTargets", recorded("rds_describe_db_proxy_targets_unavailable.xml"),
               headers={"content-type": "text/xml"})
    return FakeSession(seed.session, rds=rds, **{"lambda": lam})


def _build_incident(seed: Seeder) -> dict[str, str]:
    inst = seed.instance("ats-db", "db.t4g.micro")
    proxy = seed.proxy("ats-proxy", "ats-db")
    host = inst["Endpoint"]["Address"]
    for i, name in enumerate(FUNCTIONS):
        env = {"DB_HOST": host, "DB_NAME": "ats", "NODE_ENV": "production"}
        if i == 0:  # one function holds a full URL with a password in it
            env = {"DATABASE_URL": f"postgresql://app:s3cret-pw@{host}:5432/ats"}
        seed.function(name, env, timeout=3 if i % 4 else 10, memory=128)
    # functions that do not talk to this instance
    seed.function("ats-mailer", {"SMTP_HOST": "smtp.example.com"})
    seed.function("reports-db", {"DB_HOST": "other-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com"})
    return {"host": host, "proxy_endpoint": proxy["Endpoint"]}


@mock_aws
def test_incident_budget_findings_and_numbers() -> None:
    seed = Seeder()
    seeded = _build_incident(seed)
    report = _report()
    budget_into(report, _session_with_recordings(seed), "ats-db", pool_size=1)
    table = report.extra["budget"]
    usable = T4G_MICRO_MAX_CONNECTIONS - RDS_RESERVED

    # the 23 functions on the endpoint are found, the two others are not
    assert sorted(f["name"] for f in table["functions"]) == sorted(FUNCTIONS)
    assert all(f["reserved"] is None and f["via"] == "instance" for f in table["functions"])
    assert table["slots"]["usable"] == usable and table["slots"]["source"] == "instance class estimate"
    assert table["account"]["unreserved"] == 1000

    by_rule: dict[str, list] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    fit = usable // len(FUNCTIONS)

    exceeded = by_rule["connection-budget-exceeded"]
    assert len(exceeded) == 1 and exceeded[0].severity == "critical"
    ev = exceeded[0].evidence
    # 23 functions without reservation share the account's 1000 unreserved executions
    assert ev["worst_case_connections"] == 1000 and ev["usable_slots"] == usable
    assert ev["suggested_reserved_per_function"] == fit
    assert f"reserve {fit} concurrent executions for each of the 23 functions" in exceeded[0].recommendation
    assert fit * len(FUNCTIONS) <= usable < (fit + 1) * len(FUNCTIONS)

    unbounded = by_rule["unbounded-lambda-concurrency"]
    assert sorted(f.key for f in unbounded) == sorted(FUNCTIONS)
    assert len({f.id for f in unbounded}) == len(FUNCTIONS)  # one stable id per function
    sample = next(f for f in unbounded if f.key == "ats-kintone-sync")
    assert ("aws lambda put-function-concurrency --function-name ats-kintone-sync "
            f"--reserved-concurrent-executions {fit}") in sample.recommendation

    [unavailable] = by_rule["proxy-target-unavailable"]
    assert unavailable.key == "ats-proxy" and unavailable.evidence["state"] == "UNAVAILABLE"
    assert unavailable.evidence["reason"] == "AUTH_FAILURE"
    assert "Proxy does not have any registered credentials" in unavailable.message
    assert "Secrets Manager secret" in unavailable.recommendation

    [bypass] = by_rule["functions-bypass-proxy"]
    assert bypass.key == "ats-proxy" and len(bypass.evidence["functions"]) == 23
    assert seeded["proxy_endpoint"] in bypass.recommendation
    assert "DB_HOST" in bypass.recommendation and "DATABASE_URL" in bypass.recommendation

    # the password in DATABASE_URL never reaches the report
    from analyzer.report.json import dumps

    text = dumps(report)
    assert "s3cret-pw" not in text
    assert_schema(json.loads(text))


@mock_aws
def test_ids_stay_stable_across_runs() -> None:
    seed = Seeder()
    _build_incident(seed)
    first, second = _report(), _report()
    budget_into(first, _session_with_recordings(seed), "ats-db")
    budget_into(second, _session_with_recordings(seed), "ats-db")
    assert sorted(f.id for f in first.findings) == sorted(f.id for f in second.findings)


@mock_aws
def test_reserved_functions_and_pool_size_fit_the_budget() -> None:
    seed = Seeder()
    inst = seed.instance("small-db", "db.t4g.micro")
    host = inst["Endpoint"]["Address"]
    seed.function("api-a", {"PGHOST": host}, reserved=10)
    seed.function("api-b", {"PGHOST": host}, reserved=20)
    seed.function("worker", {"QUEUE_URL": "https://sqs.example", "READER_HOST": host})
    report = _report()
    budget_into(report, _session_with_recordings(seed, unavailable_target=False), "small-db", pool_size=2,
                env_vars=["PGHOST"])
    table = report.extra["budget"]
    # --env-var PGHOST: the worker's READER_HOST does not count
    assert sorted(f["name"] for f in table["functions"]) == ["api-a", "api-b"]
    assert table["worst_case_connections"] == (10 + 20) * 2
    assert not [f for f in report.findings if f.rule == "unbounded-lambda-concurrency"]
    assert not [f for f in report.findings
                if f.rule in ("proxy-target-unavailable", "functions-bypass-proxy")]
    usable = T4G_MICRO_MAX_CONNECTIONS - RDS_RESERVED
    assert bool([f for f in report.findings if f.rule == "connection-budget-exceeded"]) == (60 > usable)


@mock_aws
def test_functions_behind_a_healthy_proxy_are_bounded_by_its_pool() -> None:
    seed = Seeder()
    inst = seed.instance("pdb", "db.t4g.micro")
    proxy = seed.proxy("pdb-proxy", "pdb")
    for i in range(5):
        seed.function(f"via-proxy-{i}", {"DB_HOST": proxy["Endpoint"]})
    seed.function("direct-one", {"DB_HOST": inst["Endpoint"]["Address"]}, reserved=5)
    report = _report()
    budget_into(report, _session_with_recordings(seed, unavailable_target=False), "pdb")
    table = report.extra["budget"]
    vias = {f["name"]: f["via"] for f in table["functions"]}
    assert vias["direct-one"] == "instance" and vias["via-proxy-0"] == "proxy:pdb-proxy"
    # moto's default target group: MaxConnectionsPercent 100 of max_connections, at most the usable slots
    assert table["proxy_connections"] == T4G_MICRO_MAX_CONNECTIONS - RDS_RESERVED
    assert table["direct_connections"] == 5
    rules = {f.rule for f in report.findings}
    assert "proxy-target-unavailable" not in rules  # moto reports the target AVAILABLE
    [bypass] = [f for f in report.findings if f.rule == "functions-bypass-proxy"]
    assert bypass.evidence["functions"] == ["direct-one"]
    # the proxied functions still have no reserved concurrency: flagged, at lower severity
    sev = {f.key: f.severity for f in report.findings if f.rule == "unbounded-lambda-concurrency"}
    assert sev and set(sev.values()) == {"medium"}


@mock_aws
def test_account_settings_unreadable_falls_back_to_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    seed = Seeder()
    inst = seed.instance("db1")
    seed.function("f", {"DB_HOST": inst["Endpoint"]["Address"]})
    report = _report()
    # moto answers GetAccountSettings with 404 "Not yet implemented": like a failing call
    budget_into(report, FakeSession(seed.session), "db1")
    assert report.extra["budget"]["account"]["unreserved"] == 1000
    assert "default 1000 assumed" in report.extra["budget"]["account"]["source"]
    assert "lambda:GetAccountSettings" in capsys.readouterr().err


@mock_aws
def test_unknown_instance_is_one_clear_line(tmp_path: Path) -> None:
    from analyzer.aws.session import AwsError

    with pytest.raises(AwsError) as e:
        budget_into(_report(), FakeSession(Seeder().session), "no-such-db")
    assert "unknown RDS instance 'no-such-db'" in str(e.value) and "\n" not in str(e.value)


def test_cli_without_credentials_says_so_in_one_line(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "analyzer", "budget", "--db-instance", "ats-db",
                          "--format", "json"], capture_output=True, text=True, timeout=60,
                         env=no_credentials_env(tmp_path))
    assert res.returncode == 3
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no AWS credentials" in lines[0] and "Traceback" not in res.stderr


def test_cli_rejects_a_pool_size_below_one(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "analyzer", "budget", "--db-instance", "x", "--pool-size",
                          "0"], capture_output=True, text=True, timeout=60, env=no_credentials_env(tmp_path))
    assert res.returncode == 2 and "--pool-size" in res.stderr


@mock_aws
def test_usable_slots_from_the_server_with_dsn(pg) -> None:  # type: ignore[no-untyped-def]
    from analyzer.commands.budget import server_slots

    with pg.connect() as conn:
        settings = {r[0]: int(r[1]) for r in conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
            "'superuser_reserved_connections', 'reserved_connections')")}
    expected = settings["max_connections"] - settings["superuser_reserved_connections"] \
        - settings.get("reserved_connections", 0)
    seed = Seeder()
    inst = seed.instance("srv-db", "db.r6g.large")
    for i in range(3):
        seed.function(f"fn-{i}", {"DB_HOST": inst["Endpoint"]["Address"]})
    report = _report()
    budget_into(report, _session_with_recordings(seed, unavailable_target=False), "srv-db",
                server_slots=lambda: server_slots(pg.dsn()))
    slots = report.extra["budget"]["slots"]
    assert slots["source"] == "server" and slots["usable"] == expected
    [exceeded] = [f for f in report.findings if f.rule == "connection-budget-exceeded"]
    assert exceeded.evidence["usable_slots"] == expected
    assert exceeded.evidence["suggested_reserved_per_function"] == expected // 3


@mock_aws
def test_unreachable_server_falls_back_to_the_class_estimate() -> None:
    from analyzer.commands.budget import server_slots

    seed = Seeder()
    inst = seed.instance("est-db", "db.t4g.micro")
    seed.function("fn", {"DB_HOST": inst["Endpoint"]["Address"]})
    report = _report()
    budget_into(report, _session_with_recordings(seed, unavailable_target=False), "est-db",
                server_slots=lambda: server_slots("host=127.0.0.1 port=1 connect_timeout=2 dbname=x"))
    slots = report.extra["budget"]["slots"]
    assert slots["source"] == "instance class estimate"
    assert slots["usable"] == T4G_MICRO_MAX_CONNECTIONS - RDS_RESERVED
    assert "server slots unavailable" in slots["detail"]


@mock_aws
def test_refused_permissions_name_the_iam_action(capsys: pytest.CaptureFixture[str]) -> None:
    from botocore.stub import Stubber

    from analyzer.aws.session import AwsError

    seed = Seeder()
    inst = seed.instance("perm-db")
    seed.function("fn-a", {"DB_HOST": inst["Endpoint"]["Address"]})
    session = _session_with_recordings(seed, unavailable_target=False)

    # rds:DescribeDBProxies refused: the proxies are skipped, the budget still comes out
    rds = seed.pgqa_client("rds")
    rds_stub = Stubber(rds)
    rds_stub.add_response("describe_db_instances", {"DBInstances": [inst]},
                          {"DBInstanceIdentifier": "perm-db"})
    rds_stub.add_client_error("describe_db_proxies", service_error_code="AccessDenied", http_status_code=403)
    session.clients["rds"] = rds
    report = _report()
    with rds_stub:
        budget_into(report, session, "perm-db")
    status = {s.name: s for s in report.sources}
    assert status["rds_proxy"].status == "skipped" and "rds:DescribeDBProxies" in status["rds_proxy"].detail
    assert report.extra["budget"]["functions"][0]["name"] == "fn-a"
    assert "rds:DescribeDBProxies" in capsys.readouterr().err

    # lambda:GetFunctionConcurrency refused: counted as unreserved (the worst case), and said
    lam = seed.pgqa_client("lambda")
    lam_stub = Stubber(lam)
    lam_stub.add_response("list_functions", {"Functions": [
        {"FunctionName": "fn-a", "Timeout": 3, "MemorySize": 128,
         "Environment": {"Variables": {"DB_HOST": inst["Endpoint"]["Address"]}}}]})
    lam_stub.add_client_error("get_function_concurrency", service_error_code="AccessDeniedException",
                              http_status_code=403)
    lam_stub.add_response("get_account_settings", recorded("lambda_get_account_settings.json"))
    session = FakeSession(seed.session, **{"lambda": lam})
    report = _report()
    with lam_stub:
        budget_into(report, session, "perm-db")
    [fn] = report.extra["budget"]["functions"]
    assert fn["reserved"] is None and fn["reserved_known"] is False and fn["concurrency_cap"] == 1000
    assert "lambda:GetFunctionConcurrency" in capsys.readouterr().err

    # lambda:ListFunctions refused: nothing to count, one line naming the action
    lam = seed.pgqa_client("lambda")
    lam_stub = Stubber(lam)
    lam_stub.add_client_error("list_functions", service_error_code="AccessDeniedException",
                              http_status_code=403)
    with lam_stub, pytest.raises(AwsError) as e:
        budget_into(_report(), FakeSession(seed.session, **{"lambda": lam}), "perm-db")
    assert "lambda:ListFunctions" in str(e.value) and "\n" not in str(e.value)
