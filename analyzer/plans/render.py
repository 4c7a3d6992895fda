"""A plan as indented text, the way psql shows EXPLAIN's text format."""

from __future__ import annotations

from analyzer.plans.model import Plan, PlanNode


def _figures(node: PlanNode) -> str:
    est = (f"(cost={node.startup_cost:.2f}..{node.total_cost:.2f} rows={node.plan_rows:.0f} "
           f"width={node.plan_width})")
    if node.analyzed:
        if node.actual_loops == 0:
            return est + " (never executed)"
        return est + (f" (actual time={node.raw.get('Actual Startup Time', 0):.3f}.."
                      f"{node.actual_total_ms or 0:.3f} rows={node.actual_rows or 0:.0f} "
                      f"loops={node.actual_loops or 0:.0f})")
    return est


def _details(node: PlanNode) -> list[str]:
    out: list[str] = []
    for label, value in (("Index Cond", node.index_cond), ("Recheck Cond", node.recheck_cond),
                         ("Hash Cond", node.hash_cond), ("Merge Cond", node.merge_cond),
                         ("Join Filter", node.join_filter), ("Filter", node.filter)):
        if value:
            out.append(f"{label}: {value}")
    if node.rows_removed_by_filter:
        out.append(f"Rows Removed by Filter: {node.rows_removed_by_filter:.0f}")
    if node.sort_key:
        out.append(f"Sort Key: {', '.join(node.sort_key)}")
    if node.sort_method:
        out.append(f"Sort Method: {node.sort_method}  {node.sort_space_type or ''}: "
                   f"{node.sort_space_kb or 0:.0f}kB")
    if node.hash_batches is not None and node.analyzed:
        out.append(f"Buckets: {node.raw.get('Hash Buckets', 0)}  Batches: {node.hash_batches}  "
                   f"Memory Usage: {node.raw.get('Peak Memory Usage', 0)}kB")
    return out


def render_plan(plan: Plan | PlanNode) -> str:
    root = plan.root if isinstance(plan, Plan) else plan
    lines: list[str] = []

    def visit(node: PlanNode, depth: int) -> None:
        if depth == 0:
            lines.append(f"{node.label}  {_figures(node)}")
            pad = "  "
        else:
            lead = " " * (6 * depth - 4)
            if node.subplan_name:
                lines.append(f"{' ' * (6 * depth - 4)}{node.subplan_name}")
            lines.append(f"{lead}->  {node.label}  {_figures(node)}")
            pad = " " * (6 * depth + 2)
        lines.extend(pad + d for d in _details(node))
        for child in node.children:
            visit(child, depth + 1)

    visit(root, 0)
    if isinstance(plan, Plan):
        if plan.planning_ms is not None:
            lines.append(f"Planning Time: {plan.planning_ms:.3f} ms")
        if plan.execution_ms is not None:
            lines.append(f"Execution Time: {plan.execution_ms:.3f} ms")
    return "\n".join(lines)
