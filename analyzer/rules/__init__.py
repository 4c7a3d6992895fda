"""Static rules over query shapes: one module per rule, listed in REGISTRY by stable name.

`run_rules` is a pure function of the statements (each with its shape from workload.prepare), the
catalog and the rule selection; it never opens a connection.
"""

from __future__ import annotations

from dataclasses import replace

from analyzer.errors import UsageError
from analyzer.model import Catalog, Finding, Statement, severity_rank
from analyzer.rules import (
    deep_offset_pagination,
    leading_wildcard_like,
    n_plus_one,
    non_sargable_predicate,
    not_in_subquery,
    order_by_random,
    union_all_aggregates,
    unpaged_list,
    upsert_without_change_guard,
    wide_select_join,
)
from analyzer.rules.base import Context, Rule

_MODULES = (unpaged_list, wide_select_join, union_all_aggregates, upsert_without_change_guard,
            deep_offset_pagination, leading_wildcard_like, non_sargable_predicate, n_plus_one,
            not_in_subquery, order_by_random)

REGISTRY: dict[str, Rule] = {m.NAME: Rule.from_module(m) for m in _MODULES}


def select(include: list[str] | None = None, exclude: list[str] | None = None) -> list[Rule]:
    """The rules to run; an unknown name is a usage error that lists the known ones."""
    unknown = [n for n in (include or []) + (exclude or []) if n not in REGISTRY]
    if unknown:
        raise UsageError(f"unknown rule {', '.join(unknown)}; known rules: {', '.join(REGISTRY)}")
    names = list(include) if include else list(REGISTRY)
    return [REGISTRY[n] for n in names if n not in set(exclude or [])]


def run_rules(statements: list[Statement], catalog: Catalog | None, include: list[str] | None = None,
              exclude: list[str] | None = None) -> list[Finding]:
    """Findings of every selected rule on every parsed query, most severe first (stable)."""
    from analyzer.sql.extract import shape_of

    rules = select(include, exclude)
    ctx = Context.build(statements, catalog)
    findings: list[Finding] = []
    # A file or a pg_stat_activity capture repeats texts; without statistics a statement's findings
    # depend on its text alone, so a repeat gets copies carrying its own position.
    seen: dict[tuple[str, bool], list[Finding]] = {}
    for s in statements:
        if s.shape is None:
            s.shape = shape_of(s.text, catalog, truncated=s.truncated)
        if not s.shape.is_query:
            continue
        key = (s.text, s.truncated)
        if not s.has_stats and key in seen:
            findings += [replace(f, statement_index=s.index, fingerprint=s.fingerprint or f.fingerprint,
                                 evidence=dict(f.evidence)) for f in seen[key]]
            continue
        mine = [f for rule in rules for f in rule.check(s, ctx)]
        if not s.has_stats:
            seen[key] = mine
        findings += mine
    findings.sort(key=lambda f: -severity_rank(f.severity))
    return findings
