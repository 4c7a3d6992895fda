"""Candidates from query shapes, built by hand here (no database): the keys a DBA would try, in
the order and direction that serve the statement, and none where an index cannot help."""

from __future__ import annotations

from analyzer.advisor.candidates import Candidate, Key, candidates_for
from analyzer.model import Catalog, Column, Index, Table
from analyzer.sql import shape as sh


def _catalog() -> Catalog:
    orders = Table("public", "orders", live_rows=500_000, columns=[
        Column("id", n_distinct=-1.0), Column("customer_id", n_distinct=40_000),
        Column("status", n_distinct=5), Column("created_at", n_distinct=-0.9),
        Column("total"), Column("deleted_at", null_frac=0.95)],
        indexes=[Index("orders_pkey", "public.orders", "CREATE UNIQUE INDEX ...", ["id"], unique=True,
                       primary=True)], primary_key=["id"])
    items = Table("public", "order_items", live_rows=2_000_000, columns=[
        Column("id"), Column("order_id", n_distinct=-0.25), Column("qty")],
        indexes=[Index("order_items_pkey", "public.order_items", "", ["id"], unique=True, primary=True)])
    users = Table("public", "users", live_rows=80_000, columns=[Column("id"), Column("email"),
                                                                Column("order")])
    small = Table("public", "countries", live_rows=40, columns=[Column("code"), Column("name")])
    indexed = Table("public", "events", live_rows=900_000, columns=[Column("device_id"), Column("at")],
                    indexes=[Index("events_device_at", "public.events", "", ["device_id", "at"])])
    return Catalog(tables={t.qualified: t for t in (orders, items, users, small, indexed)})


def _ref(name: str, alias: str | None = None) -> sh.TableRef:
    return sh.TableRef(name, alias, f"public.{name}")


def _col(column: str, table: str) -> sh.ColumnRef:
    return sh.ColumnRef(column, f"public.{table}")


def _pred(column: str, table: str, op: str, **kw: object) -> sh.Predicate:
    return sh.Predicate(_col(column, table), op, **kw)  # type: ignore[arg-type]


def _shape(*scopes: sh.Scope, kind: str = sh.SELECT) -> sh.QueryShape:
    return sh.QueryShape(kind=kind, scopes=list(scopes))


def _keys(cands: list[Candidate]) -> list[list[str]]:
    return [c.columns for c in cands if not c.include and not c.where]


def test_equality_then_order_by_in_direction() -> None:
    scope = sh.Scope(tables=[_ref("orders", "o")], stars=["*"], limit="$2",
                     predicates=[_pred("customer_id", "orders", sh.EQ)],
                     order_by=[sh.OrderItem("o.created_at", _col("created_at", "orders"), descending=True)])
    got = candidates_for(_shape(scope), _catalog())
    assert ["customer_id", "created_at DESC"] in _keys(got.candidates)
    assert got.tables == {"public.orders"}


def test_equality_columns_most_selective_first_then_one_range() -> None:
    scope = sh.Scope(tables=[_ref("orders")], stars=["*"], predicates=[
        _pred("status", "orders", sh.EQ), _pred("customer_id", "orders", sh.EQ),
        _pred("created_at", "orders", sh.RANGE), _pred("total", "orders", sh.RANGE)])
    keys = _keys(candidates_for(_shape(scope), _catalog()).candidates)
    assert keys[0] == ["customer_id", "status", "created_at"]
    assert all(len(k) <= 3 for k in keys)


def test_expression_partial_and_include_candidates() -> None:
    lookup = sh.Scope(tables=[_ref("users")], select_columns=[_col("id", "users")],
                      predicates=[_pred("email", "users", sh.EQ, expression="lower(users.email)")])
    cands = candidates_for(_shape(lookup), _catalog()).candidates
    expr = next(c for c in cands if c.keys[0].expression and not c.include)
    assert expr.keys == (Key("lower(email)", expression=True),)
    assert expr.ddl() == ("CREATE INDEX CONCURRENTLY IF NOT EXISTS users_lower_email_idx "
                          "ON public.users ((lower(email)))")
    live = sh.Scope(tables=[_ref("orders")], select_columns=[_col("id", "orders"), _col("total", "orders")],
                    predicates=[_pred("customer_id", "orders", sh.EQ),
                                _pred("deleted_at", "orders", sh.IS_NULL, constant=True, value_sql="NULL")])
    cands = candidates_for(_shape(live), _catalog()).candidates
    partial = [c for c in cands if c.where]
    assert partial and partial[0].where_sql == "deleted_at IS NULL"
    assert partial[0].ddl().endswith("(customer_id) WHERE deleted_at IS NULL")
    # an index-only scan needs every column the statement reads, the filtered one too
    assert any(c.include == ("deleted_at", "id", "total") for c in cands if c.keys == (Key("customer_id"),))


def test_join_columns_of_the_inner_side() -> None:
    scope = sh.Scope(
        tables=[_ref("orders", "o"), _ref("order_items", "i")], stars=["*"],
        joins=[sh.JoinRef("left", _ref("order_items", "i"),
                          [(_col("order_id", "order_items"), _col("id", "orders"))])],
        predicates=[_pred("customer_id", "orders", sh.EQ)])
    got = candidates_for(_shape(scope), _catalog())
    assert ["order_id"] in [c.columns for c in got.candidates if c.table == "public.order_items"]
    assert got.tables == {"public.orders", "public.order_items"}


def test_small_tables_primary_keys_and_existing_prefixes_are_left_out_with_reasons() -> None:
    small = sh.Scope(tables=[_ref("countries")], stars=["*"], predicates=[_pred("name", "countries", sh.EQ)])
    by_pk = sh.Scope(tables=[_ref("orders")], stars=["*"], predicates=[_pred("id", "orders", sh.EQ)])
    covered = sh.Scope(tables=[_ref("events")], stars=["*"], predicates=[_pred("device_id", "events", sh.EQ)])
    for scope, reason in ((small, "table too small"), (by_pk, "already indexed: orders_pkey"),
                          (covered, "already indexed: events_device_at")):
        got = candidates_for(_shape(scope), _catalog())
        assert got.candidates == [] and got.reasons and got.reasons[0].startswith(reason), got.reasons


def test_or_branches_ilike_and_non_queries_give_nothing() -> None:
    either = sh.Scope(tables=[_ref("orders")], stars=["*"], predicates=[
        _pred("status", "orders", sh.EQ, in_or=True), _pred("customer_id", "orders", sh.EQ, in_or=True)])
    assert candidates_for(_shape(either), _catalog()).candidates == []
    ilike = sh.Scope(tables=[_ref("users")], stars=["*"], predicates=[
        _pred("email", "users", sh.LIKE_PREFIX, case_insensitive=True)])
    assert candidates_for(_shape(ilike), _catalog()).candidates == []
    assert candidates_for(sh.QueryShape(kind=sh.UTILITY), _catalog()).candidates == []
    assert candidates_for(None, _catalog()).candidates == []


def test_ddl_quotes_only_what_needs_quoting_and_names_stay_within_63() -> None:
    c = Candidate("public.users", (Key("order"), Key("Email")))
    assert c.ddl() == ('CREATE INDEX CONCURRENTLY IF NOT EXISTS users_order_email_idx '
                       'ON public.users ("order", "Email")')
    long = Candidate("public.a_table_with_a_rather_long_name",
                     tuple(Key(f"column_number_{i}") for i in range(3)))
    assert len(long.name) <= 63 and long.name.endswith("_idx")


def test_covers_is_by_prefix_and_direction() -> None:
    ab = Candidate("public.t", (Key("a"), Key("b")))
    assert ab.covers(Candidate("public.t", (Key("a"),)))
    assert not ab.covers(Candidate("public.t", (Key("b"), Key("a"))))
    assert not ab.covers(Candidate("public.t", (Key("a"), Key("b", descending=True))))
    assert not Candidate("public.t", (Key("a"),)).covers(ab)
