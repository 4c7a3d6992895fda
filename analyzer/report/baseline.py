"""Compare a report with an older one by stable finding id: new, persisting (since when), resolved."""

from __future__ import annotations

from typing import Any

from analyzer.model import Report


def apply_baseline(report: Report, old: dict[str, Any]) -> None:
    """Mark each finding of `report` new or persisting (first_seen carried from the old report)
    and list the old findings that are gone in report.resolved_findings. `old` is a
    `pgqa.report/1` document (analyzer.report.json.load reads and checks one)."""
    old_time = str(old.get("generated_at") or "")
    previous = {str(f.get("id")): f for f in old.get("findings") or [] if isinstance(f, dict) and f.get("id")}
    counts = {"new": 0, "persisting": 0}
    for f in report.findings:
        before = previous.get(f.id)
        if before is None:
            f.status = "new"
            f.first_seen = report.generated_at
        else:
            f.status = "persisting"
            f.first_seen = str(before.get("first_seen") or old_time or report.generated_at)
        counts[f.status] += 1
    current = {f.id for f in report.findings}
    fingerprints = {s.fingerprint for s in report.statements if s.fingerprint}
    report.resolved_findings = []
    for fid, f in previous.items():
        if fid in current:
            continue
        ref = f.get("statement") if isinstance(f.get("statement"), dict) else None
        fp = (ref or {}).get("fingerprint")
        report.resolved_findings.append(
            {
                "id": fid,
                "rule": str(f.get("rule", "")),
                "severity": str(f.get("severity", "info")),
                "title": str(f.get("title", "")),
                "first_seen": f.get("first_seen") or old_time or None,
                "last_seen": old_time,
                "statement": ref,
                # False: the statement is gone from this report too (fixed, unused, or below --top)
                "statement_present": bool(fp and fp in fingerprints) if ref else False,
            }
        )
    report.baseline = {
        "generated_at": old_time,
        "new": counts["new"],
        "persisting": counts["persisting"],
        "resolved": len(report.resolved_findings),
    }
