"""AWS Performance Insights (stub: filled by the AWS issue)."""

from __future__ import annotations

from typing import Any

from analyzer.model import Report, Statement


def merge_into(report: Report, statements: list[Statement], options: Any) -> list[Statement]:
    return statements
