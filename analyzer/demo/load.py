"""Create the demo database and fill it: schema.sql, then data.sql and keys.sql (one section per
table, each table filled and keyed on one of several connections at once), foreign_keys.sql, and
VACUUM ANALYZE so that plans see real statistics."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql

from analyzer.demo import files

# Base row counts at scale 1.0; companies and stages are lookup tables and keep their size.
BASE_ROWS: Mapping[str, int] = {
    "companies": 40,
    "stages": 8,
    "jobs": 1_500,
    "candidates": 200_000,
    "applications": 400_000,
    "interviews": 120_000,
    "application_events": 600_000,
    "kintone_candidates": 20_000,
}
FIXED_SIZE = frozenset({"companies", "stages"})
MIN_ROWS = 100  # below this the workload's parameters would run out of rows to point at
LOAD_WORKERS = max(2, min(4, os.cpu_count() or 2))


def row_counts(scale: float) -> dict[str, int]:
    """The number of rows of every demo table at `scale`."""
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, not {scale}")
    return {table: n if table in FIXED_SIZE else max(MIN_ROWS, round(n * scale))
            for table, n in BASE_ROWS.items()}


def create_database(admin_dsn: str, dbname: str) -> None:
    """A new empty database (an older one of that name is dropped first, its sessions ended)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        name = sql.Identifier(dbname)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _settings_option(counts: Mapping[str, int]) -> str:
    # data.sql reads its row counts from these custom settings (see its header).
    return " ".join(f"-c pgqa_demo.{table}={n}" for table, n in counts.items())


def _in_parallel(dsn: str, jobs: Iterable[Callable[[psycopg.Connection], None]], *, options: str = "",
                 prelude: str = "") -> None:
    """Run each job on one of LOAD_WORKERS connections, each opened once and given `prelude`.
    Interrupted (Ctrl-C, SIGTERM), the statements running are cancelled and nothing more starts."""
    pending = list(jobs)
    conns: list[psycopg.Connection] = []

    def worker() -> None:
        with psycopg.connect(dsn, autocommit=True, options=options) as conn:
            conns.append(conn)
            if prelude:
                conn.execute(prelude)
            while True:
                try:
                    job = pending.pop(0)
                except IndexError:
                    return
                job(conn)

    with ThreadPoolExecutor(LOAD_WORKERS) as pool:
        futures = [pool.submit(worker) for _ in range(LOAD_WORKERS)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            pending.clear()
            for conn in conns:
                conn.cancel_safe()
            raise


def _run(*statements: str) -> Callable[[psycopg.Connection], None]:
    def job(conn: psycopg.Connection) -> None:
        for statement in statements:
            conn.execute(statement)
    return job


def _vacuum(table: str) -> Callable[[psycopg.Connection], None]:
    def job(conn: psycopg.Connection) -> None:
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    return job


def load_data(dsn: str, counts: Mapping[str, int]) -> None:
    """Schema, data and keys into the (empty) database at `dsn`; statistics gathered."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(files.read("schema.sql"))
    prelude, data = files.sections(files.read("data.sql"), "table")
    _, keys = files.sections(files.read("keys.sql"), "table")
    missing = set(BASE_ROWS) - (set(data) & set(keys))
    if missing:
        raise RuntimeError(f"data.sql or keys.sql has no section for {sorted(missing)}")
    # each table is filled and keyed on one connection, the biggest first, so that the workers
    # finish at about the same time
    order = sorted(data, key=lambda t: -counts.get(t, 0))
    _in_parallel(dsn, [_run(data[t], keys[t]) for t in order], options=_settings_option(counts),
                 prelude=prelude)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(files.read("foreign_keys.sql"))
    _in_parallel(dsn, [_vacuum(t) for t in order])
