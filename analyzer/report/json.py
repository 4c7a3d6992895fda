"""The JSON report, `pgqa.report/1`: the contract other tools and tickets read.

`to_dict` converts a Report as it is; `dumps` is the output: redacted (literals, passwords, and
host names with mask_hosts) and, with PGQA_VALIDATE_SCHEMA=1 (the test suite sets it), checked
against docs/report-schema.json. `from_dict` reads a report back (tickets, baselines).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from analyzer.errors import UsageError
from analyzer.model import (
    SCHEMA,
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

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"
VALIDATE_ENV = "PGQA_VALIDATE_SCHEMA"


class SchemaViolation(AssertionError):
    """The JSON does not match docs/report-schema.json: a bug in pgqa, never a user error."""

    def __init__(self, message: str, where: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.detail = detail


def statement_dict(s: Statement, share: float | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "index": s.index,
        "queryid": None if s.queryid is None else str(s.queryid),
        "fingerprint": s.fingerprint,
        "text": s.text,
        "calls": int(s.calls),
        "total_ms": round(float(s.total_ms), 3),
        "mean_ms": round(float(s.mean_ms), 3),
        "rows": int(s.rows),
        "source": s.source,
        "truncated": s.truncated,
        "shared_blks_hit": s.shared_blks_hit,
        "shared_blks_read": s.shared_blks_read,
        "temp_blks_read": s.temp_blks_read,
        "temp_blks_written": s.temp_blks_written,
        "wal_bytes": s.wal_bytes,
        "plan_ms": s.plan_ms,
        "extra": s.extra,
        "has_stats": s.has_stats,
        # who ran it where, and whether at top level or inside a function: null where the source
        # does not say (files, Performance Insights)
        "user": s.user,
        "database": s.database,
        "toplevel": s.toplevel,
    }
    if share is not None:
        d["share_pct"] = round(share * 100, 2)
    return d


def finding_dict(f: Finding) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": f.id,
        "rule": f.rule,
        "severity": f.severity,
        "title": f.title,
        "message": f.message,
        "statement": None
        if f.statement_index is None and not f.fingerprint
        else {"index": f.statement_index, "fingerprint": f.fingerprint},
        "evidence": f.evidence,
        "recommendation": f.recommendation,
        "suggested_sql": f.suggested_sql,
    }
    if f.key:
        d["key"] = f.key
    if f.status:
        d["status"] = f.status
    if f.first_seen:
        d["first_seen"] = f.first_seen
    return d


def to_dict(report: Report) -> dict[str, Any]:
    """The report as `pgqa.report/1`, findings in the order to fix them. No redaction here."""
    from analyzer import __version__
    from analyzer.report import rank

    total = rank.total_ms(report)
    d: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": report.generated_at,
        "pgqa_version": report.pgqa_version or __version__,
        "target": dataclasses.asdict(report.target) if report.target else None,
        "sources": [dataclasses.asdict(s) for s in report.sources],
        "statements": [
            statement_dict(s, s.total_ms / total if total > 0 and s.has_stats else None)
            for s in report.statements
        ],
        "findings": [finding_dict(f) for f in rank.ranked_findings(report)],
        "index_suggestions": [dataclasses.asdict(i) for i in report.index_suggestions],
        "connections": dataclasses.asdict(report.connections) if report.connections else None,
        "connections_history": report.connections_history,
        "skipped": report.skipped,
        "advice_notes": report.advice_notes,
    }
    if report.baseline is not None:
        d["baseline"] = report.baseline
        d["resolved_findings"] = report.resolved_findings
    if report.extra:
        d["extra"] = report.extra
    return d


def dumps(report: Report, *, show_literals: bool = False, mask_hosts: bool = False) -> str:
    from analyzer.report.redact import mask_secrets, prepare, scrub_strings

    safe = prepare(report, show_literals=show_literals, mask_hosts=mask_hosts)
    d = scrub_strings(to_dict(safe), mask_secrets)
    text = json.dumps(d, indent=2, default=str, ensure_ascii=False) + "\n"
    if os.environ.get(VALIDATE_ENV) == "1":
        validate(json.loads(text))
    return text


def load_schema(path: Path = SCHEMA_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return dict(json.load(fh))


def validate(doc: Any, schema_path: Path = SCHEMA_FILE) -> None:
    """Raise SchemaViolation naming the first mismatch (path and message)."""
    import jsonschema

    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        raise SchemaViolation(
            f"report JSON violates {schema_path.name} at {where}: {e.message}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            where,
            e.message,
        )


# --- reading a report back ----------------------------------------------------------------------


def _fields(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def load(path: str) -> dict[str, Any]:
    """A pgqa report from a file, or UsageError (exit 2) saying why not."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a pgqa JSON report") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not a pgqa JSON report (invalid JSON: {e})") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("pgqa.report/"):
        raise UsageError(
            f'{path}: not a pgqa JSON report (no "schema": "{SCHEMA}"); write one with --format json'
        )
    if doc["schema"] != SCHEMA:
        raise UsageError(f"{path}: report schema {doc['schema']} is not supported (this pgqa reads {SCHEMA})")
    problem = _shape_problem(doc)
    if problem:
        raise UsageError(f"{path}: not a valid pgqa JSON report ({problem})")
    return doc


_NUMBERS = ("calls", "total_ms", "mean_ms", "rows")


def fmt_detail(detail: str, limit: int = 160) -> str:
    """jsonschema quotes the whole offending value: keep the line short."""
    detail = " ".join(detail.split())
    return detail if len(detail) <= limit else detail[: limit - 1] + "…"


def _shape_problem(doc: dict[str, Any]) -> str | None:
    """What a reader of the report relies on, checked without jsonschema (a test dependency);
    with jsonschema and the schema file at hand, the whole schema."""
    for key in ("findings", "statements", "index_suggestions", "sources"):
        if not isinstance(doc.get(key) or [], list) or not all(
            isinstance(x, dict) for x in doc.get(key) or []
        ):
            return f"{key} must be a list of objects"
    for i, f in enumerate(doc.get("findings") or []):
        for key in ("id", "rule", "severity", "title"):
            if not isinstance(f.get(key), str):
                return f"findings/{i}/{key} must be a string"
        if f.get("statement") is not None and not isinstance(f["statement"], dict):
            return f"findings/{i}/statement must be an object or null"
        if not isinstance(f.get("evidence") or {}, dict):
            return f"findings/{i}/evidence must be an object"
    for i, s in enumerate(doc.get("statements") or []):
        if not isinstance(s.get("text", ""), str):
            return f"statements/{i}/text must be a string"
        for key in _NUMBERS:
            if not isinstance(s.get(key, 0), int | float) or isinstance(s.get(key, 0), bool):
                return f"statements/{i}/{key} must be a number"
    if not isinstance(doc.get("target") or {}, dict) or not isinstance(doc.get("connections") or {}, dict):
        return "target and connections must be objects or null"
    try:
        import jsonschema  # noqa: F401 - optional: only where the test extra is installed
    except ImportError:
        return None
    if SCHEMA_FILE.exists():
        try:
            validate(doc)
        except SchemaViolation as e:
            return f"{e.where}: {fmt_detail(e.detail)}"
    return None


def from_dict(d: dict[str, Any]) -> Report:
    """A Report from `pgqa.report/1` JSON; unknown keys are ignored, missing ones take defaults."""
    r = Report(generated_at=str(d.get("generated_at", "")), pgqa_version=str(d.get("pgqa_version", "")))
    if isinstance(d.get("target"), dict):
        r.target = TargetInfo(**_fields(TargetInfo, d["target"]))
    r.sources = [SourceStatus(**_fields(SourceStatus, s)) for s in d.get("sources") or []]
    for s in d.get("statements") or []:
        r.statements.append(Statement(**{"text": "", **_fields(Statement, s)}))
    for f in d.get("findings") or []:
        st = f.get("statement") or {}
        r.findings.append(
            Finding(
                rule=f.get("rule", ""),
                severity=f.get("severity", "info"),
                title=f.get("title", ""),
                message=f.get("message", ""),
                recommendation=f.get("recommendation") or "",
                evidence=f.get("evidence") or {},
                suggested_sql=f.get("suggested_sql"),
                statement_index=st.get("index"),
                fingerprint=st.get("fingerprint"),
                key=f.get("key", ""),
                id=f.get("id", ""),
                status=f.get("status"),
                first_seen=f.get("first_seen"),
            )
        )
    for i in d.get("index_suggestions") or []:
        sug = IndexSuggestion(**_fields(IndexSuggestion, i))
        sug.per_statement = [
            StatementCost(**_fields(StatementCost, c)) if isinstance(c, dict) else c
            for c in sug.per_statement
        ]
        r.index_suggestions.append(sug)
    c = d.get("connections")
    if isinstance(c, dict) and c.get("taken_at"):
        snap = ConnectionSnapshot(**_fields(ConnectionSnapshot, c))
        snap.groups = [
            ConnectionGroup(**_fields(ConnectionGroup, g)) if isinstance(g, dict) else g for g in snap.groups
        ]
        r.connections = snap
    r.connections_history = d.get("connections_history")
    r.skipped = list(d.get("skipped") or [])
    r.advice_notes = list(d.get("advice_notes") or [])
    r.extra = dict(d.get("extra") or {})
    r.baseline = d.get("baseline")
    r.resolved_findings = list(d.get("resolved_findings") or [])
    return r
