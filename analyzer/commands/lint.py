"""pgqa lint: static checks only, no database.

Reads SQL files (statements split on `;`, quotes, dollar quotes and comments respected), or an
exported pg_stat_statements (CSV with a header naming `query`, `calls`, `total_exec_time`...; or
JSON rows), or standard input with `-` (or no FILE when stdin is not a terminal).

statement.index is the statement's position in the input, 0-based, counted across all files in the
order given; each statement's extra names its file and line (or row). A file that cannot be read is
reported on stderr in one line and as a source with status error, the other files are still linted,
and the exit code is 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from analyzer import rules as rules_mod
from analyzer import workload
from analyzer.commands.common import add_output_options, emit, exit_code
from analyzer.errors import UsageError
from analyzer.model import Report, Statement
from analyzer.pipeline import new_report
from analyzer.sources.files import FileFormatError, FileStatements, read_text
from analyzer.sql.split import split_statements


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="SQL file or exported pg_stat_statements (.csv/.json); '-' reads standard input")
    p.add_argument("--rule", action="append", dest="rules", metavar="NAME",
                   help="run only this rule (repeatable); see --list-rules")
    p.add_argument("--exclude-rule", action="append", dest="exclude_rules", metavar="NAME",
                   help="do not run this rule (repeatable)")
    p.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="parse with N processes when the input has 1,000 distinct statements or more "
                   "(default: the number of CPUs; use 1 on a machine busy with other work)")
    add_output_options(p)


def list_rules() -> str:
    width = max(len(n) for n in rules_mod.REGISTRY)
    lines = []
    for name, rule in rules_mod.REGISTRY.items():
        extra = " (statistics only)" if rule.needs_stats else ""
        lines.append(f"{name:<{width}}  {rule.severity:<8}  {rule.summary}{extra}")
    return "\n".join(lines) + "\n"


def _read(name: str) -> str:
    if name == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        with open(name, "rb") as fh:
            data = fh.read()
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)


_EXPORT_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson")


def _as_sql(name: str, text: str) -> FileStatements:
    return FileStatements(name, "sql", [Statement(text=p.text, source="file", has_stats=False, index=i,
                                                  extra={"file": name, "line": p.line})
                                        for i, p in enumerate(split_statements(text))])


def lint_texts(inputs: list[tuple[str, str]], include: list[str] | None = None,
               exclude: list[str] | None = None, report: Report | None = None, jobs: int = 1) -> Report:
    """Lint already-read inputs (name, text): the whole job without the command line."""
    report = report or new_report()
    statements: list[Statement] = []
    for name, text in inputs:
        try:
            got = read_text(name, text)
        except FileFormatError as e:
            if name.lower().endswith(_EXPORT_SUFFIXES):
                report.source(f"file:{name}", "error", str(e))
                print(f"pgqa lint: {name}: {e}", file=sys.stderr)
                continue
            # only its first character made it look like an export: lint it as the SQL text it is
            print(f"pgqa lint: {name}: not a pg_stat_statements export ({e}); read as SQL text",
                  file=sys.stderr)
            got = _as_sql(name, text)
        for s in got.statements:
            s.index = len(statements)
            statements.append(s)
        report.source(f"file:{name}", "ok", f"{len(got.statements)} statements ({got.format})")
    workload.prepare(report, statements, None, keep_index=True, jobs=jobs)
    report.statements = statements
    report.findings = rules_mod.run_rules(statements, None, include=include, exclude=exclude)
    return report


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        sys.stdout.write(list_rules())
        return 0
    rules_mod.select(args.rules, args.exclude_rules)  # unknown names: exit 2 before reading input
    names = list(args.files)
    if not names:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("nothing to lint: give SQL or pg_stat_statements export files, or '-' for stdin")
        names = ["-"]
    report = new_report()
    inputs: list[tuple[str, str]] = []
    unreadable = False
    for name in names:
        try:
            inputs.append((name, _read(name)))
        except OSError as e:
            unreadable = True
            reason = e.strerror or str(e)
            report.source(f"file:{name}", "error", f"cannot read: {reason}")
            print(f"pgqa lint: cannot read {name}: {reason}", file=sys.stderr)
    lint_texts(inputs, args.rules, args.exclude_rules, report, jobs=max(1, args.jobs))
    emit(report, args)
    if unreadable or any(s.status == "error" for s in report.sources):
        return 2
    return exit_code(report, args)
