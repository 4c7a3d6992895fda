"""Plans and the workload index advisor: explain the report's statements over the target's one
session, turn plans into findings, and pick the index set that cuts the workload's cost most
(verified with hypopg, built for real in a rolled-back transaction with --whatif real, or
heuristic when neither is possible)."""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from analyzer.advisor.candidates import Candidate, StatementCandidates, candidates_for
from analyzer.advisor.select import Selection, greedy, write_bar
from analyzer.advisor.whatif import Item, WhatIf
from analyzer.model import Catalog, IndexSuggestion, Report, Statement, StatementCost
from analyzer.plans.checks import plan_findings
from analyzer.plans.explain import Explained, explain, has_parameters
from analyzer.plans.model import Plan
from analyzer.sql.shape import QUERY_KINDS

EXPENSIVE_SHARE = 0.01  # statements above this share of the time get a note when nothing helps them
HYPOPG_HINT = ("hypopg is not installed in this database, so suggestions are heuristic (not "
               "verified): on Debian/Ubuntu apt-get install postgresql-NN-hypopg (NN = server major "
               "version); then, on Amazon RDS too, CREATE EXTENSION hypopg; in this database")


@dataclass
class AdvisorRun:
    """What one advisor run did, for the report's extra section and the bench."""

    explain_calls: int = 0
    seconds: float = 0.0
    candidates: int = 0
    mode: str = ""
    plans: dict[str, Plan] = field(default_factory=dict)  # item key -> plan without candidates
    items: list[Item] = field(default_factory=list)
    selection: Selection | None = None


def _opt(options: Any, name: str, default: Any) -> Any:
    value = getattr(options, name, default)
    return default if value is None else value


def statement_key(st: Statement) -> str:
    return st.fingerprint or hashlib.sha256(st.text.encode()).hexdigest()[:16]


def shape_for(st: Statement, catalog: Catalog) -> Any:
    if st.shape is not None:
        return st.shape
    try:
        from analyzer.sql.extract import shape_of  # the parsing layer; absent in early builds
    except ImportError:
        return None
    try:
        st.shape = shape_of(st.text, catalog, truncated=st.truncated)
    except Exception as e:  # a parser bug must not stop the advice for the other statements
        print(f"pgqa: advisor: cannot parse statement {st.index}: {e}", file=sys.stderr)
        return None
    return st.shape


def _weights(statements: list[Statement]) -> dict[int, float]:
    raw = {id(s): (s.total_ms if s.has_stats and s.total_ms > 0 else float(max(s.calls, 1)))
           for s in statements}
    total = sum(raw.values()) or 1.0
    return {k: v / total for k, v in raw.items()}


def advise_into(report: Report, target: Any, catalog: Catalog, options: Any) -> AdvisorRun:
    """Plans, plan findings and index advice for report.statements, into the report."""
    run = AdvisorRun()
    started = time.perf_counter()
    if getattr(target, "conn", None) is not None:
        # no psycopg auto-prepare: it answers a ROLLBACK with DEALLOCATE ALL (see plans.explain)
        target.conn.prepare_threshold = None
    do_explain = bool(_opt(options, "explain", True))
    do_advise = bool(_opt(options, "advise", True))
    analyze = bool(_opt(options, "explain_analyze", False))
    weights = _weights(report.statements)
    shapes: dict[str, StatementCandidates] = {}
    explained: dict[str, Explained] = {}
    by_key: dict[str, Item] = {}
    for st in report.statements:
        key = statement_key(st)
        shape = shape_for(st, catalog)
        if shape is not None and shape.kind not in QUERY_KINDS:
            continue  # utility and transaction control; a query sqlglot failed on is still explained
        if key in explained:
            if key in by_key:  # the same statement from another user or source: one item, both weights
                by_key[key].weight += weights[id(st)]
            continue
        if st.truncated:
            _skip(report, st, "not explainable: the text was cut at the source's length limit")
            explained[key] = Explained(reason="the text was cut at the source's length limit")
            continue
        ex = explain(target, st.text, analyze=analyze)
        explained[key] = ex
        if not ex.ok:
            _skip(report, st, f"not explainable: {ex.reason}")
            continue
        assert ex.plan is not None
        run.plans[key] = ex.plan
        run.explain_calls += 1
        if do_explain:
            report.findings += plan_findings(ex.plan, st, catalog)
        sc = candidates_for(shape, catalog, literal_values=not has_parameters(st.text))
        if shape is None or not shape.is_query:
            sc.tables = _plan_tables(ex.plan, catalog)
        shapes[key] = sc
        written = catalog.find(shape.target_table.key) if shape is not None and shape.target_table else None
        by_key[key] = Item(key=key, text=st.text, weight=weights[id(st)], tables=frozenset(sc.tables),
                           candidates=sc.candidates, statement=st,
                           write_table=written.qualified if written else None)
        run.items.append(by_key[key])
    if do_advise:
        _advise(report, target, catalog, options, run, explained, shapes, analyze)
    run.seconds = time.perf_counter() - started
    report.extra["advisor"] = {"mode": run.mode, "explain_calls": run.explain_calls,
                               "candidates": run.candidates, "seconds": round(run.seconds, 3)}
    return run


def _skip(report: Report, st: Statement, reason: str) -> None:
    report.skipped.append({"index": st.index, "fingerprint": st.fingerprint, "reason": reason})


def _plan_tables(plan: Plan, catalog: Catalog) -> set[str]:
    out = set()
    for name in plan.root.relations():
        t = catalog.find(name)
        if t:
            out.add(t.qualified)
    return out


def _advise(report: Report, target: Any, catalog: Catalog, options: Any, run: AdvisorRun,
            explained: dict[str, Explained], shapes: dict[str, StatementCandidates],
            analyze: bool) -> None:
    mode = str(_opt(options, "whatif", "hypopg"))
    has_hypopg = "hypopg" in (getattr(getattr(target, "info", None), "extensions", {}) or {})
    candidates = list(dict.fromkeys(c for i in run.items for c in i.candidates))
    run.candidates = len(candidates)
    if mode == "hypopg" and not has_hypopg:
        report.source("hypopg", "skipped", HYPOPG_HINT)
        mode = "heuristic"
    elif mode == "off":
        report.source("hypopg", "skipped", "--whatif off: suggestions are heuristic (not verified)")
        mode = "heuristic"
    elif mode == "real":
        report.source("hypopg", "skipped", "--whatif real: candidates were built for real inside a "
                      "transaction that was rolled back (sandbox databases only)")
        print("pgqa: --whatif real builds each candidate index inside a transaction that is rolled "
              "back; while it runs, writes to those tables wait: use it on a sandbox copy only",
              file=sys.stderr)
    else:
        report.source("hypopg", "ok", f"hypopg {target.info.extensions.get('hypopg')}: "
                      f"{len(candidates)} candidate indexes costed in pgqa's session")
    run.mode = mode
    if mode == "heuristic":
        _heuristic(report, catalog, options, run, shapes)
        _notes(report, run, explained, shapes, None, catalog, options)
        return
    whatif = WhatIf(target, mode)
    try:
        for item in run.items:
            plan = run.plans.get(item.key)
            if plan is not None and not analyze:
                whatif.seed(item, plan.total_cost)  # the checks' plan: no second EXPLAIN
        max_mb = _opt(options, "max_index_mb", None)
        sel = greedy(run.items, candidates, whatif,
                     min_gain_pct=float(_opt(options, "min_gain_pct", 2.0)),
                     max_indexes=int(_opt(options, "max_indexes", 10)),
                     max_bytes=float(max_mb) * 1024 * 1024 if max_mb else None)
    finally:
        whatif.close()
    run.selection = sel
    run.explain_calls += whatif.stats.explain_calls
    report.extra["whatif"] = {"explain_calls": whatif.stats.explain_calls,
                              "cache_hits": whatif.stats.cache_hits,
                              "seconds": round(whatif.stats.seconds, 3),
                              "hypothetical_indexes": whatif.stats.indexes_created,
                              "failed_candidates": {c.label(): r for c, r in whatif.failed.items()},
                              "stopped_by": sel.stopped_by}
    by_key = {i.key: i for i in run.items}
    for pick in sel.picks:
        report.index_suggestions.append(_suggestion(pick.candidate, pick.size_bytes, pick.gain,
                                                    pick.items, sel, by_key, run.items,
                                                    "real" if mode == "real" else "hypopg"))
    _notes(report, run, explained, shapes, sel, catalog, options)


def _suggestion(cand: Candidate, size: int, gain: float, helped: list[str], sel: Selection,
                by_key: dict[str, Item], items: list[Item], verified: str) -> IndexSuggestion:
    per = []
    for key in helped:
        before = sel.base.get(key, 0.0)
        after = sel.final.get(key, before)
        per.append(StatementCost(fingerprint=by_key[key].statement.fingerprint or key,
                                 cost_before=round(before, 2), cost_after=round(after, 2)))
    notes = []
    note = write_bar(items, cand.table)[1]
    if note:
        notes.append(note)
    return IndexSuggestion(
        table=cand.table, columns=cand.columns, ddl=cand.ddl(), include=list(cand.include),
        where=cand.where_sql, cost_before=round(sum(p.cost_before for p in per), 2),
        cost_after=round(sum(p.cost_after for p in per), 2),
        workload_improvement_pct=round(100.0 * gain / (sel.workload_before or 1.0), 2),
        size_bytes=size, statements=[p.fingerprint for p in per], per_statement=per,
        verified_with=verified, notes=notes)


def _heuristic(report: Report, catalog: Catalog, options: Any, run: AdvisorRun,
               shapes: dict[str, StatementCandidates]) -> None:
    """Without what-if costing: per expensive statement, the first candidate for each table its
    plan reads sequentially or sorts, deduplicated by prefix; sizes estimated from the catalog."""
    chosen: list[Candidate] = []
    helped: dict[Candidate, list[Item]] = {}
    max_indexes = int(_opt(options, "max_indexes", 10))
    for item in sorted(run.items, key=lambda i: -i.weight):
        plan = run.plans.get(item.key)
        if plan is None or not item.candidates:
            continue
        seq = {n.relation for n in plan.root.walk() if n.node_type == "Seq Scan"}
        sorts = any(n.node_type == "Sort" for n in plan.root.walk())
        for table in sorted({c.table for c in item.candidates}):
            if table.split(".")[-1] not in seq:
                continue
            options_for = [c for c in item.candidates if c.table == table and not c.include]
            shape_order = _order_keys(item)
            if sorts and shape_order:
                pref = [c for c in options_for if any(k.name in shape_order for k in c.keys)]
                options_for = pref or options_for
            if not options_for:
                continue
            cand = options_for[0]
            dup = next((c for c in chosen if c.covers(cand)), None)
            if dup is not None:
                helped[dup].append(item)
                continue
            wider = [c for c in chosen if cand.covers(c)]
            for c in wider:
                chosen.remove(c)
                helped.setdefault(cand, []).extend(helped.pop(c))
            if len(chosen) >= max_indexes:
                break
            chosen.append(cand)
            helped.setdefault(cand, []).append(item)
    for cand in chosen:
        items = helped[cand]
        notes = ["not verified: no what-if costing was possible (see the hypopg source line)"]
        note = write_bar(run.items, cand.table)[1]
        if note:
            notes.append(note)
        report.index_suggestions.append(IndexSuggestion(
            table=cand.table, columns=cand.columns, ddl=cand.ddl(), include=list(cand.include),
            where=cand.where_sql, size_bytes=_estimate_size(cand, catalog),
            # no what-if: the cost with the index is unknown, so no gain is claimed
            cost_before=round(sum(run.plans[i.key].total_cost for i in items), 2),
            cost_after=round(sum(run.plans[i.key].total_cost for i in items), 2),
            statements=[i.statement.fingerprint or i.key for i in items],
            verified_with="heuristic", notes=notes))


def _order_keys(item: Item) -> set[str]:
    shape = item.statement.shape if item.statement is not None else None
    if shape is None:
        return set()
    return {o.column.column for s in shape.scopes for o in s.order_by if o.column}


def _estimate_size(cand: Candidate, catalog: Catalog) -> int:
    t = catalog.find(cand.table)
    if t is None:
        return 0
    width = 0
    for name in [k.name for k in cand.keys] + list(cand.include):
        col = t.column(name)
        width += col.avg_width if col and col.avg_width else 8
    # tuple header + item pointer, btree leaves about 90% full
    return int(t.live_rows * (width + 16) / 0.9)


def _notes(report: Report, run: AdvisorRun, explained: dict[str, Explained],
           shapes: dict[str, StatementCandidates], sel: Selection | None, catalog: Catalog,
           options: Any) -> None:
    helped = {fp for s in report.index_suggestions for fp in s.statements}
    weights = _weights(report.statements)
    ranked = sorted(report.statements, key=lambda s: -weights[id(s)])
    min_gain = float(_opt(options, "min_gain_pct", 2.0))
    for rank, st in enumerate(ranked):
        key = statement_key(st)
        if key in helped or (st.fingerprint and st.fingerprint in helped):
            continue
        if weights[id(st)] < EXPENSIVE_SHARE and rank >= 10:
            continue
        ex = explained.get(key)
        if ex is None:
            continue  # not a query (utility, transaction control)
        kind = st.shape.kind if st.shape is not None else ""
        reason = _reason(key, ex, shapes.get(key), sel, run, min_gain, kind, bool(catalog.tables))
        report.advice_notes.append({"fingerprint": st.fingerprint or key, "index": st.index,
                                    "reason": reason})


def _reason(key: str, ex: Explained, sc: StatementCandidates | None, sel: Selection | None,
            run: AdvisorRun, min_gain: float, kind: str, catalog_known: bool = True) -> str:
    if not ex.ok:
        return f"not explainable: {ex.reason}"
    plan = run.plans.get(key)
    if plan is not None and plan.root.uses_index() and not any(
            n.node_type == "Seq Scan" for n in plan.root.walk()):
        return "already indexed: the plan reads through " + ", ".join(sorted(plan.root.uses_index()))
    if sc is not None and not sc.tables and not catalog_known:
        return "the catalog could not be read, so no candidate index could be built"
    if sc is None or not sc.candidates:
        if sc is not None and sc.reasons:
            small = [r for r in sc.reasons if r.startswith("table too small")]
            covered = [r for r in sc.reasons if r.startswith("already indexed")]
            return "; ".join(covered + small)
        if sc is not None and kind == "insert":
            return "an INSERT reads nothing an index could find faster (its ON CONFLICT, if any, uses the " \
                   "unique index it names)"
        return "no sargable predicate: nothing an index could look up, range-scan or deliver sorted"
    if sel is None:
        return "no sequential scan in its plan that a candidate would replace"
    best = sel.best_single.get(key)
    if best is None:
        return ("gain below threshold: none of its candidates lowered the planner's cost "
                f"({', '.join(c.label() for c in sc.candidates[:3])})")
    cand, cost = best
    base = sel.base.get(key, 0.0)
    if sel.stopped_by in ("max-indexes", "max-index-mb"):
        return (f"index budget reached (--{sel.stopped_by}): {cand.label()} would take its cost from "
                f"{base:.0f} to {cost:.0f}")
    heavy = write_bar(run.items, cand.table)[1]
    return (f"gain below threshold: {cand.label()} would take its cost from {base:.0f} to {cost:.0f}, "
            f"too little of the workload's cost for the {min_gain:g}% bar" + (f" ({heavy})" if heavy else ""))
