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


def not_available(name: str) -> int:
    raise UsageError(f"'{name}' is not available yet in this version of pgqa")
