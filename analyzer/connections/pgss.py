"""pg_stat_statements readings for the snapshot store (`pgqa snapshot --statements`).

Cumulative counters keyed by (userid, dbid, queryid, toplevel), with stats_since (PG17,
extension 1.11) and pg_stat_statements_info's dealloc / stats_reset (1.9+), so that a window can
be computed later as deltas that survive resets. Variants are chosen by the extension version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analyzer import sqlfiles
from analyzer.connections.snapshot import now_iso
from analyzer.connections.store import StatementSnapshot
from analyzer.errors import PgqaError
from analyzer.target import OWN_MARKER


class StatementsUnavailable(PgqaError):
    exit_code = 3


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return None if value is None else str(value)


def take(target: Any) -> tuple[StatementSnapshot, dict[str, str]]:
    """One reading: the rows, and the texts by queryid."""
    version = target.extension_version("pg_stat_statements")
    if not version:
        raise StatementsUnavailable(
            f"pg_stat_statements is not installed in database {target.info.database}: run CREATE "
            "EXTENSION pg_stat_statements; (it must also be in shared_preload_libraries)")
    taken_at = now_iso()
    views = {"pgss": target.relation("pg_stat_statements", "pg_stat_statements"),
             "pgss_info": target.relation("pg_stat_statements", "pg_stat_statements_info")}
    rows = target.query("connections/pgss_snapshot", {"own_marker": OWN_MARKER}, version=version,
                        identifiers=views)
    snap = StatementSnapshot(taken_at=taken_at)
    if sqlfiles.parse_version(version) >= (1, 9):
        info = target.query("connections/pgss_info", version=0, identifiers=views)
        if info:
            snap.stats_reset = _iso(info[0]["stats_reset"])
            snap.dealloc = int(info[0]["dealloc"])
    texts: dict[str, str] = {}
    for r in rows:
        texts.setdefault(str(r["queryid"]), r.pop("query") or "")
        r["queryid"] = str(r["queryid"])
        r["stats_since"] = _iso(r["stats_since"])
        r["total_exec_ms"] = float(r.pop("total_exec_time") or 0.0)
        r["total_plan_ms"] = float(r.pop("total_plan_time") or 0.0)
        snap.rows.append(r)
    return snap, texts
