"""pg_stat_statements collector (stub: filled by the foundation issue)."""

from __future__ import annotations

from typing import Any

from analyzer.model import Report, Statement


def collect_into(report: Report, target: Any, options: Any) -> list[Statement]:
    return []
