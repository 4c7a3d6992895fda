"""pgqa tickets: one Markdown file per finding (or per statement), ready to attach to a ticket
(Jira, GitHub, Backlog, Redmine), plus index.md listing them and findings.json for automation.

Reads a JSON report (`pgqa analyze --format json --output report.json`). Literal values stay
replaced by placeholders unless --show-literals. Exit codes: 0 ok, 1 a finding at or above
--fail-on among the tickets, 2 the input is not a readable pgqa report or the options are wrong."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzer.errors import UsageError
from analyzer.model import SEVERITIES, severity_rank


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input",
        "-i",
        required=True,
        metavar="REPORT.json",
        help="a pgqa JSON report (pgqa analyze --format json --output REPORT.json)",
    )
    p.add_argument("--out-dir", "-d", required=True, metavar="DIR", help="directory for the ticket files")
    p.add_argument(
        "--group",
        choices=("finding", "statement"),
        default="finding",
        help="one ticket per finding (default) or per statement with all its findings",
    )
    p.add_argument(
        "--baseline",
        metavar="OLD.json",
        help="an earlier JSON report: mark findings new or persisting, list resolved ones",
    )
    p.add_argument(
        "--only-new", action="store_true", help="tickets only for findings that are new against the baseline"
    )
    p.add_argument(
        "--chart",
        action="store_true",
        help="add PNG charts (top statements, connection time line) linked from the tickets "
        "(needs matplotlib: pip install 'pgqa[charts]')",
    )
    p.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default=None,
        metavar="SEVERITY",
        help="tickets only for findings of SEVERITY or worse",
    )
    p.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        metavar="SEVERITY",
        help="exit 1 when a ticketed finding of SEVERITY or worse exists",
    )
    p.add_argument(
        "--show-literals", action="store_true", help="show literal values in statements (redacted by default)"
    )
    p.add_argument("--mask-hosts", action="store_true", help="mask host names and client addresses")


def run(args: argparse.Namespace) -> int:
    from analyzer.report.baseline import apply_baseline
    from analyzer.report.json import from_dict, load
    from analyzer.report.tickets import write_tickets

    doc = load(args.input)
    try:
        report = from_dict(doc)
    except (TypeError, ValueError, AttributeError) as e:
        raise UsageError(f"{args.input}: not a pgqa JSON report ({e})") from None
    if args.baseline:
        apply_baseline(report, load(args.baseline))
    if args.only_new and report.baseline is None:
        raise UsageError("--only-new needs --baseline OLD.json (or a report written with --baseline)")
    if args.min_severity:
        report.findings = [
            f for f in report.findings if severity_rank(f.severity) >= severity_rank(args.min_severity)
        ]
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a directory")
    try:
        tickets = write_tickets(
            report,
            out_dir,
            group=args.group,
            only_new=args.only_new,
            chart=args.chart,
            show_literals=args.show_literals,
            mask_hosts=args.mask_hosts,
            input_name=Path(args.input).name,
        )
    except OSError as e:
        raise UsageError(f"cannot write tickets into {out_dir}: {e.strerror}") from None
    print(
        f"pgqa tickets: {len(tickets)} ticket{'s' if len(tickets) != 1 else ''} written to "
        f"{out_dir / 'index.md'}",
        file=sys.stderr,
    )
    if args.fail_on and any(
        severity_rank(f.severity) >= severity_rank(args.fail_on) for t in tickets for f in t.findings
    ):
        return 1
    return 0
