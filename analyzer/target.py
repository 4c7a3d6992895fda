"""The one connection to the analyzed server: a safe session, its version and capabilities.

pgqa diagnoses connection-slot exhaustion, so it must never add to it: one connection per run,
named `pgqa`, with statement, lock and idle-in-transaction timeouts, read-only by default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.sql
from psycopg import conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from analyzer import sqlfiles
from analyzer.errors import TargetError, UsageError
from analyzer.model import TargetInfo

APPLICATION_NAME = "pgqa"
MIN_SERVER_MAJOR = 13
# Every statement pgqa sends starts with this comment. pg_stat_statements keeps leading comments,
# so the statements collector can leave pgqa's own work (catalog reads, EXPLAINs) out of the top.
OWN_MARKER = "/* pgqa */"
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


def _ms(seconds: float) -> str:
    return str(max(1, int(seconds * 1000)))


def _session_options(s: SessionSettings) -> str:
    """Sent with the startup packet, in force before the first statement. The timeouts follow
    right after target_info has read the server's own values of them (the connections report
    needs those, and a session value would hide them); target_info takes no locks and is quick."""
    opts = {
        "default_transaction_read_only": "on" if s.read_only else "off",
    }
    return " ".join(f"-c {k}={v}" for k, v in opts.items())


def _known_passwords(dsn: str | None) -> list[str]:
    found = [os.environ.get("PGPASSWORD", "")]
    if dsn:
        try:
            found.append(conninfo.conninfo_to_dict(dsn).get("password") or "")
        except psycopg.ProgrammingError:
            pass
    return [p for p in found if p]


def scrub(text: str, dsn: str | None) -> str:
    """A message without any password pgqa knows of (libpq quotes pieces of a bad DSN)."""
    for pw in _known_passwords(dsn):
        text = text.replace(pw, "***")
    return text


def describe_connect_error(exc: psycopg.Error, dsn: str | None) -> TargetError:
    """One line naming the cause, with the SQLSTATE where the server sent one."""
    raw = scrub(str(exc).strip(), dsn)
    sqlstate = getattr(exc, "sqlstate", None)
    if not sqlstate:
        m = _SQLSTATE_RE.search(raw)
        sqlstate = m.group(2) if m else None
    # libpq reports several attempts (IPv6, IPv4...) on separate lines; the last FATAL is the cause.
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    fatal = [ln for ln in lines if "FATAL:" in ln]
    failed = [ln for ln in lines if "failed:" in ln]
    if fatal:
        detail = re.sub(r"^.*?FATAL:\s*", "", fatal[-1])
    elif failed:  # 'connection to server at "h", port 5432 failed: Connection refused'
        detail = re.sub(r"^.*failed:\s*", "", failed[-1]) or failed[-1]
    else:
        detail = lines[0] if lines else type(exc).__name__
    low = raw.lower()
    if "too many clients" in low or "remaining connection slots are reserved" in low or \
            "too many connections for" in low:
        sqlstate = sqlstate or "53300"
        hint = ("the server is out of connection slots for this role; pgqa needs one: retry when "
                "slots free up, or connect as a role allowed to use the reserved ones")
    elif "password authentication failed" in low or "no password supplied" in low:
        sqlstate = sqlstate or "28P01"
        hint = "check the user and password (PGPASSWORD, ~/.pgpass)"
    elif "does not exist" in low and "database" in low:
        sqlstate = sqlstate or "3D000"
        hint = "check the database name"
    elif "role" in low and "does not exist" in low:
        sqlstate = sqlstate or "28000"
        hint = "check the user name"
    elif "no pg_hba.conf entry" in low or "pg_hba.conf rejects" in low:
        sqlstate = sqlstate or "28000"
        hint = "the server's pg_hba.conf does not let this user connect from here"
    elif "is not permitted to log in" in low:
        sqlstate = sqlstate or "28000"
        hint = "the role lacks LOGIN"
    elif "permission denied for database" in low:
        sqlstate = sqlstate or "42501"
        hint = "the role lacks CONNECT on that database"
    elif "the database system is starting up" in low or "shutting down" in low:
        sqlstate = sqlstate or "57P03"
        hint = "the server is not accepting connections right now"
    elif "connection refused" in low:
        hint = "is the server running and accepting TCP connections on that host and port?"
    elif "timeout expired" in low or "timed out" in low:
        hint = "the server did not answer in time"
    elif "could not translate host name" in low or "failed to resolve host" in low:
        hint = "check the host name"
    else:
        hint = ""
    code = f" (SQLSTATE {sqlstate})" if sqlstate else ""
    tail = f"; {hint}" if hint else ""
    return TargetError(f"cannot connect to {safe_dsn(dsn)}: {detail}{code}{tail}", sqlstate)


class Target:
    """The analyzer's single session. Use `with Target.connect(...) as t:`."""

    def __init__(self, conn: psycopg.Connection[Any], dsn: str | None,
                 settings: SessionSettings | None = None) -> None:
        self.conn = conn
        self.dsn = dsn
        self.queries_sent = 0
        self._savepoints = 0
        # name -> schema of every extension installed in the database
        self.extension_schemas: dict[str, str] = {}
        # The server's values (pg_settings.setting) of the settings pgqa overrides in its session.
        self.server_settings: dict[str, str] = {}
        self.info = self._describe()
        self._apply_session(settings or SessionSettings())

    @classmethod
    @contextmanager
    def connect(cls, dsn: str | None = None, settings: SessionSettings | None = None,
                **overrides: str) -> Iterator[Target]:
        s = settings or SessionSettings()
        given: dict[str, Any] = {}
        if dsn:
            try:
                given = conninfo.conninfo_to_dict(dsn)
            except psycopg.ProgrammingError as e:
                reason = re.sub(r'"[^"]*"', '"…"', str(e).strip().splitlines()[0])
                raise UsageError(f"cannot parse --dsn: {reason}; give key=value pairs or a "
                                 "postgresql:// URI") from None
        # The user's own options (search_path...) stay; pgqa's come last and win.
        user_options = str(given.get("options") or os.environ.get("PGOPTIONS", "")).strip()
        kwargs: dict[str, Any] = {
            "application_name": APPLICATION_NAME,
            "options": f"{user_options} {_session_options(s)}".strip(),
            "connect_timeout": str(given.get("connect_timeout") or os.environ.get("PGCONNECT_TIMEOUT")
                                   or int(max(1, s.connect_timeout_s))),
            **overrides,
        }
        try:
            conn = psycopg.connect(dsn or "", autocommit=True, row_factory=dict_row, **kwargs)
        except psycopg.Error as e:
            raise describe_connect_error(e, dsn) from None
        # No automatic server-side prepares: psycopg would answer a ROLLBACK with DEALLOCATE ALL,
        # dropping the advisor's own prepared statements, and it adds entries the user never wrote.
        conn.prepare_threshold = None
        try:
            target = cls(conn, dsn, s)
        except psycopg.Error as e:
            conn.close()
            raise TargetError(f"connected to {safe_dsn(dsn)} but could not read the server's version "
                              f"and extensions: {scrub(str(e).strip().splitlines()[0], dsn)}",
                              getattr(e, "sqlstate", None)) from None
        except BaseException:
            conn.close()
            raise
        try:
            yield target
        finally:
            conn.close()

    # -- running the analyzer's own SQL -------------------------------------------------------

    def run(self, sql: str | psycopg.sql.Composable, params: Sequence[Any] | Mapping[str, Any] | None = None
            ) -> list[dict[str, Any]]:
        """Send one statement, marked as pgqa's own (see OWN_MARKER), and return its rows. Send
        one statement per call: in a string of several only the first carries the marker."""
        self.queries_sent += 1
        marked: str | psycopg.sql.Composable
        if isinstance(sql, str):
            marked = sql if sql.startswith(OWN_MARKER) else f"{OWN_MARKER} {sql}"
        else:
            marked = psycopg.sql.Composed([psycopg.sql.SQL(OWN_MARKER + " "), sql])
        try:
            cur = self.conn.execute(marked, params)  # type: ignore[arg-type]
        except psycopg.OperationalError as e:
            if self.conn.closed:
                raise TargetError(f"lost the connection to the server: {str(e).strip()}",
                                  getattr(e, "sqlstate", None)) from None
            raise
        return list(cur.fetchall()) if cur.description else []

    def query(self, question: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
              version: str | int | tuple[int, ...] | None = None,
              identifiers: Mapping[str, psycopg.sql.Composable] | None = None) -> list[dict[str, Any]]:
        """Run queries/<question>.sql, the variant picked by `version` (default: server major).
        `identifiers` fill `{name}` slots of the file (e.g. a schema-qualified view) through
        psycopg.sql, never by pasting strings."""
        text = sqlfiles.load(question, version if version is not None else self.major)
        if identifiers:
            return self.run(psycopg.sql.SQL(text).format(**identifiers), params)  # type: ignore[arg-type]
        return self.run(text, params)

    @contextmanager
    def transaction(self, force_rollback: bool = False) -> Iterator[None]:
        """A transaction (a savepoint when one is open) whose BEGIN / COMMIT / ROLLBACK carry pgqa's
        marker. Use it instead of `conn.transaction()`: psycopg's own BEGIN and ROLLBACK are
        unmarked and would count as the workload's in pg_stat_statements on the next run."""
        nested = self.conn.info.transaction_status != TransactionStatus.IDLE
        self._savepoints += 1
        name = psycopg.sql.Identifier(f"pgqa_{self._savepoints}")
        if nested:
            begin = [psycopg.sql.SQL("SAVEPOINT {}").format(name)]
            undo = [psycopg.sql.SQL("ROLLBACK TO SAVEPOINT {}").format(name),
                    psycopg.sql.SQL("RELEASE SAVEPOINT {}").format(name)]
            done = [psycopg.sql.SQL("RELEASE SAVEPOINT {}").format(name)]
        else:
            begin, undo, done = [psycopg.sql.SQL("BEGIN")], [psycopg.sql.SQL("ROLLBACK")], \
                [psycopg.sql.SQL("COMMIT")]
        # One statement per round trip: pg_stat_statements keeps each statement of a string apart,
        # and only the first would carry the marker.
        for stmt in begin:
            self.run(stmt)
        try:
            yield
        except BaseException:
            if not self.conn.closed:
                for stmt in undo:
                    self.run(stmt)
            raise
        for stmt in undo if force_rollback else done:
            self.run(stmt)

    def relation(self, extension: str, name: str) -> psycopg.sql.Identifier:
        """A view or function of an extension, qualified with the schema it was installed in."""
        schema = self.extension_schemas.get(extension)
        return psycopg.sql.Identifier(schema, name) if schema else psycopg.sql.Identifier(name)

    def _apply_session(self, s: SessionSettings) -> None:
        self.query("session_settings", {
            "statement_timeout": _ms(s.statement_timeout_s),
            "lock_timeout": _ms(s.lock_timeout_s),
            "idle_in_transaction_session_timeout": _ms(s.idle_in_transaction_timeout_s),
        })

    @property
    def major(self) -> int:
        return self.info.server_version_num // 10000

    def extension_version(self, name: str) -> str | None:
        return self.info.extensions.get(name)

    def setting(self, name: str) -> str | None:
        rows = self.run("SELECT current_setting(%s, true) AS v", [name])
        return rows[0]["v"] if rows else None

    def _describe(self) -> TargetInfo:
        version = self.conn.info.parameter_status("server_version") or "0"
        if sqlfiles.parse_version(version) < (MIN_SERVER_MAJOR,):
            raise TargetError(f"{safe_dsn(self.dsn)} runs PostgreSQL {version.split()[0]}; pgqa needs "
                              f"{MIN_SERVER_MAJOR} or newer (pg_stat_statements 1.8)")
        rows = self.query("target_info", version=sqlfiles.parse_version(version))
        row = rows[0]
        ext_rows = self.query("extensions", version=0)
        exts = {r["extname"]: r["extversion"] for r in ext_rows}
        self.extension_schemas = {r["extname"]: r["schema"] for r in ext_rows}
        self.server_settings = {k: str(v) for k, v in (row["server_settings"] or {}).items()}
        host = self.conn.info.host or ""
        preload = row["preload"]
        preloaded = ("pg_stat_statements" in preload) if preload is not None else bool(row["pgss_guc"])
        return TargetInfo(
            server_version=str(row["server_version"]).split()[0],
            server_version_num=int(row["server_version_num"]),
            database=row["database"],
            host=host,
            user=row["current_user"],
            extensions=exts,
            pgss_preloaded=preloaded,
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


def quote_ident(name: str) -> str:
    """An identifier as the user would type it in the commands pgqa prints."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def capabilities(info: TargetInfo) -> Capabilities:
    c = Capabilities()
    created = "pg_stat_statements" in info.extensions
    create = "CREATE EXTENSION pg_stat_statements;"
    preload = (
        "add pg_stat_statements to shared_preload_libraries (keep the libraries already listed; "
        "on RDS in the DB parameter group, elsewhere ALTER SYSTEM SET shared_preload_libraries = "
        "'pg_stat_statements') and restart the server"
    )
    if created and info.pgss_preloaded:
        c.statements = True
    elif not info.pgss_preloaded and not created:
        c.statements_hint = (
            f"pg_stat_statements is not loaded: {preload}, then run {create} "
            f"in database {info.database}"
        )
    elif not info.pgss_preloaded:
        c.statements_hint = f"pg_stat_statements is created but not loaded: {preload}"
    else:
        c.statements_hint = (
            f"pg_stat_statements is loaded but not created in database {info.database}: run {create}"
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
            f"privilege>): GRANT pg_read_all_stats TO {quote_ident(info.user)};"
        )
    return c
