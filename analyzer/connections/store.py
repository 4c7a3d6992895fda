"""The snapshot store: connection-slot and pg_stat_statements snapshots over time.

SQLite by default (a file at a per-user data path, WAL mode) or a central PostgreSQL (tables in
schema `pgqa`) for several instances, each snapshot tagged with its instance name. Every snapshot
is written in one transaction, so a writer killed mid-run leaves every committed snapshot intact,
and concurrent writers wait for each other (SQLite busy timeout, PostgreSQL row locks) instead of
losing rows. The schema carries a version; `_migrate` brings an older store up to date.

The DDL lives in analyzer/queries/connections/store/<dialect>_v<N>.sql; the few row statements of
the store itself are below, written once with `?` placeholders (psycopg gets `%s`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analyzer import __version__, sqlfiles
from analyzer.errors import PgqaError, UsageError
from analyzer.model import ConnectionSnapshot, Statement

SCHEMA_VERSION = 2
STORE_ENV = "PGQA_STORE"


class StoreError(PgqaError):
    """The store cannot be opened or written (exit 3, like an unreachable target)."""

    exit_code = 3


def default_store_url() -> str:
    """PGQA_STORE, else a SQLite file in the per-user data directory."""
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    import platformdirs

    return f"sqlite:///{Path(platformdirs.user_data_dir('pgqa')) / 'snapshots.db'}"


def sqlite_path(url: str) -> Path | None:
    """sqlite:///relative.db, sqlite:////absolute/path.db, or a plain file path; None for PostgreSQL."""
    if url.startswith(("postgresql://", "postgres://")):
        return None
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    if "://" in url:
        raise UsageError(f"unsupported --store URL scheme in {url.split('://')[0]}://...: use "
                         "sqlite:///path.db or postgresql://...")
    return Path(url)


# -- the store's own row statements ------------------------------------------------------------

_INSERT_SNAPSHOT = ("INSERT INTO snapshots (instance, taken_at, status, error, used, usable, used_pct, "
                    "data, pgqa_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_GROUP = ("INSERT INTO snapshot_groups (snapshot_id, database, user_name, application_name, "
                 "client_addr, count, idle, idle_in_transaction, active, max_idle_s, oldest_backend_start) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_SELECT_SNAPSHOTS = ("SELECT id, data FROM snapshots WHERE instance = ? AND taken_at >= ? AND taken_at <= ? "
                     "ORDER BY taken_at, id")
_SELECT_INSTANCES = "SELECT DISTINCT instance FROM snapshots ORDER BY instance"
_COUNT_SNAPSHOTS = "SELECT count(*) FROM snapshots"
_SELECT_VERSION = "SELECT version FROM schema_version"
_INSERT_VERSION = "INSERT INTO schema_version (version) VALUES (?)"
_UPDATE_VERSION = "UPDATE schema_version SET version = ?"
_ALL_SNAPSHOT_DATA = "SELECT id, data FROM snapshots ORDER BY id"
_INSERT_STMT_SNAPSHOT = ("INSERT INTO statement_snapshots (instance, taken_at, stats_reset, dealloc) "
                         "VALUES (?, ?, ?, ?)")
_INSERT_STMT_ROW = ("INSERT INTO statement_rows (snapshot_id, userid, dbid, queryid, toplevel, usename, "
                    "datname, calls, total_exec_ms, total_plan_ms, rows, shared_blks_hit, shared_blks_read, "
                    "temp_blks_read, temp_blks_written, wal_bytes, stats_since) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_TEXT = ("INSERT INTO statement_texts (instance, queryid, query) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING")
_SELECT_STMT_SNAPSHOTS = ("SELECT id, taken_at, stats_reset, dealloc FROM statement_snapshots "
                          "WHERE instance = ? ORDER BY taken_at, id")
_SELECT_STMT_ROWS = ("SELECT userid, dbid, queryid, toplevel, usename, datname, calls, total_exec_ms, "
                     "total_plan_ms, rows, shared_blks_hit, shared_blks_read, temp_blks_read, "
                     "temp_blks_written, wal_bytes, stats_since FROM statement_rows WHERE snapshot_id = ?")
_SELECT_TEXTS = "SELECT queryid, query FROM statement_texts WHERE instance = ?"

_PRUNE = (
    "DELETE FROM snapshot_groups WHERE snapshot_id IN "
    "(SELECT id FROM snapshots WHERE instance = ? AND taken_at < ?)",
    "DELETE FROM snapshots WHERE instance = ? AND taken_at < ?",
    "DELETE FROM statement_rows WHERE snapshot_id IN "
    "(SELECT id FROM statement_snapshots WHERE instance = ? AND taken_at < ?)",
    "DELETE FROM statement_snapshots WHERE instance = ? AND taken_at < ?",
)

_STMT_COUNTERS = ("calls", "total_exec_ms", "total_plan_ms", "rows", "shared_blks_hit", "shared_blks_read",
                  "temp_blks_read", "temp_blks_written", "wal_bytes")


@dataclass
class StatementSnapshot:
    """One reading of pg_stat_statements (+ pg_stat_statements_info) for the store."""

    taken_at: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    stats_reset: str | None = None
    dealloc: int | None = None
    id: int | None = None


class Store:
    """One open store. Use `with open_store(url) as store:`."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self.dialect = "sqlite" if self.path is not None else "postgresql"
        if not create and self.path is not None and not self.path.exists():
            raise UsageError(f"no snapshot store at {self.path}: take snapshots first "
                             "(pgqa snapshot --every 60), or name the store with --store")
        self._conn: Any = self._open()
        try:
            self._migrate()
        except Exception:
            self.close()
            raise

    # -- connection and transactions --------------------------------------------------------------

    def _open(self) -> Any:
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a crash of pgqa
                conn.execute("PRAGMA busy_timeout=60000")
                conn.execute("PRAGMA foreign_keys=ON")
            except (OSError, sqlite3.Error) as e:
                raise StoreError(f"cannot open the snapshot store {self.path}: {e}") from None
            return conn
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                                   application_name="pgqa-store", options="-c search_path=pgqa")
        except psycopg.Error as e:
            from analyzer.target import describe_connect_error

            raise StoreError(f"snapshot store: {describe_connect_error(e, self.url)}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sql(self, text: str) -> str:
        return text if self.dialect == "sqlite" else text.replace("?", "%s")

    def _exec(self, text: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        cur = self._conn.cursor()
        cur.execute(self._sql(text), params)
        return cur

    def _executemany(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self._conn.cursor().executemany(self._sql(text), rows)

    def _insert_id(self, text: str, params: tuple[Any, ...]) -> int:
        if self.dialect == "sqlite":
            return int(self._exec(text, params).lastrowid)
        return int(self._exec(text + " RETURNING id", params).fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; SQLite takes the write lock at the start (BEGIN IMMEDIATE) so that
        concurrent writers queue up instead of failing on a lock upgrade."""
        if self.dialect == "sqlite":
            self._begin_immediate()
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        else:
            with self._conn.transaction():
                yield

    def _begin_immediate(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                # busy_timeout covers most waits; a checkpoint in progress can still say "locked"
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise StoreError(f"snapshot store {self.path} is locked: {e}") from None
                time.sleep(0.05)

    # -- schema -----------------------------------------------------------------------------------

    def _ddl(self, version: int) -> list[str]:
        text = sqlfiles.load(f"connections/store/{self.dialect}_v{version}")
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("--")]
        return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]

    def version(self) -> int:
        return self._current_version_locked()

    def _migrate(self, target: int = SCHEMA_VERSION) -> None:
        if self._current_version_locked() == target:
            return  # the usual case: no write lock needed just to open the store
        with self.transaction():
            if self.dialect == "postgresql":
                # one migrator at a time; the others wait, then find the work done
                self._exec("SELECT pg_advisory_xact_lock(7368290117)")
                self._exec("CREATE SCHEMA IF NOT EXISTS pgqa")
            current = self._current_version_locked()
            if current > SCHEMA_VERSION:
                raise StoreError(f"the snapshot store has schema version {current}, newer than this "
                                 f"pgqa ({SCHEMA_VERSION}): upgrade pgqa")
            for version in range(current + 1, target + 1):
                for statement in self._ddl(version):
                    self._exec(statement)
                MIGRATIONS.get(version, _no_data_step)(self)
                if version == 1:
                    self._exec(_INSERT_VERSION, (1,))
                else:
                    self._exec(_UPDATE_VERSION, (version,))

    def _current_version_locked(self) -> int:
        if self.dialect == "sqlite":
            exists = self._exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
                                ).fetchone()
        else:
            exists = self._exec("SELECT to_regclass('pgqa.schema_version')").fetchone()[0]
        if not exists:
            return 0
        row = self._exec(_SELECT_VERSION).fetchone()
        return int(row[0]) if row else 0

    # -- connection snapshots ---------------------------------------------------------------------

    def save_snapshot(self, snap: ConnectionSnapshot) -> int:
        """Write one snapshot (and its groups) in one transaction; returns its id."""
        snap.taken_at = _utc_seconds(snap.taken_at)  # one format, so that times compare as text
        d = asdict(snap)
        data = json.dumps(d, default=str)
        with self.transaction():
            sid = self._insert_id(_INSERT_SNAPSHOT, (
                snap.instance, snap.taken_at, snap.status, snap.error, snap.used, snap.usable, snap.used_pct,
                data, __version__))
            self._executemany(_INSERT_GROUP, _group_rows(sid, d))
        return sid

    def snapshots(self, instance: str, since: str = "", until: str = "9999") -> list[ConnectionSnapshot]:
        from analyzer.connections.snapshot import from_dict

        rows = self._exec(_SELECT_SNAPSHOTS, (instance, since, until)).fetchall()
        return [from_dict(json.loads(data)) for _, data in rows]

    def instances(self) -> list[str]:
        return [r[0] for r in self._exec(_SELECT_INSTANCES).fetchall()]

    def count(self) -> int:
        return int(self._exec(_COUNT_SNAPSHOTS).fetchone()[0])

    def prune(self, instance: str, before: str) -> int:
        """Forget the snapshots of `instance` taken before `before` (one transaction); returns how
        many connection snapshots went."""
        with self.transaction():
            n = int(self._exec("SELECT count(*) FROM snapshots WHERE instance = ? AND taken_at < ?",
                               (instance, before)).fetchone()[0])
            for statement in _PRUNE:
                self._exec(statement, (instance, before))
        return n

    # -- pg_stat_statements snapshots -------------------------------------------------------------

    def save_statements(self, instance: str, snap: StatementSnapshot, texts: dict[str, str]) -> int:
        with self.transaction():
            sid = self._insert_id(_INSERT_STMT_SNAPSHOT, (instance, snap.taken_at, snap.stats_reset,
                                                          snap.dealloc))
            self._executemany(_INSERT_STMT_ROW, [
                (sid, r["userid"], r["dbid"], str(r["queryid"]), int(bool(r["toplevel"])), r.get("usename"),
                 r.get("datname"), *(r.get(c) for c in _STMT_COUNTERS), r.get("stats_since"))
                for r in snap.rows])
            self._executemany(_INSERT_TEXT, [(instance, str(q), t) for q, t in texts.items()])
        return sid

    def statement_snapshots(self, instance: str) -> list[StatementSnapshot]:
        out = []
        for sid, taken_at, stats_reset, dealloc in self._exec(_SELECT_STMT_SNAPSHOTS, (instance,)).fetchall():
            cols = ("userid", "dbid", "queryid", "toplevel", "usename", "datname", *_STMT_COUNTERS,
                    "stats_since")
            rows = [dict(zip(cols, r, strict=True)) for r in self._exec(_SELECT_STMT_ROWS, (sid,)).fetchall()]
            out.append(StatementSnapshot(taken_at, rows, stats_reset, dealloc, sid))
        return out

    def statement_texts(self, instance: str) -> dict[str, str]:
        return dict(self._exec(_SELECT_TEXTS, (instance,)).fetchall())


def _utc_seconds(value: str) -> str:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _group_rows(sid: int, snap: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for g in snap.get("groups") or []:
        states = g.get("by_state") or {}
        rows.append((sid, g.get("database"), g.get("user"), g.get("application_name"), g.get("client_addr"),
                     g.get("count", 0), states.get("idle", 0),
                     states.get("idle in transaction", 0) + states.get("idle in transaction (aborted)", 0),
                     states.get("active", 0), g.get("max_idle_s"), g.get("oldest_backend_start")))
    return rows


def _no_data_step(store: Store) -> None:
    return None


def _v2_backfill_groups(store: Store) -> None:
    """v1 stores kept groups only inside each snapshot's JSON: copy them into snapshot_groups."""
    for sid, data in store._exec(_ALL_SNAPSHOT_DATA).fetchall():
        store._executemany(_INSERT_GROUP, _group_rows(sid, json.loads(data)))


# Data steps run after the DDL of their version, inside the same transaction.
MIGRATIONS = {2: _v2_backfill_groups}


@contextmanager
def open_store(url: str | None = None, *, create: bool = True) -> Iterator[Store]:
    """The store at `url` (default: PGQA_STORE or the per-user SQLite file); readers pass
    create=False so that a mistyped path is an error, not a new empty store."""
    store = Store(url or default_store_url(), create=create)
    try:
        yield store
    finally:
        store.close()


# -- windows over pg_stat_statements snapshots ----------------------------------------------------

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """'90s', '15m', '1h', '2d', or plain seconds."""
    m = _DURATION_RE.match(str(text))
    if not m:
        raise UsageError(f"cannot read the duration {text!r}: write e.g. 90s, 15m, 1h, 24h, 7d")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


def since_iso(since: str, now: datetime | None = None) -> str:
    """The start of a window: an ISO-8601 time as given, or now minus a duration ('24h')."""
    try:
        dt = datetime.fromisoformat(since)
    except ValueError:
        dt = (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(since))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (int(r["userid"]), int(r["dbid"]), str(r["queryid"]), bool(r["toplevel"]))


def _delta(prev: dict[str, Any] | None, cur: dict[str, Any],
           reset_all: bool) -> tuple[dict[str, float], bool]:
    """Counters of `cur` since `prev`; (cur itself, True) when the entry was reset in between."""
    reset = (prev is None or reset_all or (cur["calls"] or 0) < (prev["calls"] or 0)
             or (cur.get("stats_since") or None) != (prev.get("stats_since") or None))
    if reset:
        return {c: float(cur.get(c) or 0) for c in _STMT_COUNTERS}, prev is not None
    return {c: float(cur.get(c) or 0) - float(prev.get(c) or 0) for c in _STMT_COUNTERS}, False


def window_deltas(snaps: list[StatementSnapshot], since: str) -> tuple[dict[tuple[Any, ...], dict[str, Any]],
                                                                      dict[str, Any]]:
    """Per (userid, dbid, queryid, toplevel): counters accumulated over the window, summed pair by
    pair of consecutive snapshots, so that a reset in the middle loses only what ran between the
    last reading before it and the reset. The baseline is the last snapshot at or before `since`
    (else the first one in the window, whose own cumulative values are not counted)."""
    before = [s for s in snaps if s.taken_at <= since]
    inside = [s for s in snaps if s.taken_at > since]
    chain = ([before[-1]] if before else []) + inside
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    info: dict[str, Any] = {"snapshots": len(chain), "resets": 0, "entry_resets": 0,
                            "from": chain[0].taken_at if chain else None,
                            "until": chain[-1].taken_at if chain else None}
    for prev, cur in zip(chain, chain[1:], strict=False):
        reset_all = (prev.stats_reset or None) != (cur.stats_reset or None)
        info["resets"] += int(reset_all)
        prev_rows = {_key(r): r for r in prev.rows}
        for r in cur.rows:
            k = _key(r)
            d, entry_reset = _delta(prev_rows.get(k), r, reset_all)
            info["entry_resets"] += int(entry_reset and not reset_all)
            t = totals.setdefault(k, {"usename": r.get("usename"), "datname": r.get("datname"),
                                      **dict.fromkeys(_STMT_COUNTERS, 0.0)})
            for c in _STMT_COUNTERS:
                t[c] += d[c]
    return totals, info


def statement_window(store_url: str | None, instance: str, since: str) -> list[Statement]:
    """The statements of a window from the store's pg_stat_statements snapshots, as deltas,
    most total time first. `since` is a duration ('1h') or an ISO-8601 time."""
    start = since_iso(since)
    with open_store(store_url, create=False) as store:
        try:
            snaps = store.statement_snapshots(instance)
            texts = store.statement_texts(instance)
        except Exception as e:  # noqa: BLE001 - a damaged store or a broken link: one line
            raise StoreError(f"cannot read the snapshot store: {str(e).strip().splitlines()[0]}") from None
    totals, info = window_deltas(snaps, start)
    out = []
    for (userid, dbid, queryid, toplevel), t in totals.items():
        calls = int(t["calls"])
        if calls <= 0:
            continue
        total = t["total_exec_ms"]
        out.append(Statement(
            text=texts.get(queryid, ""), source="pg_stat_statements", queryid=queryid, calls=calls,
            total_ms=total, mean_ms=total / calls, rows=int(t["rows"]),
            shared_blks_hit=int(t["shared_blks_hit"]), shared_blks_read=int(t["shared_blks_read"]),
            temp_blks_read=int(t["temp_blks_read"]), temp_blks_written=int(t["temp_blks_written"]),
            wal_bytes=int(t["wal_bytes"]), plan_ms=t["total_plan_ms"] or None, user=t["usename"],
            database=t["datname"], toplevel=toplevel,
            extra={"window": {"since": start, **info}, "userid": userid, "dbid": dbid}))
    out.sort(key=lambda s: -s.total_ms)
    for i, s in enumerate(out):
        s.index = i
    return out


def window_into(report: Any, target: Any, options: Any) -> list[Statement]:
    """`pgqa analyze --since`: the window's statements of the connected database replace the
    cumulative ones (plans and advice need the statement's own database)."""
    from analyzer.connections.snapshot import default_instance

    instance = options.extra.get("instance") or default_instance(target)
    every = statement_window(options.store, instance, options.since)
    here = [s for s in every if s.database in (None, target.info.database)
            and s.calls >= (options.min_calls or 1)]
    if not every:
        report.source("statement_window", "error", f"no pg_stat_statements snapshots of {instance} in the "
                      f"store cover the last {options.since}: run pgqa snapshot --statements --every 300")
        return []
    w = every[0].extra["window"]
    local = (None, target.info.database)
    elsewhere = len({(s.database, s.queryid) for s in every if s.database not in local})
    report.source("statement_window", "ok",
                  f"{len(here)} statements in database {target.info.database}"
                  + (f" ({elsewhere} more in other databases)" if elsewhere else "")
                  + f", deltas over {w['snapshots']} snapshots from {w['from']} to {w['until']}"
                  + f" ({w['resets']} resets)")
    for i, s in enumerate(here):
        s.index = i
    return here[: options.top] if options.top else here
