"""pgqa budget: the serverless connection budget of an RDS instance. Finds the Lambda functions
whose environment names the instance endpoint (or an RDS Proxy in front of it), their concurrency
caps, the proxies' target health, and compares the worst-case connections with the usable slots
(from the server with --dsn, else estimated from the instance class).

IAM permissions: rds:DescribeDBInstances, rds:DescribeDBProxies, rds:DescribeDBProxyTargets,
rds:DescribeDBProxyTargetGroups, lambda:ListFunctions, lambda:GetFunctionConcurrency,
lambda:GetAccountSettings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from analyzer.commands.common import add_output_options, emit, exit_code
from analyzer.commands.pi import add_aws_options
from analyzer.errors import TargetError, UsageError

if TYPE_CHECKING:
    from analyzer.aws.budget import Slots


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_aws_options(p)
    p.add_argument("--pool-size", type=int, default=1, metavar="N",
                   help="connections each function instance opens (default 1)")
    p.add_argument("--dsn", help="the instance's DSN, to read the usable slots from the server itself "
                   "(one read-only connection); without it they are estimated from the instance class")
    p.add_argument("--env-var", action="append", metavar="NAME", dest="env_vars",
                   help="only these environment variables name the database host (repeatable; "
                   "default: any variable whose value contains the endpoint)")
    add_output_options(p)


def server_slots(dsn: str) -> Slots | None:
    """Usable slots from the server through the connections snapshot (one safe connection)."""
    import psycopg

    from analyzer.aws.budget import Slots
    from analyzer.connections import snapshot
    from analyzer.target import Target

    try:
        with Target.connect(dsn) as target:
            snap = snapshot.take(target)
    except psycopg.Error as e:
        raise TargetError(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__) from None
    if snap is None or snap.usable is None or snap.max_connections is None:
        return None
    return Slots(usable=int(snap.usable), max_connections=int(snap.max_connections),
                 reserved=dict(snap.reserved), source="server",
                 detail=f"max_connections {snap.max_connections} minus reserved "
                        f"{sum(snap.reserved.values())}")


def run(args: argparse.Namespace) -> int:
    from analyzer.aws.serverless import budget_into
    from analyzer.aws.session import make_session
    from analyzer.pipeline import new_report

    if args.pool_size < 1:
        raise UsageError("--pool-size must be at least 1")
    report = new_report()
    session = make_session(args.profile, args.region)
    reader = (lambda: server_slots(args.dsn)) if args.dsn else None
    budget_into(report, session, args.db_instance, args.pool_size, args.env_vars, reader)
    emit(report, args)
    return exit_code(report, args)
