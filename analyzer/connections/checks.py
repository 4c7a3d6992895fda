"""Connection findings: pure functions over snapshots (one, or a series from the store).

Rules: connection-saturation, idle-connection-hoarding, idle-in-transaction, missing-idle-timeout,
connections-refused, abandoned-sessions. Finding.key is the subject (the instance, an application,
an address, a connection group) so that ids stay the same from one run to the next.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from analyzer.connections.snapshot import IN_XACT_STATES, group_label
from analyzer.model import ConnectionSnapshot, Finding


@dataclass
class Thresholds:
    alert_at_pct: float = 80.0  # connection-saturation at or above this share of usable slots
    hoarding_min_idle: int = 5  # idle connections (idle > 1 min) from one application or address...
    hoarding_min_share_pct: float = 10.0  # ...or at least this share of usable slots, whichever is larger
    idle_in_xact_s: float = 60.0  # a session idle inside a transaction for this long holds locks and a slot


POOLER = ("put a pooler between the clients and the server (RDS Proxy on AWS, or PgBouncer in "
          "transaction mode) so that many clients share few server connections")
LAMBDA = ("cap the functions' concurrency (Lambda reserved concurrency) so that concurrency x connections "
          "per container stays below the usable slots")
SMALL_POOLS = "keep client pools small (1 connection per Lambda container, a few per application server)"


def snapshot_findings(snap: ConnectionSnapshot, thresholds: Thresholds | None = None) -> list[Finding]:
    """Findings of one snapshot."""
    t = thresholds or Thresholds()
    out: list[Finding] = []
    if snap.status == "refused":
        out.append(refused_finding([snap]))
    if snap.used is None:
        return out
    if snap.used_pct is not None and snap.used_pct >= t.alert_at_pct:
        out.append(saturation_finding(snap, t))
    hoarding = hoarding_findings(snap, t)
    out += hoarding
    out += idle_in_transaction_findings(snap, t)
    if hoarding:
        f = missing_idle_timeout_finding(snap, hoarding)
        if f:
            out.append(f)
    return out


def saturation_finding(snap: ConnectionSnapshot, t: Thresholds, *, peak_of: int | None = None) -> Finding:
    pct = snap.used_pct or 0.0
    severity = "critical" if pct >= 95 else "high"
    scope = f"peak of {peak_of} snapshots" if peak_of else "snapshot"
    top = [{"group": group_label(g), "count": g.count, "by_state": g.by_state} for g in snap.groups[:5]]
    return Finding(
        rule="connection-saturation", severity=severity,
        title=f"{snap.used} of {snap.usable} usable connection slots in use ({pct:.0f}%)",
        message=(f"At {snap.taken_at} ({scope}) {snap.used} client connections held {pct:.1f}% of the "
                 f"{snap.usable} slots ordinary roles may use (alert at {t.alert_at_pct:.0f}%). New "
                 "connections are refused with SQLSTATE 53300 once they are all taken."),
        recommendation=f"{POOLER}; {LAMBDA}; {SMALL_POOLS}. Raise max_connections only with memory to "
                       "spare (each backend costs several MB; a small instance has little).",
        evidence={"taken_at": snap.taken_at, "used": snap.used, "usable": snap.usable, "used_pct": pct,
                  "max_connections": snap.max_connections, "reserved": snap.reserved,
                  "by_state": snap.by_state, "top_holders": top, "alert_at_pct": t.alert_at_pct},
        key=snap.instance)


def _idle_subjects(snap: ConnectionSnapshot) -> dict[str, dict[str, Any]]:
    """Idle connections (idle for over a minute) per application, and per address for clients
    that send no application_name, so that the same sessions are not counted twice."""
    subjects: dict[str, dict[str, Any]] = defaultdict(lambda: {"idle_over_1m": 0, "idle": 0, "groups": [],
                                                               "max_idle_s": 0.0})
    for g in snap.groups:
        if not g.idle_over_1m:
            continue
        key = (f"application:{g.application_name}" if g.application_name
               else f"address:{g.client_addr or 'local'}")
        s = subjects[key]
        s["idle_over_1m"] += g.idle_over_1m
        s["idle"] += g.by_state.get("idle", 0)
        s["max_idle_s"] = max(s["max_idle_s"], g.max_idle_s)
        s["groups"].append(group_label(g))
    return subjects


def hoarding_findings(snap: ConnectionSnapshot, t: Thresholds) -> list[Finding]:
    usable = snap.usable or 0
    minimum = max(t.hoarding_min_idle, usable * t.hoarding_min_share_pct / 100.0)
    out = []
    for key, s in sorted(_idle_subjects(snap).items()):
        n = s["idle_over_1m"]
        if n < minimum:
            continue
        share = 100.0 * n / usable if usable else 0.0
        kind, name = key.split(":", 1)
        out.append(Finding(
            rule="idle-connection-hoarding", severity="high" if share >= 25 else "medium",
            title=f"{n} idle connections from {kind} {name} hold {share:.0f}% of the usable slots",
            message=(f"{n} connections from {kind} {name} have been idle for over a minute (the longest "
                     f"{s['max_idle_s'] / 60:.0f} min) at {snap.taken_at}. Many idle connections from one "
                     "client that stay for minutes are the signature of frozen Lambda containers: each "
                     "keeps its connection open between invocations until it is recycled."),
            recommendation=(f"{POOLER}; set idle_session_timeout (for the client's role, e.g. ALTER ROLE "
                            f"... SET idle_session_timeout = '5min') so the server closes abandoned "
                            f"connections; {LAMBDA}; {SMALL_POOLS}."),
            evidence={"taken_at": snap.taken_at, "subject": key, "idle_over_1m": n, "idle": s["idle"],
                      "max_idle_s": s["max_idle_s"], "usable": usable, "share_pct": round(share, 1),
                      "groups": s["groups"]},
            key=key))
    return out


def idle_in_transaction_findings(snap: ConnectionSnapshot, t: Thresholds) -> list[Finding]:
    out = []
    for g in snap.groups:
        n = sum(g.by_state.get(s, 0) for s in IN_XACT_STATES)
        if not n or g.max_idle_in_xact_s < t.idle_in_xact_s:
            continue
        label = group_label(g)
        out.append(Finding(
            rule="idle-in-transaction", severity="high" if g.max_idle_in_xact_s >= 300 or snap.waiting
            else "medium",
            title=f"{n} sessions idle in transaction from {label}",
            message=(f"{n} sessions of {label} sit idle inside an open transaction (the longest for "
                     f"{g.max_idle_in_xact_s:.0f} s): they hold a slot, their locks ({snap.waiting} sessions "
                     "wait on locks now) and hold back vacuum."),
            recommendation=("commit or roll back promptly in the client (look for a missing commit on an "
                            "error path); set idle_in_transaction_session_timeout (e.g. '60s') for the role "
                            "so the server ends such sessions."),
            suggested_sql=(f"ALTER ROLE {g.user} SET idle_in_transaction_session_timeout = '60s';"
                           if g.user else None),
            evidence={"taken_at": snap.taken_at, "group": label, "idle_in_transaction": n,
                      "max_idle_in_xact_s": g.max_idle_in_xact_s, "waiting": snap.waiting,
                      "guard": snap.guards.get("idle_in_transaction_session_timeout")},
            key=label))
    return out


def _disabled(value: str | None) -> bool:
    return value is not None and value.strip() in ("0", "0ms", "0s")


def missing_idle_timeout_finding(snap: ConnectionSnapshot, hoarding: list[Finding]) -> Finding | None:
    value = snap.guards.get("idle_session_timeout")
    if value is not None and not _disabled(value):
        return None
    subjects = [f.evidence["subject"] for f in hoarding]
    if value is None:
        why = "this server has no idle_session_timeout (it came with PostgreSQL 14)"
        fix = "upgrade to PostgreSQL 14 or later, or close idle connections in the client or pooler"
    else:
        why = "idle_session_timeout is 0 (off)"
        fix = ("set idle_session_timeout for the clients' roles (ALTER ROLE ... SET idle_session_timeout "
               "= '5min'; on RDS for the whole instance in the DB parameter group), not for a pooler's role, "
               "whose idle server connections are meant to stay")
    return Finding(
        rule="missing-idle-timeout", severity="medium",
        title="Idle connections are hoarded and the server never closes them",
        message=f"{', '.join(subjects)} hoard idle connections while {why}: nothing ends a session a "
                "frozen or vanished client left open.",
        recommendation=f"{fix}; {POOLER}.",
        suggested_sql="ALTER ROLE app_role SET idle_session_timeout = '5min';" if value is not None else None,
        evidence={"idle_session_timeout": value, "hoarding": subjects, "taken_at": snap.taken_at},
        key=snap.instance)


def refused_finding(refused: list[ConnectionSnapshot]) -> Finding:
    last = refused[-1]
    messages = sorted({s.error or "" for s in refused})
    n = len(refused)
    return Finding(
        rule="connections-refused", severity="critical",
        title=f"The server refused connections ({n} time{'s' if n != 1 else ''}): out of slots",
        message=(f"pgqa's own connection was refused with SQLSTATE 53300 {n} time(s), last at "
                 f"{last.taken_at}: {last.error}. Clients get the same error and fail their requests."),
        recommendation=f"{POOLER}; {LAMBDA}; {SMALL_POOLS}; let clients retry with backoff. Snapshots with "
                       "--reserved-dsn (a role allowed to use reserved slots) show who held the slots.",
        evidence={"events": [{"taken_at": s.taken_at, "error": s.error} for s in refused[-20:]],
                  "count": n, "messages": messages},
        key=last.instance)


def abandoned_finding(snaps: list[ConnectionSnapshot]) -> Finding | None:
    """Clients that vanished without closing: the increase of sessions_abandoned between snapshots
    (a counter going down means statistics were reset: count from zero)."""
    ok = [s for s in snaps if s.database_sessions.get("sessions_abandoned") is not None]
    total = 0
    for prev, cur in zip(ok, ok[1:], strict=False):
        a = int(prev.database_sessions["sessions_abandoned"])
        b = int(cur.database_sessions["sessions_abandoned"])
        total += b - a if b >= a else b
    if total <= 0:
        return None
    first, last = ok[0], ok[-1]
    return Finding(
        rule="abandoned-sessions", severity="high" if total >= 10 else "medium",
        title=f"{total} sessions abandoned by their clients between {first.taken_at} and {last.taken_at}",
        message=(f"pg_stat_database.sessions_abandoned grew by {total}: clients vanished without closing "
                 "their connection (a Lambda that timed out or was frozen, a killed process, a network "
                 "drop). Until the server notices, each one holds a slot."),
        recommendation=("close connections in a finally block, and before the function's timeout; set "
                        "idle_session_timeout and tcp_keepalives_idle so the server frees such slots; "
                        f"{POOLER}."),
        evidence={"sessions_abandoned_delta": total, "from": first.taken_at, "until": last.taken_at,
                  "snapshots": len(ok)},
        key=last.instance)


def history_findings(snaps: list[ConnectionSnapshot], thresholds: Thresholds | None = None) -> list[Finding]:
    """Findings over a series: saturation at the peak, every refusal, abandoned sessions, and the
    worst occurrence of each per-snapshot finding (same id = same subject)."""
    t = thresholds or Thresholds()
    out: list[Finding] = []
    ok = [s for s in snaps if s.used is not None and s.used_pct is not None]
    if ok:
        peak = max(ok, key=lambda s: (s.used_pct or 0.0, s.taken_at))
        if (peak.used_pct or 0) >= t.alert_at_pct:
            out.append(saturation_finding(peak, t, peak_of=len(snaps)))
    refused = [s for s in snaps if s.status == "refused"]
    if refused:
        out.append(refused_finding(refused))
    abandoned = abandoned_finding(snaps)
    if abandoned:
        out.append(abandoned)
    worst: dict[str, tuple[float, Finding]] = {}
    for s in ok:
        for f in snapshot_findings(s, t):
            if f.rule in ("connection-saturation", "connections-refused"):
                continue
            weight = float(f.evidence.get("idle_over_1m") or f.evidence.get("idle_in_transaction") or 1)
            if f.id not in worst or weight > worst[f.id][0]:
                worst[f.id] = (weight, f)
    out += [f for _, f in worst.values()]
    return out
