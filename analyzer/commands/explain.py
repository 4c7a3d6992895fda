"""pgqa explain: one statement's plan (indented like psql), its plan findings and the index advice
for it. Normalized texts with $1, $2 get their generic plan; nothing is executed unless --analyze
is given, and then only a SELECT, inside a transaction that is rolled back.

Exit codes: 0 ok, 1 a finding at or above --fail-on, 2 usage error (no SQL, unreadable file),
3 the target cannot be reached."""

from __future__ import annotations

import argparse
import sys

from analyzer.commands.advise import session_settings
from analyzer.commands.common import (
    add_advisor_options,
    add_output_options,
    add_target_options,
    check_advisor_args,
    emit,
    exit_code,
    output_format,
)
from analyzer.errors import UsageError
from analyzer.model import Catalog, Report, Statement
from analyzer.pipeline import AnalyzeOptions, _stage, new_report
from analyzer.target import Target


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sql", metavar="SQL", help="the statement, '-' to read it from stdin, or @FILE")
    add_target_options(p)
    add_output_options(p)
    p.add_argument("--analyze", action="store_true",
                   help="EXPLAIN ANALYZE: execute the SELECT (in a rolled-back transaction, under the "
                   "statement timeout) to get actual rows, times and spills")
    p.add_argument("--no-advice", action="store_true", help="plan and findings only")
    add_advisor_options(p)


def read_sql(arg: str) -> str:
    if arg == "-":
        text = sys.stdin.read()
    elif arg.startswith("@"):
        try:
            with open(arg[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            raise UsageError(f"cannot read {arg[1:]}: {e.strerror}") from e
    else:
        text = arg
    if not text.strip().rstrip(";").strip():
        raise UsageError("no SQL given: pass the statement as an argument, '-' for stdin or @FILE")
    return text.strip()


def explain_report(text: str, options: AnalyzeOptions) -> Report:
    from analyzer import advisor, workload
    from analyzer.pipeline import _catalog

    report = new_report()
    statement = Statement(text=text, source="command line", calls=1, has_stats=False)
    with Target.connect(options.dsn, session_settings(options)) as target:
        report.target = target.info
        catalog = _stage(report, "catalog", lambda: _catalog(report, target), Catalog())
        workload.prepare(report, [statement], catalog)
        report.statements = [statement]
        run = _stage(report, "advisor", lambda: advisor.advise_into(report, target, catalog, options),
                     None)
        plan = run.plans.get(advisor.statement_key(statement)) if run is not None else None
        if plan is not None:
            from analyzer.plans.render import render_plan

            report.extra["plan"] = {"text": render_plan(plan), "total_cost": plan.total_cost,
                                    "generic": plan.generic, "analyzed": plan.analyzed}
        report.extra["queries_sent"] = target.queries_sent
    return report


def render(report: Report) -> str:
    """The terminal view: plan, findings, index advice (or why none)."""
    lines: list[str] = []
    plan = report.extra.get("plan")
    if plan:
        kind = "executed plan" if plan["analyzed"] else "generic plan" if plan["generic"] else \
            "estimated plan"
        lines += [f"{kind}:", "", plan["text"], ""]
    for s in report.skipped:
        lines.append(f"no plan: {s['reason']}")
    for s in report.sources:
        if s.status != "ok" and s.name in ("hypopg", "advisor", "catalog"):
            lines.append(f"{s.name}: {s.status}: {s.detail}")
    if report.findings:
        lines.append("findings:")
        for f in report.findings:
            lines.append(f"  [{f.severity}] {f.rule}: {f.title}")
            if f.recommendation:
                lines.append(f"      {f.recommendation}")
    else:
        lines.append("findings: none")
    if report.index_suggestions:
        lines.append("index advice:")
        for ix in report.index_suggestions:
            if ix.verified_with == "heuristic":
                lines.append(f"  {ix.ddl};  -- heuristic, not verified")
            else:
                lines.append(f"  {ix.ddl};")
                lines.append(f"      cost {ix.cost_before:.0f} -> {ix.cost_after:.0f} "
                             f"({ix.verified_with}), about {ix.size_bytes / 1048576:.1f} MB")
            lines.extend(f"      note: {n}" for n in ix.notes)
    for n in report.advice_notes:
        lines.append(f"index advice: none ({n['reason']})")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    check_advisor_args(args)
    text = read_sql(args.sql)
    options = AnalyzeOptions(
        dsn=args.dsn, statement_timeout_s=args.statement_timeout, explain=True,
        explain_analyze=args.analyze, advise=not args.no_advice, whatif=args.whatif,
        min_gain_pct=args.min_gain, max_indexes=args.max_indexes, max_index_mb=args.max_index_mb,
        connections=False, show_literals=args.show_literals)
    report = explain_report(text, options)
    if output_format(args) == "text" and not args.output:
        sys.stdout.write(render(report))
    elif output_format(args) == "text":
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(render(report))
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror}") from e
    else:
        emit(report, args)
    return exit_code(report, args)
