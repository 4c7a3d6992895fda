"""A hand-built Report with every section filled, shared by the report, ticket and redaction
tests, and the schema test over it. The values are made up here, never produced by pgqa."""

from __future__ import annotations

import json

from analyzer.model import (
    ConnectionGroup,
    ConnectionSnapshot,
    Finding,
    IndexSuggestion,
    Report,
    SourceStatus,
    Statement,
    StatementCost,
    TargetInfo,
)

# Values that must never reach an output unless --show-literals is given.
SECRETS = ("alice@example.com", "Alice Smith", "555 0100", "s3cr3t-pw", "bob@example.org")

UNPAGED = (
    "SELECT c.id, c.name, c.email, c.created_at FROM candidates c "
    "WHERE c.status = $1 ORDER BY c.created_at DESC"
)
WIDE = (
    "SELECT c.*, a.*, j.* FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id "
    "LEFT JOIN jobs j ON j.id = a.job_id WHERE c.id = $1"
)
UNION = (
    "SELECT 'applied' AS k, count(*) FROM applications WHERE status = $1 UNION ALL "
    "SELECT 'hired', count(*) FROM applications WHERE status = $2"
)
UPSERT = (
    "INSERT INTO candidates (external_id, name, email) VALUES ($1, $2, $3) "
    "ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email"
)
ACTIVITY = (
    "SELECT * FROM candidates WHERE email = 'alice@example.com' AND name = 'Alice Smith' "
    "AND phone = '+1 555 0100'"
)


def rich_report() -> Report:
    stmts = [
        Statement(
            UNPAGED,
            fingerprint="fp-unpaged",
            queryid="-8812",
            index=0,
            calls=4000,
            total_ms=60000.0,
            mean_ms=15.0,
            rows=40_000_000,
            shared_blks_hit=90000,
            shared_blks_read=1200,
            extra={"db_load": 1.4},
        ),
        Statement(
            WIDE,
            fingerprint="fp-wide",
            queryid="123",
            index=1,
            calls=9000,
            total_ms=25000.0,
            mean_ms=2.78,
            rows=9000,
        ),
        Statement(
            UNION,
            fingerprint="fp-union",
            queryid="456",
            index=2,
            calls=1200,
            total_ms=10000.0,
            mean_ms=8.33,
            rows=2400,
        ),
        Statement(
            UPSERT,
            fingerprint="fp-upsert",
            queryid="789",
            index=3,
            calls=50000,
            total_ms=5000.0,
            mean_ms=0.1,
            rows=50000,
            wal_bytes=9_000_000,
        ),
        Statement(ACTIVITY, source="pg_stat_activity", fingerprint="fp-activity", index=4, has_stats=False),
    ]
    findings = [
        Finding(
            "upsert-without-change-guard",
            "medium",
            "Upsert rewrites rows that did not change",
            "Every conflict updates the row even when nothing changed, writing WAL.",
            recommendation="Add WHERE (t.name, t.email) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email).",
            evidence={"rows_per_call": 1.0, "wal_bytes": 9_000_000},
            suggested_sql=UPSERT + " WHERE (candidates.name, candidates.email) IS DISTINCT FROM "
            "(EXCLUDED.name, EXCLUDED.email)",
            statement_index=3,
            fingerprint="fp-upsert",
        ),
        Finding(
            "wide-select-join",
            "medium",
            "SELECT * across a three-table join",
            "The statement returns every column of three tables.",
            recommendation="List the columns the caller uses.",
            evidence={"stars": ["c", "a", "j"]},
            statement_index=1,
            fingerprint="fp-wide",
        ),
        Finding(
            "unpaged-list",
            "high",
            "List without LIMIT returns 10,000 rows per call",
            "The candidate list is sorted and returned whole on every call.",
            recommendation="Page with keyset pagination: WHERE created_at < $2 ... LIMIT 50.",
            evidence={
                "rows_per_call": 10000.0,
                "order_by": "c.created_at DESC",
                "plan_excerpt": "Sort  (cost=1000.00..1100.00 rows=10000)\n"
                "  ->  Seq Scan on candidates c  (rows=10000)",
            },
            suggested_sql=UNPAGED + " LIMIT 50",
            statement_index=0,
            fingerprint="fp-unpaged",
        ),
        Finding(
            "union-all-aggregates",
            "low",
            "UNION ALL of aggregates over the same table",
            "Two scans of applications where one would do.",
            recommendation="One pass with count(*) FILTER (WHERE ...).",
            suggested_sql="SELECT count(*) FILTER (WHERE status = $1), count(*) FILTER (WHERE status = $2) "
            "FROM applications",
            statement_index=2,
            fingerprint="fp-union",
        ),
        Finding(
            "idle-in-transaction",
            "critical",
            "Sessions idle in transaction hold slots",
            "2 sessions idle in transaction; the last query of the oldest: " + ACTIVITY,
            recommendation="Set idle_in_transaction_session_timeout.",
            evidence={"last_query": ACTIVITY, "client_addr": "10.1.2.3", "count": 2},
            key="app@10.1.2.3",
        ),
        Finding(
            "literal-in-activity",
            "info",
            "Statement with literals seen in pg_stat_activity",
            "Seen while taking the snapshot.",
            evidence={"query": ACTIVITY},
            statement_index=4,
            fingerprint="fp-activity",
        ),
        Finding(
            "connection-guard-missing",
            "low",
            "idle_session_timeout is off",
            "Idle sessions are never closed by the server.",
            key="idle_session_timeout",
        ),
    ]
    return Report(
        generated_at="2026-12-04T14:00:00+00:00",
        pgqa_version="0.1.0",
        target=TargetInfo(
            server_version="17.6",
            server_version_num=170006,
            database="ats",
            host="db-prod-1.internal.example",
            user="dba",
            extensions={"pg_stat_statements": "1.11", "hypopg": "1.4.1"},
            pgss_preloaded=True,
            can_read_all_stats=True,
        ),
        sources=[
            SourceStatus("pg_stat_statements", "ok"),
            SourceStatus("catalog", "ok"),
            SourceStatus("performance_insights", "skipped", "no --pi"),
            SourceStatus(
                "logs", "error", "cannot connect to postgresql://dba:s3cr3t-pw@db-prod-1.internal.example/ats"
            ),
        ],
        statements=stmts,
        findings=findings,
        index_suggestions=[
            IndexSuggestion(
                table="public.candidates",
                columns=["status", "created_at"],
                ddl="CREATE INDEX CONCURRENTLY ON public.candidates (status, created_at DESC)",
                cost_before=12000.0,
                cost_after=800.0,
                workload_improvement_pct=41.5,
                size_bytes=2_400_000,
                statements=["fp-unpaged"],
                per_statement=[StatementCost("fp-unpaged", 12000.0, 800.0)],
            )
        ],
        connections=ConnectionSnapshot(
            taken_at="2026-12-04T14:00:01+00:00",
            max_connections=100,
            reserved={"superuser": 3, "reserved_connections": 0, "rds_superuser": 2},
            usable=95,
            used=72,
            used_pct=75.8,
            by_state={"idle": 60, "active": 10, "idle in transaction": 2},
            groups=[
                ConnectionGroup(
                    "ats",
                    "app",
                    "lambda-candidates",
                    "10.1.2.3",
                    40,
                    {"idle": 38, "active": 2},
                    "2026-12-04T13:00:00+00:00",
                    300.0,
                ),
                ConnectionGroup(
                    "ats",
                    "sync",
                    "kintone-sync",
                    "10.1.2.4",
                    32,
                    {"idle": 22, "active": 8, "idle in transaction": 2},
                ),
            ],
            idle_age={"lt_1m": 10, "1m_5m": 20, "5m_1h": 25, "gt_1h": 5},
            waiting=1,
            blocked=[{"pid": 4242, "blocked_by": [4141]}],
            oldest_xact_age_s=95.0,
            longest_active={"pid": 4141, "duration_s": 31.0, "query": ACTIVITY, "client_addr": "10.1.2.3"},
            guards={"idle_session_timeout": "0", "idle_in_transaction_session_timeout": "0"},
        ),
        connections_history={
            "instance": "db-prod-1.internal.example",
            "snapshots": 3,
            "since": "2026-12-04T12:00:00+00:00",
            "peak": {"taken_at": "2026-12-04T13:00:00+00:00", "used": 93, "used_pct": 97.9},
            "p95_used_pct": 95.0,
            "events": [
                {
                    "taken_at": "2026-12-04T13:01:00+00:00",
                    "status": "refused",
                    "error": "sorry, too many clients already",
                }
            ],
            "series": [
                {"taken_at": "2026-12-04T12:00:00+00:00", "used": 40, "used_pct": 42.1, "usable": 95},
                {"taken_at": "2026-12-04T13:00:00+00:00", "used": 93, "used_pct": 97.9, "usable": 95},
                {"taken_at": "2026-12-04T14:00:00+00:00", "used": 72, "used_pct": 75.8, "usable": 95},
            ],
        },
        skipped=[
            {"index": 5, "reason": "utility statement", "text": "SET application_name = 'alice@example.com'"},
            {"index": 6, "reason": "not explainable", "text": "SELECT $1"},
        ],
        advice_notes=[{"index": 1, "fingerprint": "fp-wide", "reason": "primary key already used"}],
    )


def rich_json(tmp_path, **kwargs) -> str:  # type: ignore[no-untyped-def]
    """The sample written as a report file, as `pgqa analyze --format json --output` would."""
    from analyzer.report.json import dumps

    path = tmp_path / "report.json"
    path.write_text(dumps(rich_report(), **kwargs), encoding="utf-8")
    return str(path)


def test_sample_is_a_valid_report_with_every_section() -> None:
    from analyzer.report.json import dumps, validate

    doc = json.loads(dumps(rich_report()))
    validate(doc)
    for key in (
        "target",
        "sources",
        "statements",
        "findings",
        "index_suggestions",
        "connections",
        "connections_history",
        "skipped",
        "advice_notes",
    ):
        assert doc[key], key
