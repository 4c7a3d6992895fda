"""Snapshot store figures: write rate, a day's history report, a pg_stat_statements window.

    .venv/bin/python bench/conn_store.py [--groups 30] [--statements 1000]

Uses a SQLite store in a temporary directory; no server needed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analyzer.connections import checks
from analyzer.connections import report as history_report
from analyzer.connections.store import StatementSnapshot, open_store, statement_window
from analyzer.model import ConnectionGroup, ConnectionSnapshot


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=30, help="connection groups per snapshot")
    ap.add_argument("--snapshots", type=int, default=1440, help="snapshots (a day at one a minute)")
    ap.add_argument("--statements", type=int, default=1000, help="pg_stat_statements rows per reading")
    ap.add_argument("--readings", type=int, default=24, help="pg_stat_statements readings")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgqa-bench-") as tmp:
        run(args, f"sqlite:///{Path(tmp) / 'store.db'}")


def run(args: argparse.Namespace, url: str) -> None:
    start = datetime.now(UTC) - timedelta(minutes=args.snapshots)
    groups = [ConnectionGroup("ats", "app", f"fn-{k}", f"10.0.0.{k % 250}", count=3, by_state={"idle": 3},
                              max_idle_s=120.0, idle_over_1m=3) for k in range(args.groups)]
    with open_store(url) as st:
        t0 = time.perf_counter()
        for i in range(args.snapshots):
            st.save_snapshot(ConnectionSnapshot(
                taken_at=(start + timedelta(minutes=i)).isoformat(timespec="seconds"), instance="bench",
                max_connections=100, usable=97, used=3 * args.groups,
                used_pct=round(300 * args.groups / 97, 1),
                groups=groups, guards={"idle_session_timeout": "0"},
                database_sessions={"sessions_abandoned": i // 10}))
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        snaps = st.snapshots("bench")
        h = history_report.history(snaps, "bench", snaps[0].taken_at)
        findings = checks.history_findings(snaps)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for r in range(args.readings):
            rows = [{"userid": 10, "dbid": 5, "queryid": str(q), "toplevel": True, "calls": (r + 1) * (q + 1),
                     "total_exec_ms": (r + 1) * q * 1.5, "total_plan_ms": 0.0, "rows": r * q,
                     "shared_blks_hit": 0, "shared_blks_read": 0, "temp_blks_read": 0, "temp_blks_written": 0,
                     "wal_bytes": 0, "stats_since": None} for q in range(args.statements)]
            taken = (start + timedelta(hours=r)).isoformat(timespec="seconds")
            st.save_statements("bench", StatementSnapshot(taken, rows), {str(q): f"SELECT {q}"
                                                                         for q in range(args.statements)})
        pgss_write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    window = statement_window(url, "bench", start.isoformat())
    window_s = time.perf_counter() - t0
    print(f"write: {args.snapshots} snapshots x {args.groups} groups in {write_s:.2f} s "
          f"({args.snapshots / write_s:.0f} snapshots/s, one transaction each)")
    print(f"history: read + report + findings over {len(snaps)} snapshots in {read_s:.2f} s "
          f"(peak {h['peak']['used_pct']}%, {len(findings)} findings)")
    print(f"pg_stat_statements: {args.readings} readings x {args.statements} rows written in "
          f"{pgss_write_s:.2f} s, "
          f"window of {len(window)} statements in {window_s:.2f} s")


if __name__ == "__main__":
    main()
