"""The plan tree: EXPLAIN (FORMAT JSON) output as plain dataclasses, estimates and (with ANALYZE)
actual figures side by side."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Bitmap Index Scan",
         "Tid Scan", "Sample Scan")


@dataclass
class PlanNode:
    node_type: str
    relation: str | None = None  # table name as EXPLAIN gives it (unqualified)
    schema: str | None = None
    alias: str | None = None
    index_name: str | None = None
    join_type: str | None = None
    strategy: str | None = None  # aggregates: Plain | Sorted | Hashed | Mixed
    operation: str | None = None  # ModifyTable: Insert | Update | Delete | Merge
    parent_relationship: str | None = None  # Outer | Inner | Subquery | InitPlan ...
    scan_direction: str | None = None
    startup_cost: float = 0.0
    total_cost: float = 0.0
    plan_rows: float = 0.0
    plan_width: int = 0
    filter: str | None = None
    index_cond: str | None = None
    recheck_cond: str | None = None
    join_filter: str | None = None
    hash_cond: str | None = None
    merge_cond: str | None = None
    sort_key: list[str] = field(default_factory=list)
    subplan_name: str | None = None
    cte_name: str | None = None
    # with ANALYZE (None otherwise); rows are per loop, like EXPLAIN shows them
    actual_rows: float | None = None
    actual_loops: float | None = None
    actual_total_ms: float | None = None
    rows_removed_by_filter: float | None = None
    rows_removed_by_index_recheck: float | None = None
    sort_method: str | None = None
    sort_space_type: str | None = None  # Memory | Disk
    sort_space_kb: float | None = None
    hash_batches: int | None = None
    original_hash_batches: int | None = None
    disk_usage_kb: float | None = None  # HashAggregate spill
    temp_written_blocks: int | None = None
    children: list[PlanNode] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def analyzed(self) -> bool:
        return self.actual_loops is not None

    @property
    def label(self) -> str:
        """The node as psql's text format names it: `Index Scan using i on t c`, `Hash Left Join`."""
        kind = self.node_type
        if kind == "Aggregate":
            kind = {"Hashed": "HashAggregate", "Sorted": "GroupAggregate",
                    "Mixed": "MixedAggregate"}.get(self.strategy or "", "Aggregate")
        if kind == "ModifyTable" and self.operation:
            kind = self.operation
        if self.join_type and self.join_type != "Inner" and kind in ("Nested Loop", "Hash Join",
                                                                     "Merge Join"):
            base = kind[:-5] if kind.endswith(" Join") else kind
            kind = f"{base} {self.join_type} Join"
        if self.scan_direction == "Backward" and kind in ("Index Scan", "Index Only Scan"):
            kind = f"{kind} Backward"
        if self.index_name and kind != "Bitmap Index Scan":
            kind += f" using {self.index_name}"
        elif self.index_name:
            kind += f" on {self.index_name}"
        if self.relation:
            kind += f" on {self.relation}"
            if self.alias and self.alias != self.relation:
                kind += f" {self.alias}"
        elif self.cte_name:
            kind += f" on {self.cte_name}"
            if self.alias and self.alias != self.cte_name:
                kind += f" {self.alias}"
        return kind

    def walk(self) -> Iterator[PlanNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    def relations(self) -> set[str]:
        return {n.relation for n in self.walk() if n.relation}

    def uses_index(self) -> set[str]:
        return {n.index_name for n in self.walk() if n.index_name}


def _num(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) else None


def _int(d: dict[str, Any], key: str) -> int | None:
    v = d.get(key)
    return int(v) if isinstance(v, int | float) else None


def parse_node(d: dict[str, Any]) -> PlanNode:
    node = PlanNode(
        node_type=str(d.get("Node Type", "?")),
        relation=d.get("Relation Name"),
        schema=d.get("Schema"),
        alias=d.get("Alias"),
        index_name=d.get("Index Name"),
        join_type=d.get("Join Type"),
        strategy=d.get("Strategy"),
        operation=d.get("Operation"),
        parent_relationship=d.get("Parent Relationship"),
        scan_direction=d.get("Scan Direction"),
        startup_cost=float(d.get("Startup Cost", 0.0)),
        total_cost=float(d.get("Total Cost", 0.0)),
        plan_rows=float(d.get("Plan Rows", 0.0)),
        plan_width=int(d.get("Plan Width", 0)),
        filter=d.get("Filter"),
        index_cond=d.get("Index Cond"),
        recheck_cond=d.get("Recheck Cond"),
        join_filter=d.get("Join Filter"),
        hash_cond=d.get("Hash Cond"),
        merge_cond=d.get("Merge Cond"),
        sort_key=list(d.get("Sort Key") or []),
        subplan_name=d.get("Subplan Name"),
        cte_name=d.get("CTE Name"),
        actual_rows=_num(d, "Actual Rows"),
        actual_loops=_num(d, "Actual Loops"),
        actual_total_ms=_num(d, "Actual Total Time"),
        rows_removed_by_filter=_num(d, "Rows Removed by Filter"),
        rows_removed_by_index_recheck=_num(d, "Rows Removed by Index Recheck"),
        sort_method=d.get("Sort Method"),
        sort_space_type=d.get("Sort Space Type"),
        sort_space_kb=_num(d, "Sort Space Used"),
        hash_batches=_int(d, "Hash Batches"),
        original_hash_batches=_int(d, "Original Hash Batches"),
        disk_usage_kb=_num(d, "Disk Usage"),
        temp_written_blocks=_int(d, "Temp Written Blocks"),
        raw={k: v for k, v in d.items() if k != "Plans"},
    )
    node.children = [parse_node(c) for c in d.get("Plans") or []]
    return node


@dataclass
class Plan:
    """One EXPLAIN result: the root node plus the figures EXPLAIN gives beside it."""

    root: PlanNode
    generic: bool = False  # a generic plan for a statement with $n parameters
    analyzed: bool = False
    planning_ms: float | None = None
    execution_ms: float | None = None

    @property
    def total_cost(self) -> float:
        return self.root.total_cost


def parse_explain(doc: Any, *, generic: bool = False) -> Plan:
    """The JSON EXPLAIN returns (a one-element list) into a Plan."""
    if isinstance(doc, str):
        import json

        doc = json.loads(doc)
    top = doc[0] if isinstance(doc, list) else doc
    root = parse_node(top["Plan"])
    return Plan(root=root, generic=generic, analyzed=root.analyzed,
                planning_ms=_num(top, "Planning Time"), execution_ms=_num(top, "Execution Time"))
