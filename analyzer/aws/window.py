"""The time window of an AWS query: `--since 1h` ending now, checked against the APIs' limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analyzer.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SINCE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
DEFAULT_SINCE = "1h"
# PI keeps at most 24 months (paid retention); the default free tier keeps 7 days.
MAX_WINDOW = timedelta(days=731)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '1h', '2d', '1w' (a bare number is minutes)."""
    m = _SINCE_RE.match(text or "")
    if not m:
        raise UsageError(f"cannot read the duration '{text}': use e.g. 30m, 1h, 2d, 1w")
    value, unit = float(m.group(1)), (m.group(2) or "m").lower()
    if value <= 0:
        raise UsageError(f"the duration '{text}' must be positive")
    return timedelta(seconds=value * _UNITS[unit])


def window_since(since: str | None, now: datetime | None = None) -> Window:
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    span = parse_duration(since or DEFAULT_SINCE)
    if span > MAX_WINDOW:
        raise UsageError(f"--since {since} is longer than the 24 months AWS keeps; use at most 731d")
    return Window(end - span, end)
