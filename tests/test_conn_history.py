"""`pgqa connections --since` over a store filled by the test: peak, p95, time line, events, findings."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.connections.store import open_store
from analyzer.model import ConnectionGroup, ConnectionSnapshot

N = 48  # every 30 minutes over the last day
PEAK_AT, REFUSED_AT, HOARD_FROM = 30, 31, 26
USABLE = 97
REFUSAL = ('connection to server at "db", port 5432 failed: FATAL:  remaining connection slots are reserved '
           "for non-replication superuser and rds_superuser connections")


def _used(i: int) -> int:
    return 92 if i == PEAK_AT else 20 + (i * 7) % 30


def _series(instance: str, now: datetime) -> list[ConnectionSnapshot]:
    snaps = []
    for i in range(N):
        at = (now - timedelta(minutes=30 * (N - 1 - i)) - timedelta(seconds=30)).isoformat(timespec="seconds")
        if i == REFUSED_AT:
            snaps.append(ConnectionSnapshot(taken_at=at, status="refused", error=REFUSAL, instance=instance))
            continue
        used = _used(i)
        groups = [ConnectionGroup("ats", "api", "api-server", "10.0.1.5", count=used,
                                  by_state={"idle": used})]
        if i >= HOARD_FROM:  # frozen Lambda containers: many idle connections idle for minutes
            lam = min(used - 2, 60)
            groups = [ConnectionGroup("ats", "lambda", "candidate-list", "10.0.2.9", count=lam,
                                      by_state={"idle": lam}, max_idle_s=900.0, idle_over_1m=lam),
                      ConnectionGroup("ats", "etl", "kintone-sync", "10.0.3.3", count=used - lam,
                                      by_state={"idle in transaction": used - lam}, max_idle_in_xact_s=400.0)]
        snaps.append(ConnectionSnapshot(
            taken_at=at, instance=instance, max_connections=100, reserved={"superuser": 3}, usable=USABLE,
            used=used, used_pct=round(100 * used / USABLE, 1), by_state={"idle": used}, groups=groups,
            guards={"idle_session_timeout": "0"},
            database_sessions={"sessions": 1000 + i, "sessions_abandoned": 3 * i if i < 40 else 3 * i - 100}))
    return snaps


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('hist') / 'store.db'}"
    now = datetime.now(UTC)
    with open_store(url) as st:
        for s in _series("prod:5432/ats", now):
            st.save_snapshot(s)
        st.save_snapshot(ConnectionSnapshot(taken_at=now.isoformat(timespec="seconds"),
                                            instance="other:5432/x", used=1, usable=97, used_pct=1.0))
        # older than the window: must not count
        st.save_snapshot(ConnectionSnapshot(taken_at=(now - timedelta(days=3)).isoformat(timespec="seconds"),
                                            instance="prod:5432/ats", used=97, usable=97, used_pct=100.0))
    return url


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def pgqa(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`pgqa connections ARGS` through the CLI entry point, in this process (no interpreter start)."""
    def run(*args: str) -> Result:
        code = main(["connections", *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def test_history_peak_p95_timeline_events_and_findings(pgqa: Callable[..., Result], store: str) -> None:
    res = pgqa("--since", "24h", "--store", store, "--instance", "prod:5432/ats", "--format", "json")
    assert res.returncode == 1, res.stderr  # the peak (94.8%) crossed the default --alert-at 80
    doc = json.loads(res.stdout)
    h = doc["connections_history"]
    series = _series("x", datetime.now(UTC))
    ok = [s for s in series if s.status == "ok"]
    assert h["instance"] == "prod:5432/ats" and h["snapshots"] == N
    assert h["peak"]["used"] == 92 and h["peak"]["used_pct"] == round(100 * 92 / 97, 1)
    assert h["peak"]["taken_at"] == h["timeline"][PEAK_AT]["taken_at"]
    pcts = sorted(s.used_pct for s in ok)
    assert h["p95_used_pct"] == pcts[math.ceil(0.95 * len(pcts)) - 1]
    assert [p["used"] for p in h["timeline"]] == [None if s.status != "ok" else s.used for s in series]
    assert h["sparkline"][REFUSED_AT] == "!" and len(h["sparkline"]) == N
    assert h["sparkline"][PEAK_AT] == "█"
    assert [e["status"] for e in h["events"]] == ["refused"]
    assert "rds_superuser" in h["events"][0]["error"]
    assert h["top_holders"][0]["application_name"] == "candidate-list" and h["top_holders"][0]["count"] == 60

    by_rule: dict[str, list[dict]] = {}
    for f in doc["findings"]:
        by_rule.setdefault(f["rule"], []).append(f)
    assert set(by_rule) == {"connection-saturation", "idle-connection-hoarding", "idle-in-transaction",
                            "missing-idle-timeout", "connections-refused", "abandoned-sessions"}
    sat = by_rule["connection-saturation"][0]
    assert sat["severity"] == "high" and sat["evidence"]["used"] == 92
    assert "RDS Proxy" in sat["recommendation"] and "reserved concurrency" in sat["recommendation"]
    hoard = by_rule["idle-connection-hoarding"]
    assert [f["evidence"]["subject"] for f in hoard] == ["application:candidate-list"]
    assert hoard[0]["evidence"]["idle_over_1m"] == 60
    assert "idle_session_timeout" in hoard[0]["recommendation"]
    assert by_rule["connections-refused"][0]["evidence"]["count"] == 1
    # sessions_abandoned grew by 3 per snapshot and was reset once (at 40): counted from zero there
    ab = [s.database_sessions["sessions_abandoned"] for s in ok]
    want = sum(b - a if b >= a else b for a, b in zip(ab, ab[1:], strict=False))
    assert by_rule["abandoned-sessions"][0]["evidence"]["sessions_abandoned_delta"] == want
    assert "idle_session_timeout" in by_rule["missing-idle-timeout"][0]["recommendation"]

    # the same store read again gives the same finding ids (tickets find them again)
    again = json.loads(pgqa("--since", "24h", "--store", store, "--instance", "prod:5432/ats",
                            "--format", "json").stdout)
    assert sorted(f["id"] for f in again["findings"]) == sorted(f["id"] for f in doc["findings"])


def test_alert_threshold_above_the_peak_exits_0(pgqa: Callable[..., Result], store: str) -> None:
    res = pgqa("--since", "24h", "--store", store, "--instance", "prod:5432/ats", "--alert-at", "96",
               "--format", "json")
    assert res.returncode == 0, res.stderr
    rules = {f["rule"] for f in json.loads(res.stdout)["findings"]}
    assert "connection-saturation" not in rules


def test_chart_and_text(pgqa: Callable[..., Result], store: str, tmp_path: Path) -> None:
    png = tmp_path / "usage.png"
    res = pgqa("--since", "24h", "--store", store, "--instance", "prod:5432/ats", "--chart", str(png),
               "--format", "text")
    assert res.returncode == 1, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "92" in res.stdout and "refused" in res.stdout
    spark = next(line.strip() for line in res.stdout.splitlines() if "█" in line)
    assert len(spark) == N and spark[REFUSED_AT] == "!"
    assert "top holders at the peak" in res.stdout and "candidate-list" in res.stdout


def test_several_instances_need_one_named(pgqa: Callable[..., Result], store: str) -> None:
    res = pgqa("--since", "24h", "--store", store, "--format", "json")
    assert res.returncode == 2
    assert "--instance" in res.stderr and "prod:5432/ats" in res.stderr and "Traceback" not in res.stderr
    res = pgqa("--since", "24h", "--store", store, "--instance", "other:5432/x", "--format", "json")
    assert res.returncode == 0
    assert json.loads(res.stdout)["connections_history"]["snapshots"] == 1


def _hoarding_snapshot(idle_session_timeout: str) -> ConnectionSnapshot:
    lam = ConnectionGroup("ats", "lambda", "candidate-list", "10.0.2.9", count=30, by_state={"idle": 30},
                          max_idle_s=600.0, idle_over_1m=30)
    quiet = ConnectionGroup("ats", "api", "api-server", "10.0.1.5", count=4, by_state={"idle": 4},
                            max_idle_s=700.0, idle_over_1m=4)  # idle for long, but only 4
    return ConnectionSnapshot(taken_at="2026-01-01T00:00:00+00:00", instance="i", max_connections=100,
                              usable=97, used=34, used_pct=35.1, groups=[lam, quiet],
                              guards={"idle_session_timeout": idle_session_timeout})


def test_missing_idle_timeout_only_while_the_guard_is_off() -> None:
    from analyzer.connections.checks import snapshot_findings

    off = {f.rule: f for f in snapshot_findings(_hoarding_snapshot("0"))}
    assert set(off) == {"idle-connection-hoarding", "missing-idle-timeout"}
    assert off["idle-connection-hoarding"].key == "application:candidate-list"
    on = {f.rule for f in snapshot_findings(_hoarding_snapshot("5min"))}
    assert on == {"idle-connection-hoarding"}


def test_a_missing_store_is_a_usage_error_and_not_created(pgqa: Callable[..., Result],
                                                          tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "store.db"
    res = pgqa("--since", "24h", "--store", f"sqlite:///{missing}")
    assert res.returncode == 2 and "no snapshot store" in res.stderr
    assert not missing.parent.exists()
