"""The demo database: the recruiting application (applicant tracking system) of the incident in
FIELD-NOTES.md, with generated data and a replayed workload.

Tables and rows at scale 1.0 (`setup_demo(..., scale=s)` multiplies all but the lookup tables;
`row_counts(s)` gives the exact numbers):

    companies                40   lookup, fixed size (the advisor must leave it alone)
    stages                    8   lookup, fixed size
    jobs                  1,500
    candidates          200,000   ~39 MB; no index on company_id, created_at, email
    applications        400,000   ~40 MB; no index on candidate_id, job_id, status, created_at
    interviews          120,000
    application_events  600,000   ~53 MB; the KPI table, no index on company_id, event_type
    kintone_candidates   20,000   the kintone sync's staging table, unique external_id

Primary keys everywhere, foreign keys declared, and deliberately no secondary index: the heavy
statements all scan. Data is deterministic (a hash of the row number, no random()). On a 2-core
machine scale 1.0 loads in about 6 s and the workload replays in a few seconds.

The workload (workload.sql, replayed by workload.py) holds the incident's four shapes (candidate
detail `c.*` with LEFT JOINs, the unpaged candidate list ORDER BY created_at, the UNION ALL KPI
aggregates, the kintone upsert without a WHERE guard), healthy statements (primary-key lookups, a
keyset page with LIMIT, a join on primary keys) and shapes for other rules (an N+1, a deep OFFSET,
lower(email) = $1, LIKE '%' || $2 || '%'), each application on its own connection and
application_name (lambda-candidate-detail, lambda-candidates, lambda-kpi, lambda-jobs, kintone-sync).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analyzer.demo.load import BASE_ROWS, create_database, load_data, row_counts
from analyzer.demo.workload import APPS, DEFAULT_ROUNDS, admin_query, queries, replay, untracked_connect

if TYPE_CHECKING:
    from analyzer.localpg import LocalServer

__all__ = ["APPS", "BASE_ROWS", "DEFAULT_ROUNDS", "queries", "replay", "reset_statements", "row_counts",
           "setup_demo"]


def reset_statements(dsn: str) -> None:
    """Forget pg_stat_statements' entries of this database (and only of this one)."""
    with untracked_connect(dsn) as conn:
        conn.execute(admin_query("reset_statements"))


def setup_demo(server: LocalServer, dbname: str = "pgqa_demo", scale: float = 1.0,
               rounds: int = DEFAULT_ROUNDS, progress: Callable[[str], None] | None = None) -> str:
    """Create `dbname` on the local server (replacing an older one), load schema and data at `scale`,
    gather statistics, reset pg_stat_statements for it and replay the workload. Returns its DSN.
    `progress` hears one line per step."""
    say = progress or (lambda _message: None)
    counts = row_counts(scale)
    say(f"loading demo data ({counts['candidates']:,} candidates, {counts['applications']:,} applications, "
        f"{counts['application_events']:,} events) ...")
    create_database(server.dsn(), dbname)
    dsn = server.dsn(dbname)
    load_data(dsn, counts)
    reset_statements(dsn)
    say(f"replaying workload ({rounds} rounds, {len(APPS)} applications at once) ...")
    replay(dsn, rounds)
    return dsn
