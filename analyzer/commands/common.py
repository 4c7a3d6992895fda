"""Options several commands share, and the one place that writes a report out."""

from __future__ import annotations

import argparse
import os
import sys

from analyzer.errors import UsageError
from analyzer.model import SEVERITIES, Report, severity_rank

FORMATS = ("text", "markdown", "json")


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (default: text on a terminal, json otherwise)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                   help=f"exit 1 when a finding of SEVERITY or worse exists ({', '.join(SEVERITIES)})")
    p.add_argument("--show-literals", action="store_true",
                   help="show literal values in statements (redacted by default)")
    p.add_argument("--mask-hosts", action="store_true", help="mask host names and client addresses")


def add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", help="libpq connection string or URI; falls back to PGHOST, PGUSER, "
                   "PGSERVICE, ~/.pgpass like psql")
    p.add_argument("--statement-timeout", type=float, default=5.0, metavar="S",
                   help="statement_timeout for pgqa's session, seconds (default 5)")


def add_store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="URL", help="snapshot store: sqlite:///path.db (default: a "
                   "per-user data path) or postgresql://... for a central store")


def output_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if getattr(args, "output", None):
        return {"md": "markdown", "json": "json"}.get(str(args.output).rsplit(".", 1)[-1], "text")
    return "text" if sys.stdout.isatty() else "json"


def emit(report: Report, args: argparse.Namespace) -> None:
    from analyzer.report import render

    fmt = output_format(args)
    width = os.get_terminal_size().columns if sys.stdout.isatty() else 120
    text = render(report, fmt, show_literals=getattr(args, "show_literals", False),
                  mask_hosts=getattr(args, "mask_hosts", False), width=width)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror}") from e
    else:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")


def exit_code(report: Report, args: argparse.Namespace) -> int:
    fail_on = getattr(args, "fail_on", None)
    if fail_on and any(severity_rank(f.severity) >= severity_rank(fail_on) for f in report.findings):
        return 1
    return 0


def add_advisor_options(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The advisor's options, shared by analyze, advise and explain."""
    a = p.add_argument_group("index advice")
    a.add_argument("--whatif", choices=("hypopg", "real", "off"), default="hypopg",
                   help="verify candidates with hypothetical indexes (hypopg, default); 'real' builds "
                   "them inside a rolled-back transaction (sandbox databases only: takes locks and "
                   "time); 'off' gives unverified heuristic suggestions")
    a.add_argument("--min-gain", type=float, default=2.0, metavar="PCT",
                   help="the next index must cut at least PCT percent of the remaining workload cost "
                   "(default 2)")
    a.add_argument("--max-indexes", type=int, default=10, metavar="N",
                   help="suggest at most N indexes (default 10)")
    a.add_argument("--max-index-mb", type=float, metavar="MB",
                   help="total size budget of the suggested indexes, MB")
    return a


def check_advisor_args(args: argparse.Namespace) -> None:
    if args.statement_timeout <= 0:
        raise UsageError("--statement-timeout must be more than 0 seconds")
    if args.max_indexes < 0:
        raise UsageError("--max-indexes cannot be negative")
    if args.max_index_mb is not None and args.max_index_mb <= 0:
        raise UsageError("--max-index-mb must be more than 0")
    if args.min_gain < 0:
        raise UsageError("--min-gain cannot be negative")
