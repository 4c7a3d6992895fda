"""One connection-slot snapshot: limits, who holds the slots, how long they idle, who waits.

Taken over pgqa's single connection. pgqa's own backend holds a slot as well, so it is counted in
`used`, `by_state` and `groups` like any other client, and reported in `pgqa_pid` /
`own_connections` so that a reader can subtract it. A connection the server refuses is data too:
`capture()` stores the refusal (status refused / timeout / error with the server's message).

Idle means any of the idle states (idle, idle in transaction, idle in transaction (aborted)): each
holds a slot doing nothing. `idle_age` buckets and a group's `max_idle_s` / `idle_over_1m` use the
time since the session's last state change. Without pg_read_all_stats, other roles' sessions are
still counted (state `unknown`, see `notes`), but their idle times and waits cannot be seen.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import conninfo

from analyzer.errors import PgqaError, TargetError
from analyzer.model import ConnectionGroup, ConnectionSnapshot
from analyzer.sources import activity as activity_source
from analyzer.sources import settings as settings_source
from analyzer.sql.redact import redact
from analyzer.target import SessionSettings, Target, safe_dsn, scrub

STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)",
          "fastpath function call", "disabled")
IDLE_STATES = ("idle", "idle in transaction", "idle in transaction (aborted)")
IN_XACT_STATES = ("idle in transaction", "idle in transaction (aborted)")
IDLE_BUCKETS = ("lt_1m", "1m_5m", "5m_1h", "gt_1h")
RESERVED_SETTINGS = {
    "superuser_reserved_connections": "superuser",
    "reserved_connections": "reserved_connections",
    "rds.rds_superuser_reserved_connections": "rds_superuser",
}
GUARDS = ("idle_session_timeout", "idle_in_transaction_session_timeout", "statement_timeout")

# SQLSTATE 53300 texts: vanilla up to 15, 16+, RDS, per role/database limits.
_REFUSED_RE = re.compile(
    r"too many clients already|remaining connection slots are reserved|"
    r"too many connections for (role|database)|53300", re.IGNORECASE)
_TIMEOUT_RE = re.compile(r"timeout expired|timed out|connection timeout", re.IGNORECASE)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value)


def classify_failure(message: str, sqlstate: str | None = None) -> str:
    """refused (SQLSTATE 53300, out of slots), timeout, or error (anything else)."""
    if sqlstate == "53300" or _REFUSED_RE.search(message):
        return "refused"
    if _TIMEOUT_RE.search(message):
        return "timeout"
    return "error"


def failed(error: TargetError | str, instance: str = "", taken_at: str | None = None) -> ConnectionSnapshot:
    """The snapshot of a connection attempt that failed: status and the server's message."""
    message = str(error)
    sqlstate = error.sqlstate if isinstance(error, TargetError) else None
    return ConnectionSnapshot(taken_at=taken_at or now_iso(), status=classify_failure(message, sqlstate),
                              error=message, instance=instance)


def server_message(error: TargetError, dsn: str | None) -> str:
    """What libpq and the server said, on one line, without passwords: the stored `error`.
    pgqa's own summary line is the fallback when the driver's message is not at hand."""
    raw = error.__context__
    if not isinstance(raw, psycopg.Error) or not str(raw).strip():
        return str(error)
    lines = [ln.strip() for ln in str(raw).splitlines() if ln.strip()]
    text = " ".join(lines)
    code = error.sqlstate or getattr(raw, "sqlstate", None)
    if code and code not in text:
        text += f" (SQLSTATE {code})"
    return scrub(text, dsn)


def instance_from_dsn(dsn: str | None) -> str:
    """host:port/database named by a DSN (libpq environment as fallback): the default name of a
    target's snapshots in the store, the same whether the connection succeeded or was refused."""
    try:
        params = conninfo.conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError:
        params = {}
    host = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "local")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    db = str(params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user")
             or os.environ.get("PGUSER") or "postgres")
    return f"{host.split(',')[0]}:{port.split(',')[0]}/{db}"


def default_instance(target: Any) -> str:
    if getattr(target, "dsn", None) is not None:
        return instance_from_dsn(target.dsn)
    info = target.conn.info
    return f"{info.host or 'local'}:{info.port}/{info.dbname}"


def capture(dsn: str | None, *, reserved_dsn: str | None = None, instance: str | None = None,
            settings: SessionSettings | None = None) -> ConnectionSnapshot:
    """Connect, take one snapshot, close. A refused, timed-out or failed connection gives a snapshot
    with that status and the server's message; after a refusal `reserved_dsn` (a role allowed to use
    reserved slots) is tried once, so the snapshot still shows who holds the slots."""
    return capture_with(dsn, reserved_dsn=reserved_dsn, instance=instance, settings=settings)[0]


def capture_with(dsn: str | None, *, reserved_dsn: str | None = None, instance: str | None = None,
                 settings: SessionSettings | None = None,
                 also: Callable[[Target], Any] | None = None) -> tuple[ConnectionSnapshot, Any]:
    """capture(), and `also(target)` over the same connection when it was not refused. Its result
    is the second item; an error of `also` is returned there instead of raised (the snapshot is
    kept)."""
    name = instance or instance_from_dsn(dsn)
    try:
        return _connect_and_take(dsn, name, settings, also)
    except TargetError as e:
        snap = failed(e, name)
        snap.error = server_message(e, dsn)
    if snap.status == "refused" and reserved_dsn:
        try:
            seen, extra = _connect_and_take(reserved_dsn, name, settings, None)
        except TargetError as e:
            snap.error = f"{snap.error}; --reserved-dsn failed too: {e}"
            return snap, None
        seen.status, seen.error, seen.captured_via = snap.status, snap.error, "reserved-dsn"
        seen.taken_at = snap.taken_at
        return seen, extra
    return snap, None


def _connect_and_take(dsn: str | None, instance: str, settings: SessionSettings | None,
                      also: Callable[[Target], Any] | None) -> tuple[ConnectionSnapshot, Any]:
    try:
        with Target.connect(dsn, settings) as target:
            snap = take(target, instance)
            extra: Any = None
            if also is not None:
                try:
                    extra = also(target)
                except (PgqaError, psycopg.Error) as e:
                    extra = e
            return snap, extra
    except psycopg.Error as e:  # a query failed or the session broke after connecting
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TargetError(f"snapshot query failed on {safe_dsn(dsn)}: {detail}",
                          getattr(e, "sqlstate", None)) from None


def take(target: Any, instance: str | None = None) -> ConnectionSnapshot:
    """One snapshot over the target's connection."""
    taken_at = now_iso()
    settings = settings_source.collect(target)
    rows = [r for r in activity_source.collect(target) if holds_slot(r)]
    sessions: dict[str, Any] = {}
    if target.major >= 14:
        sessions = dict(target.query("connections/database_sessions", version=0)[0])
    snap = ConnectionSnapshot(taken_at=taken_at, instance=instance or default_instance(target),
                              server_version=target.info.server_version)
    _limits(snap, settings)
    _sessions(snap, rows)
    snap.database_sessions = {k: int(v) for k, v in sessions.items()}
    return snap


def holds_slot(row: dict[str, Any]) -> bool:
    """Only client backends use connection slots. Another role's session seen without
    pg_read_all_stats has its backend_type hidden: one with a database and a role is taken for a
    client backend, so that used slots are not undercounted."""
    if row["backend_type"] == "client backend":
        return True
    return row["backend_type"] is None and row["datname"] is not None and row["usename"] is not None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _limits(snap: ConnectionSnapshot, settings: dict[str, str]) -> None:
    snap.max_connections = _int(settings.get("max_connections"))
    for name, key in RESERVED_SETTINGS.items():
        value = _int(settings.get(name))
        if value is not None:
            snap.reserved[key] = value
    if snap.max_connections is not None:
        snap.usable = max(0, snap.max_connections - sum(snap.reserved.values()))
    for name in GUARDS:
        if name in settings:
            snap.guards[name] = _guard_value(settings[name])


def _guard_value(setting: str) -> str:
    """A timeout as PostgreSQL shows it ("10min", "0"), from pg_settings' milliseconds. The
    settings source gives the server's value, not the one pgqa's own session runs with."""
    value = _int(setting)
    if value is None:
        return setting
    for size, suffix in ((3_600_000, "h"), (60_000, "min"), (1000, "s")):
        if value and value % size == 0:
            return f"{value // size}{suffix}"
    return f"{value}ms" if value else "0"


def _sessions(snap: ConnectionSnapshot, rows: list[dict[str, Any]]) -> None:
    by_state: Counter[str] = Counter()
    idle_age = dict.fromkeys(IDLE_BUCKETS, 0)
    groups: dict[tuple[Any, ...], ConnectionGroup] = {}
    oldest_xact: float | None = None
    longest: dict[str, Any] | None = None
    for r in rows:
        state = r["state"] or "unknown"  # NULL: starting up, or another role's row without pg_read_all_stats
        by_state[state] += 1
        key = (r["datname"], r["usename"], r["application_name"], r["client_addr"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = ConnectionGroup(*key)
        g.count += 1
        g.by_state[state] = g.by_state.get(state, 0) + 1
        started = _iso(r["backend_start"])
        if started and (g.oldest_backend_start is None or started < g.oldest_backend_start):
            g.oldest_backend_start = started
        age = float(r["state_age_s"] or 0.0)
        if state in IDLE_STATES:
            g.max_idle_s = max(g.max_idle_s, round(age, 3))
            idle_age[_bucket(age)] += 1
            if age >= 60:
                g.idle_over_1m += 1
        if state in IN_XACT_STATES:
            g.max_idle_in_xact_s = max(g.max_idle_in_xact_s, round(age, 3))
        if r["is_self"]:
            snap.pgqa_pid = r["pid"]
            snap.own_connections += 1
            continue  # pgqa's own query is always running and its transactions are instant
        if r["xact_age_s"] is not None:
            oldest_xact = max(oldest_xact or 0.0, float(r["xact_age_s"]))
        if r["wait_event_type"] == "Lock":
            snap.waiting += 1
        if r["blocking_pids"]:
            snap.blocked.append({"pid": r["pid"], "blocked_by": sorted(r["blocking_pids"])})
        if state == "active" and r["query_age_s"] is not None and (
                longest is None or r["query_age_s"] > longest["duration_s"]):
            longest = {"pid": r["pid"], "duration_s": round(float(r["query_age_s"]), 3),
                       "database": r["datname"], "user": r["usename"],
                       "application_name": r["application_name"],
                       "wait_event_type": r["wait_event_type"], "wait_event": r["wait_event"],
                       "query": redact(r["query"] or "")}
    hidden = sum(1 for r in rows if r["backend_type"] is None)
    if hidden:
        snap.notes.append(
            f"{hidden} sessions of other roles are counted with state unknown: pgqa's role cannot read "
            "their details (GRANT pg_read_all_stats, or pg_monitor, to it)")
    snap.used = len(rows)
    if snap.usable:
        snap.used_pct = round(100.0 * snap.used / snap.usable, 1)
    snap.by_state = dict(sorted(by_state.items()))
    snap.idle_age = idle_age
    snap.groups = sorted(groups.values(), key=lambda g: (-g.count, *(str(v) for v in _group_key(g))))
    snap.oldest_xact_age_s = round(oldest_xact, 3) if oldest_xact is not None else None
    snap.longest_active = longest


def _bucket(age_s: float) -> str:
    if age_s < 60:
        return "lt_1m"
    if age_s < 300:
        return "1m_5m"
    if age_s < 3600:
        return "5m_1h"
    return "gt_1h"


def _group_key(g: ConnectionGroup) -> tuple[Any, ...]:
    return (g.database, g.user, g.application_name, g.client_addr)


def group_label(g: ConnectionGroup | dict[str, Any]) -> str:
    """database/user/application@address, the stable subject of a group's findings."""
    d = g if isinstance(g, dict) else g.__dict__
    return (f"{d.get('database') or '-'}/{d.get('user') or '-'}/"
            f"{d.get('application_name') or '-'}@{d.get('client_addr') or 'local'}")


def from_dict(d: dict[str, Any]) -> ConnectionSnapshot:
    """A snapshot back from its JSON form (the store, a saved report); unknown keys are ignored."""
    fields = ConnectionSnapshot.__dataclass_fields__
    group_fields = ConnectionGroup.__dataclass_fields__
    snap = ConnectionSnapshot(**{k: v for k, v in d.items() if k in fields and k != "groups"})
    snap.groups = [ConnectionGroup(**{k: v for k, v in g.items() if k in group_fields})
                   for g in d.get("groups") or []]
    return snap
