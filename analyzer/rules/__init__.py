"""Static rules over query shapes (stub: filled by the sql issue)."""

from __future__ import annotations

from analyzer.model import Catalog, Finding, Statement


def run_rules(statements: list[Statement], catalog: Catalog | None, include: list[str] | None = None,
              exclude: list[str] | None = None) -> list[Finding]:
    return []
