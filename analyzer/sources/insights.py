"""AWS Performance Insights: the instance's top SQL by DB load, with its wait profile and the
PostgreSQL digest statistics PI offers, merged with pg_stat_statements by fingerprint.

PI ids never equal pg_stat_statements' queryid, so statements are matched by the parsing layer's
fingerprint of the normalized text (same for `$1`, `?` and literal forms). A merged statement keeps
the server's exact counters and gains PI's load and waits in `extra`; PI-only statements are
appended with counters estimated from PI's per-second and per-call averages.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.aws import instance as rds_instance
from analyzer.aws.session import AwsError, SessionLike, call, client, session_for
from analyzer.aws.window import Window, window_since
from analyzer.errors import UsageError
from analyzer.model import Report, Statement

SOURCE = "performance_insights"
PERIODS = (1, 60, 300, 3600, 86400)
MAX_KEYS = 25  # GroupBy.Limit and MaxResults: 1..25
TEXT_LIMIT = 500  # bytes PI returns of a dimension value such as a statement text
STATS_PREFIX = "db.sql_tokenized.stats."
# PostgreSQL digest statistics pgqa uses, by the short name it stores them under
WANTED_STATS = {
    "calls_per_sec": "calls_per_sec",
    "rows_per_call": "rows_per_call",
    "avg_latency_per_call": "avg_latency_per_call",
    "shared_blks_hit_per_call": "shared_blks_hit_per_call",
    "shared_blks_read_per_call": "shared_blks_read_per_call",
    "temp_blks_read_per_call": "temp_blks_read_per_call",
    "temp_blks_written_per_call": "temp_blks_written_per_call",
}
TOKENIZED_DIMENSIONS = ["db.sql_tokenized.id", "db.sql_tokenized.db_id", "db.sql_tokenized.statement"]


@dataclass
class PiQuery:
    dbi_resource_id: str
    window: Window
    limit: int = MAX_KEYS
    period: int = 60
    metrics: list[str] = field(default_factory=list)  # full AdditionalMetrics names


@dataclass
class PiKey:
    """One db.sql_tokenized key of describe_dimension_keys, partitions resolved to wait types."""

    dimensions: dict[str, str]
    load: float
    metrics: dict[str, float]
    waits: dict[str, float]


def choose_period(window: Window) -> int:
    """The PI granularity for a window: minutes up to a day, then coarser."""
    s = window.seconds
    if s <= 86400:
        return 60
    if s <= 7 * 86400:
        return 300
    if s <= 31 * 86400:
        return 3600
    return 86400


def validate(limit: int, period: int, window: Window) -> None:
    """The API's limits, checked here because neither botocore nor its Stubber checks them."""
    if not 1 <= limit <= MAX_KEYS:
        raise UsageError(f"the Performance Insights limit must be 1..{MAX_KEYS}, not {limit}")
    if period not in PERIODS:
        raise UsageError(f"the Performance Insights period must be one of "
                         f"{', '.join(map(str, PERIODS))} seconds, not {period}")
    if window.end <= window.start:
        raise UsageError("the Performance Insights window must end after it starts")
    if window.seconds < period:
        raise UsageError(f"the window ({window.seconds:.0f} s) is shorter than one period ({period} s)")


def available_stats(pi: Any, dbi: str) -> list[str]:
    """The digest statistics the instance offers, as AdditionalMetrics names (with `.avg`)."""
    names: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"ServiceType": "RDS", "Identifier": dbi,
                                  "MetricTypes": ["db.sql_tokenized.stats"], "MaxResults": MAX_KEYS}
        if token:
            kwargs["NextToken"] = token
        resp = call(pi, "list_available_resource_metrics", **kwargs)
        for m in resp.get("Metrics") or []:
            name = str(m.get("Metric", ""))
            if not name.startswith(STATS_PREFIX):
                continue
            if not name.endswith((".avg", ".sum", ".min", ".max")):
                name += ".avg"
            short = name[len(STATS_PREFIX):].rsplit(".", 1)[0]
            if short in WANTED_STATS and name.endswith(".avg") and name not in names:
                names.append(name)
        token = resp.get("NextToken")
        if not token:
            return names


def top_sql(pi: Any, q: PiQuery) -> list[PiKey]:
    """describe_dimension_keys on db.sql_tokenized by db.load.avg, every page (PI has no botocore
    paginator, so NextToken is followed here)."""
    validate(q.limit, q.period, q.window)
    keys: list[PiKey] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "ServiceType": "RDS", "Identifier": q.dbi_resource_id,
            "StartTime": q.window.start, "EndTime": q.window.end,
            "Metric": "db.load.avg", "PeriodInSeconds": q.period,
            "GroupBy": {"Group": "db.sql_tokenized", "Limit": q.limit, "Dimensions": TOKENIZED_DIMENSIONS},
            "PartitionBy": {"Group": "db.wait_event_type"},
            "MaxResults": MAX_KEYS,
        }
        if q.metrics:
            kwargs["AdditionalMetrics"] = q.metrics
        if token:
            kwargs["NextToken"] = token
        resp = call(pi, "describe_dimension_keys", **kwargs)
        partitions = [str((p.get("Dimensions") or {}).get("db.wait_event_type", "?"))
                      for p in resp.get("PartitionKeys") or []]
        for k in resp.get("Keys") or []:
            waits = {name: float(v) for name, v in zip(partitions, k.get("Partitions") or [], strict=False)
                     if v}
            keys.append(PiKey(dimensions=dict(k.get("Dimensions") or {}), load=float(k.get("Total") or 0.0),
                              metrics={n: float(v) for n, v in (k.get("AdditionalMetrics") or {}).items()},
                              waits=waits))
        token = resp.get("NextToken")
        if not token:
            return keys


def maybe_cut(text: str) -> bool:
    """PI returns at most 500 bytes of a dimension value: a text that long may have been cut."""
    return len(text.encode("utf-8")) >= TEXT_LIMIT


def full_text(pi: Any, q: PiQuery, tokenized_id: str) -> str | None:
    """The full text of one statement of the digest: find a db.sql id of the digest (db.sql keys
    filtered by their db.sql.tokenized_id), then get_dimension_key_details on it. None when PI
    does not have it (yet)."""
    resp = call(pi, "describe_dimension_keys", ServiceType="RDS", Identifier=q.dbi_resource_id,
                StartTime=q.window.start, EndTime=q.window.end, Metric="db.load.avg",
                PeriodInSeconds=q.period,
                GroupBy={"Group": "db.sql", "Limit": 1, "Dimensions": ["db.sql.id", "db.sql.tokenized_id"]},
                Filter={"db.sql.tokenized_id": tokenized_id})
    sql_ids = [(k.get("Dimensions") or {}).get("db.sql.id") for k in resp.get("Keys") or []]
    sql_id = next((s for s in sql_ids if s), None)
    if not sql_id:
        return None
    details = call(pi, "get_dimension_key_details", ServiceType="RDS", Identifier=q.dbi_resource_id,
                   Group="db.sql", GroupIdentifier=sql_id, RequestedDimensions=["db.sql.statement"])
    for d in details.get("Dimensions") or []:
        if d.get("Dimension") in ("db.sql.statement", "statement") and d.get("Status") == "AVAILABLE" \
                and d.get("Value"):
            return str(d["Value"])
    return None


def _stat(key: PiKey, short: str) -> float | None:
    v = key.metrics.get(f"{STATS_PREFIX}{short}.avg")
    return None if v is None else float(v)


def to_statement(key: PiKey, window_s: float, text: str, truncated: bool) -> Statement:
    """A model Statement from one PI key. Counters are estimates: calls = calls/s x window."""
    calls_per_sec = _stat(key, "calls_per_sec")
    latency = _stat(key, "avg_latency_per_call")
    has_stats = calls_per_sec is not None and latency is not None
    calls = round(calls_per_sec * window_s) if calls_per_sec is not None else 0
    mean_ms = latency or 0.0

    def per_call(short: str) -> int:
        v = _stat(key, short)
        return round(v * calls) if v is not None else 0

    dims = key.dimensions
    stats = {short: v for short in WANTED_STATS if (v := _stat(key, short)) is not None}
    return Statement(
        text=text, source=SOURCE, calls=calls, mean_ms=mean_ms, total_ms=calls * mean_ms,
        rows=per_call("rows_per_call"), shared_blks_hit=per_call("shared_blks_hit_per_call"),
        shared_blks_read=per_call("shared_blks_read_per_call"),
        temp_blks_read=per_call("temp_blks_read_per_call"),
        temp_blks_written=per_call("temp_blks_written_per_call"),
        truncated=truncated, has_stats=has_stats,
        extra={"db_load": key.load, "waits": dict(key.waits), "pi_id": dims.get("db.sql_tokenized.id"),
               "pi_db_id": dims.get("db.sql_tokenized.db_id"), "source_limit": TEXT_LIMIT,
               "pi_stats": stats, "pi_window_s": window_s},
    )


def fingerprint(text: str) -> str:
    """The parsing layer's fingerprint: equal for the `$1`, `?` and literal forms of a statement."""
    from analyzer.sql.parse import fingerprint as parse_fingerprint

    return parse_fingerprint(text)


def _normalized(text: str) -> str:
    """The parsing layer's normalized text (literals and placeholders alike), for prefix matching."""
    from analyzer.sql import parse

    norm = getattr(parse, "normalized", None)
    if norm is not None:
        return str(norm(text))
    tokens = getattr(parse, "normalized_tokens", None)
    if tokens is not None:
        return " ".join(tokens(text))
    return " ".join(text.lower().split())


def collect(session: SessionLike, db_instance: str, window: Window, limit: int | None = None,
            period: int | None = None, report: Report | None = None) -> list[Statement]:
    """PI's top SQL of the window as Statements (source performance_insights)."""
    rds = client(session, "rds")
    inst = rds_instance.describe(rds, db_instance)
    if report is not None:
        report.extra.setdefault("aws", {})["instance"] = {
            "identifier": inst.identifier, "class": inst.instance_class, "engine": inst.engine,
            "engine_version": inst.engine_version, "performance_insights": inst.pi_enabled}
    if not inst.pi_enabled:
        raise AwsError(f"Performance Insights is not enabled on {inst.identifier}: enable it with "
                       f"aws rds modify-db-instance --db-instance-identifier {inst.identifier} "
                       "--enable-performance-insights", "skipped")
    pi = client(session, "pi")
    window = _within_retention(window, inst.pi_retention_days, report)
    q = PiQuery(dbi_resource_id=inst.dbi_resource_id, window=window, limit=limit or MAX_KEYS,
                period=period or choose_period(window))
    validate(q.limit, q.period, q.window)
    q.metrics = available_stats(pi, q.dbi_resource_id)
    keys = top_sql(pi, q)
    notes: list[str] = []
    out: list[Statement] = []
    for key in keys:
        text = key.dimensions.get("db.sql_tokenized.statement", "")
        truncated = completed = False
        tok_id = key.dimensions.get("db.sql_tokenized.id")
        if maybe_cut(text):
            full = None
            if tok_id:
                try:
                    full = full_text(pi, q, tok_id)
                except AwsError as e:
                    notes.append(str(e))
            if full:
                text, completed = full, True
            else:
                truncated = True
        s = to_statement(key, q.window.seconds, text, truncated)
        if completed:
            # the full text of one execution (db.sql.statement), not PI's 500-byte digest text
            s.extra.pop("source_limit", None)
            s.extra["text_from"] = "db.sql.statement"
        s.fingerprint = fingerprint(text)
        out.append(s)
    for note in sorted(set(notes)):  # the statements stay, with their cut texts
        print(f"pgqa: {SOURCE}: {note} (cut texts stay cut)", file=sys.stderr)
    if report is not None and notes:
        report.extra.setdefault("aws", {}).setdefault("pi_notes", []).extend(sorted(set(notes)))
    return out


def _within_retention(window: Window, days: int | None, report: Report | None) -> Window:
    """PI keeps `days` of data (7 on the free tier): an older start is moved up, and said."""
    if not days:
        return window
    oldest = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    if window.start >= oldest:
        return window
    if window.end <= oldest:
        raise UsageError(f"the window ends before the {days} days Performance Insights keeps")
    if report is not None:
        report.extra.setdefault("aws", {}).setdefault("pi_notes", []).append(
            f"the window starts before the {days} days Performance Insights keeps: "
            f"read from {oldest.isoformat()}")
    return Window(oldest, window.end)


def merge(statements: list[Statement], pi_statements: list[Statement]) -> list[Statement]:
    """pg_stat_statements statements gain PI's load and waits; PI-only ones are appended."""
    by_fp: dict[str, Statement] = {}
    for s in statements:
        s.fingerprint = s.fingerprint or fingerprint(s.text)
        by_fp.setdefault(s.fingerprint, s)
    merged = list(statements)
    for p in pi_statements:
        target = by_fp.get(p.fingerprint)
        if target is None and p.truncated:
            target = _prefix_match(statements, p.text)
        if target is None:
            merged.append(p)
            continue
        if SOURCE in target.source.split("+"):  # a second PI digest of the same statement: add up
            target.extra["db_load"] = target.extra.get("db_load", 0.0) + p.extra.get("db_load", 0.0)
            waits = target.extra.setdefault("waits", {})
            for w, v in p.extra.get("waits", {}).items():
                waits[w] = waits.get(w, 0.0) + v
            target.extra.setdefault("pi_ids", [target.extra.get("pi_id")]).append(p.extra.get("pi_id"))
            continue
        for k in ("db_load", "waits", "pi_id", "pi_db_id", "pi_stats", "pi_window_s"):
            if k in p.extra:
                target.extra[k] = p.extra[k]
        if SOURCE not in target.source.split("+"):
            target.source = f"{target.source}+{SOURCE}"
    return merged


def _prefix_match(statements: list[Statement], cut_text: str) -> Statement | None:
    """A cut PI text matches the one server statement whose normalized text starts like it."""
    prefix = _normalized(cut_text)
    tokens = prefix.split(" ")
    prefix = " ".join(tokens[:-1])  # the last token may itself be cut
    if len(prefix) < 40:
        return None
    hits = [s for s in statements if _normalized(s.text).startswith(prefix)]
    return hits[0] if len(hits) == 1 else None


def options_window(options: Any) -> Window:
    return window_since(getattr(options, "since", None))


def run_into(report: Report, session: SessionLike, db_instance: str, window: Window,
             limit: int | None = None, period: int | None = None) -> list[Statement]:
    """PI and CloudWatch into report (sources marked ok/skipped/error with one line each on stderr);
    returns the PI statements, [] when PI could not be read."""
    from analyzer.sources import cloudwatch

    pi_statements: list[Statement] = []
    try:
        pi_statements = collect(session, db_instance, window, limit, period, report)
        report.source(SOURCE, "ok", f"{len(pi_statements)} statements from {db_instance} over "
                      f"{window.seconds / 3600:.3g} h")
    except (AwsError, UsageError) as e:
        say(report, SOURCE, e)
        if getattr(e, "session_wide", False):  # same cause for CloudWatch: said once
            report.source(cloudwatch.SOURCE, getattr(e, "kind", "error"), str(e))
            return pi_statements
    try:
        cloudwatch.collect_into(report, session, db_instance, window)
    except (AwsError, UsageError) as e:
        say(report, cloudwatch.SOURCE, e)
    return pi_statements


def say(report: Report, name: str, e: Exception) -> None:
    kind = getattr(e, "kind", "error")
    report.source(name, kind, str(e))
    print(f"pgqa: {name}: {e}", file=sys.stderr)


def merge_into(report: Report, statements: list[Statement], options: Any) -> list[Statement]:
    """The analyze hook: PI (and CloudWatch) for options.db_instance over options.since, merged
    with the server's statements. Nothing raises: failures become source statuses."""
    db_instance = getattr(options, "db_instance", None)
    if not db_instance:
        e = AwsError("--pi needs --db-instance NAME (the RDS instance identifier)", "skipped")
        say(report, SOURCE, e)
        return statements
    extra = getattr(options, "extra", None) or {}
    try:
        session = session_for(options)
        window = options_window(options)
    except (AwsError, UsageError) as e:
        say(report, SOURCE, e)
        return statements
    limit = extra.get("pi_limit") or min(max(int(getattr(options, "top", MAX_KEYS) or MAX_KEYS), 1), MAX_KEYS)
    pi_statements = run_into(report, session, db_instance, window, limit, extra.get("pi_period"))
    return merge(statements, pi_statements)
