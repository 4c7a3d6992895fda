"""The one connection to the analyzed server: a safe session, its version and capabilities.

pgqa diagnoses connection-slot exhaustion, so it must never add to it: one connection per run,
named `pgqa`, with statement, lock and idle-in-transaction timeouts, read-only by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg.rows import dict_row

from analyzer import sqlfiles
from analyzer.errors import TargetError
from analyzer.model import TargetInfo

APPLICATION_NAME = "pgqa"
_SQLSTATE_RE = re.compile(r"\b(SQLSTATE|sqlstate)\s*[:=]?\s*([0-9A-Z]{5})\b")


@dataclass
class SessionSettings:
    statement_timeout_s: float = 5.0
    lock_timeout_s: float = 1.0
    idle_in_transaction_timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    read_only: bool = True


def safe_dsn(dsn: str | None) -> str:
    """The DSN without its password, for messages and reports."""
    if not dsn:
        return "(libpq environment)"
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparseable DSN)"
    params.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in params.items() if v is not None)


def _session_options(s: SessionSettings) -> str:
    opts = {
        "statement_timeout": f"{int(s.statement_timeout_s * 1000)}",
        "lock_timeout": f"{int(s.lock_timeout_s * 1000)}",
        "idle_in_transaction_session_timeout": f"{int(s.idle_in_transaction_timeout_s * 1000)}",
        "default_transaction_read_only": "on" if s.read_only else "off",
    }
    return " ".join(f"-c {k}={v}" for k, v in opts.items())


def describe_connect_error(exc: psycopg.Error, dsn: str | None) -> TargetError:
    """One line naming the cause, with the SQLSTATE where the server sent one."""
    raw = str(exc).strip()
    sqlstate = getattr(exc, "sqlstate", None)
    if not sqlstate:
        m = _SQLSTATE_RE.search(raw)
        sqlstate = m.group(2) if m else None
    # libpq reports several attempts (IPv6, IPv4...) on separate lines; the last FATAL is the cause.
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    fatal = [ln for ln in lines if "FATAL:" in ln]
    detail = (fatal[-1] if fatal else lines[-1] if lines else type(exc).__name__)
    detail = re.sub(r"^.*?FATAL:\s*", "", detail)
    low = raw.lower()
    if "too many clients" in low or "remaining connection slots are reserved" in low or \
            "too many connections for" in low:
        sqlstate = sqlstate or "53300"
        hint = "the server is out of connection slots"
    elif "password authentication failed" in low or "no password supplied" in low:
        sqlstate = sqlstate or "28P01"
        hint = "check the user and password (PGPASSWORD, ~/.pgpass)"
    elif "does not exist" in low and "database" in low:
        sqlstate = sqlstate or "3D000"
        hint = "check the database name"
    elif "connection refused" in low:
        hint = "is the server running and accepting TCP connections on that host and port?"
    elif "timeout expired" in low or "timed out" in low:
        hint = "the server did not answer in time"
    elif "could not translate host name" in low:
        hint = "check the host name"
    else:
        hint = ""
    code = f" (SQLSTATE {sqlstate})" if sqlstate else ""
    tail = f"; {hint}" if hint else ""
    return TargetError(f"cannot connect to {safe_dsn(dsn)}: {detail}{code}{tail}", sqlstate)


class Target:
    """The analyzer's single session. Use `with Target.connect(...) as t:`."""

    def __init__(self, conn: psycopg.Connection[Any], dsn: str | None) -> None:
        self.conn = conn
        self.dsn = dsn
        self.queries_sent = 0
        self.info = self._describe()

    @classmethod
    @contextmanager
    def connect(cls, dsn: str | None = None, settings: SessionSettings | None = None,
                **overrides: str) -> Iterator[Target]:
        s = settings or SessionSettings()
        kwargs: dict[str, Any] = {
            "application_name": APPLICATION_NAME,
            "options": _session_options(s),
            "connect_timeout": str(int(max(1, s.connect_timeout_s))),
            **overrides,
        }
        try:
            conn = psycopg.connect(dsn or "", autocommit=True, row_factory=dict_row, **kwargs)
        except psycopg.Error as e:
            raise describe_connect_error(e, dsn) from None
        try:
            yield cls(conn, dsn)
        finally:
            conn.close()

    # -- running the analyzer's own SQL -------------------------------------------------------

    def run(self, sql: str | psycopg.sql.Composable, params: Sequence[Any] | Mapping[str, Any] | None = None
            ) -> list[dict[str, Any]]:
        self.queries_sent += 1
        try:
            cur = self.conn.execute(sql, params)  # type: ignore[arg-type]
        except psycopg.OperationalError as e:
            if self.conn.closed:
                raise TargetError(f"lost the connection to the server: {str(e).strip()}",
                                  getattr(e, "sqlstate", None)) from None
            raise
        return list(cur.fetchall()) if cur.description else []

    def query(self, question: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
              version: str | int | tuple[int, ...] | None = None) -> list[dict[str, Any]]:
        """Run queries/<question>.sql, the variant picked by `version` (default: server major)."""
        text = sqlfiles.load(question, version if version is not None else self.major)
        return self.run(text, params)

    @property
    def major(self) -> int:
        return self.info.server_version_num // 10000

    def extension_version(self, name: str) -> str | None:
        return self.info.extensions.get(name)

    def setting(self, name: str) -> str | None:
        rows = self.run("SELECT current_setting(%s, true) AS v", [name])
        return rows[0]["v"] if rows else None

    def _describe(self) -> TargetInfo:
        rows = self.query("target_info", version=sqlfiles.parse_version(
            self.conn.info.parameter_status("server_version") or "0"))
        row = rows[0]
        exts = {r["extname"]: r["extversion"] for r in self.query("extensions", version=0)}
        host = self.conn.info.host or ""
        return TargetInfo(
            server_version=str(row["server_version"]).split()[0],
            server_version_num=int(row["server_version_num"]),
            database=row["database"],
            host=host,
            user=row["current_user"],
            extensions=exts,
            pgss_preloaded="pg_stat_statements" in (row["preload"] or ""),
            can_read_all_stats=bool(row["can_read_all_stats"]),
            is_rds=bool(row["is_rds"]),
        )


@dataclass
class Capabilities:
    """What the target lets pgqa do, with the command that enables what is missing."""

    statements: bool = False
    statements_hint: str = ""
    hypopg: bool = False
    hypopg_hint: str = ""
    notes: list[str] = field(default_factory=list)


def capabilities(info: TargetInfo) -> Capabilities:
    c = Capabilities()
    if "pg_stat_statements" in info.extensions and info.pgss_preloaded:
        c.statements = True
    elif not info.pgss_preloaded:
        c.statements_hint = (
            "pg_stat_statements is not in shared_preload_libraries: add it "
            "(ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; on RDS set it in the "
            "DB parameter group), restart the server, then run CREATE EXTENSION pg_stat_statements;"
        )
    else:
        c.statements_hint = (
            f"pg_stat_statements is preloaded but not created in database {info.database}: "
            "run CREATE EXTENSION pg_stat_statements;"
        )
    if "hypopg" in info.extensions:
        c.hypopg = True
    else:
        c.hypopg_hint = (
            "hypopg is not installed in this database: on Debian/Ubuntu apt-get install "
            "postgresql-NN-hypopg, then (on RDS too) CREATE EXTENSION hypopg;"
        )
    if not info.can_read_all_stats:
        c.notes.append(
            f"role {info.user} cannot read other roles' statistics (texts show <insufficient "
            f"privilege>): GRANT pg_read_all_stats TO {info.user};"
        )
    return c
