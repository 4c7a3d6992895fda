"""pgqa connections: are we running out of connection slots, and who holds them?

Live (--dsn, or the libpq environment: one snapshot now) or over time from the snapshot store
(--since 24h [--instance NAME]): peak and p95 usage against the usable slots with when they
happened, a time line (a sparkline in the terminal; a PNG with --chart FILE), the top holders at
the peak, every refused connection, and the findings connection-saturation, idle-connection-
hoarding, idle-in-transaction, missing-idle-timeout, connections-refused, abandoned-sessions.

Exit codes: 0 ok, 1 usage reached --alert-at (or a finding at or above --fail-on), 2 usage error,
3 the live snapshot could not connect (refused, timeout, error; the report still says why).
"""

from __future__ import annotations

import argparse

from analyzer.commands.common import add_output_options, add_store_option, add_target_options, emit, exit_code
from analyzer.connections import checks
from analyzer.connections import report as history_report
from analyzer.connections.snapshot import capture_with
from analyzer.connections.store import default_store_url, open_store, since_iso
from analyzer.errors import UsageError
from analyzer.model import Report, TargetInfo
from analyzer.pipeline import new_report
from analyzer.target import SessionSettings

EXIT_ALERT = 1
EXIT_NOT_OK = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    add_store_option(p)
    add_output_options(p)
    p.add_argument("--since", metavar="DURATION|TIME",
                   help="report over the store from this long ago (24h, 7d) or this ISO-8601 time")
    p.add_argument("--instance", metavar="NAME", help="which server of the store (default: the only one, "
                   "or host:port/database of --dsn)")
    p.add_argument("--reserved-dsn", metavar="DSN", help="live: a role allowed to use reserved slots, "
                   "tried once after a refusal")
    p.add_argument("--alert-at", type=float, default=80.0, metavar="PCT",
                   help="connection-saturation at or above PCT %% of usable slots; exit 1 when reached "
                        "(default 80)")
    p.add_argument("--chart", metavar="FILE", help="with --since: write a PNG chart of usage over time")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                   help="live: seconds to wait for the server (default 10)")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alert_at <= 1000:
        raise UsageError("--alert-at is a percentage of usable slots, e.g. 80")
    thresholds = checks.Thresholds(alert_at_pct=args.alert_at)
    report = new_report()
    if args.since:
        alert = _over_time(report, args, thresholds)
        code = 0
    else:
        if args.chart:
            raise UsageError("--chart draws usage over time: give --since too")
        snap, info = capture_with(args.dsn, reserved_dsn=args.reserved_dsn, instance=args.instance,
                                  settings=SessionSettings(statement_timeout_s=args.statement_timeout,
                                                           connect_timeout_s=args.connect_timeout),
                                  also=lambda target: target.info)
        report.target = info if isinstance(info, TargetInfo) else None
        report.connections = snap
        report.source("pg_stat_activity", "ok" if snap.status == "ok" else "error",
                      "" if snap.status == "ok" else f"{snap.status}: {snap.error}")
        report.findings += checks.snapshot_findings(snap, thresholds)
        alert = snap.used_pct is not None and snap.used_pct >= args.alert_at
        code = EXIT_NOT_OK if snap.status != "ok" else 0
    emit(report, args)
    if code:
        return code
    return EXIT_ALERT if alert else exit_code(report, args)


def _over_time(report: Report, args: argparse.Namespace, thresholds: checks.Thresholds) -> bool:
    from analyzer.connections.snapshot import instance_from_dsn

    start = since_iso(args.since)
    with open_store(args.store or default_store_url(), create=False) as store:
        instance = args.instance
        if not instance:
            known = store.instances()
            if args.dsn:
                instance = instance_from_dsn(args.dsn)
            elif len(known) == 1:
                instance = known[0]
            elif not known:
                raise UsageError("the snapshot store is empty: take snapshots first "
                                 "(pgqa snapshot --every 60)")
            else:
                raise UsageError(f"the store holds several instances ({', '.join(known)}): pick one with "
                                 "--instance")
        snaps = store.snapshots(instance, since=start)
    if not snaps:
        raise UsageError(f"no snapshots of {instance} in the store since {start}")
    h = history_report.history(snaps, instance, start)
    host, _, database = instance.partition("/")
    version = next((s.server_version for s in reversed(snaps) if s.server_version), "")
    report.target = TargetInfo(server_version=version, host=host, database=database)
    report.connections_history = h
    report.findings += checks.history_findings(snaps, thresholds)
    report.source("snapshot_store", "ok", f"{len(snaps)} snapshots of {instance}")
    if args.chart:
        from analyzer.connections.chart import write_png

        write_png(h, args.chart)
    peak = h.get("peak") or {}
    return (peak.get("used_pct") or 0.0) >= args.alert_at
