"""Connection-slot snapshot (stub: filled by the connections issue)."""

from __future__ import annotations

from typing import Any

from analyzer.model import ConnectionSnapshot


def take(target: Any) -> ConnectionSnapshot | None:
    return None
