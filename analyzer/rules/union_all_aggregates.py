"""UNION ALL of aggregating branches: one scan of the data per branch.

Bad::

    SELECT count(*) FROM applications WHERE status = $1
    UNION ALL SELECT count(*) FROM applications WHERE status = $2
    UNION ALL SELECT count(*) FROM applications WHERE created_at > $3

Good (one scan)::

    SELECT count(*) FILTER (WHERE status = $1) AS count_1,
           count(*) FILTER (WHERE status = $2) AS count_2,
           count(*) FILTER (WHERE created_at > $3) AS count_3
    FROM applications

Why: each branch is planned and executed on its own, so a KPI query of n branches reads the table
n times. When the branches read the same table, aggregate FILTER clauses compute every figure in
one pass (the reply becomes one row with one column per figure). When they read different tables,
the cost is one scan each: pre-aggregate (a summary table or materialized view refreshed on a
schedule) if it runs often. Severity rises with the number of branches.
"""

from __future__ import annotations

from sqlglot import exp

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, aggregate_only, finding, redacted_tree, safe_sql, scaled, to_sql
from analyzer.sql.shape import Scope

NAME = "union-all-aggregates"
SEVERITY = "low"
TITLE = "UNION ALL of aggregates"


def _branches(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Union) and not node.args.get("distinct"):
        return _branches(node.this) + _branches(node.expression)
    while isinstance(node, exp.Subquery):
        node = node.this
    return [node]


def filter_rewrite(s: Statement) -> str | None:
    """The single-scan rewrite of the statement's first UNION ALL whose branches all aggregate one
    and the same table without GROUP BY, joins or FILTER of their own."""
    tree = redacted_tree(s)
    if tree is None:
        return None
    union = next((u for u in tree.find_all(exp.Union) if not u.args.get("distinct")), None)
    if union is None:
        return None
    while isinstance(union.parent, exp.Union) and not union.parent.args.get("distinct"):
        union = union.parent
    branches = _branches(union)
    table_sql = None
    projections: list[exp.Expression] = []
    names_of_first: dict[int, str] = {}
    for i, b in enumerate(branches, start=1):
        if not isinstance(b, exp.Select) or b.args.get("joins") or b.args.get("group") or b.args.get("with_"):
            return None
        from_ = b.args.get("from_") or b.args.get("from")
        if from_ is None or not isinstance(from_.this, exp.Table):
            return None
        t = from_.this
        key = ".".join(p for p in (t.db, t.name) if p)
        if table_sql is None:
            table_sql = key
            table_node = t.copy()
        elif key != table_sql:
            return None
        where = b.args.get("where")
        aggs = [p for p in b.expressions if p.find(exp.AggFunc)]
        if not aggs or list(b.find_all(exp.Filter)):
            return None
        for j, p in enumerate(aggs, start=1):
            inner = p.this if isinstance(p, exp.Alias) else p
            agg = inner.copy()
            if where is not None:
                agg = exp.Filter(this=agg, expression=exp.Where(this=where.this.copy()))
            first = names_of_first.get(j)
            base = first or (p.alias if isinstance(p, exp.Alias) and p.alias else (
                type(inner).sql_name().lower() if isinstance(inner, exp.Func) else "value"))
            if i == 1 and isinstance(p, exp.Alias) and p.alias:
                names_of_first[j] = p.alias  # the union's column names come from its first branch
            name = f"{base}_{i}" if len(aggs) == 1 else f"{base}_{i}_{j}"
            projections.append(exp.alias_(agg, name))
    if table_sql is None or len(branches) < 2:
        return None
    out = exp.Select(expressions=projections).from_(table_node)
    with_ = tree.args.get("with_") if union is tree else None
    if with_ is not None:
        out.set("with_", with_.copy())
    return to_sql(out)


def _aggregating_branches(shape_scopes: list[Scope]) -> list[Scope]:
    return [sc for sc in shape_scopes if sc.kind == "union_branch" and sc.aggregates]


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query or "union all" not in shape.set_operations:
        return []
    branches = [sc for sc in shape.scopes if sc.kind == "union_branch"]
    aggregating = _aggregating_branches(shape.scopes)
    if len(aggregating) < 2:
        return []
    n = len(branches)
    base = "high" if n >= 5 else ("medium" if n >= 3 else SEVERITY)
    severity = scaled(base, s, ctx)
    tables = sorted({t.key for sc in aggregating for t in sc.tables})
    one_table = len(tables) == 1 and all(len(sc.tables) == 1 and aggregate_only(sc) for sc in aggregating)
    sql = filter_rewrite(s) if one_table else None
    evidence: dict[str, object] = {"branches": n, "aggregating_branches": len(aggregating),
                                   "tables": tables, "scans": sum(max(1, len(sc.tables)) for sc in branches)}
    if sql:
        message = (f"{n} UNION ALL branches aggregate the same table {tables[0]}: {n} scans where one "
                   "would do.")
        recommendation = ("Compute every figure in one scan with aggregate FILTER (WHERE ...) clauses "
                          "(suggested SQL; the result becomes one row with one column per figure).")
    else:
        message = (f"{n} UNION ALL branches aggregate {', '.join(tables) or 'their inputs'}: each branch "
                   f"is a separate scan ({evidence['scans']} in all) every time the query runs.")
        recommendation = ("Merge branches that read the same table with aggregate FILTER clauses; for "
                          "figures read often, pre-aggregate (a summary table or materialized view "
                          "refreshed on a schedule) instead of scanning on every call.")
    return [finding(NAME, severity, TITLE, s, ctx, message=message, recommendation=recommendation,
                    evidence=evidence, suggested_sql=safe_sql(sql))]
