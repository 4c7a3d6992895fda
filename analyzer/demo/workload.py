"""Replay the recruiting application's workload against the demo database.

Each "application" is one connection with its own application_name, as the incident's Lambda
functions were, and they run at the same time. Statements come from workload.sql with bound
parameters, so pg_stat_statements holds their normalized text ($1, $2...). Every parameter is
arithmetic on the round and call number: two replays of the same database send the same values.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Int8Dumper

from analyzer.demo import files

DEFAULT_ROUNDS = 3
KPI_SINCE = (datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC),
             datetime(2025, 12, 1, tzinfo=UTC))
SEARCH_TERMS = ("Tanaka", "Yui", "Mori", "Sota")
KINTONE_BATCH = 50


def queries() -> dict[str, str]:
    """Every query shape of the workload by name."""
    return files.sections(files.read("workload.sql"), "name")[1]


def admin_query(name: str) -> str:
    return files.sections(files.read("admin.sql"), "name")[1][name]


@dataclass(frozen=True)
class Sizes:
    """Highest ids (row counts for kintone) the parameters may point at."""

    companies: int
    jobs: int
    candidates: int
    applications: int
    kintone_candidates: int


class Stopped(Exception):
    """The replay was interrupted: the application stops before its next statement."""


class Session:
    """One application's connection: runs named shapes and counts how often each ran."""

    def __init__(self, conn: psycopg.Connection, shapes: Mapping[str, str], stop: threading.Event) -> None:
        self.conn = conn
        self.shapes = shapes
        self.stop = stop
        self.calls: Counter[str] = Counter()

    def run(self, name: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.stop.is_set():
            raise Stopped
        with self.conn.cursor() as cur:
            cur.execute(self.shapes[name], params)
            rows = cur.fetchall() if cur.description else []
        self.calls[name] += 1
        return rows

    def run_many(self, name: str, params: Sequence[Sequence[Any]]) -> None:
        if self.stop.is_set():
            raise Stopped
        with self.conn.cursor() as cur:
            cur.executemany(self.shapes[name], params)  # one execution (one call) per row
        self.calls[name] += len(params)


def _spread(k: int, n: int, salt: int = 0) -> int:
    """An id in 1..n for call number k, spread over the table rather than clustered."""
    return 1 + (k * 7919 + salt * 104729) % n


def candidate_detail_app(s: Session, z: Sizes, r: int) -> None:
    for k in range(10):
        s.run("candidate_detail", (_spread(r * 10 + k, z.candidates),))


def candidates_app(s: Session, z: Sizes, r: int) -> None:
    for k in range(3):
        s.run("candidate_list", (1 + (r * 3 + k) % z.companies,))
    page = s.run("candidates_page", (1 + (r * 7) % z.companies, (r * 997) % z.candidates))
    for row in page:  # the N+1: one more statement per candidate on the page
        s.run("candidate_applications", (row[0],))


def job_pipeline_app(s: Session, z: Sizes, r: int) -> None:
    for k in range(2):
        board = s.run("job_pipeline", (_spread(r * 2 + k, z.jobs, 4),))
        for row in board:  # N+1 again, on a primary key: cheap per call, costly in round trips
            s.run("candidate_by_id", (row[1],))


def candidate_search_app(s: Session, z: Sizes, r: int) -> None:
    per_company = z.candidates // z.companies
    for k in range(2):  # a quarter and half-way down the company's list, in pages of 50
        offset = 50 * max(1, per_company * (k + 1) // 200)
        s.run("candidates_offset_page", (1 + (r + k) % z.companies, offset))
    for k in range(2):
        s.run("candidate_by_email", (f"candidate.{_spread(r * 2 + k, z.candidates, 1)}@example.com",))
    for k in range(2):
        term = SEARCH_TERMS[(r * 2 + k) % len(SEARCH_TERMS)]
        s.run("candidate_search", (1 + (r * 2 + k) % z.companies, term))


def kpi_app(s: Session, z: Sizes, r: int) -> None:
    since = KPI_SINCE[r % len(KPI_SINCE)]
    s.run("kpi_applications", (since,))
    s.run("kpi_events", (1 + r % z.companies, since))


def jobs_app(s: Session, z: Sizes, r: int) -> None:
    for k in range(30):
        s.run("job_by_id", (_spread(r * 30 + k, z.jobs),))
    for k in range(15):
        s.run("application_with_job", (_spread(r * 15 + k, z.applications, 2),))


def kintone_sync_app(s: Session, z: Sizes, r: int) -> None:
    # about one record in ten is new to the staging table, the others exist and are rewritten
    span = z.kintone_candidates + z.kintone_candidates // 10 + 1
    batch = []
    for k in range(KINTONE_BATCH):
        n = _spread(r * KINTONE_BATCH + k, span, 3)
        batch.append((
            f"KT-{n:07d}", n if n <= z.candidates else None, f"Kintone Applicant {n}",
            f"kintone.{n}@example.com", ("new", "contacted", "screening", "closed")[n % 4],
            Jsonb({"record_id": n, "revision": 1 + r, "owner": ("Kimura", "Ishikawa", "Ogawa")[n % 3]}),
            datetime(2025, 12, 1, tzinfo=UTC),
        ))
    s.run_many("kintone_upsert", batch)


APPS: Mapping[str, Callable[[Session, Sizes, int], None]] = {
    "lambda-candidate-detail": candidate_detail_app,
    "lambda-candidates": candidates_app,
    "lambda-candidate-search": candidate_search_app,
    "lambda-job-pipeline": job_pipeline_app,
    "lambda-kpi": kpi_app,
    "lambda-jobs": jobs_app,
    "kintone-sync": kintone_sync_app,
}


def untracked_connect(dsn: str) -> psycopg.Connection:
    """A connection whose statements pg_stat_statements ignores, so that the replayed workload is
    all it holds. Setting pg_stat_statements.track needs a superuser (as on the local demo server);
    for anyone else this is a plain connection and its few statements show up, harmless."""
    try:
        return psycopg.connect(dsn, autocommit=True, options="-c pg_stat_statements.track=none")
    except psycopg.OperationalError as e:
        # refused at startup, so no SQLSTATE on the exception: only the message tells
        if "permission denied to set parameter" not in str(e):
            raise
        return psycopg.connect(dsn, autocommit=True)


def _sizes(dsn: str) -> Sizes:
    with untracked_connect(dsn) as conn:
        row = conn.execute(admin_query("table_sizes")).fetchone()
    assert row is not None
    return Sizes(*(max(1, int(v)) for v in row))


def _run_app(dsn: str, app: str, fn: Callable[[Session, Sizes, int], None], sizes: Sizes,
             rounds: int, stop: threading.Event) -> Counter[str]:
    with psycopg.connect(dsn, autocommit=True, application_name=app,
                         cursor_factory=psycopg.RawCursor) as conn:
        # Python ints would go out as int2, int4 or int8 by value, and pg_stat_statements would
        # keep one entry per parameter type; the application sends bigints throughout.
        conn.adapters.register_dumper(int, Int8Dumper)
        session = Session(conn, queries(), stop)
        for r in range(rounds):
            fn(session, sizes, r)
        return session.calls


@contextmanager
def lingering_connections(dsn: str, per_app: int = 2) -> Iterator[int]:
    """Connections of every application left open and idle, as a Lambda container keeps its
    connection between invocations (the incident's slot shortage). They send no statement, so
    pg_stat_statements does not change. Best effort: when the server refuses one (out of slots),
    the others stay. Yields how many are open; all close on exit."""
    with ExitStack() as stack:
        opened = 0
        try:
            for app in APPS:
                for _ in range(per_app):
                    stack.enter_context(psycopg.connect(dsn, autocommit=True, application_name=app))
                    opened += 1
        except psycopg.OperationalError:
            pass
        yield opened


def replay(dsn: str, rounds: int = DEFAULT_ROUNDS) -> dict[str, int]:
    """Run `rounds` rounds of every application at once; how many times each shape was executed."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    sizes = _sizes(dsn)
    stop = threading.Event()
    with ThreadPoolExecutor(len(APPS)) as pool:
        futures = [pool.submit(_run_app, dsn, app, fn, sizes, rounds, stop) for app, fn in APPS.items()]
        total: Counter[str] = Counter()
        try:
            for future in futures:
                total.update(future.result())
        except BaseException:
            stop.set()  # interrupted, or one application failed: the others stop too
            raise
    return {name: total[name] for name in queries()}
