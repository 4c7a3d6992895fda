"""Build a QueryShape from statement text: what it reads, filters, joins, orders and returns.

One walk per SELECT scope (sqlglot's traverse_scope: root, CTEs, subqueries, derived tables, set
operation branches). UPDATE and DELETE have no SELECT scope of their own in sqlglot, so their
target, FROM/USING tables and WHERE predicates are collected into scopes[0] here.

Column ownership is resolved without rewriting the tree (sqlglot's qualify rewrites and is several
times slower than parsing): a qualifier maps through the scope's selected sources, an unqualified
column goes to the only table of its scope, or with a catalog to the one table that has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope as SgScope
from sqlglot.optimizer.scope import ScopeType, traverse_scope

from analyzer.model import Catalog
from analyzer.sql import parse as sqlparse
from analyzer.sql.lexer import first_keyword
from analyzer.sql.shape import (
    DELETE,
    EQ,
    IN,
    INSERT,
    IS_NOT_NULL,
    IS_NULL,
    LIKE_INFIX,
    LIKE_PREFIX,
    MERGE,
    NEQ,
    OTHER,
    QUERY_KINDS,
    RANGE,
    SELECT,
    UPDATE,
    ColumnRef,
    JoinRef,
    OrderItem,
    Predicate,
    QueryShape,
    Scope,
    TableRef,
)

_SUBQUERY_NODES = (exp.Subquery, exp.Select, exp.SetOperation)
_RANGE_OPS = (exp.GT, exp.GTE, exp.LT, exp.LTE)
_PARAMS = (exp.Parameter, exp.Placeholder)


def shape_of(text: str, catalog: Catalog | None = None, *, truncated: bool = False,
             reader: sqlparse.Reader | None = None) -> QueryShape:
    """The shape of one statement; never raises (a statement that does not parse, or a bug in the
    walk, comes back with parse_error set and the statement kind from its first keyword). A loop
    over many statements passes one reader."""
    kind = sqlparse.classify(text)
    first = first_keyword(text)
    if kind not in QUERY_KINDS:
        return QueryShape(kind=kind, truncated=truncated, first_keyword=first)
    parsed = sqlparse.parse(text, reader)
    if parsed.tree is None:
        return QueryShape(kind=kind, truncated=truncated, first_keyword=first, parse_error=parsed.error,
                          error_line=parsed.line, error_column=parsed.col)
    try:
        return shape_of_tree(parsed.tree, catalog, truncated=truncated, first_keyword=first)
    except SqlglotError as e:  # e.g. a duplicate alias: invalid SQL that still parsed
        return QueryShape(kind=kind, truncated=truncated, first_keyword=first,
                          parse_error=f"cannot analyze the statement: {str(e).splitlines()[0]}")
    except Exception as e:  # noqa: BLE001 - the contract is "never raises"; the run must go on
        return QueryShape(kind=kind, truncated=truncated, first_keyword=first,
                          parse_error=f"internal error while analyzing the statement: {type(e).__name__}: "
                                      f"{e}")


def tree_kind(tree: exp.Expression) -> str | None:
    if isinstance(tree, (exp.Select, exp.SetOperation, exp.Values)):
        return SELECT
    for cls, kind in ((exp.Insert, INSERT), (exp.Update, UPDATE), (exp.Delete, DELETE), (exp.Merge, MERGE)):
        if isinstance(tree, cls):
            return kind
    return None


def shape_of_tree(tree: exp.Expression, catalog: Catalog | None, *, truncated: bool = False,
                  first_keyword: str = "") -> QueryShape:
    kind = tree_kind(tree)
    if kind is None:
        return QueryShape(kind=sqlparse.UNKNOWN, truncated=truncated, first_keyword=first_keyword,
                          parse_error=f"not a query: read as {type(tree).__name__}")
    shape = QueryShape(kind=kind, truncated=truncated, first_keyword=first_keyword)
    _Walker(catalog, shape).run(tree)
    return shape


@dataclass
class _Env:
    """Names visible in one scope: alias -> base table, or alias -> sqlglot scope (CTE, derived)."""

    tables: dict[str, TableRef] = field(default_factory=dict)
    scopes: dict[str, SgScope] = field(default_factory=dict)
    parent: _Env | None = None
    sg: SgScope | None = None


class _Walker:
    def __init__(self, catalog: Catalog | None, shape: QueryShape) -> None:
        self.catalog = catalog
        self.shape = shape
        self.envs: dict[int, _Env] = {}
        self.mine: dict[int, Scope] = {}
        self.refs: dict[int, TableRef] = {}  # FROM/JOIN node -> its TableRef, made once

    # ---- entry ----------------------------------------------------------------------------
    def run(self, tree: exp.Expression) -> None:
        shape = self.shape
        dml_scope: Scope | None = None
        dml_env: _Env | None = None
        if isinstance(tree, (exp.Update, exp.Delete)):
            dml_scope, dml_env = self._dml_scope(tree)
        elif isinstance(tree, exp.Insert):
            self._insert(tree)
        elif isinstance(tree, exp.Merge):
            target = tree.this
            if isinstance(target, exp.Table):
                shape.target_table = self._table_ref(target)
        all_scopes = list(traverse_scope(tree))
        shape.set_operations = _set_operations([sg.expression for sg in all_scopes])
        sg_scopes = [sg for sg in all_scopes if _wanted(sg.expression)]
        # Names first, outer scopes before inner ones, so that a correlated column in a subquery
        # and a CTE column read by the outer query both resolve to their base table.
        for sg in reversed(sg_scopes):
            env = self._env(sg, dml_env)
            if isinstance(sg.expression, exp.Select):
                for node in _from_and_joins(sg.expression):
                    self._source_ref(node, env)
        ordered: list[tuple[SgScope, Scope]] = []
        for sg in sg_scopes:
            node = sg.expression
            env = self.envs[id(sg)]
            mine = self._select_scope(node, env, sg) if isinstance(node, exp.Select) else \
                self._set_scope(node)
            mine.kind, mine.name = self._scope_kind(sg, node)
            self.mine[id(sg)] = mine
            ordered.append((sg, mine))
        self._mark_reads_whole(ordered)
        roots = [m for sg, m in ordered if m.kind == "root"]
        rest = [m for sg, m in ordered if m.kind != "root"]
        if dml_scope is not None:
            shape.scopes = [dml_scope] + rest
        else:
            shape.scopes = roots[:1] + rest + roots[1:]

    # ---- scopes ---------------------------------------------------------------------------
    def _scope_kind(self, sg: SgScope, node: exp.Expression) -> tuple[str, str | None]:
        parent = node.parent
        if isinstance(parent, exp.SetOperation) or (
                sg.scope_type == ScopeType.SET_OPERATION and isinstance(node, exp.Select)):
            return "union_branch", None
        if sg.scope_type == ScopeType.ROOT:
            return "root", None
        if sg.scope_type == ScopeType.CTE:
            return "cte", parent.alias if parent is not None else None
        if sg.scope_type == ScopeType.DERIVED_TABLE:
            return "derived", parent.alias if parent is not None else None
        if isinstance(parent, exp.Subquery) and isinstance(parent.parent, exp.Lateral):
            return "derived", parent.parent.alias or None
        return "subquery", None

    def _env(self, sg: SgScope, dml_env: _Env | None) -> _Env:
        parent_env = None
        p = sg.parent
        while p is not None and id(p) not in self.envs:
            p = p.parent
        if p is not None:
            parent_env = self.envs[id(p)]
        elif dml_env is not None:
            parent_env = dml_env
        env = _Env(parent=parent_env, sg=sg)
        for name, source in sg.sources.items():
            if isinstance(source, SgScope):
                env.scopes[name] = source
        self.envs[id(sg)] = env
        return env

    def _select_scope(self, sel: exp.Select, env: _Env, sg: SgScope) -> Scope:
        scope = Scope()
        from_ = sel.args.get("from_") or sel.args.get("from")
        sources: list[exp.Expression] = [from_.this] if from_ is not None else []
        for node in sources:
            ref = self._source_ref(node, env)
            if ref is not None:
                scope.tables.append(ref)
        for j in sel.args.get("joins") or []:
            ref = self._source_ref(j.this, env)
            if ref is not None and isinstance(j.this, exp.Table):
                scope.tables.append(ref)
            scope.joins.append(JoinRef(kind=_join_kind(j), table=ref or TableRef(name=j.this.alias or "?")))
        # ON conditions: equality pairs on the join, the rest as join predicates
        first_key = scope.tables[0].key if scope.tables else None
        for j, jref in zip(sel.args.get("joins") or [], scope.joins, strict=False):
            on = j.args.get("on")
            if on is not None:
                for cond, in_or in _conjuncts(on):
                    pair = self._column_pair(cond, env)
                    if pair is not None and not in_or:
                        jref.on.append(pair)
                    else:
                        scope.predicates += self._predicates(cond, env, in_join=True, in_or=in_or)
            for ident in j.args.get("using") or []:
                name = ident.name
                jref.on.append((ColumnRef(name, first_key), ColumnRef(name, jref.table.key)))
        where = sel.args.get("where")
        if where is not None:
            self._where_into(scope, where.this, env)
        having = sel.args.get("having")
        for proj in sel.expressions:
            if isinstance(proj, exp.Star):
                scope.stars.append("*")
                continue
            if isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
                scope.stars.append(proj.table or "*")
                continue
            for col in _own_columns(proj):
                ref = self._column_ref(col, env)
                if ref is not None and ref not in scope.select_columns:
                    scope.select_columns.append(ref)
        scope.aggregates = _aggregates(sel.expressions + ([having] if having is not None else []))
        group = sel.args.get("group")
        if group is not None:
            scope.group_by = [_sql(g) for g in group.expressions]
        self._order_limit(scope, sel, env)
        scope.distinct = bool(sel.args.get("distinct"))
        return scope

    def _set_scope(self, node: exp.SetOperation) -> Scope:
        scope = Scope()
        self._order_limit(scope, node, None)
        return scope

    def _order_limit(self, scope: Scope, node: exp.Expression, env: _Env | None) -> None:
        order = node.args.get("order")
        if order is not None:
            aliases = {p.alias: p.this for p in getattr(node, "expressions", []) if isinstance(p, exp.Alias)}
            for o in order.expressions:
                key = o.this if isinstance(o, exp.Ordered) else o
                desc = bool(o.args.get("desc")) if isinstance(o, exp.Ordered) else False
                nulls_first = o.args.get("nulls_first") if isinstance(o, exp.Ordered) else None
                # PostgreSQL's default puts NULLs first for DESC, last for ASC: None means default
                nulls = None if nulls_first is None or bool(nulls_first) == desc else bool(nulls_first)
                col = None
                target = key
                if isinstance(key, exp.Column) and not key.table and key.name in aliases:
                    target = aliases[key.name]
                if isinstance(target, exp.Column) and env is not None:
                    col = self._column_ref(target, env)
                scope.order_by.append(OrderItem(expression=_sql(key), column=col, descending=desc,
                                                nulls_first=nulls))
        limit = node.args.get("limit")
        if isinstance(limit, exp.Fetch):
            count = limit.args.get("count")
            scope.limit = _sql(count) if count is not None else "1"
        elif isinstance(limit, exp.Limit):
            value = limit.args.get("expression")
            text = _sql(value) if value is not None else ""
            scope.limit = None if text.upper() in ("", "ALL", "NULL") else text
        elif limit is not None:
            scope.limit = _sql(limit)
        offset = node.args.get("offset")
        if offset is not None:
            value = offset.args.get("expression")
            scope.offset = _sql(value) if value is not None else _sql(offset)

    def _mark_reads_whole(self, ordered: list[tuple[SgScope, Scope]]) -> None:
        """A CTE or derived table read by an outer query without LIMIT is read whole; so are the
        branches of an unlimited set operation. Outer scopes come last in traverse order."""
        for sg, mine in reversed(ordered):
            whole_reader = mine.limit is None and (mine.kind == "root" or mine.reads_whole)
            if not whole_reader:
                continue
            children: list[SgScope] = []
            node = sg.expression
            if isinstance(node, exp.SetOperation):
                children = _flatten_union_scopes(list(sg.set_operation_scopes))
            else:
                children = [src for _, (_, src) in sg.selected_sources.items() if isinstance(src, SgScope)]
            for child in children:
                m = self.mine.get(id(child))
                if m is not None and m.limit is None:
                    m.reads_whole = True

    # ---- DML ------------------------------------------------------------------------------
    def _dml_scope(self, tree: exp.Update | exp.Delete) -> tuple[Scope, _Env]:
        shape = self.shape
        scope = Scope(kind="root")
        env = _Env()
        target = tree.this
        if isinstance(tree, exp.Delete) and not isinstance(target, exp.Table):
            tables = tree.args.get("tables") or []
            target = tables[0] if tables else target
        if isinstance(target, exp.Table):
            ref = self._table_ref(target)
            shape.target_table = ref
            scope.tables.append(ref)
            env.tables[target.alias_or_name] = ref
        extra: list[exp.Expression] = []
        from_ = tree.args.get("from_") or tree.args.get("from")
        if from_ is not None:
            extra.append(from_.this)
            extra += [j.this for j in from_.args.get("joins") or []]
        extra += [j.this for j in tree.args.get("joins") or []]
        extra += list(tree.args.get("using") or [])
        for node in extra:
            if isinstance(node, exp.Table):
                ref = self._table_ref(node)
                scope.tables.append(ref)
                env.tables[node.alias_or_name] = ref
                scope.joins.append(JoinRef(kind="comma", table=ref))
        if isinstance(tree, exp.Update):
            shape.update_columns = [_set_target(e) for e in tree.expressions if _set_target(e)]
        where = tree.args.get("where")
        if where is not None:
            self._where_into(scope, where.this, env)
        return scope, env

    def _insert(self, tree: exp.Insert) -> None:
        shape = self.shape
        target = tree.this
        if isinstance(target, exp.Schema):
            target = target.this
        if isinstance(target, exp.Table):
            shape.target_table = self._table_ref(target)
        conflict = tree.args.get("conflict")
        if conflict is None:
            return
        action = str(conflict.args.get("action") or "").upper()
        if conflict.args.get("duplicate") or "UPDATE" in action:
            shape.on_conflict = "update"
        elif "NOTHING" in action:
            shape.on_conflict = "nothing"
        shape.conflict_columns = [_sql(k.this if isinstance(k, exp.Ordered) else k)
                                  for k in conflict.args.get("conflict_keys") or []]
        shape.update_columns = [_set_target(e) for e in conflict.expressions if _set_target(e)]
        shape.has_conflict_where = conflict.args.get("where") is not None

    # ---- tables and columns ---------------------------------------------------------------
    def _table_ref(self, t: exp.Table) -> TableRef:
        name = ".".join(p for p in (t.catalog, t.db, t.name) if p)
        qualified = None
        if self.catalog is not None:
            found = self.catalog.find(name)
            qualified = found.qualified if found else None
        return TableRef(name=name, alias=t.alias or None, qualified=qualified)

    def _source_ref(self, node: exp.Expression, env: _Env) -> TableRef | None:
        """A base table in FROM/JOIN (not a CTE reference), registered in the scope's env."""
        known = self.refs.get(id(node))
        if known is not None:
            return known
        t = node
        if isinstance(t, exp.Table) and isinstance(t.this, exp.Identifier):
            if not t.db and t.alias_or_name in env.scopes:
                return None  # a CTE reference (derived tables are Subquery nodes, not Tables)
            ref = self._table_ref(t)
            env.tables[t.alias_or_name] = ref
            self.refs[id(node)] = ref
            return ref
        return None

    def _owner(self, col: exp.Column, env: _Env, depth: int = 0) -> tuple[bool, str | None, str]:
        """(is local to this scope, TableRef.key of the owning base table or None, the column's
        name there: a CTE / derived column is followed to the base column it selects)."""
        q = col.table
        name = col.name
        if q:
            e: _Env | None = env
            local = True
            while e is not None:
                if q in e.tables:
                    return local, e.tables[q].key, name
                if q in e.scopes and e.sg is not None and q in e.sg.selected_sources:
                    key, base = self._trace(e.scopes[q], name, depth)
                    return local, key, base
                e = e.parent
                local = False
            return True, None, name
        own = list(env.tables.values())
        derived = [s for n, s in env.scopes.items() if env.sg is not None and n in env.sg.selected_sources]
        if self.catalog is not None and own:
            having = [t for t in own if self._has_column(t, name)]
            if len(having) == 1:
                return True, having[0].key, name
            if not having and not derived and env.parent is not None:
                parent_owner = self._owner(col, env.parent, depth + 1)
                if parent_owner[1] is not None:
                    return False, parent_owner[1], parent_owner[2]
        if len(own) == 1 and not derived:
            return True, own[0].key, name
        if not own and len(derived) == 1:
            key, base = self._trace(derived[0], name, depth)
            return True, key, base
        return True, None, name

    def _has_column(self, ref: TableRef, column: str) -> bool:
        table = self.catalog.find(ref.key) if self.catalog is not None else None
        return table is not None and table.column(column) is not None

    def _trace(self, sg: SgScope, name: str, depth: int = 0) -> tuple[str | None, str]:
        """The base table and column behind a CTE / derived column that is a plain column there."""
        node = sg.expression
        if depth > 8 or not isinstance(node, exp.Select):
            return None, name
        env = self.envs.get(id(sg))
        for proj in node.expressions:
            if _is_star(proj):
                if env is not None and len(env.tables) == 1 and not proj.table:
                    return next(iter(env.tables.values())).key, name
                continue
            if proj.alias_or_name == name:
                inner = proj.this if isinstance(proj, exp.Alias) else proj
                if isinstance(inner, exp.Column) and env is not None:
                    _, key, base = self._owner(inner, env, depth + 1)
                    return key, base
                return None, name
        return None, name

    def _column_ref(self, col: exp.Column, env: _Env) -> ColumnRef | None:
        if isinstance(col.this, exp.Star):
            return None
        _, key, base = self._owner(col, env)
        return ColumnRef(base, key)

    # ---- predicates -----------------------------------------------------------------------
    def _where_into(self, scope: Scope, cond: exp.Expression, env: _Env) -> None:
        for c, in_or in _conjuncts(cond):
            pair = self._column_pair(c, env)
            if pair is not None:
                if not in_or:
                    self._attach_where_join(scope, pair)
                continue
            scope.predicates += self._predicates(c, env, in_join=False, in_or=in_or)

    def _attach_where_join(self, scope: Scope, pair: tuple[ColumnRef, ColumnRef]) -> None:
        keys = {pair[0].table, pair[1].table}
        for kinds in (("comma", "cross"), ("inner", "left", "right", "full", "lateral")):
            for j in scope.joins:
                if j.kind in kinds and j.table.key in keys:
                    j.on.append(pair)
                    return

    def _column_pair(self, cond: exp.Expression, env: _Env) -> tuple[ColumnRef, ColumnRef] | None:
        """`a.x = b.y` between two local columns of different tables: a join condition."""
        if not isinstance(cond, exp.EQ):
            return None
        left, right = cond.this, cond.expression
        if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
            return None
        lo, ro = self._owner(left, env), self._owner(right, env)
        if not (lo[0] and ro[0]):
            return None
        if lo[1] is not None and lo[1] == ro[1] and (left.table or "") == (right.table or ""):
            return None
        return ColumnRef(lo[2], lo[1]), ColumnRef(ro[2], ro[1])

    def _predicates(self, cond: exp.Expression, env: _Env, *, in_join: bool, in_or: bool) -> list[Predicate]:
        p = self._predicate(cond, env)
        if p is None:
            return []
        p.in_join = in_join
        p.in_or = in_or
        return [p]

    def _predicate(self, cond: exp.Expression, env: _Env) -> Predicate | None:
        while isinstance(cond, exp.Paren):
            cond = cond.this
        if isinstance(cond, exp.Not):
            inner = cond.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
                return self._make(inner.this, IS_NOT_NULL if not inner.args.get("negate") else IS_NULL,
                                  exp.Null(), env)
            if isinstance(inner, exp.In):
                return self._in(inner, NEQ, env)
            if isinstance(inner, exp.Column):
                return self._make(inner, EQ, exp.Boolean(this=False), env)
            p = self._predicate(inner, env)
            if p is not None:
                p.op = OTHER
            return p
        if isinstance(cond, exp.Is):
            value = cond.expression
            if isinstance(value, exp.Null):
                return self._make(cond.this, IS_NOT_NULL if cond.args.get("negate") else IS_NULL, value, env)
            return self._make(cond.this, NEQ if cond.args.get("negate") else EQ, value, env)
        if isinstance(cond, exp.Column):
            return self._make(cond, EQ, exp.Boolean(this=True), env)
        if isinstance(cond, exp.In):
            return self._in(cond, IN, env)
        if isinstance(cond, exp.Between):
            return self._make(cond.this, RANGE, None, env, constant=_is_constant(cond.args.get("low"))
                              and _is_constant(cond.args.get("high")))
        if isinstance(cond, (exp.Like, exp.ILike)):
            p = self._make(cond.this, _like_class(cond.expression), cond.expression, env)
            if p is not None:
                p.case_insensitive = isinstance(cond, exp.ILike)
            return p
        if isinstance(cond, (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ) + _RANGE_OPS):
            left, right = cond.this, cond.expression
            if self._value_side(left, right, env):
                return self._make(left, _op_class(cond, right), right, env)
            if self._value_side(right, left, env):
                return self._make(right, _op_class(cond, left), left, env)
            return None
        if isinstance(cond, exp.Binary) and not isinstance(cond, (exp.And, exp.Or)):
            left, right = cond.this, cond.expression
            if self._value_side(left, right, env):
                return self._make(left, OTHER, right, env)
            if self._value_side(right, left, env):
                return self._make(right, OTHER, left, env)
        return None

    def _value_side(self, side: exp.Expression, value: exp.Expression, env: _Env) -> bool:
        """`side` holds this scope's column and `value` is known per row of it: parameters,
        constants, outer columns, or (in a join) columns of other tables only."""
        col = self._colish(side, env)
        if col is None:
            return False
        owner = self._owner(col, env)[1]
        for c in _own_columns(value):
            local, key, _ = self._owner(c, env)
            if local and (key is None or owner is None or key == owner):
                return False
        return True

    def _in(self, cond: exp.In, op: str, env: _Env) -> Predicate | None:
        query = cond.args.get("query")
        if query is not None:
            p = self._make(cond.this, op, None, env, constant=False)
            if p is not None:
                p.subquery = True
            return p
        values = cond.expressions
        constant = bool(values) and all(_is_constant(v) for v in values)
        p = self._make(cond.this, op, None, env, constant=constant)
        if p is not None and constant:
            p.value_sql = "(" + ", ".join(_sql(v) for v in values) + ")"
        return p

    def _make(self, side: exp.Expression, op: str, value: exp.Expression | None, env: _Env, *,
              constant: bool | None = None) -> Predicate | None:
        col = self._colish(side, env)
        if col is None:
            return None
        _, key, base = self._owner(col, env)
        ref = ColumnRef(base, key)
        expression = None if isinstance(side, exp.Column) else _sql(_strip_qualifiers(side))
        if constant is None:
            constant = value is not None and _is_constant(value)
        value_sql = _sql(value) if constant and value is not None else None
        sub = value is not None and (isinstance(value, _SUBQUERY_NODES) or (
            isinstance(value, (exp.Any, exp.All)) and isinstance(value.this, _SUBQUERY_NODES)))
        return Predicate(column=ref, op=op, expression=expression, constant=constant, value_sql=value_sql,
                         subquery=sub)

    def _colish(self, node: exp.Expression | None, env: _Env) -> exp.Column | None:
        """The one local column of a plain or wrapped (function, cast, arithmetic) expression."""
        if node is None:
            return None
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Column):
            return node if not isinstance(node.this, exp.Star) and self._owner(node, env)[0] else None
        if isinstance(node, _SUBQUERY_NODES) or isinstance(node, exp.Literal):
            return None
        cols = [c for c in _own_columns(node) if self._owner(c, env)[0]]
        if not cols or any(isinstance(n, _SUBQUERY_NODES) for n in node.walk()):
            return None
        if len(cols) == 1:
            return cols[0]
        # coalesce(closed_at, opened_at): one table's columns, indexable as one expression
        owners = {self._owner(c, env)[1] for c in cols}
        return cols[0] if len(owners) == 1 and None not in owners else None


# ---- helpers ----------------------------------------------------------------------------------
def _sql(node: exp.Expression) -> str:
    """SQL text of a node. Plain columns, literals and placeholders are written here: sqlglot's
    generator costs more per call than the whole walk of a simple statement."""
    if isinstance(node, exp.Column):
        parts = [node.args.get("table"), node.this]
        if all(p is None or (isinstance(p, exp.Identifier) and not p.args.get("quoted")) for p in parts) \
                and isinstance(node.this, exp.Identifier) and not node.args.get("db"):
            return f"{node.table}.{node.name}" if node.table else node.name
    elif isinstance(node, exp.Literal):
        value = node.this
        if not node.is_string:
            return str(value)
        if isinstance(value, str) and "\\" not in value:
            return "'" + value.replace("'", "''") + "'"
    elif isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
        return f"${node.this.this}"
    elif isinstance(node, exp.Placeholder) and not node.this:
        return "?"
    elif isinstance(node, exp.Null):
        return "NULL"
    elif isinstance(node, exp.Boolean):
        return "TRUE" if node.this else "FALSE"
    return sqlparse.PG.generate(node, copy=False, normalize_functions="lower")


def _is_star(node: exp.Expression) -> bool:
    return isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star))


def _wanted(node: exp.Expression) -> bool:
    """SELECT scopes and outermost set operations; nested set operations are flattened into
    the outermost one's branches."""
    if isinstance(node, exp.Select):
        return True
    return isinstance(node, exp.SetOperation) and not isinstance(node.parent, exp.SetOperation)


def _from_and_joins(sel: exp.Select) -> list[exp.Expression]:
    from_ = sel.args.get("from_") or sel.args.get("from")
    out = [from_.this] if from_ is not None else []
    return out + [j.this for j in sel.args.get("joins") or []]


def _set_target(e: exp.Expression) -> str:
    if isinstance(e, exp.EQ):
        target = e.this
        if isinstance(target, exp.Column):
            return target.name
        return _sql(target)
    return ""


def _join_kind(j: exp.Join) -> str:
    if isinstance(j.this, exp.Lateral) or str(j.args.get("kind") or "").upper() == "LATERAL":
        return "lateral"
    side = str(j.args.get("side") or "").lower()
    kind = str(j.args.get("kind") or "").lower()
    if side in ("left", "right", "full"):
        return side
    if kind == "cross":
        return "cross"
    if j.args.get("on") is None and not j.args.get("using") and not kind:
        return "comma"
    return "inner"


def _conjuncts(cond: exp.Expression, in_or: bool = False) -> list[tuple[exp.Expression, bool]]:
    """AND-ed conditions, and those under an OR marked as such."""
    while isinstance(cond, exp.Paren):
        cond = cond.this
    if isinstance(cond, exp.And):
        return _conjuncts(cond.this, in_or) + _conjuncts(cond.expression, in_or)
    if isinstance(cond, exp.Or):
        return _conjuncts(cond.this, True) + _conjuncts(cond.expression, True)
    return [(cond, in_or)]


def _own_columns(node: exp.Expression) -> list[exp.Column]:
    """Columns of the expression, not those of subqueries inside it."""
    out: list[exp.Column] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.Column):
            out.append(n)
            continue
        if n is not node and isinstance(n, _SUBQUERY_NODES):
            continue
        stack.extend(reversed(list(n.iter_expressions())))
    return out


def _aggregates(nodes: list[exp.Expression]) -> list[str]:
    if not any(n.find(exp.AggFunc) for n in nodes):
        return []
    out: list[str] = []
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        if isinstance(n, (exp.Window, *_SUBQUERY_NODES)):
            continue
        if isinstance(n, exp.AggFunc):
            out.append(type(n).sql_name().lower())
        stack.extend(reversed(list(n.iter_expressions())))
    return out


def _is_constant(node: exp.Expression | None) -> bool:
    """A literal value (or a tuple / cast / sign of literals), not a parameter or column."""
    if node is None:
        return False
    if isinstance(node, (exp.Literal, exp.Boolean, exp.Null)):
        return True
    if isinstance(node, (exp.Cast, exp.Neg, exp.Paren)):
        return _is_constant(node.this)
    if isinstance(node, (exp.Tuple, exp.Array)):
        return bool(node.expressions) and all(_is_constant(e) for e in node.expressions)
    return False


def _op_class(cond: exp.Expression, value: exp.Expression) -> str:
    if isinstance(cond, (exp.EQ, exp.NullSafeEQ)):
        if isinstance(value, exp.Any):
            return IN
        if isinstance(value, exp.All):
            return OTHER
        return EQ
    if isinstance(cond, (exp.NEQ, exp.NullSafeNEQ)):
        return NEQ
    if isinstance(value, (exp.Any, exp.All)):
        return OTHER
    return RANGE


def _like_class(pattern: exp.Expression | None) -> str:
    """like_prefix when the pattern is known to start with fixed text, like_infix otherwise
    (a leading % or _, or a parameter whose value we cannot see)."""
    first = pattern
    while isinstance(first, (exp.DPipe, exp.Concat, exp.Paren)):
        if isinstance(first, exp.Concat):
            first = first.expressions[0] if first.expressions else None
        else:
            first = first.this
    if isinstance(first, exp.Literal) and first.is_string:
        value = first.this
        return LIKE_INFIX if not value or value[0] in "%_" else LIKE_PREFIX
    if isinstance(first, _PARAMS) and isinstance(pattern, (exp.DPipe, exp.Concat)):
        return LIKE_PREFIX if _ends_with_percent(pattern) and _starts_with_param_only(pattern) else LIKE_INFIX
    return LIKE_INFIX


def _ends_with_percent(pattern: exp.Expression) -> bool:
    last = pattern
    while isinstance(last, (exp.DPipe, exp.Paren)):
        last = last.expression if isinstance(last, exp.DPipe) else last.this
    return isinstance(last, exp.Literal) and last.is_string and last.this.endswith("%")


def _starts_with_param_only(pattern: exp.Expression) -> bool:
    """`$1 || '%'`: the caller's prefix plus a wildcard, a prefix search when $1 has none itself."""
    return isinstance(pattern, exp.DPipe) and isinstance(pattern.this, _PARAMS)


def _strip_qualifiers(node: exp.Expression) -> exp.Expression:
    copy = node.copy()
    for c in copy.find_all(exp.Column):
        c.set("table", None)
    return copy


def _set_operations(nodes: list[exp.Expression]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if not isinstance(node, exp.SetOperation):
            continue
        name = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}.get(type(node), "union")
        out.append(name if node.args.get("distinct") else f"{name} all")
    return out


def _flatten_union_scopes(scopes: list[SgScope]) -> list[SgScope]:
    out: list[SgScope] = []
    for s in scopes:
        if isinstance(s.expression, exp.SetOperation):
            out += _flatten_union_scopes(list(s.set_operation_scopes))
        else:
            out.append(s)
    return out
