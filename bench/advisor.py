"""Index advisor benchmark: pgqa's index set against a hand-made one and pg_qualstats's advisor on
the shop workload (tests/workloads/shop.py), and the advisor's own cost on the demo workload.

    .venv/bin/python bench/advisor.py [--scale 1.0] [--no-demo]

Starts its own PostgreSQL 15 (hypopg, pg_qualstats preloaded) and removes it at the end. Every
index set is costed the same way: hypothetical indexes, generic plans, statements weighted by
their share of the workload's time. "residual" is the weighted cost left, 100% = no index.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psycopg
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from workloads import shop  # noqa: E402
from workloads.measure import hypothetical_cost  # noqa: E402

from analyzer import localpg  # noqa: E402
from analyzer.advisor import advise_into  # noqa: E402
from analyzer.model import Report, Statement  # noqa: E402
from analyzer.pipeline import AnalyzeOptions  # noqa: E402
from analyzer.sources import catalog as catalog_source  # noqa: E402
from analyzer.target import Target  # noqa: E402
from analyzer.workload import prepare  # noqa: E402

QUALSTATS_RUNS = 30  # executions of each statement with literal values, for pg_qualstats to sample


def qualstats_indexes(dsn: str) -> list[str]:
    """Run the workload with literal values, then ask pg_qualstats_index_advisor()."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_qualstats_reset()")
        for st in shop.STATEMENTS:
            for _ in range(QUALSTATS_RUNS):
                with conn.transaction(force_rollback=True):
                    conn.execute(st.literal)
        row = conn.execute("SELECT pg_qualstats_index_advisor()").fetchone()
    advice = row[0] if row else {}
    if isinstance(advice, str):
        advice = json.loads(advice)
    return list((advice or {}).get("indexes") or [])


def pgqa_indexes(dsn: str) -> tuple[list[str], dict]:
    report = Report(generated_at="bench", pgqa_version="bench")
    statements = [Statement(text=s.text, calls=s.calls, total_ms=s.calls * s.mean_ms, mean_ms=s.mean_ms,
                            source="bench") for s in shop.STATEMENTS]
    start = time.perf_counter()
    with Target.connect(dsn) as target:
        catalog = catalog_source.collect(target)
        prepare(report, statements, catalog)
        report.statements = statements
        advise_into(report, target, catalog, AnalyzeOptions())
    stats = {**report.extra.get("whatif", {}), "wall_s": time.perf_counter() - start}
    return [s.ddl.replace(" CONCURRENTLY IF NOT EXISTS", "") for s in report.index_suggestions], stats


def shop_bench(server: localpg.LocalServer, scale: float) -> None:
    with server.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_shop WITH (FORCE)")
        conn.execute("CREATE DATABASE bench_shop")
    dsn = server.dsn("bench_shop")
    sizes = {k: int(v * scale) for k, v in shop.SCALE.items()}
    start = time.perf_counter()
    shop.load(dsn, sizes)
    print(f"shop workload loaded in {time.perf_counter() - start:.1f}s: {sizes}")
    qualstats = qualstats_indexes(dsn)
    mine, stats = pgqa_indexes(dsn)
    texts = [s.text for s in shop.STATEMENTS]
    weights = [s.calls * s.mean_ms for s in shop.STATEMENTS]
    rows = []
    with Target.connect(dsn) as target:
        none = hypothetical_cost(target, texts, weights, [])
        for name, ddls in (("no indexes", []), ("pgqa", mine), ("hand-made", shop.HAND_INDEXES),
                           ("pg_qualstats_index_advisor", qualstats)):
            cost = hypothetical_cost(target, texts, weights, ddls, none.costs)
            rows.append([name, len(ddls), f"{sum(cost.sizes) / 1048576:.1f}", f"{cost.weighted:.1f}",
                         f"{100 * cost.relative:.2f}%"])
    print(tabulate(rows, headers=["index set", "indexes", "size MB", "weighted cost", "residual"]))
    for name, ddls in (("pgqa", mine), ("hand-made", shop.HAND_INDEXES), ("pg_qualstats", qualstats)):
        print(f"\n{name}:")
        for d in ddls:
            print(f"  {d}")
    residual = {r[0]: float(r[4].rstrip("%")) for r in rows}
    print(f"\npgqa residual / hand-made residual: {residual['pgqa'] / residual['hand-made']:.3f} "
          f"(goal <= 1.05); indexes {len(mine)} vs {len(shop.HAND_INDEXES)}")
    print(f"pgqa advisor on the shop workload: {stats.get('explain_calls')} EXPLAIN calls "
          f"({stats.get('cache_hits')} answered from the cache), {stats['wall_s']:.2f}s")


def demo_bench(server: localpg.LocalServer, scale: float) -> None:
    from analyzer.commands.advise import advise
    from analyzer.demo import setup_demo

    start = time.perf_counter()
    dsn = setup_demo(server, "bench_demo", scale=scale)
    print(f"\ndemo database set up in {time.perf_counter() - start:.1f}s (scale {scale})")
    start = time.perf_counter()
    report = advise(AnalyzeOptions(dsn=dsn))
    wall = time.perf_counter() - start
    w = report.extra.get("whatif", {})
    a = report.extra.get("advisor", {})
    print(f"pgqa advise on the demo workload: {len(report.statements)} statements, "
          f"{a.get('candidates')} candidates, {a.get('explain_calls')} EXPLAIN calls in all "
          f"({w.get('explain_calls')} what-if, {w.get('cache_hits')} cache hits), "
          f"{w.get('hypothetical_indexes')} hypothetical indexes, advisor {a.get('seconds')}s, "
          f"whole run {wall:.2f}s, {report.extra.get('queries_sent')} queries sent")
    for s in report.index_suggestions:
        print(f"  {s.ddl}  -- {s.workload_improvement_pct:.1f}% of the workload, "
              f"{s.size_bytes / 1048576:.1f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--no-demo", action="store_true")
    args = p.parse_args()
    binaries = localpg.find_binaries(15)
    if binaries is None or not binaries.has_extension("hypopg") or not binaries.has_extension("pg_qualstats"):
        print("bench/advisor.py needs PostgreSQL 15 with hypopg and pg_qualstats (./run setup)",
              file=sys.stderr)
        return 2
    server = localpg.start(binaries, {"shared_preload_libraries": "pg_stat_statements,pg_qualstats"})
    try:
        shop_bench(server, args.scale)
        if not args.no_demo:
            demo_bench(server, args.scale)
    finally:
        server.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
