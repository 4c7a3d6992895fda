"""QueryShape: what the index advisor builds candidates from, so every field is checked exactly."""

from __future__ import annotations

import pytest

from analyzer.model import Catalog, Column, Index, Table
from analyzer.sql.extract import shape_of
from analyzer.sql.shape import (
    EQ,
    IN,
    IS_NOT_NULL,
    IS_NULL,
    LIKE_INFIX,
    LIKE_PREFIX,
    NEQ,
    OTHER,
    RANGE,
    ColumnRef,
    QueryShape,
    Scope,
)


def catalog() -> Catalog:
    def table(schema: str, name: str, cols: list[str], pk: str = "id") -> Table:
        return Table(schema=schema, name=name, columns=[Column(c) for c in cols], primary_key=[pk],
                     indexes=[Index(name=f"{name}_pkey", table=f"{schema}.{name}", definition="",
                                    columns=[pk], unique=True, primary=True)])

    tables = [
        table("app", "candidates", ["id", "org_id", "name", "email", "status", "created_at", "deleted_at"]),
        table("app", "applications", ["id", "candidate_id", "job_id", "stage", "created_at"]),
        table("app", "jobs", ["id", "org_id", "title"]),
    ]
    return Catalog(tables={t.qualified: t for t in tables}, search_path=["app", "public"])


def preds(scope: Scope) -> dict[tuple[str | None, str], str]:
    return {(p.column.table, p.column.column): p.op for p in scope.predicates}


def test_join_tables_aliases_kinds_and_join_columns() -> None:
    sh = shape_of("SELECT c.id, a.stage FROM candidates c JOIN applications a ON a.candidate_id = c.id "
                  "LEFT JOIN jobs j ON j.id = a.job_id AND j.org_id = $1, users u "
                  "WHERE u.id = c.owner_id AND c.status = $2")
    root = sh.root
    assert sh.kind == "select" and sh.parse_error is None
    assert [(t.name, t.alias) for t in root.tables] == [("candidates", "c"), ("applications", "a"),
                                                       ("jobs", "j"), ("users", "u")]
    assert [j.kind for j in root.joins] == ["inner", "left", "comma"]
    assert root.joins[0].on == [(ColumnRef("candidate_id", "applications"), ColumnRef("id", "candidates"))]
    assert root.joins[1].on == [(ColumnRef("id", "jobs"), ColumnRef("job_id", "applications"))]
    # the comma join's equality comes from WHERE
    assert root.joins[2].on == [(ColumnRef("id", "users"), ColumnRef("owner_id", "candidates"))]
    by_col = {(p.column.table, p.column.column): p for p in root.predicates}
    assert by_col[("jobs", "org_id")].in_join and by_col[("jobs", "org_id")].op == EQ
    assert not by_col[("candidates", "status")].in_join
    assert root.select_columns == [ColumnRef("id", "candidates"), ColumnRef("stage", "applications")]


def test_catalog_resolves_unqualified_columns_and_qualified_names() -> None:
    sh = shape_of("SELECT name FROM candidates c JOIN applications a ON candidate_id = c.id "
                  "WHERE stage = $1 AND email = $2 ORDER BY created_at DESC", catalog())
    root = sh.root
    assert [t.key for t in root.tables] == ["app.candidates", "app.applications"]
    assert preds(root) == {("app.applications", "stage"): EQ, ("app.candidates", "email"): EQ}
    assert root.joins[0].on == [(ColumnRef("candidate_id", "app.applications"),
                                 ColumnRef("id", "app.candidates"))]
    # created_at is in both tables: ambiguous, so no owner is guessed
    assert root.order_by[0].column == ColumnRef("created_at", None)
    assert root.select_columns == [ColumnRef("name", "app.candidates")]
    # without a catalog the same statement keeps names as written and leaves ambiguity open
    bare = shape_of("SELECT name FROM candidates c JOIN applications a ON candidate_id = c.id WHERE stage "
                    "= $1")
    assert [t.key for t in bare.root.tables] == ["candidates", "applications"]
    assert preds(bare.root) == {(None, "stage"): EQ}


def test_column_table_equals_the_owning_table_key() -> None:
    sh = shape_of("SELECT * FROM app.candidates WHERE status = $1 AND app.candidates.org_id = $2", catalog())
    keys = {t.key for t in sh.root.tables}
    assert keys == {"app.candidates"}
    assert {p.column.table for p in sh.root.predicates} == keys


@pytest.mark.parametrize("where,op,expression,constant,value_sql", [
    ("status = $1", EQ, None, False, None),
    ("status = 'active'", EQ, None, True, "'active'"),
    ("$1 = status", EQ, None, False, None),
    ("status <> 'gone'", NEQ, None, True, "'gone'"),
    ("created_at >= $1", RANGE, None, False, None),
    ("$1 < created_at", RANGE, None, False, None),
    ("created_at BETWEEN $1 AND $2", RANGE, None, False, None),
    ("id IN ($1, $2, $3)", IN, None, False, None),
    ("id IN (1, 2)", IN, None, True, "(1, 2)"),
    ("id = ANY($1)", IN, None, False, None),
    ("name LIKE 'Ali%'", LIKE_PREFIX, None, True, "'Ali%'"),
    ("name LIKE $1 || '%'", LIKE_PREFIX, None, False, None),
    ("name LIKE '%lice'", LIKE_INFIX, None, True, "'%lice'"),
    ("name ILIKE '%' || $1 || '%'", LIKE_INFIX, None, False, None),
    ("name LIKE $1", LIKE_INFIX, None, False, None),
    ("deleted_at IS NULL", IS_NULL, None, True, "NULL"),
    ("deleted_at IS NOT NULL", IS_NOT_NULL, None, True, "NULL"),
    ("NOT deleted_at IS NULL", IS_NOT_NULL, None, True, "NULL"),
    ("lower(email) = $1", EQ, "lower(email)", False, None),
    ("created_at::date = $1", EQ, "CAST(created_at AS DATE)", False, None),
    ("id NOT IN (SELECT candidate_id FROM applications)", NEQ, None, False, None),
    ("tags @> $1", OTHER, None, False, None),
    ("active", EQ, None, True, "TRUE"),
])
def test_predicate_operator_classes(where: str, op: str, expression: str | None, constant: bool,
                                    value_sql: str | None) -> None:
    sh = shape_of(f"SELECT id FROM candidates WHERE {where}")
    assert sh.parse_error is None
    [p] = sh.root.predicates
    assert (p.column.table, p.op, p.expression, p.constant, p.value_sql) == \
        ("candidates", op, expression, constant, value_sql)


def test_or_and_ilike_flags() -> None:
    sh = shape_of("SELECT id FROM candidates WHERE org_id = $1 AND (name ILIKE $2 || '%' OR email = $3)")
    flags = {p.column.column: (p.in_or, p.case_insensitive) for p in sh.root.predicates}
    assert flags == {"org_id": (False, False), "name": (True, True), "email": (True, False)}


def test_order_by_group_by_aggregates_limit_offset() -> None:
    sh = shape_of("SELECT status, count(*), max(created_at) FROM candidates GROUP BY status "
                  "ORDER BY count(*) DESC, status NULLS FIRST, created_at DESC NULLS LAST LIMIT 10 OFFSET $1")
    root = sh.root
    assert root.group_by == ["status"]
    assert root.aggregates == ["count", "max"]
    assert [(o.expression, o.descending, o.nulls_first) for o in root.order_by] == [
        ("count(*)", True, None), ("status", False, True), ("created_at", True, False)]
    assert root.order_by[1].column == ColumnRef("status", "candidates")
    assert root.order_by[0].column is None
    assert (root.limit, root.offset) == ("10", "$1")
    assert shape_of("SELECT id FROM t FETCH FIRST 5 ROWS ONLY").root.limit == "5"
    assert shape_of("SELECT id FROM t LIMIT ALL").root.limit is None


def test_window_aggregates_are_not_grouping() -> None:
    sh = shape_of("SELECT id, count(*) OVER (PARTITION BY org_id) FROM candidates")
    assert sh.root.aggregates == []


def test_stars_and_alias_stars() -> None:
    sh = shape_of("SELECT c.*, a.id FROM candidates c JOIN applications a ON a.candidate_id = c.id")
    assert sh.root.stars == ["c"]
    assert shape_of("SELECT * FROM candidates").root.stars == ["*"]
    assert shape_of("SELECT count(*) FROM candidates").root.stars == []


def test_ctes_subqueries_and_derived_tables() -> None:
    sh = shape_of("WITH recent AS (SELECT candidate_id, created_at FROM applications WHERE created_at > $1) "
                  "SELECT c.id FROM candidates c JOIN recent r ON r.candidate_id = c.id "
                  "WHERE c.org_id IN (SELECT org_id FROM jobs WHERE title = $2) "
                  "AND EXISTS (SELECT 1 FROM applications a2 WHERE a2.candidate_id = c.id AND a2.stage = $3) "
                  "AND c.id IN (SELECT d.cid FROM (SELECT candidate_id AS cid FROM applications) d)")
    kinds = [(s.kind, s.name) for s in sh.scopes]
    assert kinds[0] == ("root", None)
    assert sorted(kinds[1:], key=str) == sorted([("cte", "recent"), ("subquery", None), ("subquery", None),
                                                 ("subquery", None), ("derived", "d")], key=str)
    root = sh.root
    assert [t.name for t in root.tables] == ["candidates"]  # the CTE is not a base table
    # the join to the CTE is traced to the base column it selects
    assert root.joins[0].on == [(ColumnRef("candidate_id", "applications"), ColumnRef("id", "candidates"))]
    cte = next(s for s in sh.scopes if s.kind == "cte")
    assert preds(cte) == {("applications", "created_at"): RANGE}
    assert cte.reads_whole is True  # the outer query has no LIMIT
    exists = next(s for s in sh.scopes if any(t.alias == "a2" for t in s.tables))
    # correlated: the inner column is an equality on applications.candidate_id
    assert preds(exists) == {("applications", "candidate_id"): EQ, ("applications", "stage"): EQ}
    assert preds(root)[("candidates", "org_id")] == IN
    assert next(p for p in root.predicates if p.column.column == "org_id").subquery


def test_limited_outer_query_does_not_read_a_cte_whole() -> None:
    sh = shape_of("WITH x AS (SELECT id FROM candidates) SELECT id FROM x ORDER BY id LIMIT 10")
    assert [s.reads_whole for s in sh.scopes if s.kind == "cte"] == [False]


def test_union_branches_and_set_operations() -> None:
    sh = shape_of("SELECT count(*) FROM applications WHERE stage = $1 UNION ALL "
                  "SELECT count(*) FROM applications WHERE stage = $2 UNION ALL "
                  "SELECT count(*) FROM jobs ORDER BY 1 LIMIT 3")
    assert sh.set_operations == ["union all", "union all"]
    root = sh.root
    assert root.kind == "root" and root.tables == [] and root.limit == "3"
    assert root.order_by[0].expression == "1"
    branches = [s for s in sh.scopes if s.kind == "union_branch"]
    assert [[t.name for t in b.tables] for b in branches] == [["applications"], ["applications"], ["jobs"]]
    assert all(b.aggregates == ["count"] for b in branches)
    assert shape_of("SELECT a FROM t UNION SELECT a FROM u").set_operations == ["union"]
    assert shape_of("SELECT a FROM t INTERSECT SELECT a FROM u").set_operations == ["intersect"]


def test_update_predicates_land_in_the_root_scope() -> None:
    sh = shape_of("UPDATE candidates c SET status = $1, updated_at = now() FROM jobs j "
                  "WHERE j.id = c.job_id AND c.org_id = $2 AND lower(c.email) = $3 "
                  "AND c.id IN (SELECT candidate_id FROM applications WHERE stage = $4)", catalog())
    assert sh.kind == "update"
    assert sh.target_table.key == "app.candidates" and sh.target_table.alias == "c"
    assert sh.update_columns == ["status", "updated_at"]
    root = sh.root
    assert [t.key for t in root.tables] == ["app.candidates", "app.jobs"]
    assert root.joins[0].on == [(ColumnRef("id", "app.jobs"), ColumnRef("job_id", "app.candidates"))]
    by = {(p.column.column, p.expression): p.op for p in root.predicates}
    assert by == {("org_id", None): EQ, ("email", "lower(email)"): EQ, ("id", None): IN}
    sub = [s for s in sh.scopes if s.kind == "subquery"]
    assert preds(sub[0]) == {("app.applications", "stage"): EQ}


def test_delete_predicates_and_using() -> None:
    sh = shape_of("DELETE FROM applications a USING jobs j WHERE a.job_id = j.id AND j.org_id = $1 "
                  "AND a.created_at < $2")
    assert sh.kind == "delete" and sh.target_table.name == "applications"
    assert preds(sh.root) == {("jobs", "org_id"): EQ, ("applications", "created_at"): RANGE}
    assert sh.root.joins[0].on == [(ColumnRef("job_id", "applications"), ColumnRef("id", "jobs"))]
    plain = shape_of("DELETE FROM sessions WHERE expires_at < $1")
    assert preds(plain.root) == {("sessions", "expires_at"): RANGE}


def test_insert_on_conflict() -> None:
    sh = shape_of("INSERT INTO candidates AS t (ext_id, name) VALUES ($1,$2) ON CONFLICT (ext_id) DO UPDATE "
                  "SET name = EXCLUDED.name WHERE t.name IS DISTINCT FROM EXCLUDED.name")
    assert (sh.kind, sh.target_table.name, sh.on_conflict, sh.conflict_columns, sh.update_columns,
            sh.has_conflict_where) == ("insert", "candidates", "update", ["ext_id"], ["name"], True)
    nothing = shape_of("INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING")
    assert nothing.on_conflict == "nothing" and nothing.update_columns == []
    ins_sel = shape_of("INSERT INTO archive SELECT * FROM candidates WHERE deleted_at IS NOT NULL")
    assert ins_sel.kind == "insert" and ins_sel.root.tables[0].name == "candidates"


def test_partial_index_material_is_kept() -> None:
    sh = shape_of("SELECT id FROM candidates WHERE deleted_at IS NULL AND status = 'active' AND org_id = $1")
    constants = {(p.column.column, p.value_sql) for p in sh.root.predicates if p.constant}
    assert constants == {("deleted_at", "NULL"), ("status", "'active'")}


def test_utility_transaction_and_errors_never_raise() -> None:
    for text, kind in [("VACUUM candidates", "utility"), ("SAVEPOINT a", "transaction"),
                       ("BEGIN", "transaction"), ("EXPLAIN SELECT 1", "utility"), ("DISCARD ALL", "utility")]:
        sh = shape_of(text)
        assert (sh.kind, sh.is_query, sh.parse_error) == (kind, False, None)
    bad = shape_of("SELECT id FROM WHERE x = 1")
    assert bad.kind == "select" and not bad.is_query
    assert "Expected table name" in bad.parse_error and (bad.error_line, bad.error_column) == (1, 20)
    assert shape_of("SELECT id FROM t WHERE", truncated=True).truncated


def test_performance_insights_and_literal_forms_give_the_same_shape() -> None:
    forms = ["SELECT c.id FROM candidates c WHERE c.status = $1 AND c.id IN ($2,$3) ORDER BY c.created_at "
             "DESC",
             "SELECT c.id FROM candidates c WHERE c.status = ? AND c.id IN (?, ?) ORDER BY c.created_at DESC"]
    shapes: list[QueryShape] = [shape_of(f) for f in forms]
    assert all(s.parse_error is None for s in shapes)
    assert shapes[0].root.predicates == shapes[1].root.predicates
    assert shapes[0].root.order_by == shapes[1].root.order_by
