"""The JSON report, `pgqa.report/1`: the contract other tools and tickets read."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from analyzer.model import SCHEMA, Finding, Report, Statement


def statement_dict(s: Statement) -> dict[str, Any]:
    return {
        "index": s.index, "queryid": s.queryid, "fingerprint": s.fingerprint, "text": s.text,
        "calls": s.calls, "total_ms": round(s.total_ms, 3), "mean_ms": round(s.mean_ms, 3),
        "rows": s.rows, "source": s.source, "truncated": s.truncated,
        "shared_blks_hit": s.shared_blks_hit, "shared_blks_read": s.shared_blks_read,
        "temp_blks_read": s.temp_blks_read, "temp_blks_written": s.temp_blks_written,
        "wal_bytes": s.wal_bytes, "plan_ms": s.plan_ms, "extra": s.extra,
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "rule": f.rule, "severity": f.severity, "title": f.title, "message": f.message,
        "statement": None if f.statement_index is None and not f.fingerprint
        else {"index": f.statement_index, "fingerprint": f.fingerprint},
        "evidence": f.evidence, "recommendation": f.recommendation, "suggested_sql": f.suggested_sql,
    }


def to_dict(report: Report) -> dict[str, Any]:
    from analyzer import __version__

    return {
        "schema": SCHEMA,
        "generated_at": report.generated_at,
        "pgqa_version": report.pgqa_version or __version__,
        "target": dataclasses.asdict(report.target) if report.target else None,
        "sources": [dataclasses.asdict(s) for s in report.sources],
        "statements": [statement_dict(s) for s in report.statements],
        "findings": [finding_dict(f) for f in report.findings],
        "index_suggestions": [dataclasses.asdict(i) for i in report.index_suggestions],
        "connections": dataclasses.asdict(report.connections) if report.connections else None,
        "connections_history": report.connections_history,
        "skipped": report.skipped,
        "advice_notes": report.advice_notes,
        **({"extra": report.extra} if report.extra else {}),
    }


def dumps(report: Report, *, show_literals: bool = False, mask_hosts: bool = False) -> str:
    return json.dumps(to_dict(report), indent=2, default=str) + "\n"
