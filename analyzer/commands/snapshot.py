"""pgqa snapshot: one connection-slot snapshot into the store; --every S loops.

A refused connection is data: when the server answers SQLSTATE 53300 (out of slots), times out or
cannot be reached, the snapshot is stored with status refused / timeout / error and the server's
message, and pgqa exits 3. --reserved-dsn names a role allowed to use the reserved slots (a
superuser, or a member of pg_use_reserved_connections / rds_reserved); it is tried once after a
refusal, so the stored snapshot still shows who held the slots.

Exit codes: 0 the snapshot was taken (with --every: the loop ended by --count, --for, SIGTERM or
SIGINT), 2 usage error, 3 the snapshot is not ok (refused, timeout, error: it is stored all the
same) or the store cannot be written; with --every, 3 when the last tick was not ok.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from analyzer.commands.common import add_store_option, add_target_options
from analyzer.connections import schedule
from analyzer.connections.snapshot import capture_with, instance_from_dsn
from analyzer.connections.store import StoreError, default_store_url, open_store, parse_duration, since_iso
from analyzer.errors import PgqaError, UsageError
from analyzer.model import ConnectionSnapshot
from analyzer.target import SessionSettings, Target

EXIT_NOT_OK = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    add_store_option(p)
    p.add_argument("--reserved-dsn", metavar="DSN",
                   help="a role allowed to use reserved slots, tried once after a refusal")
    p.add_argument("--instance", metavar="NAME",
                   help="name of the server in the store (default: host:port/database of the DSN)")
    p.add_argument("--statements", action="store_true",
                   help="also store a pg_stat_statements reading (for pgqa analyze --since)")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                   help="seconds to wait for the server (default 10); a timeout is stored as status timeout")
    p.add_argument("--every", type=float, metavar="S", help="take a snapshot every S seconds (steady, "
                   "drift-free; SIGTERM/SIGINT finish the current snapshot and exit 0)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--count", type=int, metavar="N", help="with --every: stop after N snapshots")
    group.add_argument("--for", dest="duration", metavar="DURATION",
                       help="with --every: stop after DURATION (e.g. 30m, 24h)")
    p.add_argument("--keep", metavar="DURATION",
                   help="forget this instance's snapshots older than DURATION (e.g. 30d) after each one")
    p.add_argument("--quiet", "-q", action="store_true", help="no line per snapshot on stdout")


def run(args: argparse.Namespace) -> int:
    if args.every is not None and args.every <= 0:
        raise UsageError("--every needs a positive number of seconds")
    if (args.count is not None or args.duration) and args.every is None:
        raise UsageError("--count and --for go with --every")
    if args.count is not None and args.count < 1:
        raise UsageError("--count needs at least 1")
    duration = parse_duration(args.duration) if args.duration else None
    if args.keep:
        parse_duration(args.keep)
    store_url = args.store or default_store_url()
    with open_store(store_url):  # a bad URL or an unwritable store fails now, before any connection
        pass
    if args.every is None:
        return EXIT_NOT_OK if tick(args, store_url).status != "ok" else 0
    last: list[ConnectionSnapshot] = []
    stop = schedule.Stop()

    def one(n: int) -> None:
        try:
            last[:] = [tick(args, store_url)]
        except PgqaError as e:  # the store went away for a moment: say so, keep the loop going
            print(f"pgqa snapshot: {e}", file=sys.stderr)

    with schedule.stop_on_signals(stop):
        schedule.run_every(args.every, one, count=args.count, duration_s=duration, stop=stop)
    if stop.requested:
        return 0
    return EXIT_NOT_OK if last and last[0].status != "ok" else 0


def tick(args: argparse.Namespace, store_url: str) -> ConnectionSnapshot:
    """One snapshot: connect, read, close, store."""
    settings = SessionSettings(statement_timeout_s=args.statement_timeout,
                               connect_timeout_s=args.connect_timeout)
    instance = args.instance or instance_from_dsn(args.dsn)
    also = _read_statements if args.statements else None
    snap, statements = capture_with(args.dsn, reserved_dsn=args.reserved_dsn, instance=instance,
                                    settings=settings, also=also)
    if isinstance(statements, Exception):
        print(f"pgqa snapshot: --statements: {str(statements).strip().splitlines()[0]}", file=sys.stderr)
        statements = None
    try:
        with open_store(store_url) as store:
            snap_id = store.save_snapshot(snap)
            if statements is not None:
                store.save_statements(instance, *statements)
            if args.keep:
                store.prune(instance, since_iso(args.keep))
    except StoreError:
        raise
    except Exception as e:  # noqa: BLE001 - any driver error of the store: one line, not a traceback
        raise StoreError(f"cannot write to the snapshot store: {str(e).strip().splitlines()[0]}") from None
    _report(args, snap, snap_id)
    return snap


def _read_statements(target: Target) -> Any:
    """A pg_stat_statements reading over the snapshot's own connection."""
    from analyzer.connections import pgss

    return pgss.take(target)


def _report(args: argparse.Namespace, snap: ConnectionSnapshot, snap_id: int) -> None:
    if snap.status != "ok":
        via = " (seen through --reserved-dsn)" if snap.captured_via else ""
        print(f"pgqa snapshot: {snap.instance}: {snap.status}: {snap.error}{via}", file=sys.stderr)
    if args.quiet:
        return
    usage = f"{snap.used}/{snap.usable} used ({snap.used_pct}%)" if snap.used is not None else "no data"
    print(f"{snap.taken_at} {snap.instance} {snap.status} {usage} snapshot #{snap_id}", flush=True)
