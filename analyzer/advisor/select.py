"""Workload-wide selection: greedy by benefit per byte over time-weighted statement costs.

The workload cost of an index set P is sum(weight_s * cost_s(P) / cost_s({})), weight_s being the
statement's share of the workload's time (calls x mean time), so 1.0 means "as today". Each round
re-costs the remaining candidates with the picked ones present; the candidate with the best gain
per byte among those whose gain clears the bar is taken. The bar is `min_gain_pct` of the remaining
cost, raised on write-heavy tables. A last pass drops picks the others make redundant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.advisor.candidates import Candidate
from analyzer.advisor.whatif import Item, WhatIf

FLOOR_SHARE = 0.25
WRITE_HEAVY_SHARE = 0.5  # writes / (writes + scans) above this makes a table write-heavy


@dataclass
class Pick:
    candidate: Candidate
    size_bytes: int
    gain: float  # share of the workload cost it removes, given the picks before it
    items: list[str] = field(default_factory=list)  # keys of the items it helps in the final set


@dataclass
class Selection:
    picks: list[Pick] = field(default_factory=list)
    base: dict[str, float] = field(default_factory=dict)  # item key -> cost without candidates
    final: dict[str, float] = field(default_factory=dict)  # item key -> cost with all picks
    without: dict[Candidate, dict[str, float]] = field(default_factory=dict)  # picks minus one
    best_single: dict[str, tuple[Candidate, float]] = field(default_factory=dict)  # item -> best alone
    workload_before: float = 1.0
    workload_after: float = 1.0
    bars: dict[str, float] = field(default_factory=dict)  # table -> bar factor (>1 write-heavy)
    stopped_by: str = ""


def write_bar(items: list[Item], table: str) -> tuple[float, str | None]:
    """How much the workload's writes to a table raise the bar, and the note that says so.
    Writes and reads are statement calls from the workload (INSERT/UPDATE/DELETE/MERGE whose
    target is the table, against statements that read it), not the catalog's row counters,
    which a bulk load inflates."""
    writes = reads = 0
    for item in items:
        if table not in item.tables:
            continue
        st = item.statement
        shape = getattr(st, "shape", None)
        calls = max(int(getattr(st, "calls", 0) or 0), 1)
        target = getattr(shape, "target_table", None) if shape is not None else None
        if shape is not None and shape.kind in ("insert", "update", "delete", "merge") and target:
            if item.write_table == table:
                writes += calls
                continue
        reads += calls
    if writes + reads == 0:
        return 1.0, None
    share = writes / (writes + reads)
    if share <= WRITE_HEAVY_SHARE:
        return 1.0, None
    factor = 1.0 + 4.0 * (share - WRITE_HEAVY_SHARE)  # up to 3x for a table that is only written
    note = (f"{table} is write-heavy ({writes} calls of statements writing it against {reads} "
            f"reading it): every index there slows each write, so the bar for suggesting one was "
            f"raised {factor:.1f}x")
    return factor, note


def workload_cost(items: list[Item], costs: dict[str, float | None], base: dict[str, float]) -> float:
    total = 0.0
    for item in items:
        b = base.get(item.key)
        c = costs.get(item.key)
        if not b or c is None:
            total += item.weight
        else:
            total += item.weight * min(c / b, 1.0)
    return total


def greedy(items: list[Item], candidates: list[Candidate], whatif: WhatIf, *,
           min_gain_pct: float = 2.0, max_indexes: int = 10, max_bytes: float | None = None
           ) -> Selection:
    sel = Selection()
    base_raw = whatif.costs(items, [])
    sel.base = {k: v for k, v in base_raw.items() if v}
    items = [i for i in items if i.key in sel.base]
    if not items:
        return sel
    sel.workload_before = workload_cost(items, sel.base, sel.base)
    for table in {c.table for c in candidates}:
        sel.bars[table] = write_bar(items, table)[0]
    by_table: dict[str, list[Item]] = {}
    for item in items:
        for t in item.tables:
            by_table.setdefault(t, []).append(item)

    def cost_with(config: list[Candidate]) -> dict[str, float | None]:
        return whatif.costs(items, config)

    picked: list[Candidate] = []
    ratio: dict[Candidate, float] = {}  # gain per byte each pick had when it was taken
    current = dict(sel.base)
    current_wc = sel.workload_before
    remaining = [c for c in dict.fromkeys(candidates) if by_table.get(c.table)]
    used_bytes = 0
    first_round = True
    while remaining:
        scored: list[tuple[float, float, Candidate, Candidate | None]] = []
        for cand in list(remaining):
            # a wider version of a pick (more keys, INCLUDE) would replace it, not join it
            narrower = next((p for p in picked if cand.covers(p)), None)
            config = [p for p in picked if p is not narrower] + [cand]
            touched = by_table[cand.table]
            after = whatif.costs(touched, config)
            if cand in whatif.failed:
                remaining.remove(cand)
                continue
            gain = current_wc - workload_cost(items, {**current, **after}, sel.base)
            if first_round:
                for item in touched:
                    c = after.get(item.key)
                    if c is not None and c < sel.base[item.key] and (
                            item.key not in sel.best_single or c < sel.best_single[item.key][1]):
                        sel.best_single[item.key] = (cand, c)
            if gain <= 1e-9:
                remaining.remove(cand)  # picks only ever shrink a later gain
                continue
            size = float(max(whatif.size(cand), 8192))
            if narrower is not None:
                extra = max(size - max(whatif.size(narrower), 8192), 8192.0)
                # INCLUDE columns only buy an index-only scan: their bytes must earn at least what
                # the narrower pick's bytes earned (more keys answer the bar like any index)
                if cand.keys == narrower.keys and gain / extra < ratio[narrower]:
                    continue
                size = extra
            scored.append((gain, size, cand, narrower))
        first_round = False
        bar = _bar(min_gain_pct, current_wc, sel.workload_before)
        # widening a pick adds no index, only bytes: it answers to the plain share of what is left
        upgrade_bar = min_gain_pct / 100.0 * current_wc

        def clears(s: tuple[float, float, Candidate, Candidate | None], bar: float = bar,
                   upgrade_bar: float = upgrade_bar) -> bool:
            return s[0] >= (bar if s[3] is None else upgrade_bar) * sel.bars.get(s[2].table, 1.0)

        fits = [s for s in scored if max_bytes is None or used_bytes + s[1] <= max_bytes]
        eligible = [s for s in fits if clears(s) and (s[3] is not None or len(picked) < max_indexes)]
        if not eligible:
            clearing = [s for s in scored if clears(s)]
            sel.stopped_by = ("max-indexes" if clearing and len(picked) >= max_indexes else
                              "max-index-mb" if clearing and len(fits) < len(scored) else
                              "min-gain" if scored else "no candidate helps")
            break
        gain, size, cand, narrower = max(eligible, key=lambda s: (s[0] / s[1], s[0]))
        if narrower is not None:
            picked.remove(narrower)
            sel.picks = [p for p in sel.picks if p.candidate != narrower]
        picked.append(cand)
        ratio[cand] = gain / size
        remaining.remove(cand)
        used_bytes += int(size)
        current = {**sel.base, **{k: v for k, v in whatif.costs(items, picked).items() if v is not None}}
        current_wc = workload_cost(items, current, sel.base)
        sel.picks.append(Pick(cand, int(whatif.size(cand)), gain))
    _prune(sel, items, whatif, min_gain_pct)
    final = whatif.costs(items, [p.candidate for p in sel.picks])
    sel.final = {k: v for k, v in final.items() if v is not None}
    sel.workload_after = workload_cost(items, sel.final, sel.base)
    for pick in sel.picks:
        others = [p.candidate for p in sel.picks if p is not pick]
        without = whatif.costs(items, others)
        sel.without[pick.candidate] = {k: v for k, v in without.items() if v is not None}
        pick.gain = workload_cost(items, without, sel.base) - sel.workload_after
        pick.items = [i.key for i in items if pick.candidate.table in i.tables
                      and sel.final.get(i.key, 0) < without.get(i.key, 0) * 0.999]  # type: ignore[operator]
    return sel


def _bar(min_gain_pct: float, remaining: float, before: float) -> float:
    """The least gain worth an index: min_gain_pct of the remaining cost, but never under a quarter
    of that against the cost before any suggestion, or the last few picks of a well-served workload
    would be indexes that each save a fraction of a percent."""
    return min_gain_pct / 100.0 * max(remaining, FLOOR_SHARE * before)


def _prune(sel: Selection, items: list[Item], whatif: WhatIf, min_gain_pct: float) -> None:
    """Drop picks that others make redundant: one whose removal costs less than the bar once the
    later picks are in (the weakest first), then a prefix of another pick."""
    picks = sel.picks
    changed = True
    while changed and len(picks) > 1:
        changed = False
        full = whatif.costs(items, [p.candidate for p in picks])
        wc_full = workload_cost(items, full, sel.base)
        losses = []
        for p in picks:
            without = whatif.costs(items, [q.candidate for q in picks if q is not p])
            losses.append((workload_cost(items, without, sel.base) - wc_full, p))
        loss, weakest = min(losses, key=lambda x: x[0])
        bar = _bar(min_gain_pct, wc_full, sel.workload_before)
        if loss < bar * sel.bars.get(weakest.candidate.table, 1.0):
            picks.remove(weakest)
            changed = True
    for p in list(picks):
        if any(q is not p and q.candidate.covers(p.candidate) for q in picks):
            picks.remove(p)
