"""A steady loop for `pgqa snapshot --every S`.

Ticks are due at start + k * interval on the monotonic clock, so they do not drift however long a
tick takes; a tick that overruns the next slot skips the slots it missed instead of firing in a
burst. SIGTERM and SIGINT let the current tick finish, then the loop ends.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class Stop:
    """Set by a signal handler; the loop looks at it between ticks and while it sleeps."""

    requested: bool = False
    signal_name: str = ""


@contextmanager
def stop_on_signals(stop: Stop, signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[Stop]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.requested = True
        stop.signal_name = signal.Signals(signum).name

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def next_due(start: float, interval: float, now: float) -> float:
    """The first slot start + k * interval strictly after `now`."""
    k = math.floor((now - start) / interval) + 1
    return start + k * interval


def run_every(interval_s: float, tick: Callable[[int], None], *, count: int | None = None,
              duration_s: float | None = None, stop: Stop | None = None,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> int:
    """Call tick(n) every interval_s seconds, n = 0, 1, ...; stops after `count` ticks, after
    `duration_s` seconds, or when `stop` is requested. Returns the number of ticks run."""
    if interval_s <= 0:
        raise ValueError("interval must be positive")
    stop = stop or Stop()
    start = clock()
    end = start + duration_s if duration_s is not None else math.inf
    done = 0
    while not stop.requested:
        tick(done)
        done += 1
        if count is not None and done >= count:
            break
        due = next_due(start, interval_s, clock())
        if due > end:
            break
        while not stop.requested:
            left = due - clock()
            if left <= 0:
                break
            sleep(min(left, 0.25))  # short naps: a signal is noticed within a quarter second
    return done
