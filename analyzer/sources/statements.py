"""pg_stat_statements: the top statements of the analyzed database, in one query.

The SQL is queries/statements/<extension version>.sql, picked by the version of the extension
installed in the database (its view's columns follow the extension, not the server). Every variant
returns the same columns, so one mapping turns a row into a `Statement`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from analyzer import sqlfiles
from analyzer.model import Report, Statement
from analyzer.target import OWN_MARKER, Target, capabilities, quote_ident

SOURCE = "pg_stat_statements"
QUESTION = "statements"
HIDDEN_TEXT = "<insufficient privilege>"
OLDEST = "1.8"

# Row columns that go into Statement.extra when the variant has them (None values are left out).
_EXTRA = ("userid", "dbid", "min_ms", "max_ms", "stddev_ms", "shared_blks_dirtied", "shared_blks_written",
          "blk_read_ms", "blk_write_ms", "wal_records", "plans", "jit_ms", "stats_since",
          "wal_buffers_full", "parallel_workers_to_launch", "parallel_workers_launched")


def query_text(extension_version: str) -> str:
    """The SQL variant for an installed extension version (LookupError below 1.8)."""
    return sqlfiles.load(QUESTION, extension_version)


def _options(options: Any) -> tuple[int, int]:
    top = int(getattr(options, "top", 50) or 50)
    min_calls = int(getattr(options, "min_calls", 1) or 0)
    return max(1, top), max(0, min_calls)


def fetch(target: Target, top: int = 50, min_calls: int = 1) -> list[dict[str, Any]]:
    """The raw rows of the variant for the installed extension (psycopg errors pass through)."""
    version = target.extension_version("pg_stat_statements") or OLDEST
    return target.query(
        QUESTION,
        {"own_marker": OWN_MARKER, "min_calls": min_calls, "top": top},
        version=version,
        identifiers={
            "pgss": target.relation("pg_stat_statements", "pg_stat_statements"),
            "pgss_info": target.relation("pg_stat_statements", "pg_stat_statements_info"),
        },
    )


def to_statement(row: dict[str, Any]) -> Statement:
    hidden = row["query"] == HIDDEN_TEXT
    extra: dict[str, Any] = {}
    for key in _EXTRA:
        value = row.get(key)
        if value is not None:
            extra[key] = value.isoformat() if hasattr(value, "isoformat") else value
    if hidden:
        extra["hidden_text"] = True
    return Statement(
        text=row["query"] or "",
        source=SOURCE,
        queryid=row["queryid"],
        calls=int(row["calls"]),
        total_ms=float(row["total_ms"]),
        mean_ms=float(row["mean_ms"]),
        rows=int(row["rows"]),
        shared_blks_hit=int(row["shared_blks_hit"]),
        shared_blks_read=int(row["shared_blks_read"]),
        temp_blks_read=int(row["temp_blks_read"]),
        temp_blks_written=int(row["temp_blks_written"]),
        wal_bytes=int(row["wal_bytes"] or 0),
        plan_ms=None if row["plan_ms"] is None else float(row["plan_ms"]),
        user=row["user"],
        database=row["database"],
        toplevel=row["toplevel"],
        has_stats=True,
        extra=extra,
    )


def _error_detail(e: psycopg.Error, target: Target) -> tuple[str, str]:
    """(status, detail) for a failed read, with what to do about it."""
    state = getattr(e, "sqlstate", None) or ""
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    if state == "55000" or "shared_preload_libraries" in first:
        hint = capabilities(target.info).statements_hint or (
            "add pg_stat_statements to shared_preload_libraries and restart the server")
        return "skipped", f"{first}: {hint}"
    if state == "42501":
        user = quote_ident(target.info.user)
        return "skipped", (f"{first}: GRANT SELECT ON pg_stat_statements TO {user}; or "
                           f"GRANT pg_read_all_stats TO {user};")
    if state == "57014":
        return "error", (f"reading pg_stat_statements took longer than statement_timeout: "
                         f"raise --statement-timeout or lower --top ({first})")
    return "error", f"{first} (SQLSTATE {state})" if state else first


def _detail(version: str, rows: list[dict[str, Any]], statements: list[Statement], database: str,
            user: str, min_calls: int) -> str:
    head = rows[0] if rows else {}
    matched = int(head.get("matched") or 0)
    # What the user must act on comes first: a narrow terminal cuts the tail of this line.
    actions: list[str] = []
    hidden = int(head.get("hidden") or 0)
    if hidden:
        actions.append(f"{hidden} texts hidden as {HIDDEN_TEXT} (statements of other roles): "
                       f"GRANT pg_read_all_stats TO {quote_ident(user)};")
    dealloc = int(head.get("dealloc") or 0)
    if dealloc:
        actions.append(f"{dealloc} entries evicted since the last reset: raise pg_stat_statements.max")
    parts = [f"extension {version}: {len(statements)} of {matched} statements in database {database}"
             + (f" with at least {min_calls} calls" if min_calls > 1 else "")
             + ", top by total execution time"]
    others = int(head.get("other_databases") or 0)
    if others:
        parts.append(f"{others} more in other databases (connect to them with --dsn to analyze those)")
    if head.get("stats_reset") is not None:
        parts.append(f"counters since {head['stats_reset'].isoformat(timespec='seconds')}")
    return "; ".join(actions + parts)


def collect_into(report: Report, target: Target, options: Any) -> list[Statement]:
    """The top statements by total execution time; appends the source status to the report.
    A missing or unloaded extension is 'skipped' with the command that enables it."""
    caps = capabilities(target.info)
    if not caps.statements:
        report.source(SOURCE, "skipped", caps.statements_hint)
        return []
    version = target.extension_version("pg_stat_statements") or OLDEST
    if sqlfiles.parse_version(version) < sqlfiles.parse_version(OLDEST):
        report.source(SOURCE, "skipped", f"pg_stat_statements {version} is older than {OLDEST}: "
                      "run ALTER EXTENSION pg_stat_statements UPDATE;")
        return []
    top, min_calls = _options(options)
    try:
        rows = fetch(target, top, min_calls)
    except psycopg.Error as e:
        status, detail = _error_detail(e, target)
        report.source(SOURCE, status, detail)
        return []
    statements = [to_statement(r) for r in rows if r.get("calls") is not None]
    for rank, s in enumerate(statements):
        s.index = rank
    report.source(SOURCE, "ok", _detail(version, rows, statements, target.info.database,
                                        target.info.user, min_calls))
    return statements
