"""PNG charts for tickets (matplotlib, the optional extra `charts`): top statements by total time,
and the connection time line when the report carries one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer.errors import UsageError
from analyzer.model import Report
from analyzer.report import fmt, rank

TOP_STATEMENTS_PNG = "chart-top-statements.png"
CONNECTIONS_PNG = "chart-connections.png"
TOP_N = 10


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--chart needs matplotlib: pip install 'pgqa[charts]'") from None
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def check_available(path: str | None = None) -> None:
    """UsageError now, before a long run, when --chart FILE cannot be honoured."""
    _pyplot()
    if path is not None:
        folder = Path(path).parent
        if not folder.is_dir():
            raise UsageError(f"cannot write the chart {path}: no directory {folder}")
        if Path(path).is_dir():
            raise UsageError(f"cannot write the chart {path}: is a directory")


def chart_option(
    report: Report,
    path: str,
    *,
    output: str | None = None,
    show_literals: bool = False,
    mask_hosts: bool = False,
) -> bool:
    """`--chart FILE` of analyze and demo: the top-statements PNG at path, linked from the
    Markdown report (relative to the report file when there is one) through report.extra."""
    import os
    import sys

    from analyzer.report.redact import prepare

    plt = _pyplot()
    safe = prepare(report, show_literals=show_literals, mask_hosts=mask_hosts)  # labels show SQL
    try:
        written = top_statements(plt, safe, Path(path))
    except OSError as e:  # the report itself is still written
        print(f"pgqa: cannot write the chart {path}: {e.strerror}", file=sys.stderr)
        return False
    if not written:
        print(f"pgqa: no statements with counters, so no chart written to {path}", file=sys.stderr)
        return False
    link = os.path.relpath(path, os.path.dirname(os.path.abspath(output))) if output else path
    report.extra.setdefault("charts", {})["top_statements"] = Path(link).as_posix()
    return True


def write_charts(report: Report, out_dir: Path) -> dict[str, str]:
    """Chart name -> file name in out_dir, for the charts this report has data for. The report
    must already be redacted (labels show statement text)."""
    plt = _pyplot()
    out: dict[str, str] = {}
    if top_statements(plt, report, out_dir / TOP_STATEMENTS_PNG):
        out["top_statements"] = TOP_STATEMENTS_PNG
    if connections_timeline(plt, report, out_dir / CONNECTIONS_PNG):
        out["connections"] = CONNECTIONS_PNG
    return out


def top_statements(plt: Any, report: Report, path: Path) -> bool:
    top = [s for s in rank.top_statements(report) if s.has_stats and s.total_ms > 0][:TOP_N]
    if not top:
        return False
    labels = [f"#{s.index} {fmt.shorten(s.text, 48)}" for s in top][::-1]
    seconds = [s.total_ms / 1000 for s in top][::-1]
    rk = rank.Ranking(report)
    shares = [rk.share(s) for s in top][::-1]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(top) + 1.4), dpi=100)
    try:
        bars = ax.barh(range(len(top)), seconds, color="#4472c4")
        # statement texts hold $1, $2: no mathtext, which would read "$1 || (g % $2)" as a formula
        ax.set_yticks(range(len(top)), labels=labels, fontsize=8, family="monospace", parse_math=False)
        ax.set_xlabel("total execution time (s)")
        ax.set_title(
            "Top statements by total time" + (f" · {report.target.database}" if report.target else ""),
            parse_math=False,
        )
        for bar, share in zip(bars, shares, strict=True):
            ax.annotate(
                fmt.pct(share),
                (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.margins(x=0.12)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return True


def _series(report: Report) -> list[dict[str, Any]]:
    h = report.connections_history or {}
    for key in ("series", "timeline", "points", "samples"):
        pts = h.get(key)
        if isinstance(pts, list) and pts and isinstance(pts[0], dict):
            return [p for p in pts if p.get("taken_at")]
    return []


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def connections_timeline(plt: Any, report: Report, path: Path) -> bool:
    pts = [(t, p) for p in _series(report) if (t := _time(p["taken_at"])) is not None]
    if len(pts) < 2:
        return False
    h = report.connections_history or {}
    fig, ax = plt.subplots(figsize=(11, 4), dpi=100)
    try:
        used = [(t, p.get("used")) for t, p in pts if p.get("used") is not None]
        if used:
            ax.plot(
                [t for t, _ in used], [u for _, u in used], marker=".", color="#4472c4", label="used slots"
            )
        usable = [(t, p.get("usable")) for t, p in pts if p.get("usable") is not None]
        if usable:
            ax.step(
                [t for t, _ in usable],
                [u for _, u in usable],
                where="post",
                color="#c00000",
                linestyle="--",
                label="usable slots",
            )
        failed = [e for e in h.get("events") or [] if e.get("status") != "ok"]
        failed += [p for _, p in pts if p.get("status") not in (None, "ok")]
        refused = sorted({t for e in failed if (t := _time(e.get("taken_at")))})
        if refused:
            top = max([u for _, u in used] + [u for _, u in usable] + [1])
            ax.scatter(
                refused,
                [top] * len(refused),
                marker="x",
                color="#c00000",
                zorder=3,
                label="refused / failed snapshot",
            )
        ax.set_ylabel("connections")
        ax.set_title(
            "Connection slots over time" + (f" · {h.get('instance')}" if h.get("instance") else ""),
            parse_math=False,
        )
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return True
