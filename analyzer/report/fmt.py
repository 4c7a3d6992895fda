"""Small formatting helpers shared by the renderers and tickets."""

from __future__ import annotations

import re
from typing import Any

_WS_RE = re.compile(r"\s+")


def one_line(text: str | None) -> str:
    return _WS_RE.sub(" ", text or "").strip()


def shorten(text: str | None, width: int) -> str:
    s = one_line(text)
    if width <= 1:
        return s[: max(width, 0)]
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def ms(value: float | None) -> str:
    """A duration for people: 0.42 ms, 12.3 ms, 4.56 s, 12.5 min, 3.2 h."""
    if value is None:
        return "-"
    v = float(value)
    if v < 1:
        return f"{v:.3f} ms"
    if v < 1000:
        return f"{v:.1f} ms"
    if v < 60_000:
        return f"{v / 1000:.2f} s"
    if v < 3_600_000:
        return f"{v / 60_000:.1f} min"
    return f"{v / 3_600_000:.1f} h"


def pct(share: float | None, digits: int = 1) -> str:
    """A 0..1 share as a percentage."""
    return "-" if share is None else f"{share * 100:.{digits}f}%"


def num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def size(n: int | float | None) -> str:
    if n is None:
        return "-"
    v = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(v) < 1024 or unit == "TB":
            return f"{v:.0f} {unit}" if unit == "B" else f"{v:.1f} {unit}"
        v /= 1024
    return f"{v:.1f} TB"


def improvement(cost_before: float, cost_after: float) -> str:
    if cost_before <= 0:
        return "-"
    gain = (1 - cost_after / cost_before) * 100
    # 99.5 % is not 100 %: keep a decimal where rounding would overstate or hide the change
    return f"{gain:.1f}%" if gain > 99 or abs(gain) < 1 else f"{gain:.0f}%"


def value_text(value: Any) -> str:
    """An evidence value on one line."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    return num(value) if not isinstance(value, str) else value


def target_line(report: Any) -> str:
    t = report.target
    if t is None:
        return "no server (static checks only)"
    where = f"database {t.database or '?'}"
    if t.host:
        where += f" on {t.host}"
    version = f"PostgreSQL {t.server_version}" if t.server_version else "PostgreSQL"
    extras = []
    if t.is_rds:
        extras.append("Amazon RDS")
    if t.extensions.get("pg_stat_statements"):
        extras.append(f"pg_stat_statements {t.extensions['pg_stat_statements']}")
    if t.extensions.get("hypopg"):
        extras.append(f"hypopg {t.extensions['hypopg']}")
    return f"{version}, {where}" + (f" ({', '.join(extras)})" if extras else "")


def severity_summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "none"


def statement_numbers(s: Any) -> list[tuple[str, str]]:
    """The figures a reader wants next to a statement, label and value."""
    if not s.has_stats:
        return [("source", s.source)]
    out = [
        ("calls", num(s.calls)),
        ("total time", ms(s.total_ms)),
        ("mean time", ms(s.mean_ms)),
        ("rows", num(s.rows)),
        ("rows per call", num(round(s.rows_per_call, 1))),
    ]
    if s.shared_blks_read or s.shared_blks_hit:
        out.append(("shared blocks read / hit", f"{num(s.shared_blks_read)} / {num(s.shared_blks_hit)}"))
    if s.temp_blks_written:
        out.append(("temp blocks written", num(s.temp_blks_written)))
    if s.wal_bytes:
        out.append(("WAL written", size(s.wal_bytes)))
    for key, label in (
        ("db_load", "PI load (AAS)"),
        ("pi_load", "PI load (AAS)"),
        ("db.load.avg", "PI load (AAS)"),
        ("load_aas", "PI load (AAS)"),
    ):
        if key in s.extra and s.extra[key] is not None:
            out.append((label, num(s.extra[key])))
            break
    waits = s.extra.get("waits") or s.extra.get("wait_profile")
    if isinstance(waits, dict) and waits:
        out.append(("PI waits", value_text(waits)))
    out.append(("source", s.source))
    return out
