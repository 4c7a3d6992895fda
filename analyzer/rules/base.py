"""What every rule shares: the Rule record, the context it sees, severity scaling, SQL helpers.

A rule module defines NAME (stable kebab-case), SEVERITY (its base severity), TITLE, and
`check(statement, ctx) -> list[Finding]`; its docstring holds a bad example, a good example and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

from sqlglot import exp
from sqlglot.errors import SqlglotError

from analyzer.model import SEVERITIES, Catalog, Finding, Statement, Table, severity_rank
from analyzer.sql.parse import PG, for_parser
from analyzer.sql.redact import redact
from analyzer.sql.shape import EQ, IN, Scope, TableRef


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    title: str
    check: Callable[[Statement, Context], list[Finding]]
    doc: str
    needs_stats: bool = False

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.title

    @classmethod
    def from_module(cls, module: ModuleType) -> Rule:
        return cls(name=module.NAME, severity=module.SEVERITY, title=module.TITLE, check=module.check,
                   doc=module.__doc__ or "", needs_stats=getattr(module, "NEEDS_STATS", False))


@dataclass
class Context:
    """What a rule may look at besides its statement: the catalog and the whole workload."""

    catalog: Catalog | None
    statements: list[Statement] = field(default_factory=list)
    total_ms: float = 0.0

    @classmethod
    def build(cls, statements: list[Statement], catalog: Catalog | None) -> Context:
        total = sum(s.total_ms for s in statements if s.has_stats)
        return cls(catalog=catalog, statements=statements, total_ms=total)

    def share(self, s: Statement) -> float | None:
        """The statement's share of the workload's total time, when statistics exist."""
        if not s.has_stats or self.total_ms <= 0:
            return None
        return s.total_ms / self.total_ms

    def table(self, ref: TableRef | str | None) -> Table | None:
        if self.catalog is None or ref is None:
            return None
        return self.catalog.find(ref.key if isinstance(ref, TableRef) else ref)


def shift(severity: str, steps: int) -> str:
    i = max(0, min(len(SEVERITIES) - 1, severity_rank(severity) + steps))
    return SEVERITIES[i]


def scaled(base: str, s: Statement, ctx: Context, *, rows_matter: bool = False) -> str:
    """Severity rises with the statement's share of total time (>= 5%: +1, >= 25%: +2) and, for
    rules about returned rows, with rows per call (>= 1,000: +1); a statement with statistics that
    costs under 0.1% of the time drops one level."""
    share = ctx.share(s)
    if share is None:
        return base
    steps = 0
    if share >= 0.25:
        steps += 2
    elif share >= 0.05:
        steps += 1
    elif share < 0.001:
        steps -= 1
    if rows_matter and s.rows_per_call >= 1000:
        steps += 1
    return shift(base, steps)


def stats_evidence(s: Statement, ctx: Context) -> dict[str, object]:
    share = ctx.share(s)
    if share is None:
        return {}
    return {"calls": s.calls, "total_ms": round(s.total_ms, 3), "mean_ms": round(s.mean_ms, 3),
            "rows_per_call": round(s.rows_per_call, 2), "share_of_total_time_pct": round(100 * share, 2)}


def finding(module_name: str, severity: str, title: str, s: Statement, ctx: Context, *, message: str,
            recommendation: str, evidence: dict[str, object] | None = None,
            suggested_sql: str | None = None, key: str = "") -> Finding:
    ev: dict[str, object] = dict(evidence or {})
    ev.update(stats_evidence(s, ctx))
    if s.truncated:
        ev["truncated"] = True
        message += " (The statement text was truncated at the source's limit; this finding only uses " \
                   "the part that was kept.)"
    return Finding(rule=module_name, severity=severity, title=title, message=message,
                   recommendation=recommendation, evidence=ev, suggested_sql=suggested_sql,
                   statement_index=s.index, fingerprint=s.fingerprint, key=key)


# ---- shapes --------------------------------------------------------------------------------------
def aggregate_only(scope: Scope) -> bool:
    """One row out: aggregates without GROUP BY."""
    return bool(scope.aggregates) and not scope.group_by


def unique_keys(table: Table | None) -> list[list[str]]:
    if table is None:
        return []
    keys = [list(table.primary_key)] if table.primary_key else []
    keys += [list(i.columns) for i in table.indexes if (i.unique or i.primary) and i.valid and not i.partial
             and i.columns]
    return keys


def _norm_expression(text: str) -> str:
    return re.sub(r"[\s()\"]+", "", text.lower())


def _main_equalities(scope: Scope) -> tuple[set[str], set[str]]:
    """(plain columns, normalized wrapped expressions) of the scope's main table compared by
    equality (or IN) with a value, outside any OR."""
    main = scope.tables[0]
    cols: set[str] = set()
    exprs: set[str] = set()
    for p in scope.predicates:
        if p.op not in (EQ, IN) or p.in_or or p.subquery or p.column.table not in (main.key, None):
            continue
        if p.expression is None:
            cols.add(p.column.column)
        else:
            exprs.add(_norm_expression(p.expression))
    return cols, exprs


def single_row_lookup(scope: Scope, ctx: Context) -> bool:
    """The scope's main table is filtered by equality (or IN) on every key column of a unique or
    primary index: from the catalog when it knows the table (an expression key such as
    `lower(email)` counts when the statement compares that expression), statically (no catalog)
    on a column named `id`."""
    if not scope.tables:
        return False
    eq_cols, eq_exprs = _main_equalities(scope)
    if not eq_cols and not eq_exprs:
        return False
    table = ctx.table(scope.tables[0])
    keys = unique_keys(table)
    if keys:
        return any(all(c in eq_cols or _norm_expression(c) in eq_exprs for c in key) for key in keys)
    if table is not None:
        return False  # the catalog knows the table and it has no unique key on these columns
    return "id" in eq_cols  # `<table>_id` would usually be a foreign key, not unique


# Foreign keys that split a table by customer: one value still selects a large share of the rows.
_TENANT_KEYS = frozenset({"org_id", "organization_id", "company_id", "tenant_id", "account_id",
                          "workspace_id"})


def foreign_key_equality(scope: Scope) -> str | None:
    """A `<parent>_id = $n` equality on the main table (the children of one parent row, usually a
    handful), not a tenant key such as `org_id`; the column name, or None."""
    if not scope.tables:
        return None
    eq_cols, _ = _main_equalities(scope)
    found = sorted(c for c in eq_cols if c.endswith("_id") and c != "_id" and c not in _TENANT_KEYS)
    return found[0] if found else None


def rows_per_value(scope: Scope, ctx: Context) -> float | None:
    """The catalog's estimate (pg_stats n_distinct) of the rows one equality on the main table
    selects: the smallest over its equality-compared columns, None when unknown."""
    if not scope.tables:
        return None
    table = ctx.table(scope.tables[0])
    if table is None:
        return None
    eq_cols, _ = _main_equalities(scope)
    best: float | None = None
    for name in eq_cols:
        col = table.column(name)
        nd = col.n_distinct if col is not None else None
        if not nd:
            continue
        if nd < 0:
            rows = 1 / -nd
        elif table.live_rows > 0:
            rows = table.live_rows / nd
        else:
            continue
        best = rows if best is None else min(best, rows)
    return best


def tie_breaker(scope: Scope, ctx: Context) -> str | None:
    """A unique column of the main table to end a keyset ORDER BY with: the catalog's primary key,
    else an `id` column the statement itself mentions."""
    if not scope.tables:
        return None
    main = scope.tables[0]
    alias = main.alias or main.name
    table = ctx.table(main)
    if table is not None and len(table.primary_key) == 1:
        return f"{alias}.{table.primary_key[0]}"
    mentioned = {c.column for c in scope.select_columns if c.table in (main.key, None)}
    mentioned |= {p.column.column for p in scope.predicates if p.column.table in (main.key, None)}
    mentioned |= {o.column.column for o in scope.order_by if o.column and o.column.table in (main.key, None)}
    if "id" in mentioned or scope.stars:
        return f"{alias}.id"
    return None


# ---- SQL -----------------------------------------------------------------------------------------
_PARAM = re.compile(r"\$(\d+)")
_PARAM_TOKEN = re.compile(r"\$\d+")


def redacted_tree(s: Statement) -> exp.Expression | None:
    """The statement with its literals replaced by placeholders, parsed; suggestions are built from
    this so they never carry a value from the input."""
    if s.truncated:
        return None
    try:
        trees = PG.parse(for_parser(redact(s.text)))
    except (SqlglotError, RecursionError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None
    tree = trees[0] if trees else None
    if tree is not None:
        # `interval '7 days'` redacted is `interval $6`, which sqlglot writes back as INTERVAL '6':
        # a typed parameter says the same and survives generation
        for node in list(tree.find_all(exp.Interval)):
            if isinstance(node.this, exp.Parameter) and not node.args.get("unit"):
                node.replace(exp.Cast(this=node.this, to=exp.DataType.build("interval")))
    return tree


def next_param(tree: exp.Expression) -> int:
    nums = [int(m) for m in _PARAM.findall(PG.generate(tree, copy=False))]
    return max(nums, default=0) + 1


def to_sql(tree: exp.Expression) -> str:
    """SQL of a rewritten tree, placeholders renumbered $1, $2... in order of appearance (a rewrite
    drops some, e.g. OFFSET, and adds others)."""
    # comments of the original statement do not belong in a rewrite (and may hold values)
    return renumber(PG.generate(tree, copy=False, comments=False))


def renumber(text: str) -> str:
    """Placeholders numbered by first appearance. The text comes from a redacted tree, so no
    string literal can hold a `$n` that this would touch."""
    mapping: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return mapping.setdefault(m.group(), f"${len(mapping) + 1}")

    return _PARAM_TOKEN.sub(number, text)


def safe_sql(text: str | None) -> str | None:
    """Last guard on suggested SQL: whatever we built goes through redaction once more."""
    return redact(text) if text else text


def quote_ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def expression_tag(expression: str | None) -> list[str]:
    """A word for an expression in an index name: `lower(email)` -> ["lower"]."""
    if not expression:
        return []
    m = re.match(r"\s*([A-Za-z_]+)", expression)
    return [m.group(1).lower() if m else "expr"]


def index_name(table: str, *parts: str, suffix: str = "idx") -> str:
    raw = "_".join([table.rsplit(".", 1)[-1], *parts, suffix])
    clean = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_")
    return clean[:63]
