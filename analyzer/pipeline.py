"""One way through: sources -> workload -> checks -> report.

Each stage is called through `_stage`, so a failing stage becomes a source status with a clear
line and the rest of the run goes on with everything already gathered.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg

from analyzer import __version__
from analyzer.errors import PgqaError, TargetError
from analyzer.model import Catalog, Report
from analyzer.target import SessionSettings, Target

T = TypeVar("T")


@dataclass
class AnalyzeOptions:
    dsn: str | None = None
    statement_timeout_s: float = 5.0
    top: int = 50
    min_calls: int = 1
    since: str | None = None  # window from the snapshot store (deltas), e.g. "1h"
    store: str | None = None
    rules: list[str] | None = None
    exclude_rules: list[str] | None = None
    explain: bool = True
    explain_analyze: bool = False
    advise: bool = True
    whatif: str = "hypopg"  # hypopg | real | off
    min_gain_pct: float = 2.0
    max_indexes: int = 10
    max_index_mb: float | None = None
    connections: bool = True
    pi: bool = False
    db_instance: str | None = None
    region: str | None = None
    profile: str | None = None
    show_literals: bool = False
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_report() -> Report:
    return Report(generated_at=now_iso(), pgqa_version=__version__)


def progress(options: AnalyzeOptions, message: str) -> None:
    """Progress for long runs, on stderr and only on a terminal."""
    if options.progress and sys.stderr.isatty():
        print(f"pgqa: {message}", file=sys.stderr)


def _stage(report: Report, name: str, fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except TargetError:
        raise
    except (PgqaError, psycopg.Error) as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        report.source(name, "error", detail)
        print(f"pgqa: {name}: {detail}", file=sys.stderr)
        return default


def analyze(options: AnalyzeOptions) -> Report:
    """The main job over one connection: statements, rules, plans and index advice, connections."""
    from analyzer import workload
    from analyzer.sources import statements as statements_source

    report = new_report()
    settings = SessionSettings(statement_timeout_s=options.statement_timeout_s)
    try:
        with Target.connect(options.dsn, settings) as target:
            report.target = target.info
            progress(options, "collecting statements")
            statements = _stage(report, "pg_stat_statements",
                                lambda: statements_source.collect_into(report, target, options), [])
            report.statements = statements
            _warn_statements(report, statements)
            if options.since:  # connections issue: deltas over a window of the snapshot store
                from analyzer.connections.store import window_into

                statements = _stage(report, "statement_window",
                                    lambda: window_into(report, target, options), [])
            progress(options, "reading the catalog")
            catalog = _stage(report, "catalog", lambda: _catalog(report, target), Catalog())
            if options.pi:
                from analyzer.sources import insights

                statements = _stage(report, "performance_insights",
                                    lambda: insights.merge_into(report, statements, options), statements)
            workload.prepare(report, statements, catalog)
            report.statements = statements
            _checks(report, target, catalog, options)
            report.extra["queries_sent"] = target.queries_sent
    except TargetError as e:
        # Lost the connection mid-run: what was gathered rides on the error, for the command to
        # write out before it exits 3 (nothing gathered is lost).
        if report.target is not None:
            report.source("target", "error", str(e))
            e.partial_report = report  # type: ignore[attr-defined]
        raise
    return report


def _warn_statements(report: Report, statements: list[Any]) -> None:
    """What the user must do to get the whole workload: one line on stderr each, the run goes on."""
    pgss = next((src for src in report.sources if src.name == "pg_stat_statements"), None)
    if pgss is None:
        return
    if pgss.status == "skipped":
        print(f"pgqa: pg_stat_statements skipped: {pgss.detail}", file=sys.stderr)
    hidden = sum(1 for st in statements if st.extra.get("hidden_text"))
    if hidden:
        grant = next((part for part in pgss.detail.split("; ") if "<insufficient privilege>" in part), "")
        print(f"pgqa: pg_stat_statements: {grant or f'{hidden} statement texts are hidden'}",
              file=sys.stderr)


def _catalog(report: Report, target: Target) -> Catalog:
    from analyzer.sources import catalog as catalog_source

    catalog = catalog_source.collect(target)
    report.source("catalog", "ok", catalog_source.summary(catalog))
    return catalog


def _checks(report: Report, target: Target, catalog: Catalog, options: AnalyzeOptions) -> None:
    from analyzer import rules

    report.findings += _stage(report, "rules", lambda: rules.run_rules(
        report.statements, catalog, include=options.rules, exclude=options.exclude_rules), [])
    if options.explain or options.advise:
        from analyzer import advisor

        progress(options, f"explaining {len(report.statements)} statements")
        _stage(report, "advisor", lambda: advisor.advise_into(report, target, catalog, options), None)
    if options.connections:
        from analyzer.connections import checks as connection_checks
        from analyzer.connections import snapshot

        snap = _stage(report, "pg_stat_activity", lambda: snapshot.take(target), None)
        if snap is not None:
            report.connections = snap
            report.findings += connection_checks.snapshot_findings(snap)
