"""What-if costing: the planner's cost of a statement with a given set of candidate indexes.

hypopg mode: hypothetical indexes in the analyzer's own session (nothing is built; they vanish
with the session, and hypopg_reset() clears them at the end). real mode (`--whatif real`, sandbox
databases only): the indexes are built inside a transaction that is rolled back.

A statement's cost depends only on the indexes of the tables it reads, so results are cached per
(statement, indexes of its tables): no plan is asked twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from analyzer.advisor.candidates import Candidate
from analyzer.plans.explain import Explained, describe_error, explain, isolated

Config = frozenset[Candidate]


@dataclass
class Item:
    """One statement the advisor weighs."""

    key: str
    text: str
    weight: float  # share of the workload's time (all items sum to 1)
    tables: frozenset[str]
    candidates: list[Candidate] = field(default_factory=list)
    statement: Any = None  # the model.Statement
    write_table: str | None = None  # schema.table an INSERT/UPDATE/DELETE/MERGE writes


@dataclass
class WhatIfStats:
    explain_calls: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    indexes_created: int = 0


class WhatIf:
    """Costs items under index configurations through one session, with a cache."""

    def __init__(self, target: Any, mode: str = "hypopg") -> None:
        if mode not in ("hypopg", "real"):
            raise ValueError(mode)
        self.target = target
        self.mode = mode
        self.stats = WhatIfStats()
        self._cache: dict[tuple[str, Config], float | None] = {}
        self._reasons: dict[str, str] = {}
        self._live: dict[Candidate, int] = {}  # hypopg: candidate -> indexrelid
        self._sizes: dict[Candidate, int] = {}
        self.failed: dict[Candidate, str] = {}

    # -- public ---------------------------------------------------------------------------

    def relevant(self, item: Item, config: Iterable[Candidate]) -> Config:
        return frozenset(c for c in config if c.table in item.tables)

    def cost(self, item: Item, config: Iterable[Candidate]) -> float | None:
        return self.costs([item], config)[item.key]

    def costs(self, items: list[Item], config: Iterable[Candidate]) -> dict[str, float | None]:
        """Cost of each item with `config` present (None when the item cannot be explained)."""
        config = frozenset(c for c in config if c not in self.failed)
        out: dict[str, float | None] = {}
        todo: dict[Config, list[Item]] = {}
        for item in items:
            rel = self.relevant(item, config)
            hit = self._cache.get((item.key, rel), _MISSING)
            if hit is not _MISSING:
                self.stats.cache_hits += 1
                out[item.key] = hit  # type: ignore[assignment]
            else:
                todo.setdefault(rel, []).append(item)
        for rel, group in todo.items():
            out.update(self._evaluate(rel, group))
        return out

    def seed(self, item: Item, cost: float | None, reason: str | None = None) -> None:
        """A cost already known without any candidate (the plan the checks asked for)."""
        self._cache[(item.key, frozenset())] = cost
        if reason:
            self._reasons[item.key] = reason

    def reason(self, item: Item) -> str | None:
        return self._reasons.get(item.key)

    def size(self, cand: Candidate) -> int:
        """Estimated (hypopg) or built (real) size of a candidate, bytes; 0 when it failed."""
        if cand not in self._sizes and cand not in self.failed:
            if self.mode == "hypopg":
                self._create_hypothetical(cand)
            else:
                self._evaluate_real(frozenset({cand}), [])
        return self._sizes.get(cand, 0)

    def close(self) -> None:
        """Leave the session as it was: no hypothetical index of ours behind."""
        if self.mode == "hypopg" and not self.target.conn.closed:
            self.target.query("hypopg_reset", identifiers={"reset": self._fn("hypopg_reset")})
            self._live.clear()

    # -- internals -----------------------------------------------------------------------

    def _fn(self, name: str) -> sql.Composable:
        rel = getattr(self.target, "relation", None)
        return rel("hypopg", name) if rel else sql.Identifier(name)

    def _explain(self, item: Item) -> Explained:
        self.stats.explain_calls += 1
        return explain(self.target, item.text)

    def _evaluate(self, rel: Config, group: list[Item]) -> dict[str, float | None]:
        start = time.perf_counter()
        try:
            if self.mode == "hypopg":
                return self._evaluate_hypopg(rel, group)
            return self._evaluate_real(rel, group)
        finally:
            self.stats.seconds += time.perf_counter() - start

    def _record(self, rel: Config, group: list[Item]) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for item in group:
            ex = self._explain(item)
            cost = ex.plan.total_cost if ex.plan else None
            if ex.reason and not rel:
                self._reasons[item.key] = ex.reason
            self._cache[(item.key, rel)] = cost
            out[item.key] = cost
        return out

    def _sync(self, want: Config) -> None:
        for cand in [c for c in self._live if c not in want]:
            self.target.query("hypopg_drop", [self._live.pop(cand)],
                              identifiers={"drop": self._fn("hypopg_drop_index")})
        for cand in want:
            if cand not in self._live and cand not in self.failed:
                self._create_hypothetical(cand)

    def _create_hypothetical(self, cand: Candidate) -> None:
        ddl = cand.statement(concurrently=False, if_not_exists=False, unnamed=True).as_string(None)
        try:
            with isolated(self.target):
                rows = self.target.query("hypopg_create", [ddl],
                                         identifiers={"create": self._fn("hypopg_create_index")})
        except psycopg.Error as e:
            self.failed[cand] = describe_error(e)
            return
        oid = int(rows[0]["indexrelid"])
        self._live[cand] = oid
        self.stats.indexes_created += 1
        if cand not in self._sizes:
            size = self.target.query("hypopg_size", [oid],
                                     identifiers={"size": self._fn("hypopg_relation_size")})
            self._sizes[cand] = int(size[0]["bytes"] or 0)

    def _evaluate_hypopg(self, rel: Config, group: list[Item]) -> dict[str, float | None]:
        self._sync(rel)
        if any(c in self.failed for c in rel):
            rel = frozenset(c for c in rel if c not in self.failed)
        return self._record(rel, group)

    def _evaluate_real(self, rel: Config, group: list[Item]) -> dict[str, float | None]:
        # Target.transaction, not conn.transaction(): psycopg's BEGIN / SAVEPOINT / ROLLBACK are
        # unmarked and would count as the user's in pg_stat_statements.
        with self.target.transaction(force_rollback=True):
            self.target.query("whatif_read_write")
            built: set[Candidate] = set()
            for i, cand in enumerate(sorted(rel, key=lambda c: c.label())):
                name = f"pgqa_whatif_{i}"
                stmt = cand.statement(concurrently=False, if_not_exists=False, name=name)
                try:
                    with self.target.transaction():
                        self.target.run(stmt)
                except psycopg.Error as e:
                    self.failed[cand] = describe_error(e)
                    continue
                built.add(cand)
                self.stats.indexes_created += 1
                if cand not in self._sizes:
                    schema = cand.table.split(".", 1)[0]
                    qualified = sql.Identifier(schema, name).as_string(None)
                    size = self.target.query("whatif_index_size", [qualified])
                    self._sizes[cand] = int(size[0]["bytes"] or 0)
            return self._record(frozenset(built), group)


_MISSING = object()

