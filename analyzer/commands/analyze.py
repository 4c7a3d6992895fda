"""pgqa analyze: the top statements of a database with what is wrong with them, the indexes that
would help (verified with hypothetical indexes) and how close the server is to running out of
connection slots. One read-only connection, named pgqa, with timeouts.

Exit codes: 0 ok, 1 a finding at or above --fail-on, 2 usage error, 3 the target cannot be reached
or queried (the reason, with its SQLSTATE, on stderr)."""

from __future__ import annotations

import argparse
import sys

from analyzer.commands.common import (
    add_advisor_options,
    add_output_options,
    add_store_option,
    add_target_options,
    check_advisor_args,
    emit,
    exit_code,
)
from analyzer.errors import TargetError, UsageError
from analyzer.model import Report
from analyzer.pipeline import AnalyzeOptions, analyze


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    add_output_options(p)
    add_store_option(p)
    g = p.add_argument_group("statements")
    g.add_argument("--top", type=int, default=50, metavar="N",
                   help="analyze the N statements with the most total execution time (default 50)")
    g.add_argument("--min-calls", type=int, default=1, metavar="N",
                   help="leave out statements called fewer than N times (default 1)")
    g.add_argument("--since", metavar="WINDOW",
                   help="use counter deltas over a window from the snapshot store, e.g. 1h, 24h")
    g.add_argument("--instance", metavar="NAME",
                   help="with --since: the instance name the snapshots were stored under "
                   "(default host:port/database of the DSN)")
    g.add_argument("--baseline", metavar="FILE",
                   help="an earlier JSON report: mark each finding new or persisting and list the "
                   "resolved ones (by stable finding id)")
    c = p.add_argument_group("checks")
    c.add_argument("--rule", action="append", dest="rules", metavar="ID",
                   help="run only this static rule (repeatable)")
    c.add_argument("--exclude-rule", action="append", dest="exclude_rules", metavar="ID",
                   help="skip this static rule (repeatable)")
    c.add_argument("--no-explain", action="store_true", help="do not EXPLAIN statements")
    c.add_argument("--analyze", action="store_true",
                   help="EXPLAIN ANALYZE SELECT statements (executes them, in a rolled-back transaction)")
    c.add_argument("--no-connections", action="store_true", help="skip the connection-slot snapshot")
    a = add_advisor_options(p)
    a.add_argument("--no-advice", action="store_true", help="no index advice")
    w = p.add_argument_group("AWS Performance Insights")
    w.add_argument("--pi", action="store_true", help="merge Performance Insights top SQL (RDS)")
    w.add_argument("--db-instance", metavar="ID", help="RDS DB instance identifier")
    w.add_argument("--region", help="AWS region")
    w.add_argument("--profile", help="AWS profile")
    p.add_argument("--chart", metavar="FILE",
                   help="write a PNG of the top statements by total time to FILE, linked from the "
                   "Markdown report (needs matplotlib: pip install 'pgqa[charts]')")


def options_from_args(args: argparse.Namespace) -> AnalyzeOptions:
    if args.top < 1:
        raise UsageError("--top must be at least 1")
    if args.min_calls < 0:
        raise UsageError("--min-calls cannot be negative")
    check_advisor_args(args)
    if args.analyze and args.no_explain:
        raise UsageError("--analyze and --no-explain contradict each other")
    options = AnalyzeOptions(
        dsn=args.dsn,
        statement_timeout_s=args.statement_timeout,
        top=args.top,
        min_calls=args.min_calls,
        since=args.since,
        store=args.store,
        rules=args.rules,
        exclude_rules=args.exclude_rules,
        explain=not args.no_explain,
        explain_analyze=args.analyze,
        advise=not args.no_advice,
        whatif=args.whatif,
        min_gain_pct=args.min_gain,
        max_indexes=args.max_indexes,
        max_index_mb=args.max_index_mb,
        connections=not args.no_connections,
        pi=args.pi,
        db_instance=args.db_instance,
        region=args.region,
        profile=args.profile,
        show_literals=args.show_literals,
        progress=sys.stderr.isatty(),
    )
    if args.baseline:
        options.extra["baseline"] = args.baseline
    if args.instance:
        options.extra["instance"] = args.instance
    return options


def run(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    # The baseline is read before connecting: a wrong file stops the run with exit 2 right away.
    from analyzer.report.baseline import apply_baseline
    from analyzer.report.json import load

    old = load(options.extra["baseline"]) if options.extra.get("baseline") else None
    if args.chart:
        from analyzer.report.charts import check_available

        check_available(args.chart)
    try:
        report = analyze(options)
    except TargetError as e:
        partial = getattr(e, "partial_report", None)
        if partial is not None:  # connected, then lost it: write out what was gathered, exit 3
            _record_command(partial, args)
            emit(partial, args)
        raise
    if old is not None:
        apply_baseline(report, old)
    _record_command(report, args)
    if args.chart:
        from analyzer.report.charts import chart_option

        chart_option(report, args.chart, output=args.output, show_literals=args.show_literals,
                     mask_hosts=args.mask_hosts)
    emit(report, args)
    return exit_code(report, args)


def _record_command(report: Report, args: argparse.Namespace) -> None:
    """The command line for tickets' reproduce section, without the password."""
    from analyzer.report.reproduce import command_line, dsn_hint

    t = report.target
    dsn = args.dsn or (dsn_hint(t.host, t.database, t.user) if t is not None else None)
    report.extra["command"] = command_line("analyze", add_arguments, args, dsn=dsn)
