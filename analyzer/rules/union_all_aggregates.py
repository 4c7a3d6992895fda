"""UNION ALL of aggregating branches: one scan of the data per branch.

Bad::

    SELECT count(*) FROM applications WHERE status = $1
    UNION ALL SELECT count(*) FROM applications WHERE status = $2
    UNION ALL SELECT count(*) FROM applications WHERE created_at > $3

Good (one scan)::

    SELECT count(*) FILTER (WHERE status = $1) AS value_1,
           count(*) FILTER (WHERE status = $2) AS value_2,
           count(*) FILTER (WHERE created_at > $3) AS value_3
    FROM applications

Why: each branch is planned and executed on its own, so a KPI query of n branches reads the table
n times. When the branches read the same table, aggregate FILTER clauses compute every figure in
one pass (the reply becomes one row with one column per figure, named after the branch labels
when they are string literals). Conditions every branch shares (`company_id = $1`, `created_at >=
$2`) stay in the WHERE, so the one scan reads no more rows than the branches did; the placeholders
keep their numbers. When they read different tables,
the cost is one scan each: pre-aggregate (a summary table or materialized view refreshed on a
schedule) if it runs often. Severity rises with the number of branches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from analyzer.model import Finding, Statement
from analyzer.rules.base import (
    Context,
    aggregate_only,
    finding,
    redacted_tree,
    safe_sql,
    scaled,
)
from analyzer.sql import parse as sqlparse
from analyzer.sql.parse import PG
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


def _conjuncts(cond: exp.Expression | None) -> list[exp.Expression]:
    """Top-level AND-ed conditions."""
    while isinstance(cond, exp.Paren):
        cond = cond.this
    if cond is None:
        return []
    if isinstance(cond, exp.And):
        return _conjuncts(cond.this) + _conjuncts(cond.expression)
    return [cond]


_VALUE_LIKE = re.compile(r"@|\d{3,}")


def _label(branch: exp.Expression) -> str | None:
    """The branch's label when it is a string literal in the select list (`SELECT 'open' AS kpi,
    count(*) ...`), as a column name."""
    if not isinstance(branch, exp.Select):
        return None
    for p in branch.expressions:
        inner = p.this if isinstance(p, exp.Alias) else p
        if isinstance(inner, exp.Literal) and inner.is_string and not p.find(exp.AggFunc):
            if _VALUE_LIKE.search(inner.this):  # an address or a long number is data, not a label
                return None
            name = re.sub(r"[^a-z0-9_]+", "_", inner.this.lower()).strip("_")[:60]
            if name:
                return name if not name[0].isdigit() else f"_{name}"
    return None


def _original_branches(s: Statement, count: int) -> list[exp.Expression] | None:
    """The branches as written (the redacted tree has placeholders where the literals were, each
    numbered apart); None when the original does not parse into the same branches."""
    tree = sqlparse.parse(s.text).tree
    union = _outermost_union(tree) if tree is not None else None
    branches = _branches(union) if union is not None else []
    return branches if len(branches) == count else None


def _labels(branches: list[exp.Expression] | None, count: int) -> list[str | None]:
    labels = [_label(b) for b in branches] if branches is not None else [None] * count
    if len(set(labels)) != len(labels):  # a repeated label cannot name two columns
        return [None] * count
    return labels


def _outermost_union(tree: exp.Expression) -> exp.Union | None:
    union = next((u for u in tree.find_all(exp.Union) if not u.args.get("distinct")), None)
    if union is None:
        return None
    while isinstance(union.parent, exp.Union) and not union.parent.args.get("distinct"):
        union = union.parent
    return union


@dataclass
class Rewrite:
    sql: str
    columns: list[str]
    common: list[str]  # the predicates of every branch, hoisted into the WHERE of the one scan
    unused_parameters: list[str]  # placeholders of the original the rewrite no longer reads (labels)
    kept_numbers: bool = True  # False when the original had literals only: the placeholders are ours


def filter_rewrite(s: Statement) -> Rewrite | None:
    """The single-scan rewrite of the statement's first UNION ALL whose branches all aggregate one
    and the same table without GROUP BY, joins or FILTER of their own. Conditions every branch
    has go into the WHERE, so the scan reads only the rows the branches read; the rest of each
    branch's WHERE becomes its FILTER. The placeholders keep the numbers of the original: the
    caller passes the same parameters."""
    tree = redacted_tree(s)
    if tree is None:
        return None
    union = _outermost_union(tree)
    if union is None:
        return None
    branches = _branches(union)
    if len(branches) < 2:
        return None
    table_key = None
    table_node: exp.Expression | None = None
    per_branch: list[tuple[list[exp.Expression], list[exp.Expression]]] = []  # (aggregates, conjuncts)
    for b in branches:
        if not isinstance(b, exp.Select) or b.args.get("joins") or b.args.get("group") or b.args.get("with_"):
            return None
        from_ = b.args.get("from_") or b.args.get("from")
        if from_ is None or not isinstance(from_.this, exp.Table):
            return None
        t = from_.this
        # the alias too: one scan under one name must resolve every branch's qualified columns
        key = ".".join(p for p in (t.db, t.name) if p) + " " + (t.alias or "")
        if table_key is None:
            table_key, table_node = key, t
        elif key != table_key:
            return None
        aggs = [p for p in b.expressions if p.find(exp.AggFunc)]
        if not aggs or b.find(exp.Filter) is not None:
            return None
        where = b.args.get("where")
        per_branch.append((aggs, _conjuncts(where.this if where is not None else None)))
    original = _original_branches(s, len(branches))
    # Shared conditions are found on the text as written: redaction numbers `company_id = 3` apart
    # in each branch. Conjuncts line up one to one between the two trees.
    texts = [[PG.generate(c, copy=False) for c in conds] for _, conds in per_branch]
    if original is not None:
        written = [[PG.generate(c, copy=False) for c in _conjuncts(_where(b))] for b in original]
        if [len(w) for w in written] == [len(t) for t in texts]:
            texts = written
    shared = [t for t in dict.fromkeys(texts[0]) if all(t in other for other in texts[1:])]
    labels = _labels(original, len(branches))
    projections: list[exp.Expression] = []
    columns: list[str] = []
    for i, ((aggs, conds), conds_sql, label) in enumerate(zip(per_branch, texts, labels, strict=True), 1):
        rest = [c for c, text in zip(conds, conds_sql, strict=True) if text not in shared]
        for j, p in enumerate(aggs, start=1):
            agg = p.this if isinstance(p, exp.Alias) else p
            if rest:
                conds_j = rest if j == 1 else [c.copy() for c in rest]  # one node, one parent
                agg = exp.Filter(this=agg, expression=exp.Where(this=exp.and_(*conds_j, copy=False)))
            base = label or f"value_{i}"
            name = base if len(aggs) == 1 else f"{base}_{j}"
            columns.append(name)
            projections.append(exp.alias_(agg, name, copy=False))
    out = exp.Select(expressions=projections).from_(table_node, copy=False)
    hoisted = [c for c, text in zip(per_branch[0][1], texts[0], strict=True) if text in shared]
    if hoisted:
        out = out.where(exp.and_(*hoisted, copy=False), copy=False)
    with_ = tree.args.get("with_") if union is tree else None
    if with_ is not None:
        out.set("with_", with_)
    common = [PG.generate(c, copy=False) for c in hoisted]
    sql = PG.generate(out, copy=False, comments=False)
    callers = set(_PLACEHOLDER.findall(s.text))
    if not callers:  # literals only: the placeholders are ours, number them in order of appearance
        mapping: dict[str, str] = {}
        for p in _PLACEHOLDER.findall(sql):
            mapping.setdefault(p, f"${len(mapping) + 1}")
        def number(m: re.Match[str]) -> str:
            return mapping.get(m.group(), m.group())
        return Rewrite(sql=_PLACEHOLDER.sub(number, sql), columns=columns,
                       common=[_PLACEHOLDER.sub(number, c) for c in common], unused_parameters=[],
                       kept_numbers=False)
    unused = sorted(callers - set(_PLACEHOLDER.findall(sql)), key=lambda p: int(p[1:]))
    return Rewrite(sql=sql, columns=columns, common=common, unused_parameters=unused)


def _where(branch: exp.Expression) -> exp.Expression | None:
    where = branch.args.get("where")
    return where.this if where is not None else None


_PLACEHOLDER = re.compile(r"\$\d+")


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
    rewrite = filter_rewrite(s) if one_table else None
    evidence: dict[str, object] = {"branches": n, "aggregating_branches": len(aggregating),
                                   "tables": tables, "scans": sum(max(1, len(sc.tables)) for sc in branches)}
    if rewrite:
        evidence["output_columns"] = rewrite.columns
        if rewrite.common:
            evidence["common_predicates"] = rewrite.common
        if rewrite.unused_parameters:
            evidence["unused_parameters"] = rewrite.unused_parameters
        message = (f"{n} UNION ALL branches aggregate the same table {tables[0]}: {n} scans where one "
                   "would do.")
        where = (f" The conditions every branch shares ({' AND '.join(rewrite.common)}) stay in the WHERE, "
                 "so the one scan reads only the rows the branches read." if rewrite.common else "")
        unused = ""
        if rewrite.unused_parameters:
            unused = (f" The parameters keep their numbers, so the caller passes the same ones; "
                      f"{', '.join(rewrite.unused_parameters)} (the branch labels) are no longer read "
                      "(declare their types when preparing, or drop them).")
        elif rewrite.kept_numbers:
            unused = " The parameters keep their numbers, so the caller passes the same ones."
        else:
            unused = " The placeholders stand for the statement's literals, in order of appearance."
        recommendation = ("Compute every figure in one scan with aggregate FILTER (WHERE ...) clauses "
                          f"(suggested SQL). The result shape changes from {n} rows to one row with one "
                          f"column per figure ({', '.join(rewrite.columns)}): adapt the code that reads "
                          f"it.{where}{unused}")
    else:
        message = (f"{n} UNION ALL branches aggregate {', '.join(tables) or 'their inputs'}: each branch "
                   f"is a separate scan ({evidence['scans']} in all) every time the query runs.")
        recommendation = ("Merge branches that read the same table with aggregate FILTER clauses; for "
                          "figures read often, pre-aggregate (a summary table or materialized view "
                          "refreshed on a schedule) instead of scanning on every call.")
    return [finding(NAME, severity, TITLE, s, ctx, message=message, recommendation=recommendation,
                    evidence=evidence, suggested_sql=safe_sql(rewrite.sql if rewrite else None))]
