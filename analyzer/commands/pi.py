"""pgqa pi: AWS Performance Insights top SQL of an RDS instance (with CloudWatch metrics), through
the static rules. AWS access uses the standard credential chain (--profile, --region, environment).

IAM permissions: rds:DescribeDBInstances, pi:ListAvailableResourceMetrics, pi:DescribeDimensionKeys,
pi:GetDimensionKeyDetails, cloudwatch:GetMetricData."""

from __future__ import annotations

import argparse
from typing import Any

from analyzer.commands.common import add_output_options, emit, exit_code
from analyzer.errors import PgqaError


def add_aws_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db-instance", required=True, metavar="NAME", help="RDS DB instance identifier")
    p.add_argument("--region", help="AWS region (default: AWS_REGION / the profile's region)")
    p.add_argument("--profile", help="AWS profile from ~/.aws/config (default: AWS_PROFILE)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_aws_options(p)
    p.add_argument("--since", default="1h", metavar="DURATION", help="window ending now, e.g. 30m, 1h, 2d")
    p.add_argument("--limit", type=int, default=25, metavar="N", help="top N statements by DB load, 1..25")
    p.add_argument("--period", type=int, default=None, metavar="S",
                   help="PI granularity in seconds: 1, 60, 300, 3600 or 86400 (default: by window)")
    add_output_options(p)


def run(args: argparse.Namespace, session: Any = None) -> int:
    """session: a boto3-like session to use instead of one from --profile/--region (tests)."""
    from analyzer import rules, workload
    from analyzer.aws.session import make_session
    from analyzer.aws.window import window_since
    from analyzer.pipeline import new_report
    from analyzer.sources import insights

    window = window_since(args.since)
    insights.validate(args.limit, args.period or insights.choose_period(window), window)
    report = new_report()
    if session is None:
        try:
            session = make_session(args.profile, args.region)
        except PgqaError as e:
            insights.say(report, insights.SOURCE, e)
            emit(report, args)
            return 3
    statements = insights.run_into(report, session, args.db_instance, window, args.limit, args.period)
    workload.prepare(report, statements, None)
    report.statements = statements
    report.findings += rules.run_rules(statements, None)
    emit(report, args)
    pi_status = next((s.status for s in report.sources if s.name == insights.SOURCE), "error")
    return exit_code(report, args) if pi_status == "ok" else 3
