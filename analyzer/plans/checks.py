"""Plan findings: pure functions over a plan tree (+ the catalog for table sizes).

Estimated plans give the shapes (a sequential scan of a large table under a selective filter, a
sort of many rows feeding a LIMIT, a nested loop over a large inner side); executed plans (ANALYZE)
add what only execution shows (spills, row estimates off by 10x, index scans whose filter throws
most rows away).
"""

from __future__ import annotations

from typing import Any

from analyzer.model import Catalog, Finding, Statement
from analyzer.plans.model import Plan, PlanNode

LARGE_TABLE_ROWS = 10_000
SELECTIVE_FRACTION = 0.1
SORT_ROWS = 1_000
NESTED_INNER_ROWS = 100_000
ESTIMATE_FACTOR = 10.0
ESTIMATE_MIN_ROWS = 100
DISCARD_FRACTION = 0.9
DISCARD_MIN_ROWS = 1_000


def _table_rows(node: PlanNode, catalog: Catalog | None) -> float | None:
    if not node.relation or catalog is None:
        return None
    name = f"{node.schema}.{node.relation}" if node.schema else node.relation
    table = catalog.find(name)
    return float(table.live_rows) if table else None


def _evidence(node: PlanNode, **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"node": node.label, "relation": node.relation, "rows": node.plan_rows,
                          "cost": node.total_cost}
    if node.analyzed:
        ev["actual_rows"] = node.actual_rows
        ev["loops"] = node.actual_loops
    ev.update({k: v for k, v in extra.items() if v is not None})
    return ev


def _finding(rule: str, severity: str, title: str, message: str, recommendation: str,
             statement: Statement | None, key: str, evidence: dict[str, Any]) -> Finding:
    return Finding(rule=rule, severity=severity, title=title, message=message,
                   recommendation=recommendation, evidence=evidence,
                   statement_index=statement.index if statement else None,
                   fingerprint=statement.fingerprint if statement else None, key=key)


def _seq_scans(plan: Plan, catalog: Catalog | None, st: Statement | None) -> list[Finding]:
    out = []
    for node in plan.root.walk():
        if node.node_type != "Seq Scan" or not node.filter:
            continue
        table_rows = _table_rows(node, catalog)
        if table_rows is None:
            # without the catalog, the scan's input is unknown before ANALYZE
            if not node.analyzed or node.rows_removed_by_filter is None:
                continue
            table_rows = (node.actual_rows or 0) + node.rows_removed_by_filter
        if table_rows < LARGE_TABLE_ROWS:
            continue
        out_rows = node.actual_rows if node.analyzed and node.actual_rows is not None else node.plan_rows
        fraction = out_rows / table_rows if table_rows else 1.0
        if fraction > SELECTIVE_FRACTION:
            continue
        sev = "high" if table_rows >= 100_000 else "medium"
        out.append(_finding(
            "seq-scan-large-table", sev, f"Sequential scan of {node.relation} keeps {fraction:.1%} of "
            f"{table_rows:.0f} rows",
            f"{node.label} reads every row of {node.relation} ({table_rows:.0f} rows) to keep about "
            f"{out_rows:.0f} that match `{node.filter}`.",
            f"An index on the filtered column(s) of {node.relation} would let the planner read only the "
            "matching rows; see the index suggestions.",
            st, f"seq:{node.relation}",
            _evidence(node, filter=node.filter, table_rows=table_rows, fraction=round(fraction, 4))))
    return out


def _sort_limit(plan: Plan, st: Statement | None) -> list[Finding]:
    out = []
    for node in plan.root.walk():
        if node.node_type != "Limit":
            continue
        sort = _first_below(node, "Sort")
        if sort is None:
            continue
        rows = sort.actual_rows if sort.analyzed and sort.actual_rows else None
        input_rows = sort.children[0].plan_rows if sort.children else sort.plan_rows
        if sort.analyzed and sort.children and sort.children[0].actual_rows is not None:
            input_rows = sort.children[0].actual_rows
        if input_rows < SORT_ROWS:
            continue
        out.append(_finding(
            "sort-feeding-limit", "medium" if input_rows < 100_000 else "high",
            f"Sorts {input_rows:.0f} rows to return the first {node.plan_rows:.0f}",
            f"The LIMIT takes {node.plan_rows:.0f} rows, but the plan first sorts all {input_rows:.0f} "
            f"rows on {', '.join(sort.sort_key) or 'its sort key'}.",
            "An index whose key order matches the ORDER BY (after the equality columns) lets the "
            "planner read rows already sorted and stop at the limit.",
            st, "sort-limit", _evidence(sort, sort_key=sort.sort_key, input_rows=input_rows,
                                        limit_rows=node.plan_rows, sorted_rows=rows)))
        break
    return out


def _first_below(node: PlanNode, kind: str) -> PlanNode | None:
    """The first node of `kind` under `node` through nodes that pass rows on unchanged in order."""
    for child in node.children[:1]:
        if child.node_type == kind:
            return child
        if child.node_type in ("Gather Merge", "Result", "Subquery Scan", "Incremental Sort"):
            return _first_below(child, kind)
    return None


def _nested_loops(plan: Plan, st: Statement | None) -> list[Finding]:
    out = []
    for node in plan.root.walk():
        if node.node_type != "Nested Loop" or len(node.children) < 2:
            continue
        outer, inner = node.children[0], node.children[1]
        if inner.node_type in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Result"):
            continue
        if node.analyzed and inner.actual_loops is not None:
            loops = inner.actual_loops
            per_loop = _input_rows(inner, actual=True)
        else:
            loops = max(outer.plan_rows, 1.0)
            per_loop = _input_rows(inner, actual=False)
        total = loops * per_loop
        if total < NESTED_INNER_ROWS or loops < 2:
            continue
        out.append(_finding(
            "nested-loop-large-inner", "high",
            f"Nested loop reads about {total:.0f} inner rows",
            f"{node.label} runs its inner side ({inner.label}, about {per_loop:.0f} rows) "
            f"{loops:.0f} times.",
            "Index the join column of the inner table so that each loop is an index lookup, or "
            "check the row estimates of the outer side (ANALYZE the tables).",
            st, f"nl:{inner.relation or inner.label}",
            _evidence(inner, loops=loops, rows_per_loop=per_loop, inner_rows_total=total)))
    return out


def _input_rows(node: PlanNode, *, actual: bool) -> float:
    """Rows a scan reads per loop: what it returns plus what its filter throws away."""
    scan = node
    while scan.node_type == "Materialize" and scan.children:
        scan = scan.children[0]
    if actual and scan.actual_rows is not None:
        return scan.actual_rows + (scan.rows_removed_by_filter or 0)
    return scan.plan_rows if not scan.filter else max(scan.plan_rows, scan.plan_rows / SELECTIVE_FRACTION)


def _spills(plan: Plan, st: Statement | None) -> list[Finding]:
    out = []
    for node in plan.root.walk():
        what = None
        if node.sort_space_type == "Disk":
            what = f"sort spilled {node.sort_space_kb or 0:.0f} kB to disk ({node.sort_method})"
        elif node.hash_batches and node.hash_batches > 1:
            what = f"hash used {node.hash_batches} batches (spilled to disk)"
        elif node.disk_usage_kb:
            what = f"hash aggregate spilled {node.disk_usage_kb:.0f} kB to disk"
        if not what:
            continue
        out.append(_finding(
            "spill-to-disk", "medium", f"{node.label}: {what}",
            f"{node.label} did not fit in work_mem: {what}.",
            "Raise work_mem for this query (SET LOCAL work_mem) or reduce the rows it sorts/hashes.",
            st, f"spill:{node.label}", _evidence(node, spill=what)))
    return out


def _estimates(plan: Plan, st: Statement | None) -> list[Finding]:
    worst: tuple[float, PlanNode] | None = None
    for node in plan.root.walk():
        if not node.analyzed or not node.actual_loops or node.actual_rows is None:
            continue
        est, act = max(node.plan_rows, 1.0), max(node.actual_rows, 1.0)
        if max(est, act) < ESTIMATE_MIN_ROWS:
            continue
        factor = max(est / act, act / est)
        if factor >= ESTIMATE_FACTOR and (worst is None or factor > worst[0]):
            worst = (factor, node)
    if worst is None:
        return []
    factor, node = worst
    return [_finding(
        "row-estimate-off", "medium", f"Row estimate off by {factor:.0f}x at {node.label}",
        f"The planner expected {node.plan_rows:.0f} rows from {node.label} and got "
        f"{node.actual_rows:.0f}; plans built on such estimates pick the wrong join and scan kinds.",
        f"ANALYZE {node.relation or 'the tables involved'}; for correlated columns consider "
        "CREATE STATISTICS; raise the column's statistics target for skewed data.",
        st, "estimate", _evidence(node, factor=round(factor, 1)))]


def _index_filters(plan: Plan, st: Statement | None) -> list[Finding]:
    out = []
    for node in plan.root.walk():
        if node.node_type not in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan") or not node.filter:
            continue
        if not node.analyzed or node.rows_removed_by_filter is None:
            continue
        loops = node.actual_loops or 1
        removed = node.rows_removed_by_filter * loops
        kept = (node.actual_rows or 0) * loops
        if removed < DISCARD_MIN_ROWS or removed / (removed + kept) < DISCARD_FRACTION:
            continue
        share = removed / (removed + kept)
        out.append(_finding(
            "index-filter-discards-rows", "medium",
            f"{node.label} throws away {share:.0%} of the rows it fetches",
            f"{node.label} fetches {removed + kept:.0f} rows through the index and its filter "
            f"`{node.filter}` discards {removed:.0f} of them.",
            "Put the filtered column into the index key (after the equality columns), or use a "
            "partial index for a constant filter.",
            st, f"ixfilter:{node.relation}", _evidence(node, filter=node.filter, removed=removed,
                                                       kept=kept)))
    return out


def plan_findings(plan: Plan, statement: Statement | None = None,
                  catalog: Catalog | None = None) -> list[Finding]:
    """All plan findings for one statement's plan."""
    findings = _seq_scans(plan, catalog, statement)
    findings += _sort_limit(plan, statement)
    findings += _nested_loops(plan, statement)
    if plan.analyzed:
        findings += _spills(plan, statement)
        findings += _estimates(plan, statement)
        findings += _index_filters(plan, statement)
    # one finding per rule and subject: UNION ALL branches scanning the same table say it once
    unique: dict[str, Finding] = {}
    for f in findings:
        if f.id in unique:
            unique[f.id].evidence["occurrences"] = unique[f.id].evidence.get("occurrences", 1) + 1
        else:
            unique[f.id] = f
    return list(unique.values())
