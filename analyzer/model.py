"""The model every stage shares: plain dataclasses, no behaviour beyond small derived values.

The JSON report (`pgqa.report/1`, see docs/report-schema.json) is rendered from these by
analyzer.report.json; field names here follow the JSON keys where they exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analyzer.sql.shape import QueryShape

SCHEMA = "pgqa.report/1"

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    """0 for info up to 4 for critical; unknown severities rank as info."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return 0


def finding_id(rule: str, fingerprint: str | None, key: str = "") -> str:
    """Stable across runs for the same rule and statement (or subject key), so a ticket can be
    found again. Never derived from positions, times or counts."""
    raw = f"{rule}\0{fingerprint or ''}\0{key}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass
class SourceStatus:
    name: str
    status: str  # ok | skipped | error
    detail: str = ""


@dataclass
class TargetInfo:
    server_version: str = ""
    server_version_num: int = 0
    database: str = ""
    host: str = ""
    user: str = ""
    extensions: dict[str, str] = field(default_factory=dict)  # name -> installed version
    pgss_preloaded: bool = False
    can_read_all_stats: bool = False
    is_rds: bool = False


@dataclass
class Statement:
    """One normalized statement of the workload with its cumulative counters."""

    text: str
    source: str = "pg_stat_statements"  # pg_stat_statements | pg_stat_activity | performance_insights | file
    fingerprint: str = ""
    queryid: str | None = None
    index: int = 0  # input position for lint, rank for analyze
    calls: int = 0
    total_ms: float = 0.0
    mean_ms: float = 0.0
    rows: int = 0
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    temp_blks_read: int = 0
    temp_blks_written: int = 0
    wal_bytes: int = 0
    plan_ms: float | None = None
    user: str | None = None
    database: str | None = None
    toplevel: bool | None = None
    truncated: bool = False  # the text was cut at the source's limit
    has_stats: bool = True  # False for texts from files, where counters mean nothing
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. PI load, wait profile
    shape: QueryShape | None = field(default=None, repr=False, compare=False)

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0


@dataclass
class Finding:
    rule: str
    severity: str
    title: str
    message: str
    recommendation: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    suggested_sql: str | None = None
    statement_index: int | None = None
    fingerprint: str | None = None
    key: str = ""  # subject of a finding without a statement (a connection group, a function)
    id: str = ""
    status: str | None = None  # against a baseline report: new | persisting (None without one)
    first_seen: str | None = None  # generated_at of the first report that had this finding

    def __post_init__(self) -> None:
        if not self.id:
            self.id = finding_id(self.rule, self.fingerprint, self.key)


@dataclass
class StatementCost:
    fingerprint: str
    cost_before: float
    cost_after: float


@dataclass
class IndexSuggestion:
    table: str  # schema.table
    columns: list[str]
    ddl: str
    include: list[str] = field(default_factory=list)
    where: str | None = None
    cost_before: float = 0.0
    cost_after: float = 0.0
    workload_improvement_pct: float = 0.0
    size_bytes: int = 0
    statements: list[str] = field(default_factory=list)  # fingerprints
    per_statement: list[StatementCost] = field(default_factory=list)
    verified_with: str = "hypopg"  # hypopg | heuristic | real
    notes: list[str] = field(default_factory=list)


@dataclass
class ConnectionGroup:
    database: str | None
    user: str | None
    application_name: str | None
    client_addr: str | None
    count: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    oldest_backend_start: str | None = None
    max_idle_s: float = 0.0
    # connections issue: idle sessions idle for over a minute; longest idle-in-transaction time
    idle_over_1m: int = 0
    max_idle_in_xact_s: float = 0.0


@dataclass
class ConnectionSnapshot:
    taken_at: str
    status: str = "ok"  # ok | refused | timeout | error
    error: str | None = None
    instance: str = ""
    max_connections: int | None = None
    reserved: dict[str, int] = field(default_factory=dict)
    usable: int | None = None
    used: int | None = None
    used_pct: float | None = None
    by_state: dict[str, int] = field(default_factory=dict)
    groups: list[ConnectionGroup] = field(default_factory=list)
    idle_age: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    blocked: list[dict[str, Any]] = field(default_factory=list)
    oldest_xact_age_s: float | None = None
    longest_active: dict[str, Any] | None = None
    database_sessions: dict[str, Any] = field(default_factory=dict)  # pg_stat_database counters
    guards: dict[str, str] = field(default_factory=dict)  # idle_session_timeout and friends
    # connections issue: pgqa's own backend holds a slot too; it is counted in used/by_state/groups
    pgqa_pid: int | None = None
    own_connections: int = 0
    captured_via: str | None = None  # "reserved-dsn" when the normal DSN was refused
    server_version: str = ""
    notes: list[str] = field(default_factory=list)  # what limited the snapshot (privileges...)


@dataclass
class Report:
    generated_at: str
    pgqa_version: str
    target: TargetInfo | None = None
    sources: list[SourceStatus] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    index_suggestions: list[IndexSuggestion] = field(default_factory=list)
    connections: ConnectionSnapshot | None = None
    connections_history: dict[str, Any] | None = None
    # Statements the checks passed over, with the reason (utility, parse error, not explainable...)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # Per expensive statement without an index suggestion: why not
    advice_notes: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Against a baseline (--baseline OLD.json): which report, and the old findings now gone
    baseline: dict[str, Any] | None = None
    resolved_findings: list[dict[str, Any]] = field(default_factory=list)

    def source(self, name: str, status: str, detail: str = "") -> None:
        self.sources.append(SourceStatus(name, status, detail))


@dataclass
class Column:
    name: str
    type: str = ""
    not_null: bool = False
    avg_width: int | None = None  # pg_stats, bytes
    n_distinct: float | None = None  # pg_stats: >0 count, <0 fraction of rows
    null_frac: float | None = None
    correlation: float | None = None


@dataclass
class Index:
    name: str
    table: str  # schema.table
    definition: str
    columns: list[str] = field(default_factory=list)  # key columns in order; expressions as text
    include: list[str] = field(default_factory=list)
    unique: bool = False
    primary: bool = False
    valid: bool = True
    partial: bool = False
    method: str = "btree"
    size_bytes: int = 0
    scans: int = 0


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    size_bytes: int = 0
    live_rows: int = 0  # n_live_tup, or reltuples when the table was never vacuumed
    seq_scan: int = 0
    idx_scan: int = 0
    n_tup_ins: int = 0
    n_tup_upd: int = 0
    n_tup_del: int = 0
    primary_key: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass
class Catalog:
    """What the analyzed database holds; key of `tables` is schema.table."""

    tables: dict[str, Table] = field(default_factory=dict)
    search_path: list[str] = field(default_factory=lambda: ["public"])

    def find(self, name: str) -> Table | None:
        """A table by qualified or unqualified name, unqualified ones resolved by search_path."""
        name = name.strip('"')
        if "." in name:
            return self.tables.get(name)
        for schema in self.search_path:
            t = self.tables.get(f"{schema}.{name}")
            if t:
                return t
        return None
