"""wide-select-join severity follows the bytes a call carries (rows per call x pg_stats width), not
the statement's share of the time alone. Statements in pg_stat_statements form, as the demo shows them."""

from __future__ import annotations

from analyzer.model import Catalog, Column, Finding, Index, Report, Statement, Table
from analyzer.rules import run_rules
from analyzer.workload import prepare

RANKS = ["info", "low", "medium", "high", "critical"]
RULE = "wide-select-join"

# the demo's candidate detail: c.* plus a few columns of three LEFT JOINed tables, by primary key
DETAIL = ("SELECT c.*, a.id AS application_id, a.status AS application_status, a.created_at AS applied_at, "
          "j.title AS job_title, s.name AS stage_name FROM candidates c "
          "LEFT JOIN applications a ON a.candidate_id = c.id LEFT JOIN jobs j ON j.id = a.job_id "
          "LEFT JOIN stages s ON s.id = a.stage_id WHERE c.id = $1")
LIST = ("SELECT c.*, j.title FROM candidates c JOIN applications a ON a.candidate_id = c.id "
        "JOIN jobs j ON j.id = a.job_id WHERE c.company_id = $1 ORDER BY c.created_at DESC")
OTHER = "SELECT pg_sleep($1)"

# candidates as the demo's pg_stats has it: 12 columns, 221 bytes per row
WIDTHS = {"id": 8, "company_id": 8, "name": 14, "email": 26, "phone": 13, "status": 7, "source": 8,
          "owner_name": 13, "notes": 100, "created_at": 8, "updated_at": 8, "deleted_at": 8}


def catalog() -> Catalog:
    cand = Table("public", "candidates", columns=[Column(n, avg_width=w) for n, w in WIDTHS.items()],
                 primary_key=["id"])
    apps = Table("public", "applications",
                 columns=[Column(n, avg_width=8) for n in ("id", "candidate_id", "job_id", "stage_id")]
                 + [Column("status", avg_width=7), Column("created_at", avg_width=8)],
                 primary_key=["id"], indexes=[Index("applications_pkey", "public.applications", "", ["id"],
                                                    unique=True, primary=True)])
    jobs = Table("public", "jobs", columns=[Column("id", avg_width=8), Column("title", avg_width=20)],
                 primary_key=["id"])
    stages = Table("public", "stages", columns=[Column("id", avg_width=8), Column("name", avg_width=10)],
                   primary_key=["id"])
    return Catalog(tables={t.qualified: t for t in (cand, apps, jobs, stages)})


def with_stats(text: str, calls: int, rows: float, total_ms: float, rest_ms: float,
               cat: Catalog | None = None) -> Finding:
    """The rule on one measured statement beside another that takes rest_ms: its share of the time
    is total_ms / (total_ms + rest_ms)."""
    s = Statement(text=text, calls=calls, rows=round(rows), total_ms=total_ms, mean_ms=total_ms / calls)
    other = Statement(text=OTHER, calls=10, rows=10, total_ms=rest_ms, mean_ms=rest_ms / 10)
    prepare(Report(generated_at="", pgqa_version=""), [s, other], cat)
    [f] = [f for f in run_rules([s, other], cat, include=[RULE]) if f.statement_index == 0]
    return f


def static(text: str, cat: Catalog | None = None) -> Finding:
    s = Statement(text=text, source="file", has_stats=False)
    prepare(Report(generated_at="", pgqa_version=""), [s], cat)
    [f] = run_rules([s], cat, include=[RULE])
    return f


def test_demo_detail_with_few_small_rows_is_at_most_medium_despite_its_share_of_time() -> None:
    # the demo: 30 calls, 2.3 rows per call, 23% of the time (which comes from a seq scan)
    f = with_stats(DETAIL, calls=30, rows=69, total_ms=2796, rest_ms=9335, cat=catalog())
    assert RANKS.index(f.severity) <= RANKS.index("medium")
    assert f.evidence["estimated_bytes_per_row"] == sum(WIDTHS.values()) == 221
    assert f.evidence["estimated_bytes_per_call"] == round(2.3 * 221)
    assert "2.3 rows per call" in f.message and "about 508 bytes per call" in f.message
    # the same statement under 1% of the time is low
    light = with_stats(DETAIL, calls=30, rows=69, total_ms=20, rest_ms=9335, cat=catalog())
    assert light.severity == "low"


def test_list_with_thousands_of_rows_per_call_is_high_or_critical() -> None:
    f = with_stats(LIST, calls=10, rows=50_000, total_ms=3000, rest_ms=7000, cat=catalog())  # 30%
    assert f.severity in ("high", "critical")
    assert "5,000 rows per call" in f.message and "MB per call" in f.message
    # large but a small share of the time: high, not critical
    g = with_stats(LIST, calls=10, rows=50_000, total_ms=300, rest_ms=9700, cat=catalog())
    assert g.severity == "high"
    # large and a quarter of the time: critical
    assert f.severity == "critical"


def test_share_of_time_moves_a_middle_sized_reply_by_one_level_at_most() -> None:
    # 100 rows x 221 bytes = 22 KB per call: between small and large
    heavy = with_stats(DETAIL, calls=30, rows=3000, total_ms=9000, rest_ms=1000, cat=catalog())
    light = with_stats(DETAIL, calls=30, rows=3000, total_ms=0.5, rest_ms=10_000, cat=catalog())
    assert heavy.severity == "high" and light.severity == "low"
    assert "21.6 KB per call" in heavy.message


def test_without_width_rows_per_call_decide() -> None:
    few = with_stats(DETAIL, calls=30, rows=69, total_ms=2796, rest_ms=9335)  # no catalog
    assert RANKS.index(few.severity) <= RANKS.index("medium")
    assert "estimated_bytes_per_call" not in few.evidence and "bytes per call" not in few.message
    many = with_stats(DETAIL, calls=30, rows=60_000, total_ms=2796, rest_ms=9335)
    assert many.severity == "high"


def test_without_statistics_the_static_default_stays() -> None:
    # lint of plain SQL: medium, high when a LEFT JOIN can multiply rows (unchanged behaviour)
    assert static(DETAIL).severity == "high"
    assert static(DETAIL, catalog()).severity == "high"  # a.candidate_id is no key of applications
    assert static(LIST, catalog()).severity == "medium"
    assert "rows per call" not in static(DETAIL, catalog()).message


def test_unmeasured_rows_are_not_reported_as_zero() -> None:
    # Performance Insights without its rows statistic: rows is 0 without meaning 0 rows per call
    s = Statement(text=DETAIL, source="performance_insights", calls=30, rows=0, total_ms=2796, mean_ms=93.2,
                  extra={"pi_stats": {}})
    other = Statement(text=OTHER, calls=10, rows=10, total_ms=9335, mean_ms=933.5)
    prepare(Report(generated_at="", pgqa_version=""), [s, other], catalog())
    [f] = [f for f in run_rules([s, other], catalog(), include=[RULE]) if f.statement_index == 0]
    assert f.severity == static(DETAIL, catalog()).severity
    assert "rows per call" not in f.message and "estimated_bytes_per_call" not in f.evidence
    # with the statistic, a measured 0 rows per call is a small reply
    s.extra["pi_stats"] = {"rows_per_call": 0.0}
    [g] = [f for f in run_rules([s, other], catalog(), include=[RULE]) if f.statement_index == 0]
    assert g.severity == "medium" and "0.0 rows per call" in g.message
