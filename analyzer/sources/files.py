"""Statements from files: SQL text, or an exported pg_stat_statements (CSV with a header, or JSON).

Detection: `.csv` / `.json` / `.jsonl` by extension, otherwise by content (a JSON array or object,
a CSV header naming a `query` column); anything else is SQL text split on `;`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analyzer.model import Statement
from analyzer.sql.split import split_statements

# Column names of pg_stat_statements across versions (1.8+ total_exec_time, older total_time) and of
# common exports (PI / pgAdmin / custom): first found wins.
_TEXT_KEYS = ("query", "statement", "sql", "query_text", "text", "db.sql_tokenized.statement")
_CALLS = ("calls",)
_TOTAL_MS = ("total_exec_time", "total_time", "total_ms")
_MEAN_MS = ("mean_exec_time", "mean_time", "mean_ms")
_ROWS = ("rows",)
_INT_FIELDS = {"shared_blks_hit": "shared_blks_hit", "shared_blks_read": "shared_blks_read",
               "temp_blks_read": "temp_blks_read", "temp_blks_written": "temp_blks_written",
               "wal_bytes": "wal_bytes"}


class FileFormatError(ValueError):
    """The file looks like an export but cannot be read as one."""


@dataclass
class FileStatements:
    name: str
    format: str  # sql | csv | json
    statements: list[Statement]


def detect_format(name: str, text: str) -> str:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    head = text.lstrip()[:1]
    if head in ("[", "{"):
        return "json"
    first = text.lstrip().split("\n", 1)[0].lower()
    if "," in first and any(k == c.strip().strip('"') for c in first.split(",") for k in _TEXT_KEYS) and \
            any(k in first for k in ("calls", "total_exec_time", "total_time", "queryid")):
        return "csv"
    return "sql"


def read_text(name: str, text: str) -> FileStatements:
    fmt = detect_format(name, text)
    if fmt == "csv":
        return FileStatements(name, fmt, _from_rows(_csv_rows(text), name))
    if fmt == "json":
        return FileStatements(name, fmt, _from_rows(_json_rows(text), name))
    statements = [Statement(text=p.text, source="file", has_stats=False, index=i,
                            extra={"file": name, "line": p.line})
                  for i, p in enumerate(split_statements(text))]
    return FileStatements(name, fmt, statements)


def _csv_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not any(_key(reader.fieldnames, k) for k in _TEXT_KEYS):
        raise FileFormatError("CSV without a query column (expected a header naming 'query')")
    return list(reader)


def _json_rows(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):  # JSON lines
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise FileFormatError(f"not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from e
                if n > 1 and not isinstance(rows[-1], dict):
                    raise FileFormatError("JSON lines must be objects") from e
        data = rows
    if isinstance(data, dict):
        for key in ("statements", "rows", "data", "queries"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise FileFormatError("JSON must be a list of objects (rows of pg_stat_statements)")
    return data


def _key(keys: Iterable[str], wanted: str) -> str | None:
    for k in keys:
        if k.strip().lower() == wanted:
            return k
    return None


def _get(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for n in names:
        k = _key(row.keys(), n)
        if k is not None and row[k] not in (None, ""):
            return row[k]
    return None


def _num(value: Any, cast: type = float) -> Any:
    if value is None:
        return cast(0)
    try:
        return cast(float(value)) if cast is int else cast(value)
    except (TypeError, ValueError):
        return cast(0)


def _from_rows(rows: list[dict[str, Any]], name: str) -> list[Statement]:
    out: list[Statement] = []
    for i, row in enumerate(rows):
        text = _get(row, _TEXT_KEYS)
        calls = _get(row, _CALLS)
        has_stats = calls is not None
        s = Statement(text=str(text or ""), source="file", index=i, has_stats=has_stats,
                      calls=_num(calls, int), total_ms=_num(_get(row, _TOTAL_MS)),
                      mean_ms=_num(_get(row, _MEAN_MS)), rows=_num(_get(row, _ROWS), int),
                      extra={"file": name, "row": i + 1})
        if s.calls and not s.mean_ms and s.total_ms:
            s.mean_ms = s.total_ms / s.calls
        qid = _get(row, ("queryid",))
        s.queryid = str(qid) if qid is not None else None
        for src, attr in _INT_FIELDS.items():
            v = _get(row, (src,))
            if v is not None:
                setattr(s, attr, _num(v, int))
        if str(row.get("truncated", "")).lower() in ("true", "1", "t", "yes"):
            s.truncated = True
        out.append(s)
    return out
