"""Plans and the workload index advisor (stub: filled by the advisor issue)."""

from __future__ import annotations

from typing import Any

from analyzer.model import Catalog, Report


def advise_into(report: Report, target: Any, catalog: Catalog, options: Any) -> None:
    return None
