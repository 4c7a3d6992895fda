"""pg_stat_activity: one snapshot of every backend, raw rows (classified by analyzer.connections).

The columns are documented in queries/activity/<server major>.sql; that comment is the contract.
"""

from __future__ import annotations

from typing import Any

from analyzer.target import Target

QUESTION = "activity"


def collect(target: Target) -> list[dict[str, Any]]:
    """One row per backend (client backends and others), as the server returned them."""
    return target.query(QUESTION)
