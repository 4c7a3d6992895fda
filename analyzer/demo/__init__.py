"""The demo database: the recruiting application (applicant tracking system) of the incident in
FIELD-NOTES.md, with generated data and a replayed workload.

Tables and rows at scale 1.0 (`setup_demo(..., scale=s)` multiplies all but the lookup tables,
keeping at least 100 rows in each; `row_counts(s)` gives the exact numbers):

    companies                40   lookup, fixed size (the advisor must leave it alone)
    stages                    8   lookup, fixed size
    jobs                  1,500
    candidates          200,000   ~39 MB; no index on company_id, created_at, email
    applications        400,000   ~40 MB; no index on candidate_id, job_id, status, created_at
    interviews          120,000
    application_events  600,000   ~53 MB; the KPI table, no index on company_id, event_type
    kintone_candidates   20,000   the kintone sync's staging table, unique external_id

Primary keys everywhere, foreign keys declared, and deliberately no secondary index: the heavy
statements all scan. Data is deterministic (a hash of the row number, no random()), the same on
every PostgreSQL version. Planner statistics come from ANALYZE's random sample of 30,000 rows per
table, as on any server: at scale 1.0 estimates (and so plan costs) can differ by a few percent
between two loads; at scale <= 0.05 every table fits in the sample and statistics are exact.
On an idle 2-core machine scale 1.0 loads in 6-10 s (156 MB) and the workload replays in 3-6 s
(bench/demo_setup.py prints both).

The workload (workload.sql, replayed by workload.py; `replay()` returns the exact counts), with
the calls of one default replay (3 rounds) at scale 1.0:

    candidate_detail          30   incident: SELECT c.*, ... LEFT JOIN ... WHERE c.id = $1
    candidate_list             9   incident: no LIMIT, ORDER BY c.created_at DESC (~4,700 rows)
    kpi_applications           3   incident: UNION ALL of 5 count(*) over applications
    kpi_events                 3   the same over application_events, per company
    kintone_upsert           150   incident: INSERT ... ON CONFLICT (external_id) DO UPDATE, no WHERE
    job_by_id                 90   healthy: primary-key lookup
    application_with_job      45   healthy: join on primary keys
    candidates_page            3   healthy: keyset page, LIMIT 10
    candidate_applications    30   N+1 per row of that page, on unindexed candidate_id
    job_pipeline               6   applications of a job (unindexed job_id) driving...
    candidate_by_id       ~1,600   ...an N+1 of cheap primary-key lookups
    candidates_offset_page     6   LIMIT 50 OFFSET $2
    candidate_by_email         6   lower(email) = $1
    candidate_search           6   LIKE '%' || $2 || '%' (pg_stat_statements shows $3 || $2 || $4)

Each application runs on its own connection and application_name, all at once: lambda-candidate-
detail, lambda-candidates, lambda-candidate-search, lambda-job-pipeline, lambda-kpi, lambda-jobs,
kintone-sync. `lingering_connections()` leaves two idle connections of each open, as Lambda
containers do between invocations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analyzer.demo.load import BASE_ROWS, create_database, load_data, row_counts
from analyzer.demo.workload import (
    APPS,
    DEFAULT_ROUNDS,
    admin_query,
    lingering_connections,
    queries,
    replay,
    untracked_connect,
)

if TYPE_CHECKING:
    from analyzer.localpg import LocalServer

__all__ = ["APPS", "BASE_ROWS", "DEFAULT_ROUNDS", "lingering_connections", "queries", "replay",
           "reset_statements", "row_counts", "setup_demo"]


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
