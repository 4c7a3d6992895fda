"""CloudWatch metrics of the instance over the window, from moto seeded with put_metric_data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from moto import mock_aws
from test_aws_helpers import FakeSession, Seeder, aws_env  # noqa: F401  (fixture)

from analyzer.aws.window import Window, parse_duration, window_since
from analyzer.errors import UsageError
from analyzer.model import Report
from analyzer.sources import cloudwatch

pytestmark = pytest.mark.usefixtures("aws_env")


def _report() -> Report:
    from analyzer.pipeline import new_report

    return new_report()


def _put(seed: Seeder, instance: str, metric: str, values: list[float], end: datetime) -> None:
    cw = seed.client("cloudwatch")
    cw.put_metric_data(Namespace="AWS/RDS", MetricData=[
        {"MetricName": metric, "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
         "Timestamp": end - timedelta(minutes=len(values) - i), "Value": v} for i, v in enumerate(values)])


@mock_aws
def test_connections_cpu_and_memory_over_the_window() -> None:
    seed = Seeder()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    connections = [12, 30, 55, 73, 70, 41]
    cpu = [4.0, 6.0, 8.0, 7.5, 8.0, 5.0]
    memory = [310e6, 280e6, 150e6, 120e6, 130e6, 200e6]
    _put(seed, "ats-db", "DatabaseConnections", connections, now)
    _put(seed, "ats-db", "CPUUtilization", cpu, now)
    _put(seed, "ats-db", "FreeableMemory", memory, now)
    _put(seed, "other-db", "DatabaseConnections", [500], now)  # another instance: not counted
    report = _report()
    data = cloudwatch.collect_into(report, FakeSession(seed.session), "ats-db",
                                   Window(now - timedelta(hours=1), now + timedelta(minutes=1)))
    assert report.extra["cloudwatch"] is data
    m = data["metrics"]
    assert m["connections"]["max"] == max(connections)
    assert m["cpu"]["max"] == max(cpu) and m["cpu"]["avg"] == pytest.approx(sum(cpu) / len(cpu))
    assert m["freeable_memory"]["max"] == max(memory) and m["freeable_memory"]["unit"] == "Bytes"
    series = m["connections"]["series"]
    assert [p["max"] for p in series] == connections  # oldest first, one point per minute
    assert all(p["t"] < q["t"] for p, q in zip(series, series[1:], strict=False))
    status = next(s for s in report.sources if s.name == "cloudwatch")
    assert status.status == "ok" and "max 73" in status.detail


@mock_aws
def test_empty_window_is_ok_with_no_points() -> None:
    report = _report()
    now = datetime.now(UTC)
    data = cloudwatch.collect_into(report, FakeSession(Seeder().session), "quiet-db",
                                   Window(now - timedelta(hours=1), now))
    assert data["metrics"]["connections"]["max"] is None and data["metrics"]["connections"]["series"] == []
    assert "no datapoints" in report.sources[-1].detail


@mock_aws
def test_access_denied_names_cloudwatch_action() -> None:
    from analyzer.aws.session import AwsError

    seed = Seeder()
    cw = seed.pgqa_client("cloudwatch")
    stub = Stubber(cw)
    stub.add_client_error("get_metric_data", service_error_code="AccessDenied", http_status_code=403)
    now = datetime.now(UTC)
    with stub, pytest.raises(AwsError) as e:
        cloudwatch.collect_into(_report(), FakeSession(seed.session, cloudwatch=cw), "ats-db",
                                Window(now - timedelta(hours=1), now))
    assert "cloudwatch:GetMetricData" in str(e.value) and e.value.kind == "skipped"


def test_periods_keep_series_small_and_aligned() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert cloudwatch.period_for(Window(start, start + timedelta(hours=1))) == 60
    week = cloudwatch.period_for(Window(start, start + timedelta(days=7)))
    assert week % 60 == 0 and 7 * 86400 / week <= 1440


def test_since_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(UsageError):
        parse_duration("yesterday")
    with pytest.raises(UsageError, match="24 months"):
        window_since("800d")
    w = window_since("30m", now=datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert w.seconds == 1800
