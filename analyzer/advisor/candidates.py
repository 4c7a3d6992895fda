"""Index candidates from query shapes: what a DBA would try, not every column.

Per table of a scope: equality columns first (most selective first, from pg_stats n_distinct),
then one range / IN / prefix-LIKE column, or the ORDER BY columns in their order and direction;
at most three key columns. Join columns of the joined side; group-by columns; INCLUDE columns when
they make an index-only scan possible; partial indexes for constant predicates the statement always
has; expression indexes for wrapped columns (`lower(email)`). Tables below a size threshold and
candidates an existing valid index already covers by prefix are left out, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from psycopg import sql

from analyzer.model import Catalog, Index, Table
from analyzer.sql import shape as sh

MAX_KEYS = 3
MAX_INCLUDE = 3
MIN_TABLE_ROWS = 1_000
MAX_NAME = 63  # NAMEDATALEN - 1


@dataclass(frozen=True)
class Key:
    name: str  # column name, or the expression's SQL (without table qualifiers)
    descending: bool = False
    expression: bool = False

    @property
    def text(self) -> str:
        return self.name + (" DESC" if self.descending else "")


@dataclass(frozen=True)
class Candidate:
    table: str  # schema.table
    keys: tuple[Key, ...]
    include: tuple[str, ...] = ()
    where: tuple[tuple[str, str, str | None], ...] = ()  # (column, op, literal SQL) ANDed

    @property
    def columns(self) -> list[str]:
        return [k.text for k in self.keys]

    @property
    def where_sql(self) -> str | None:
        if not self.where:
            return None
        return " AND ".join(_pred_sql(p).as_string(None) for p in self.where)

    def label(self) -> str:
        inc = f" INCLUDE ({', '.join(self.include)})" if self.include else ""
        where = f" WHERE {self.where_sql}" if self.where else ""
        return f"{self.table} ({', '.join(self.columns)}){inc}{where}"

    @property
    def name(self) -> str:
        """A readable index name: <table>_<columns>[_where_<column>]_idx, within NAMEDATALEN."""
        table = self.table.split(".")[-1]
        parts = [_slug(k.name) for k in self.keys]
        if self.where:
            parts.append("where_" + "_".join(_slug(p[0]) for p in self.where))
        base = f"{table}_{'_'.join(parts)}"
        return (base[: MAX_NAME - 4].rstrip("_") + "_idx")

    def statement(self, *, concurrently: bool, if_not_exists: bool, name: str | None = None,
                  unnamed: bool = False) -> sql.Composed:
        schema, table = self.table.split(".", 1)
        keys = sql.SQL(", ").join(
            sql.SQL("{}{}").format(sql.SQL(f"({k.name})") if k.expression else ident(k.name),
                                   sql.SQL(" DESC") if k.descending else sql.SQL(""))
            for k in self.keys)
        parts: list[sql.Composable] = [sql.SQL("CREATE INDEX ")]
        if concurrently:
            parts.append(sql.SQL("CONCURRENTLY "))
        if if_not_exists:
            parts.append(sql.SQL("IF NOT EXISTS "))
        if not unnamed:
            parts.append(sql.SQL("{} ").format(ident(name or self.name)))
        parts.append(sql.SQL("ON {}.{} ({})").format(ident(schema), ident(table), keys))
        if self.include:
            parts.append(sql.SQL(" INCLUDE ({})").format(
                sql.SQL(", ").join(ident(c) for c in self.include)))
        if self.where:
            parts.append(sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(_pred_sql(p) for p in self.where)))
        return sql.Composed(parts)

    def ddl(self) -> str:
        """What the report prints: CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON s.t (...)."""
        return self.statement(concurrently=True, if_not_exists=True).as_string(None)

    def covers(self, other: Candidate) -> bool:
        """Whether this index serves every use of `other`: same table and partial predicate, other's
        keys a prefix of ours (same directions), other's INCLUDE columns among ours."""
        if self.table != other.table or self.where != other.where:
            return False
        if len(other.keys) > len(self.keys) or self.keys[: len(other.keys)] != other.keys:
            return False
        mine = {k.name for k in self.keys} | set(self.include)
        return set(other.include) <= mine


def _pred_sql(p: tuple[str, str, str | None]) -> sql.Composed:
    col, op, value = p
    if op == sh.IS_NULL:
        return sql.SQL("{} IS NULL").format(ident(col))
    if op == sh.IS_NOT_NULL:
        return sql.SQL("{} IS NOT NULL").format(ident(col))
    return sql.SQL("{} = {}").format(ident(col), sql.SQL(value or "NULL"))


# Words that cannot stand unquoted as a column or table name (PostgreSQL's reserved key words).
_RESERVED = frozenset("""all analyse analyze and any array as asc asymmetric authorization binary both
case cast check collate collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user default deferrable desc
distinct do else end except false fetch for foreign freeze from full grant group having ilike in
initially inner intersect into is isnull join lateral leading left like limit localtime
localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
references returning right select session_user similar some symmetric system_user table tablesample
then to trailing true union unique user using variadic verbose when where window with""".split())


def ident(name: str) -> sql.Composable:
    """An identifier as a DBA types it: bare when it can be, quoted (psycopg.sql) when it must be."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in _RESERVED:
        return sql.SQL(name)
    return sql.Identifier(name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@dataclass
class StatementCandidates:
    candidates: list[Candidate] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why tables got no candidate
    tables: set[str] = field(default_factory=set)  # qualified tables the statement reads or writes


def _distinct(table: Table, column: str) -> float:
    col = table.column(column)
    rows = max(table.live_rows, 1)
    if col is None or col.n_distinct is None:
        return rows ** 0.5
    return col.n_distinct if col.n_distinct > 0 else -col.n_distinct * rows


def _strip_qualifiers(expression: str, aliases: set[str]) -> str:
    for alias in sorted(aliases, key=len, reverse=True):
        expression = re.sub(rf'(?<![\w."]){re.escape(alias)}\.', "", expression)
    return expression


def _norm(text: str) -> str:
    text = re.sub(r"\s+(asc|desc)\s*$", "", text.strip(), flags=re.I)
    return re.sub(r"[\s\"()]", "", text.lower())


def covered_by_existing(cand: Candidate, table: Table) -> Index | None:
    """An existing valid btree index whose leading keys are the candidate's (partial candidates
    are covered by a full index too), holding its INCLUDE columns."""
    want = [_norm(k.name) for k in cand.keys]
    for ix in table.indexes:
        if not ix.valid or ix.method != "btree" or (ix.partial and not cand.where):
            continue
        have = [_norm(c) for c in ix.columns]
        if have[: len(want)] != want:
            continue
        if ix.partial and cand.where_sql and _norm(cand.where_sql) not in _norm(ix.definition):
            continue
        if not {_norm(c) for c in cand.include} <= set(have) | {_norm(c) for c in ix.include}:
            continue
        return ix
    return None


@dataclass
class _TableUse:
    ref_keys: set[str] = field(default_factory=set)  # names the scope uses for this table
    eq: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    exprs: list[tuple[str, str]] = field(default_factory=list)  # (expression, op)
    constants: list[tuple[str, str, str | None]] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)
    star: bool = False


def _uses(scope: sh.Scope, catalog: Catalog, literal_values: bool = False
          ) -> dict[str, tuple[Table, _TableUse]]:
    refs = list(scope.tables) + [j.table for j in scope.joins]
    by_name: dict[str, Table] = {}
    found: dict[str, tuple[Table, _TableUse]] = {}
    for ref in refs:
        table = catalog.find(ref.key) or catalog.find(ref.name)
        if table is None:
            continue
        for alias in {ref.key, ref.name, ref.alias, ref.name.split(".")[-1], table.qualified}:
            if alias:
                by_name[alias] = table
        use = found.setdefault(table.qualified, (table, _TableUse()))[1]
        use.ref_keys |= {a for a in (ref.alias, ref.name, ref.name.split(".")[-1]) if a}
    single = next(iter(found.values()))[0] if len(found) == 1 else None

    def table_of(col: sh.ColumnRef | None) -> Table | None:
        if col is None:
            return None
        if col.table:
            return by_name.get(col.table) or catalog.find(col.table)
        if single is not None:
            return single
        owners = [t for t, _ in found.values() if t.column(col.column)]
        return owners[0] if len(owners) == 1 else None

    for pred in scope.predicates:
        table = table_of(pred.column)
        if table is None or table.qualified not in found:
            continue
        use = found[table.qualified][1]
        name = pred.column.column
        use.referenced.add(name)
        if getattr(pred, "in_or", False) or getattr(pred, "case_insensitive", False):
            continue  # one side of an OR, or ILIKE: an index on it alone narrows nothing
        if pred.expression:
            if pred.op in (sh.EQ, sh.IN, sh.RANGE, sh.LIKE_PREFIX):
                use.exprs.append((_strip_qualifiers(pred.expression, use.ref_keys), pred.op))
            continue
        if pred.constant and pred.op in (sh.IS_NULL, sh.IS_NOT_NULL):
            use.constants.append((name, pred.op, None))
            continue
        if pred.constant and pred.op == sh.EQ and not pred.in_join and not literal_values:
            use.constants.append((name, sh.EQ, pred.value_sql))
        if pred.op == sh.EQ:
            use.eq.append(name)
        elif pred.op in (sh.RANGE, sh.IN, sh.LIKE_PREFIX):
            use.ranges.append(name)
    for join in scope.joins:
        for left, right in join.on:
            for col in (left, right):
                table = table_of(col)
                if table is not None and table.qualified in found:
                    found[table.qualified][1].joins.append(col.column)
                    found[table.qualified][1].referenced.add(col.column)
    for col in scope.select_columns:
        table = table_of(col)
        if table is not None and table.qualified in found:
            found[table.qualified][1].referenced.add(col.column)
    for item in scope.order_by:
        table = table_of(item.column)
        if table is not None and table.qualified in found:
            found[table.qualified][1].referenced.add(item.column.column)  # type: ignore[union-attr]
    for star in scope.stars:
        for _table, use in found.values():
            if star == "*" or star in use.ref_keys:
                use.star = True
    return found


def _dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def candidates_for(shape: sh.QueryShape | None, catalog: Catalog, *,
                   min_table_rows: int = MIN_TABLE_ROWS, literal_values: bool = False) -> StatementCandidates:
    """literal_values: the text carries the caller's values (no $n placeholders), so `x = 42` is
    one value among many, not a constant the statement always has: no partial index on it."""
    out = StatementCandidates()
    if shape is None or not shape.is_query:
        return out
    seen: set[Candidate] = set()
    skipped_small: dict[str, int] = {}
    covered: dict[str, str] = {}
    if shape.target_table is not None:
        t = catalog.find(shape.target_table.key)
        if t:
            out.tables.add(t.qualified)
    for scope in shape.scopes:
        uses = _uses(scope, catalog, literal_values)
        order_tables = {_order_owner(scope, uses)}
        for qualified, (table, use) in uses.items():
            out.tables.add(qualified)
            unique = _unique_lookup(table, use)
            if unique is not None:
                covered[f"{qualified} ({', '.join(unique.columns)})"] = unique.name
                continue
            made = _for_table(table, use, scope, qualified in order_tables)
            if not made:
                continue
            if table.live_rows < min_table_rows:
                skipped_small[qualified] = table.live_rows
                continue
            for cand in made:
                if cand in seen:
                    continue
                seen.add(cand)
                ix = covered_by_existing(cand, table)
                if ix is not None:
                    covered[cand.label()] = ix.name
                    continue
                out.candidates.append(cand)
    for qualified, rows in skipped_small.items():
        out.reasons.append(f"table too small: {qualified} has {rows} rows")
    for label, ix in covered.items():
        out.reasons.append(f"already indexed: {ix} covers {label}")
    return out


def _unique_lookup(table: Table, use: _TableUse) -> Index | None:
    """A valid unique index whose every key column the scope fixes with `=`: one row at most, so
    no other index can do better."""
    eq = set(use.eq)
    for ix in table.indexes:
        if ix.unique and ix.valid and not ix.partial and ix.columns and set(ix.columns) <= eq:
            return ix
    return None


def _order_owner(scope: sh.Scope, uses: dict[str, tuple[Table, _TableUse]]) -> str | None:
    """The table whose index could deliver the scope's ORDER BY: all keys plain columns of it."""
    if not scope.order_by or scope.group_by:
        return None
    owner = None
    for item in scope.order_by:
        if item.column is None:
            return None
        matches = [q for q, (t, u) in uses.items()
                   if (item.column.table in u.ref_keys or item.column.table == q
                       or (item.column.table is None and t.column(item.column.column)))]
        if len(matches) != 1 or (owner and matches[0] != owner):
            return None
        owner = matches[0]
    return owner


def _for_table(table: Table, use: _TableUse, scope: sh.Scope, owns_order: bool) -> list[Candidate]:
    q = table.qualified
    by_selectivity = lambda names: sorted(_dedupe(names), key=lambda c: -_distinct(table, c))  # noqa: E731
    eq = by_selectivity([c for c in use.eq if table.column(c) or not table.columns])[:MAX_KEYS]
    ranges = by_selectivity([c for c in use.ranges if c not in eq])
    order: list[Key] = []
    if owns_order:
        order = [Key(i.column.column, i.descending) for i in scope.order_by if i.column]  # type: ignore[union-attr]
        order = [k for k in order if k.name not in eq]
    eq_keys = tuple(Key(c) for c in eq)
    keysets: list[tuple[Key, ...]] = []
    if ranges:
        keysets.append((eq_keys + (Key(ranges[0]),))[:MAX_KEYS])
    if order:
        keysets.append((eq_keys + tuple(order))[:MAX_KEYS])
    if eq_keys:
        keysets.append(eq_keys)
    if not eq_keys and not ranges and order:
        keysets.append(tuple(order)[:MAX_KEYS])
    for expr, _op in use.exprs:
        keysets.append((eq_keys + (Key(expr, expression=True),))[:MAX_KEYS])
    for col in _dedupe(use.joins):
        if col in eq:
            continue
        keysets.append((eq_keys + (Key(col),))[:MAX_KEYS])
        keysets.append((Key(col),))
    if scope.group_by and not eq_keys:
        group = [g.split(".")[-1].strip('"') for g in scope.group_by]
        if group and all(table.column(g) for g in group):
            keysets.append(tuple(Key(g) for g in group)[:MAX_KEYS])
    cands: list[Candidate] = []
    for keys in _dedupe_keysets(keysets):
        cands.append(Candidate(q, keys))
        if not use.star and covered_by_existing(Candidate(q, keys), table) is None:
            extra = sorted(use.referenced - {k.name for k in keys if not k.expression})
            extra = [c for c in extra if table.column(c) or not table.columns]
            if 0 < len(extra) <= MAX_INCLUDE:
                cands.append(Candidate(q, keys, include=tuple(extra)))
    if use.constants:
        where = tuple(sorted(set(use.constants), key=lambda p: p[0]))
        fixed = {p[0] for p in where if p[1] == sh.EQ}
        for keys in _dedupe_keysets(keysets):
            partial_keys = tuple(k for k in keys if k.name not in fixed)
            if partial_keys:
                cands.append(Candidate(q, partial_keys, where=where))
    return cands


def _dedupe_keysets(keysets: list[tuple[Key, ...]]) -> list[tuple[Key, ...]]:
    out: list[tuple[Key, ...]] = []
    for ks in keysets:
        names = [k.name for k in ks]
        if ks and len(set(names)) == len(names) and ks not in out:
            out.append(ks)
    return out
