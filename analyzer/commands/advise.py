"""pgqa advise: index advice only. The top statements of pg_stat_statements, weighted by their
share of the time, get the index set that cuts the workload's cost most, verified with hypothetical
indexes (hypopg) in pgqa's one read-only session; nothing is built. Without hypopg the suggestions
are heuristic and say so.

Exit codes: 0 ok, 1 a finding at or above --fail-on, 2 usage error, 3 the target cannot be reached."""

from __future__ import annotations

import argparse
import sys

from analyzer.commands.common import (
    add_advisor_options,
    add_output_options,
    add_target_options,
    check_advisor_args,
    emit,
    exit_code,
)
from analyzer.errors import UsageError
from analyzer.model import Catalog, Report
from analyzer.pipeline import AnalyzeOptions, _stage, new_report, progress
from analyzer.target import SessionSettings, Target


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    add_output_options(p)
    g = p.add_argument_group("statements")
    g.add_argument("--top", type=int, default=50, metavar="N",
                   help="weigh the N statements with the most total execution time (default 50)")
    g.add_argument("--min-calls", type=int, default=1, metavar="N",
                   help="leave out statements called fewer than N times (default 1)")
    add_advisor_options(p)


def options_from_args(args: argparse.Namespace) -> AnalyzeOptions:
    check_advisor_args(args)
    if args.top < 1:
        raise UsageError("--top must be at least 1")
    return AnalyzeOptions(
        dsn=args.dsn, statement_timeout_s=args.statement_timeout, top=args.top,
        min_calls=args.min_calls, explain=False, advise=True, whatif=args.whatif,
        min_gain_pct=args.min_gain, max_indexes=args.max_indexes, max_index_mb=args.max_index_mb,
        connections=False, show_literals=args.show_literals, progress=sys.stderr.isatty())


def session_settings(options: AnalyzeOptions) -> SessionSettings:
    # read-only even with --whatif real: its one transaction says SET TRANSACTION READ WRITE itself
    return SessionSettings(statement_timeout_s=options.statement_timeout_s)


def advise(options: AnalyzeOptions) -> Report:
    from analyzer import advisor, workload
    from analyzer.pipeline import _catalog
    from analyzer.sources import statements as statements_source

    report = new_report()
    with Target.connect(options.dsn, session_settings(options)) as target:
        report.target = target.info
        progress(options, "collecting statements")
        statements = _stage(report, "pg_stat_statements",
                            lambda: statements_source.collect_into(report, target, options), [])
        catalog = _stage(report, "catalog", lambda: _catalog(report, target), Catalog())
        workload.prepare(report, statements, catalog)
        report.statements = statements
        progress(options, f"costing index candidates for {len(statements)} statements")
        _stage(report, "advisor", lambda: advisor.advise_into(report, target, catalog, options), None)
        report.extra["queries_sent"] = target.queries_sent
    return report


def run(args: argparse.Namespace) -> int:
    report = advise(options_from_args(args))
    emit(report, args)
    return exit_code(report, args)
