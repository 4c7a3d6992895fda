"""Argument parsing and wiring only: every command lives in analyzer/commands/<name>.py with
`add_arguments(parser)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analyzer import __version__
from analyzer.errors import PgqaError

# name -> one-line help; the module analyzer.commands.<name> implements it.
COMMANDS: dict[str, str] = {
    "lint": "static checks only, no database: SQL files or an exported pg_stat_statements",
    "analyze": "top statements + rules + plans + index advice (+ connections, + PI with --pi)",
    "advise": "index advice only, verified with hypothetical indexes (hypopg)",
    "explain": "one statement: plan, plan findings, index advice",
    "snapshot": "one connection-slot snapshot into the store; --every S loops",
    "connections": "connection report: live (--dsn) or from the store (--since 24h)",
    "tickets": "one Markdown file per finding, ready to attach to a ticket",
    "pi": "AWS Performance Insights top SQL for an RDS instance",
    "budget": "serverless connection budget: Lambda concurrency against usable slots",
    "demo": "the whole job on a local demo database (no setup beyond install)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgqa",
        description="Database-side query performance analyzer for PostgreSQL. "
        "Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage or input error, "
        "3 cannot reach or query the target.",
    )
    parser.add_argument("--version", action="version", version=f"pgqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"analyzer.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=module.__doc__ or help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args))
    except PgqaError as e:
        print(f"pgqa {args.command}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"pgqa {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
