"""How long the demo database takes to build and replay (the goal: scale 1.0 well under 30 s on a
2-core machine, replay a few seconds), and how big it is.

    .venv/bin/python bench/demo_setup.py [--scale 1.0] [--rounds N] [--pg-version N]
"""

from __future__ import annotations

import argparse
import time

import psycopg

from analyzer import localpg
from analyzer.demo import DEFAULT_ROUNDS, replay, reset_statements, row_counts
from analyzer.demo.load import create_database, load_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    ap.add_argument("--pg-version", type=int)
    args = ap.parse_args()
    major = args.pg_version or localpg.default_major()
    counts = row_counts(args.scale)
    with localpg.running(major) as server:
        dsn = server.dsn("pgqa_demo")
        t0 = time.perf_counter()
        create_database(server.dsn(), "pgqa_demo")
        load_data(dsn, counts)
        t1 = time.perf_counter()
        reset_statements(dsn)
        calls = replay(dsn, args.rounds)
        t2 = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    print(f"PostgreSQL {major}, scale {args.scale}: {sum(counts.values()):,} rows, database {size[0]}")
    print(f"  load (schema, data, keys, VACUUM ANALYZE): {t1 - t0:6.2f} s")
    print(f"  replay ({args.rounds} rounds, {sum(calls.values()):,} statements): {t2 - t1:6.2f} s")
    print(f"  setup_demo total:                          {t2 - t0:6.2f} s")


if __name__ == "__main__":
    main()
