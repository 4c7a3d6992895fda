"""pgqa demo: the whole job on a throw-away local PostgreSQL with the demo database.

Starts a local server (initdb into a temporary directory, 127.0.0.1 only), loads the recruiting
application of the incident (candidates, applications, KPI events, the kintone sync), replays its
workload, analyzes it like `pgqa analyze` would, prints the report and removes the server again.
With --keep the server stays up and its DSN is printed, to try other commands against it."""

from __future__ import annotations

import argparse
import signal
import sys

import psycopg

from analyzer import localpg
from analyzer.commands.common import add_output_options, emit, exit_code
from analyzer.errors import TargetError, UsageError

DBNAME = "pgqa_demo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from analyzer.demo import DEFAULT_ROUNDS

    add_output_options(p)
    g = p.add_argument_group("demo")
    g.add_argument("--scale", type=float, default=1.0, metavar="F",
                   help="data size: 1.0 is 200,000 candidates and 400,000 applications (default 1.0)")
    g.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, metavar="N",
                   help=f"rounds of the replayed workload (default {DEFAULT_ROUNDS})")
    g.add_argument("--pg-version", type=int, metavar="N",
                   help="PostgreSQL major version to run (default: the newest here that has hypopg)")
    g.add_argument("--keep", action="store_true",
                   help="leave the server running and print its DSN and how to stop it")
    g.add_argument("--chart", metavar="FILE",
                   help="write a PNG of the top statements by total time to FILE, linked from the "
                   "Markdown report (needs matplotlib: pip install 'pgqa[charts]')")


def say(message: str) -> None:
    print(f"pgqa demo: {message}", file=sys.stderr, flush=True)


def _binaries(version: int | None) -> localpg.Binaries:
    try:
        major = version if version is not None else localpg.default_major()
    except localpg.LocalServerError as e:
        raise UsageError(str(e)) from None
    binaries = localpg.find_binaries(major)
    if binaries is None:
        raise UsageError(f"no PostgreSQL {major} server binaries found: run ./run setup, "
                         f"or set PGQA_PG{major}_BINDIR to a bin directory")
    return binaries


def _print_kept(server: localpg.LocalServer) -> None:
    pid = server.process.pid if server.process else "?"
    dsn = server.dsn(DBNAME)
    print(
        f"pgqa demo: PostgreSQL {server.major} keeps running, local only ({server.host}, a throw-away "
        "password):\n"
        f"  dsn:  {dsn}\n"
        f"  try:  pgqa analyze --dsn \"{dsn}\"\n"
        f"  stop: kill {pid} && rm -rf {server.datadir.parent}\n"
        f"        (or, as the server's user: {server.binaries.bindir / 'pg_ctl'} -D {server.datadir} stop)",
        file=sys.stderr, flush=True)


def _terminate(signum: int, frame: object) -> None:
    # as Ctrl-C: psycopg cancels a running statement on KeyboardInterrupt (on other exceptions the
    # server would finish it first, and the server's shutdown would wait for it)
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from analyzer.demo import lingering_connections, setup_demo
    from analyzer.pipeline import AnalyzeOptions, analyze

    if not args.scale > 0:
        raise UsageError("--scale must be more than 0")
    if args.rounds < 1:
        raise UsageError("--rounds must be at least 1")
    binaries = _binaries(args.pg_version)
    if args.chart:
        from analyzer.report.charts import check_available

        check_available(args.chart)
    hypopg = "with hypopg" if binaries.has_extension("hypopg") else "without hypopg"
    say(f"starting PostgreSQL {binaries.major} ({hypopg}) ...")
    try:
        server = localpg.start(binaries)
    except localpg.LocalServerError as e:
        raise UsageError(f"cannot start PostgreSQL {binaries.major}: {e}") from None
    say(f"server up on {server.host}:{server.port}, data in {server.datadir.parent}")
    keep = False
    # a terminated run (CI timeout, kill) still removes its server: SIGTERM unwinds as Ctrl-C does
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            dsn = setup_demo(server, DBNAME, scale=args.scale, rounds=args.rounds, progress=say)
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TargetError(f"loading the demo database failed: {first}",
                              getattr(e, "sqlstate", None)) from None
        keep = args.keep
        with lingering_connections(dsn) as idle:
            say(f"analyzing (the replayed applications left {idle} idle connections open) ...")
            report = analyze(AnalyzeOptions(dsn=dsn, show_literals=args.show_literals,
                                            progress=sys.stderr.isatty()))
        # the demo's server is gone once the run ends: tickets say how to run the demo again
        from analyzer.report.reproduce import command_line

        report.extra["command"] = command_line("demo", add_arguments, args, output="demo.json")
        if args.chart:
            from analyzer.report.charts import chart_option

            chart_option(report, args.chart, output=args.output, show_literals=args.show_literals,
                         mask_hosts=args.mask_hosts)
        emit(report, args)
        return exit_code(report, args)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if keep:
            _print_kept(server)
        else:
            if server.process and server.process.poll() is None:
                # fast shutdown: a throw-away server need not wait for sessions an interrupted
                # load left behind (localpg's stop asks for a smart one)
                server.process.send_signal(signal.SIGINT)
            server.remove()
