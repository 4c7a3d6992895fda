"""CloudWatch metrics of an RDS instance over a window: DatabaseConnections, CPUUtilization and
FreeableMemory (max, average and the series), for the report and the connections chart."""

from __future__ import annotations

from typing import Any

from analyzer.aws.session import SessionLike, client, pages
from analyzer.aws.window import Window
from analyzer.model import Report

SOURCE = "cloudwatch"
METRICS = {"connections": ("DatabaseConnections", "Count"), "cpu": ("CPUUtilization", "Percent"),
           "freeable_memory": ("FreeableMemory", "Bytes")}


def period_for(window: Window) -> int:
    """A multiple of 60 s keeping the series at most ~1440 points (CloudWatch returns at most
    100,800 per call; a chart needs far fewer)."""
    raw = max(60, int(window.seconds // 1440))
    return ((raw + 59) // 60) * 60


def queries(db_instance: str, period: int) -> list[dict[str, Any]]:
    out = []
    for qid, (metric, _unit) in METRICS.items():
        for stat in ("Maximum", "Average"):
            out.append({
                "Id": f"{qid}_{stat.lower()}",
                "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": metric,
                                          "Dimensions": [{"Name": "DBInstanceIdentifier",
                                                          "Value": db_instance}]},
                               "Period": period, "Stat": stat},
                "ReturnData": True,
            })
    return out


def fetch(session: SessionLike, db_instance: str, window: Window) -> dict[str, Any]:
    """{"period_s", "metrics": {name: {"metric", "unit", "max", "avg", "series": [{t, max, avg}]}}}"""
    cw = client(session, "cloudwatch")
    period = period_for(window)
    values: dict[str, dict[str, float]] = {}  # query id -> iso timestamp -> value
    for page in pages(cw, "get_metric_data", MetricDataQueries=queries(db_instance, period),
                      StartTime=window.start, EndTime=window.end, ScanBy="TimestampAscending"):
        for r in page.get("MetricDataResults") or []:
            series = values.setdefault(r["Id"], {})
            for t, v in zip(r.get("Timestamps") or [], r.get("Values") or [], strict=False):
                series[t.isoformat()] = float(v)
    metrics: dict[str, Any] = {}
    for qid, (metric, unit) in METRICS.items():
        mx, av = values.get(f"{qid}_maximum", {}), values.get(f"{qid}_average", {})
        stamps = sorted(set(mx) | set(av))
        metrics[qid] = {
            "metric": metric, "unit": unit,
            "max": max(mx.values()) if mx else None,
            "avg": sum(av.values()) / len(av) if av else None,
            "series": [{"t": t, "max": mx.get(t), "avg": av.get(t)} for t in stamps],
        }
    return {"instance": db_instance, "start": window.start.isoformat(), "end": window.end.isoformat(),
            "period_s": period, "metrics": metrics}


def collect_into(report: Report, session: SessionLike, db_instance: str, window: Window) -> dict[str, Any]:
    data = fetch(session, db_instance, window)
    report.extra["cloudwatch"] = data
    points = sum(len(m["series"]) for m in data["metrics"].values())
    if points:
        conn = data["metrics"]["connections"]
        report.source(SOURCE, "ok", f"{points} points; DatabaseConnections max {conn['max']:g}"
                      if conn["max"] is not None else f"{points} points")
    else:
        report.source(SOURCE, "ok", f"no datapoints for {db_instance} in the window")
    return data
