"""Join sources into one list of Statements and parse each once (stub: filled by the sql issue)."""

from __future__ import annotations

from analyzer.model import Catalog, Report, Statement


def prepare(report: Report, statements: list[Statement], catalog: Catalog | None) -> None:
    """Rank, fingerprint and parse every statement in place (shape), noting skipped ones."""
    for i, s in enumerate(statements):
        s.index = i
