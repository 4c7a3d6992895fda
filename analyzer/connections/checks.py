"""Connection findings (stub: filled by the connections issue)."""

from __future__ import annotations

from analyzer.model import ConnectionSnapshot, Finding


def snapshot_findings(snap: ConnectionSnapshot) -> list[Finding]:
    return []
