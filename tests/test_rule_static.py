"""Every rule: statements that must fire and statements that must not (pg_stat_statements `$n` form),
the statements of the issue and the incident's four query shapes from FIELD-NOTES."""

from __future__ import annotations

import pytest

from analyzer.model import Catalog, Column, Finding, Index, Report, Statement, Table
from analyzer.rules import REGISTRY, run_rules
from analyzer.workload import prepare


def lint(text: str, rule: str, catalog: Catalog | None = None, **stats: object) -> list[Finding]:
    s = Statement(text=text, source="file", has_stats=bool(stats), **stats)  # type: ignore[arg-type]
    prepare(Report(generated_at="", pgqa_version=""), [s], catalog)
    return run_rules([s], catalog, include=[rule])


# The incident's top SQL (FIELD-NOTES), in pg_stat_statements form.
INCIDENT_DETAIL = ("SELECT c.* FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id "
                   "LEFT JOIN interviews i ON i.application_id = a.id WHERE c.id = $1")
INCIDENT_LIST = ("SELECT c.id, c.name, c.email, c.status FROM candidates c WHERE c.org_id = $1 ORDER BY "
                 "c.created_at DESC")
INCIDENT_KPI = ("SELECT $1 AS kpi, count(*) FROM applications WHERE stage = $2 UNION ALL "
                "SELECT $3, count(*) FROM applications WHERE stage = $4 UNION ALL "
                "SELECT $5, count(*) FROM applications WHERE created_at > now() - interval '7 days'")
INCIDENT_SYNC = ("INSERT INTO candidates (kintone_id, name, email, phone, updated_at) VALUES ($1, $2, $3, "
                 "$4, now()) "
                 "ON CONFLICT (kintone_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, "
                 "phone = EXCLUDED.phone, updated_at = now()")

FIRE: dict[str, list[str]] = {
    "unpaged-list": [
        INCIDENT_LIST,
        "SELECT c.id, c.name FROM candidates c WHERE c.status = $1 ORDER BY c.created_at DESC",
        "SELECT id, title FROM jobs WHERE org_id = $1",
        "SELECT id FROM candidates",
        "SELECT a.id, j.title FROM applications a JOIN jobs j ON j.id = a.job_id WHERE a.stage = $1",
        "WITH x AS (SELECT id, name FROM candidates WHERE org_id = $1) SELECT * FROM x",
        "SELECT * FROM (SELECT id, name FROM candidates WHERE status = $1) d ORDER BY name",
        "SELECT id FROM candidates WHERE org_id = $1 UNION ALL SELECT id FROM archived WHERE org_id = $2",
        "SELECT DISTINCT email FROM candidates WHERE org_id = $1",
        "SELECT id FROM candidates WHERE candidate_id = $1",
    ],
    "wide-select-join": [
        INCIDENT_DETAIL,
        "SELECT * FROM candidates c JOIN applications a ON a.candidate_id = c.id WHERE c.id = $1",
        "SELECT c.*, a.stage FROM candidates c, applications a WHERE a.candidate_id = c.id AND c.org_id = $1",
        "SELECT a.* FROM applications a JOIN jobs j ON j.id = a.job_id WHERE j.org_id = $1 LIMIT $2",
        "SELECT * FROM jobs j CROSS JOIN LATERAL (SELECT count(*) FROM applications a WHERE a.job_id = "
        "j.id) n",
        "SELECT x.id FROM (SELECT * FROM candidates c JOIN applications a ON a.candidate_id = c.id) x "
        "LIMIT $1",
        "SELECT * FROM candidates c RIGHT JOIN applications a ON a.candidate_id = c.id WHERE a.id = $1",
    ],
    "union-all-aggregates": [
        INCIDENT_KPI,
        "SELECT count(*) FROM applications WHERE status = $1 UNION ALL SELECT count(*) FROM applications "
        "WHERE status = $2",
        "SELECT count(*) FROM candidates UNION ALL SELECT count(*) FROM jobs",
        "SELECT sum(score) FROM applications WHERE stage = $1 UNION ALL SELECT avg(score) FROM applications",
        "SELECT max(created_at) FROM candidates UNION ALL SELECT max(created_at) FROM applications UNION ALL "
        "SELECT max(opened_at) FROM jobs",
        "SELECT * FROM (SELECT count(*) AS n FROM a WHERE x = $1 UNION ALL SELECT count(*) FROM a WHERE x "
        "= $2) k",
        "WITH k AS (SELECT min(id) FROM t UNION ALL SELECT min(id) FROM u) SELECT * FROM k",
    ],
    "upsert-without-change-guard": [
        INCIDENT_SYNC,
        "INSERT INTO candidates (ext_id, name, email) VALUES ($1, $2, $3) ON CONFLICT (ext_id) DO UPDATE "
        "SET name = EXCLUDED.name, email = EXCLUDED.email",
        "INSERT INTO jobs AS j (id, title) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET title = "
        "EXCLUDED.title",
        "INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "
        "RETURNING id",
        "INSERT INTO counters (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = counters.n + "
        "EXCLUDED.n",
        "INSERT INTO s (a, b) SELECT a, b FROM staging ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b",
        "INSERT INTO s (a, b) VALUES ($1,$2) ON CONFLICT ON CONSTRAINT s_pkey DO UPDATE SET b = EXCLUDED.b",
    ],
    "deep-offset-pagination": [
        "SELECT id, title FROM jobs WHERE org_id = $1 ORDER BY created_at DESC LIMIT $2 OFFSET $3",
        "SELECT id FROM candidates ORDER BY id LIMIT 50 OFFSET 5000",
        "SELECT id FROM candidates ORDER BY id OFFSET $1 ROWS FETCH FIRST $2 ROWS ONLY",
        "SELECT * FROM (SELECT id FROM candidates ORDER BY id LIMIT $1 OFFSET $2) p",
        "SELECT id FROM candidates LIMIT $1 OFFSET $2",
        "SELECT a.id FROM applications a JOIN jobs j ON j.id = a.job_id ORDER BY a.id LIMIT 20 OFFSET 200",
    ],
    "leading-wildcard-like": [
        "SELECT id, name FROM candidates WHERE name ILIKE '%' || $1 || '%'",
        "SELECT id FROM candidates WHERE email LIKE '%@example.com' LIMIT $1",
        "SELECT id FROM candidates WHERE name LIKE $1 LIMIT $2",
        "SELECT id FROM candidates WHERE lower(name) LIKE '%smith%'",
        "SELECT id FROM jobs WHERE title ILIKE '_ngineer%' LIMIT 5",
        "UPDATE candidates SET status = $1 WHERE email LIKE '%@old.example'",
        "SELECT id FROM candidates c WHERE c.org_id = $1 AND (c.name ILIKE $2 OR c.email ILIKE $3)",
    ],
    "non-sargable-predicate": [
        "SELECT id FROM candidates WHERE lower(email) = $1",
        "SELECT count(*) FROM applications WHERE created_at::date = $1",
        "SELECT id FROM candidates WHERE date_trunc('day', created_at) = $1",
        "SELECT id FROM jobs WHERE coalesce(closed_at, opened_at) > $1",
        "SELECT id FROM applications WHERE score + 1 > $1",
        "SELECT c.id FROM candidates c JOIN applications a ON lower(a.email) = c.email WHERE c.id = $1",
        "DELETE FROM sessions WHERE extract(epoch FROM expires_at) < $1",
        "SELECT id FROM candidates WHERE upper(name) LIKE 'AB%'",
        "SELECT id FROM candidates WHERE lower(email) = $1 OR id = $2",
    ],
    "not-in-subquery": [
        "SELECT id FROM candidates WHERE id NOT IN (SELECT candidate_id FROM applications)",
        "SELECT id FROM jobs WHERE org_id = $1 AND id NOT IN (SELECT job_id FROM applications WHERE stage "
        "= $2)",
        "DELETE FROM tags WHERE id NOT IN (SELECT tag_id FROM candidate_tags)",
        "SELECT count(*) FROM candidates c WHERE c.org_id NOT IN (SELECT id FROM orgs WHERE disabled)",
        "UPDATE jobs SET status = $1 WHERE id NOT IN (SELECT job_id FROM applications)",
    ],
    "order-by-random": [
        "SELECT id, title FROM jobs WHERE org_id = $1 ORDER BY random() LIMIT $2",
        "SELECT id FROM candidates ORDER BY RANDOM() LIMIT 1",
        "SELECT * FROM (SELECT id FROM jobs ORDER BY random() LIMIT 10) x",
        "SELECT id FROM candidates WHERE status = $1 ORDER BY random()",
        "SELECT q.id FROM questions q ORDER BY random() FETCH FIRST 3 ROWS ONLY",
    ],
}

QUIET: dict[str, list[str]] = {
    "unpaged-list": [
        "SELECT id, name FROM candidates WHERE org_id = $1 ORDER BY created_at DESC LIMIT $2",
        "SELECT count(*) FROM candidates WHERE org_id = $1",
        "SELECT EXISTS (SELECT 1 FROM candidates WHERE email = $1)",
        "SELECT c.* FROM candidates c WHERE c.id = $1",
        "SELECT id, name FROM candidates WHERE id = ANY($1)",
        "INSERT INTO archive (id, name) SELECT id, name FROM candidates WHERE deleted_at IS NOT NULL",
        "SELECT status, count(*) FROM candidates GROUP BY status",
        "SELECT id FROM candidates ORDER BY id FETCH FIRST $1 ROWS ONLY",
        "WITH x AS (SELECT id, name FROM candidates WHERE org_id = $1) SELECT * FROM x LIMIT 10",
        "SELECT now()",
        "SELECT count(*) FROM applications WHERE stage = $1 UNION ALL SELECT count(*) FROM applications",
        "UPDATE candidates SET status = $1 WHERE org_id = $2",
        "WITH k AS (SELECT count(*) AS n FROM candidates) SELECT * FROM k",
    ],
    "wide-select-join": [
        "SELECT c.id, c.name, a.stage FROM candidates c JOIN applications a ON a.candidate_id = c.id",
        "SELECT * FROM candidates WHERE id = $1",
        "SELECT count(*) FROM candidates c JOIN applications a ON a.candidate_id = c.id",
        "SELECT c.* FROM candidates c WHERE c.org_id = $1 LIMIT $2",
        "SELECT * FROM (SELECT c.id FROM candidates c JOIN applications a ON a.candidate_id = c.id) x "
        "LIMIT $1",
        "SELECT c.id FROM candidates c WHERE EXISTS (SELECT * FROM applications a WHERE a.candidate_id = "
        "c.id)",
    ],
    "union-all-aggregates": [
        "SELECT id FROM candidates UNION ALL SELECT id FROM archived",
        "SELECT count(*) FROM candidates UNION SELECT count(*) FROM jobs",
        "SELECT count(*) FROM candidates",
        "SELECT count(*) FROM candidates UNION ALL SELECT id FROM jobs",
        "SELECT count(*) FILTER (WHERE stage = $1), count(*) FILTER (WHERE stage = $2) FROM applications",
        "SELECT status, count(*) FROM candidates GROUP BY status",
    ],
    "upsert-without-change-guard": [
        "INSERT INTO candidates AS t (ext_id, name) VALUES ($1, $2) ON CONFLICT (ext_id) DO UPDATE "
        "SET name = EXCLUDED.name WHERE t.name IS DISTINCT FROM EXCLUDED.name",
        "INSERT INTO candidates (ext_id, name) VALUES ($1, $2) ON CONFLICT (ext_id) DO NOTHING",
        "INSERT INTO candidates (ext_id, name) VALUES ($1, $2)",
        "UPDATE candidates SET name = $1 WHERE id = $2",
        "INSERT INTO c (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v WHERE c.v <> "
        "EXCLUDED.v",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a",
    ],
    "deep-offset-pagination": [
        "SELECT id FROM candidates ORDER BY id LIMIT $1",
        "SELECT id FROM candidates WHERE id > $1 ORDER BY id LIMIT $2",
        "SELECT id FROM candidates ORDER BY id LIMIT 10 OFFSET 0",
        "SELECT count(*) FROM candidates",
        "SELECT id FROM candidates WHERE (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC "
        "LIMIT $3",
        "SELECT offset_ms FROM timings WHERE id = $1",
    ],
    "leading-wildcard-like": [
        "SELECT id FROM candidates WHERE name LIKE 'Ali%'",
        "SELECT id FROM candidates WHERE name LIKE $1 || '%'",
        "SELECT id FROM candidates WHERE email = $1",
        "SELECT id FROM candidates WHERE name ILIKE 'smith%'",
        "SELECT id FROM candidates WHERE status IN ($1, $2)",
        "SELECT '%' || name FROM candidates WHERE id = $1",
    ],
    "non-sargable-predicate": [
        "SELECT id FROM candidates WHERE email = lower($1)",
        "SELECT id FROM applications WHERE created_at >= $1::date AND created_at < $1::date + 1",
        "SELECT lower(email) FROM candidates WHERE id = $1",
        "SELECT id FROM candidates WHERE email = $1",
        "SELECT id FROM candidates ORDER BY lower(name) LIMIT 10",
        "SELECT id FROM candidates WHERE id = $1 AND lower(email) = $2",
    ],
    "not-in-subquery": [
        "SELECT id FROM candidates c WHERE NOT EXISTS (SELECT 1 FROM applications a WHERE a.candidate_id = "
        "c.id)",
        "SELECT id FROM candidates WHERE id NOT IN ($1, $2, $3)",
        "SELECT id FROM candidates WHERE id IN (SELECT candidate_id FROM applications)",
        "SELECT id FROM candidates WHERE status <> $1",
        "SELECT id FROM candidates WHERE id <> ALL($1)",
    ],
    "order-by-random": [
        "SELECT id FROM candidates ORDER BY created_at DESC LIMIT 10",
        "SELECT random() FROM candidates WHERE id = $1",
        "SELECT id FROM candidates ORDER BY id",
        "SELECT id FROM candidates TABLESAMPLE SYSTEM (1) LIMIT 10",
        "SELECT id FROM candidates WHERE score > random()",
    ],
}

CASES = [(rule, text, True) for rule, texts in FIRE.items() for text in texts] + \
        [(rule, text, False) for rule, texts in QUIET.items() for text in texts]


@pytest.mark.parametrize("rule,text,fires", CASES, ids=[f"{r}-{'fire' if f else 'quiet'}-{i}"
                                                         for i, (r, _, f) in enumerate(CASES)])
def test_rule_fires_exactly_where_it_should(rule: str, text: str, fires: bool) -> None:
    found = lint(text, rule)
    assert bool(found) == fires, (text, [f.message for f in found])
    for f in found:
        assert f.rule == rule and f.severity in ("info", "low", "medium", "high", "critical")
        assert f.title and f.message and f.recommendation
        assert f.statement_index == 0 and len(f.fingerprint or "") == 16


def test_every_rule_has_enough_cases_and_a_documented_example() -> None:
    for name, rule in REGISTRY.items():
        if rule.needs_stats:
            continue
        assert len(FIRE[name]) >= 5 and len(QUIET[name]) >= 5, name
        assert "Bad::" in rule.doc and "Good" in rule.doc and "Why:" in rule.doc, name
    assert all(n == n.lower() and " " not in n for n in REGISTRY)


def test_incident_shapes_each_get_their_rule() -> None:
    got = {text: {f.rule for f in lint(text, r) for r in [r]} for text, r in []}
    expected = {INCIDENT_DETAIL: "wide-select-join", INCIDENT_LIST: "unpaged-list",
                INCIDENT_KPI: "union-all-aggregates", INCIDENT_SYNC: "upsert-without-change-guard"}
    for text, rule in expected.items():
        s = Statement(text=text, source="file", has_stats=False)
        prepare(Report(generated_at="", pgqa_version=""), [s], None)
        got[text] = {f.rule for f in run_rules([s], None)}
        assert rule in got[text], (rule, got[text])
    # the detail lookup by id is not an unpaged list
    assert "unpaged-list" not in got[INCIDENT_DETAIL]


def test_truncated_text_does_not_fire_tail_rules() -> None:
    for text, rule in [(INCIDENT_LIST, "unpaged-list"), (INCIDENT_SYNC, "upsert-without-change-guard")]:
        s = Statement(text=text, source="pg_stat_activity", truncated=True)
        prepare(Report(generated_at="", pgqa_version=""), [s], None)
        assert run_rules([s], None, include=[rule]) == []
    # a rule on what was kept still fires, and says the text was cut
    s = Statement(text=INCIDENT_DETAIL[:90], source="performance_insights", extra={"source_limit": 90})
    prepare(Report(generated_at="", pgqa_version=""), [s], None)
    assert s.truncated
    [f] = run_rules([s], None, include=["wide-select-join"])
    assert f.evidence["truncated"] is True and "truncated" in f.message


def catalog() -> Catalog:
    cand = Table("app", "candidates", columns=[Column("id", avg_width=8), Column("org_id", avg_width=8),
                                               Column("name", avg_width=14), Column("email", avg_width=24),
                                               Column("resume", avg_width=4000)],
                 primary_key=["id"], indexes=[Index("candidates_email_key", "app.candidates", "", ["email"],
                                                    unique=True),
                                              Index("candidates_lower_email", "app.candidates", "",
                                                    ["lower(email)"])])
    apps = Table("app", "applications", columns=[Column("id", avg_width=8),
                                                 Column("candidate_id", avg_width=8),
                                                 Column("stage", avg_width=6)], primary_key=["id"])
    return Catalog(tables={cand.qualified: cand, apps.qualified: apps}, search_path=["app"])


def test_catalog_unique_keys_drive_single_row_lookups() -> None:
    cat = catalog()
    assert lint("SELECT id, name FROM candidates WHERE email = $1", "unpaged-list", cat) == []
    assert lint("SELECT id, name FROM candidates WHERE email = $1", "unpaged-list") != []
    # statically an `id` equality is a lookup; with the catalog saying id is no key of t, it is not
    assert lint("SELECT id FROM applications WHERE candidate_id = $1", "unpaged-list", cat) != []


def test_wide_select_join_evidence_from_the_catalog() -> None:
    [f] = lint("SELECT c.* FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id WHERE c.id "
               "= $1",
               "wide-select-join", catalog())
    assert f.evidence["expanded"] == ["c"]
    assert f.evidence["expanded_columns"] == 5
    assert f.evidence["estimated_bytes_per_row"] == 8 + 8 + 14 + 24 + 4000
    assert f.evidence["left_joins_may_multiply_rows"] == ["a"]
    assert f.suggested_sql.startswith("SELECT c.id, c.org_id, c.name, c.email, c.resume FROM candidates")
    # a LEFT JOIN on the joined table's primary key cannot multiply rows
    [g] = lint("SELECT a.* FROM applications a LEFT JOIN candidates c ON c.id = a.candidate_id",
               "wide-select-join", catalog())
    assert "left_joins_may_multiply_rows" not in g.evidence


def test_existing_expression_index_silences_non_sargable() -> None:
    rule = "non-sargable-predicate"
    assert lint("SELECT id FROM candidates WHERE lower(email) = $1", rule, catalog()) == []
    assert lint("SELECT id FROM candidates WHERE upper(email) = $1", rule, catalog()) != []


def test_severity_rises_with_share_of_time_and_rows() -> None:
    text = "SELECT id, name FROM candidates WHERE org_id = $1"
    a = Statement(text=text, calls=10, total_ms=900.0, rows=100_000)
    b = Statement(text="SELECT 1", calls=10, total_ms=100.0, rows=10)
    prepare(Report(generated_at="", pgqa_version=""), [a, b], None)
    [heavy] = run_rules([a, b], None, include=["unpaged-list"])
    c = Statement(text=text, calls=10, total_ms=0.5, rows=10)
    d = Statement(text="SELECT 1", calls=10, total_ms=1000.0, rows=10)
    prepare(Report(generated_at="", pgqa_version=""), [c, d], None)
    [light] = run_rules([c, d], None, include=["unpaged-list"])
    ranks = ["info", "low", "medium", "high", "critical"]
    assert ranks.index(heavy.severity) > ranks.index(light.severity)
    assert heavy.evidence["share_of_total_time_pct"] == 90.0
    [static] = lint(text, "unpaged-list")
    assert ranks.index(light.severity) < ranks.index(static.severity) < ranks.index(heavy.severity)


def test_union_severity_rises_with_branches() -> None:
    two = lint("SELECT count(*) FROM a UNION ALL SELECT count(*) FROM b", "union-all-aggregates")[0]
    five = lint(" UNION ALL ".join(f"SELECT count(*) FROM t{i}" for i in range(5)), "union-all-aggregates")[0]
    ranks = ["info", "low", "medium", "high", "critical"]
    assert ranks.index(five.severity) > ranks.index(two.severity)
    assert five.evidence["scans"] == 5


def test_suggested_sql_never_carries_input_literals() -> None:
    texts = [
        "SELECT c.id, c.name FROM candidates c WHERE c.email = 'alice@example.com' ORDER BY c.created_at "
        "DESC",
        "SELECT count(*) FROM applications WHERE stage = 'Alice Martin' UNION ALL "
        "SELECT count(*) FROM applications WHERE stage = 'hired-4242'",
        "INSERT INTO candidates (ext_id, name) VALUES (4242, 'Alice Martin') ON CONFLICT (ext_id) DO UPDATE "
        "SET name = EXCLUDED.name",
        "SELECT id FROM candidates WHERE name = 'Alice Martin' ORDER BY id LIMIT 10 OFFSET 4242",
    ]
    for text in texts:
        s = Statement(text=text, source="pg_stat_activity", has_stats=False)
        prepare(Report(generated_at="", pgqa_version=""), [s], None)
        findings = run_rules([s], None)
        assert any(f.suggested_sql for f in findings), text
        for f in findings:
            for secret in ("alice@example.com", "Alice Martin", "4242", "hired"):
                assert secret not in (f.suggested_sql or ""), (f.rule, f.suggested_sql)
