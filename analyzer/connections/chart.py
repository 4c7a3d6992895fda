"""A PNG chart of connection usage over time, for tickets (`pgqa connections --chart FILE`).

matplotlib is optional (`pip install 'pgqa[charts]'`); it is imported only here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analyzer.errors import UsageError


def write_png(history: dict[str, Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: files only
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--chart needs matplotlib: pip install 'pgqa[charts]'") from None
    points = history.get("timeline") or []
    ok = [p for p in points if p.get("used") is not None]
    failed = [p for p in points if p.get("status") != "ok"]
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        ax.plot([_t(p) for p in ok], [p["used"] for p in ok], label="client connections", color="tab:blue")
        usable = [p for p in ok if p.get("usable")]
        if usable:
            ax.step([_t(p) for p in usable], [p["usable"] for p in usable], where="post",
                    label="usable slots", color="tab:red", linestyle="--")
        if failed:
            top = max([p.get("usable") or 0 for p in ok] + [p["used"] for p in ok] + [1])
            ax.scatter([_t(p) for p in failed], [top] * len(failed), marker="x", color="black",
                       label="refused / failed", zorder=3)
        peak = history.get("peak")
        if peak:
            ax.annotate(f"peak {peak['used']} ({peak['used_pct']}%)", (_t(peak), peak["used"]),
                        textcoords="offset points", xytext=(0, 8), ha="center")
        ax.set_title(f"Connection slots: {history.get('instance', '')}")
        ax.set_ylabel("connections")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        try:
            fig.savefig(path, format="png")
        except OSError as e:
            raise UsageError(f"cannot write the chart {path}: {e.strerror}") from None
    finally:
        plt.close(fig)


def _t(point: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(point["taken_at"])
