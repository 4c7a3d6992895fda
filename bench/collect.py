"""How long collecting 5,000 distinct statements from pg_stat_statements takes, and how many
queries pgqa sends to the server for it.

    .venv/bin/python bench/collect.py [--statements N] [--major 15|17] [--repeat R]

Starts a throw-away local server (analyzer.localpg), fills pg_stat_statements with N distinct
entries (SELECT a, b FROM t WHERE c = $1 over four tables and every ordered column triple: column
lists differ, so each normalizes to its own entry; aliases would not), then times pgqa's
collection of the top N through one Target session: connect (server version, extensions, session
guards), pg_stat_statements, and the catalog. Prints figures; the goal is a handful of queries
whatever N is, and well under a second for 5,000 statements on this 2-core machine.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import psycopg

from analyzer import localpg
from analyzer.model import Report
from analyzer.pipeline import AnalyzeOptions
from analyzer.sources import catalog, statements
from analyzer.target import Target

TABLES = 4
COLUMNS = 12


def fill(dsn: str, n: int) -> None:
    cols = [f"c{i}" for i in range(COLUMNS)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for t in range(TABLES):
            conn.execute(f"CREATE TABLE bench_t{t} ({', '.join(f'{c} int' for c in cols)})")
        conn.execute("SELECT pg_stat_statements_reset()")
        shapes = ((t, a, b, c) for t in range(TABLES) for a, b, c in itertools.permutations(cols, 3))
        for t, a, b, c in itertools.islice(shapes, n):
            conn.execute(f"SELECT {a}, {b} FROM bench_t{t} WHERE {c} = %s", [1])


def collect_once(dsn: str, top: int) -> dict[str, float]:
    start = time.perf_counter()
    with Target.connect(dsn) as target:
        connected = time.perf_counter()
        connect_queries = target.queries_sent
        found = statements.collect_into(Report(generated_at="", pgqa_version=""), target,
                                        AnalyzeOptions(top=top))
        collected = time.perf_counter()
        statement_queries = target.queries_sent - connect_queries
        cat = catalog.collect(target)
        done = time.perf_counter()
        return {
            "connect_s": connected - start, "statements_s": collected - connected,
            "catalog_s": done - collected, "total_s": done - start, "statements": len(found),
            "tables": len(cat.tables), "queries_connect": connect_queries,
            "queries_statements": statement_queries, "queries_total": target.queries_sent,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statements", type=int, default=5000)
    ap.add_argument("--major", type=int, default=None, help="PostgreSQL major version (default: newest)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    major = args.major or localpg.default_major(prefer_extension=None)
    with localpg.running(major) as server:
        dsn = server.dsn()
        t0 = time.perf_counter()
        fill(dsn, args.statements)
        print(f"PostgreSQL {major}: {args.statements} distinct statements executed in "
              f"{time.perf_counter() - t0:.1f} s")
        runs = [collect_once(dsn, args.statements) for _ in range(args.repeat)]
    last = runs[-1]
    med = {k: statistics.median(r[k] for r in runs) for k in ("connect_s", "statements_s", "catalog_s",
                                                                "total_s")}
    print(f"statements collected:         {last['statements']} (top {args.statements})")
    print(f"collect pg_stat_statements:   {med['statements_s']:.3f} s (median of {args.repeat})")
    print(f"connect + version/extensions: {med['connect_s']:.3f} s")
    print(f"catalog ({last['tables']} tables):          {med['catalog_s']:.3f} s")
    print(f"whole collection:             {med['total_s']:.3f} s")
    print(f"queries pgqa sent:            {last['queries_total']} "
          f"(connect {last['queries_connect']}, pg_stat_statements {last['queries_statements']}, "
          f"catalog {last['queries_total'] - last['queries_connect'] - last['queries_statements']})")


if __name__ == "__main__":
    main()
