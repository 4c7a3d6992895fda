"""The connection report over time: peak and p95 usage against usable slots, a time line, the top
holders at the peak and every failed connection, as the `connections_history` object of the JSON
report (see ARCHITECTURE.md). `history_lines` renders the parts the generic text renderer does
not know (the sparkline, the holders at the peak) for renderers that want them.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from analyzer.connections.snapshot import group_label
from analyzer.model import ConnectionSnapshot

SPARK = "▁▂▃▄▅▆▇█"
FAILED_MARK = "!"


def percentile_nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def history(snaps: list[ConnectionSnapshot], instance: str, since: str, *, width: int = 60,
            top: int = 10) -> dict[str, Any]:
    """connections_history from a series of snapshots of one instance (oldest first)."""
    ok = [s for s in snaps if s.used is not None and s.used_pct is not None]
    h: dict[str, Any] = {
        "instance": instance, "snapshots": len(snaps), "since": since,
        "until": snaps[-1].taken_at if snaps else None,
        "statuses": _count(s.status for s in snaps),
        "usable": ok[-1].usable if ok else None,
        "peak": None, "p95_used_pct": None, "p95": None,
        "timeline": [{"taken_at": s.taken_at, "status": s.status, "used": s.used, "usable": s.usable,
                      "used_pct": s.used_pct} for s in snaps],
        "sparkline": sparkline(snaps, width),
        "top_holders": [],
        "events": [{"taken_at": s.taken_at, "status": s.status, "error": s.error,
                    "captured_via": s.captured_via} for s in snaps if s.status != "ok"],
    }
    if ok:
        peak = max(ok, key=lambda s: (s.used_pct or 0.0, s.taken_at))
        h["peak"] = {"taken_at": peak.taken_at, "used": peak.used, "usable": peak.usable,
                     "used_pct": peak.used_pct, "status": peak.status}
        p95 = percentile_nearest_rank([s.used_pct or 0.0 for s in ok], 95)
        at = max((s for s in ok if s.used_pct == p95), key=lambda s: s.taken_at)
        h["p95_used_pct"] = p95
        h["p95"] = {"taken_at": at.taken_at, "used": at.used, "usable": at.usable, "used_pct": p95}
        h["top_holders"] = [{**asdict(g), "label": group_label(g)}
                            for g in sorted(peak.groups, key=lambda g: -g.count)[:top]]
    return h


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def sparkline(snaps: list[ConnectionSnapshot], width: int = 60) -> str:
    """One character per time bucket: the highest share of usable slots in it (▁ empty .. █ full),
    `!` where a connection failed, a space where no snapshot fell."""
    if not snaps:
        return ""
    width = max(1, min(width, len(snaps)))
    per = len(snaps) / width
    chars = []
    for i in range(width):
        bucket = snaps[int(i * per): max(int((i + 1) * per), int(i * per) + 1)]
        if any(s.status != "ok" for s in bucket):
            chars.append(FAILED_MARK)
            continue
        pcts = [s.used_pct for s in bucket if s.used_pct is not None]
        if not pcts:
            chars.append(" ")
            continue
        level = min(len(SPARK) - 1, int(max(pcts) / 100.0 * len(SPARK)))
        chars.append(SPARK[level])
    return "".join(chars)


def history_lines(h: dict[str, Any] | None, width: int = 120) -> list[str]:
    """Text for a terminal, what a generic renderer does not know: the time line as a sparkline
    and the holders at the peak (the peak and p95 figures themselves are left to the renderer)."""
    if not h or not h.get("sparkline"):
        return []
    lines = [f"usage over time, 0-100% of usable slots ({FAILED_MARK} = refused or failed):",
             f"  {h['sparkline'][: max(10, width - 4)]}",
             f"  {h.get('since')} .. {h.get('until')}"]
    holders = h.get("top_holders") or []
    if holders:
        peak = h.get("peak") or {}
        lines.append(f"top holders at the peak ({peak.get('taken_at')}):")
        for g in holders:
            states = ", ".join(f"{n} {s}" for s, n in sorted(g["by_state"].items(), key=lambda kv: -kv[1]))
            line = f"  {g['count']:>5}  {g['label']}  ({states}; idle up to {g['max_idle_s']:.0f} s)"
            lines.append(line[:width])
    return lines
