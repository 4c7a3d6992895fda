"""How long the renderers and the tickets take on a large report (no database needed).

    .venv/bin/python bench/report_render.py [--statements N] [--findings-per-statement K]

Builds a synthetic report of N statements (three-way joins with literals, as pg_stat_activity
would show them) with K findings each, one index suggestion per 10 statements and a connection
snapshot, then times redaction + text, Markdown and JSON rendering, and writing the tickets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from analyzer.model import ConnectionGroup, ConnectionSnapshot, Finding, IndexSuggestion, Report, Statement
from analyzer.report import render
from analyzer.report.tickets import write_tickets

RULES = ("unpaged-list", "wide-select-join", "union-all-aggregates", "upsert-without-change-guard")


def build(n: int, k: int) -> Report:
    r = Report(generated_at="2026-12-04T14:00:00+00:00", pgqa_version="0.1.0")
    for i in range(n):
        text = (
            f"SELECT c.*, a.status FROM candidates_{i % 50} c LEFT JOIN applications a "
            f"ON a.candidate_id = c.id WHERE c.email = 'user{i}@example.com' AND c.created_at > '2026-01-01' "
            "ORDER BY c.created_at DESC"
        )
        r.statements.append(
            Statement(
                text,
                fingerprint=f"fp{i}",
                queryid=str(i),
                index=i,
                calls=1000 + i,
                total_ms=float(10_000 + 37 * i),
                mean_ms=10.0,
                rows=5000 * (i % 7 + 1),
            )
        )
        for j in range(k):
            r.findings.append(
                Finding(
                    RULES[j % len(RULES)] + (f"-{j}" if j >= len(RULES) else ""),
                    "high",
                    f"Finding {j} of statement {i}",
                    "What is wrong, in two sentences.",
                    recommendation="What to do.",
                    evidence={"rows_per_call": 5000, "sql": text},
                    suggested_sql=text + " LIMIT 50",
                    statement_index=i,
                    fingerprint=f"fp{i}",
                )
            )
        if i % 10 == 0:
            r.index_suggestions.append(
                IndexSuggestion(
                    f"public.candidates_{i % 50}",
                    ["email", "created_at"],
                    f"CREATE INDEX CONCURRENTLY ON candidates_{i % 50} (email, created_at)",
                    workload_improvement_pct=5.0,
                    statements=[f"fp{i}"],
                )
            )
    r.connections = ConnectionSnapshot(
        "2026-12-04T14:00:01+00:00",
        max_connections=100,
        usable=95,
        used=72,
        used_pct=75.8,
        by_state={"idle": 70, "active": 2},
        groups=[ConnectionGroup("ats", "app", f"lambda-{g}", f"10.0.0.{g}", 3) for g in range(24)],
    )
    return r


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--statements", type=int, default=1000)
    p.add_argument("--findings-per-statement", type=int, default=2)
    args = p.parse_args()
    report = build(args.statements, args.findings_per_statement)
    rows = []
    for fmt in ("text", "markdown", "json"):
        secs, out = timed(lambda fmt=fmt: render(report, fmt, width=120))
        rows.append([f"render {fmt}", f"{secs:.2f}", f"{len(out) / 1e6:.1f} MB"])
    with tempfile.TemporaryDirectory() as d:
        secs, tickets = timed(lambda: write_tickets(report, Path(d)))
        size = sum(f.stat().st_size for f in Path(d).iterdir())
        rows.append([f"tickets ({len(tickets)} files)", f"{secs:.2f}", f"{size / 1e6:.1f} MB"])
    print(
        f"{len(report.statements)} statements, {len(report.findings)} findings, "
        f"{len(report.index_suggestions)} index suggestions"
    )
    print(tabulate(rows, headers=["step", "seconds", "output"], disable_numparse=True))


if __name__ == "__main__":
    main()
