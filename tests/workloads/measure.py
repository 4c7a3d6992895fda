"""Cost of a workload under a given index set, the same way for every advisor being compared:
hypothetical indexes (hypopg) from CREATE INDEX texts, generic plans of the normalized statements,
each statement weighted by its share of the workload's time (calls x mean time)."""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from analyzer.plans.explain import explain


@dataclass
class SetCost:
    weighted: float  # sum(weight x planner cost)
    relative: float  # sum(weight x cost / cost without any index of the set), 1.0 = as today
    sizes: list[int] = field(default_factory=list)  # bytes per index
    costs: list[float] = field(default_factory=list)  # per statement


def statement_costs(target, texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        ex = explain(target, text)
        assert ex.plan is not None, f"{text}: {ex.reason}"
        out.append(ex.plan.total_cost)
    return out


def hypothetical_cost(target, texts: list[str], weights: list[float], ddls: list[str],
                      base: list[float] | None = None) -> SetCost:
    """hypopg_reset, create `ddls` hypothetically, cost every statement; resets again after."""
    target.run(sql.SQL("SELECT hypopg_reset()"))
    sizes = []
    for ddl in ddls:
        rows = target.run(sql.SQL("SELECT indexrelid FROM hypopg_create_index(%s)"), [ddl])
        size = target.run(sql.SQL("SELECT hypopg_relation_size(%s) AS b"), [rows[0]["indexrelid"]])
        sizes.append(int(size[0]["b"]))
    costs = statement_costs(target, texts)
    target.run(sql.SQL("SELECT hypopg_reset()"))
    base = base or costs
    total_w = sum(weights)
    weighted = sum(w * c for w, c in zip(weights, costs, strict=True)) / total_w
    relative = sum(w * min(c / b, 1.0) for w, c, b in zip(weights, costs, base, strict=True)) / total_w
    return SetCost(weighted, relative, sizes, costs)
