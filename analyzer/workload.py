"""Join sources into one list of Statements and parse each once.

Every statement gets its fingerprint, its index (input position for lint, rank for analyze) and its
QueryShape. Truncation is known from the source (Statement.truncated) or from the length limit the
source states (extra["source_limit"], e.g. Performance Insights' 500 bytes). Statements the rules
pass over are listed in report.skipped with the reason, never as findings.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from analyzer.model import Catalog, Report, Statement
from analyzer.sql.extract import shape_of
from analyzer.sql.parse import Reader, fingerprint
from analyzer.sql.shape import TRANSACTION, UNKNOWN, UTILITY, QueryShape

# Below this many statements a worker pool costs more than it saves.
PARALLEL_MIN = 1000


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
        word = shape.first_keyword
        reason = (f"unrecognised statement (starts with {word}): not PostgreSQL SQL, or cut at the front?"
                  if word else "empty or unrecognised statement")
        if s.text.strip() == "<insufficient privilege>":
            reason = ("no statement text: <insufficient privilege> (grant pg_read_all_stats, e.g. via "
                      "pg_monitor, to the role pgqa connects as)")
        return {"index": s.index, "fingerprint": s.fingerprint, "kind": shape.kind, "reason": reason}
    return None


def prepare(report: Report, statements: list[Statement], catalog: Catalog | None,
            *, keep_index: bool = False, jobs: int = 1) -> None:
    """Rank, fingerprint and parse every statement in place (shape), noting skipped ones.

    keep_index keeps an index the source already set (lint: the position in the input file).
    jobs > 1 parses in that many worker processes when there are PARALLEL_MIN statements or more
    (parsing is CPU-bound and sqlglot holds the GIL)."""
    for i, s in enumerate(statements):
        if not keep_index:
            s.index = i
        s.truncated = is_truncated(s)
    todo = list(dict.fromkeys((s.text, s.truncated) for s in statements if s.shape is None))
    parsed: dict[tuple[str, bool], tuple[str, QueryShape]] = {}
    if jobs > 1 and len(todo) >= PARALLEL_MIN:
        parsed = dict(zip(todo, _parse_parallel(todo, catalog, jobs), strict=True))
    # A log or a pg_stat_activity capture repeats texts: parse each distinct one once. Shapes are
    # read-only for their readers, so repeats share one object.
    seen = parsed
    reader = Reader()
    for s in statements:
        key = (s.text, s.truncated)
        if s.shape is None and key in seen:
            fp, s.shape = seen[key]
            s.fingerprint = s.fingerprint or fp
        if not s.fingerprint:
            s.fingerprint = fingerprint(s.text)
        if s.shape is None:
            s.shape = shape_of(s.text, catalog, truncated=s.truncated, reader=reader)
            seen[key] = (s.fingerprint, s.shape)
        else:
            s.shape.truncated = s.shape.truncated or s.truncated
        entry = skip_entry(s)
        if entry is not None:
            report.skipped.append(entry)


def _parse_chunk(items: list[tuple[str, bool]], catalog: Catalog | None) -> list[tuple[str, QueryShape]]:
    reader = Reader()
    return [(fingerprint(text), shape_of(text, catalog, truncated=cut, reader=reader)) for text, cut in items]


def _parse_parallel(items: list[tuple[str, bool]], catalog: Catalog | None,
                    jobs: int) -> list[tuple[str, QueryShape]]:
    jobs = max(1, min(jobs, os.cpu_count() or 1))
    size = max(100, len(items) // (jobs * 4))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    # fork on Linux: the workers start with sqlglot already imported (lint runs no threads that a
    # fork could break); elsewhere spawn, which is safe with every system library
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        parts = pool.map(_parse_chunk, chunks, [catalog] * len(chunks))
        return [r for part in parts for r in part]
