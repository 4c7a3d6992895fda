"""Join sources into one list of Statements and parse each once.

Every statement gets its fingerprint, its index (input position for lint, rank for analyze) and its
QueryShape. Truncation is known from the source (Statement.truncated) or from the length limit the
source states (extra["source_limit"], e.g. Performance Insights' 500 bytes). Statements the rules
pass over are listed in report.skipped with the reason, never as findings.
"""

from __future__ import annotations

from typing import Any

from analyzer.model import Catalog, Report, Statement
from analyzer.sql.extract import shape_of
from analyzer.sql.parse import fingerprint
from analyzer.sql.shape import TRANSACTION, UNKNOWN, UTILITY


def is_truncated(s: Statement) -> bool:
    """Cut at the source's limit: said by the source, or the text's byte length reaches the limit
    the source states (a statement exactly at the limit may be whole, but rules that need the
    tail must not trust it)."""
    if s.truncated:
        return True
    limit = s.extra.get("source_limit") if s.extra else None
    if isinstance(limit, int) and limit > 0:
        return len(s.text.encode("utf-8", "surrogatepass")) >= limit
    return False


def skip_entry(s: Statement) -> dict[str, Any] | None:
    """The report.skipped entry for a statement the rules do not look at, or None."""
    shape = s.shape
    if shape is None:
        return None
    if shape.parse_error is not None:
        entry: dict[str, Any] = {"index": s.index, "fingerprint": s.fingerprint,
                                 "reason": f"parse error: {shape.parse_error}", "kind": shape.kind}
        if shape.error_line is not None:
            entry["line"] = shape.error_line
            entry["column"] = shape.error_column
        if shape.truncated:
            entry["truncated"] = True
        return entry
    if shape.kind in (UTILITY, TRANSACTION):
        word = shape.first_keyword or shape.kind
        return {"index": s.index, "fingerprint": s.fingerprint, "kind": shape.kind,
                "reason": f"{'transaction control' if shape.kind == TRANSACTION else 'utility'} "
                          f"statement ({word}): not a query"}
    if shape.kind == UNKNOWN:
        return {"index": s.index, "fingerprint": s.fingerprint, "kind": shape.kind,
                "reason": "empty or unrecognised statement"}
    return None


def prepare(report: Report, statements: list[Statement], catalog: Catalog | None,
            *, keep_index: bool = False) -> None:
    """Rank, fingerprint and parse every statement in place (shape), noting skipped ones.

    keep_index keeps an index the source already set (lint: the position in the input file)."""
    for i, s in enumerate(statements):
        if not keep_index:
            s.index = i
        if not s.fingerprint:
            s.fingerprint = fingerprint(s.text)
        s.truncated = is_truncated(s)
        if s.shape is None:
            s.shape = shape_of(s.text, catalog, truncated=s.truncated)
        else:
            s.shape.truncated = s.shape.truncated or s.truncated
        entry = skip_entry(s)
        if entry is not None:
            report.skipped.append(entry)
