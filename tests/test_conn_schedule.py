"""`pgqa snapshot --every`: steady ticks, one connection per tick, a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.connections import schedule
from analyzer.connections.store import open_store


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_ticks_do_not_drift_and_overruns_skip_missed_slots() -> None:
    t = FakeTime()
    starts: list[float] = []
    work = [0.3, 0.3, 2.5, 0.3, 0.3]  # the third tick overruns two slots

    def tick(n: int) -> None:
        starts.append(t.now - 1000.0)
        t.now += work[n]

    n = schedule.run_every(1.0, tick, count=5, clock=t.clock, sleep=t.sleep)
    assert n == 5
    assert starts == pytest.approx([0.0, 1.0, 2.0, 5.0, 6.0])  # on the grid, never start + sum(work)


def test_for_duration_and_stop_request() -> None:
    t = FakeTime()
    seen: list[int] = []
    assert schedule.run_every(60, seen.append, duration_s=300, clock=t.clock, sleep=t.sleep) == 6  # 0..300 s
    stop = schedule.Stop()

    def tick(n: int) -> None:
        if n == 2:
            stop.requested = True  # as the signal handler does, mid-tick: this tick still completes

    assert schedule.run_every(1, tick, stop=stop, clock=t.clock, sleep=t.sleep) == 3


def _pgqa(*args: str) -> list[str]:
    return [sys.executable, "-m", "analyzer", "snapshot", *args]


def test_every_count_uses_one_connection_per_tick(pg, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    res = subprocess.run(_pgqa("--dsn", pg.dsn(), "--store", url, "--every", "0.3", "--count", "3",
                               "--instance", "loop"), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.strip().splitlines()) == 3
    with open_store(url) as st:
        snaps = st.snapshots("loop")
    assert [s.status for s in snaps] == ["ok"] * 3
    assert len({s.pgqa_pid for s in snaps}) == 3  # a new backend each tick: closed after it
    assert all(s.own_connections == 1 for s in snaps)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_finishes_the_tick_and_exits_0(pg17, tmp_path: Path, signum: int) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    cmd = _pgqa("--dsn", pg17.dsn(), "--store", url, "--every", "0.5", "--for", "1h", "--instance", "loop")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    lines = [p.stdout.readline(), p.stdout.readline()]
    assert all(lines), p.stderr.read() if p.stderr else ""
    p.send_signal(signum)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "Traceback" not in err
    printed = len(lines) + len(out.strip().splitlines())
    with open_store(url) as st:
        assert len(st.snapshots("loop")) == printed  # every tick that started was finished and stored
