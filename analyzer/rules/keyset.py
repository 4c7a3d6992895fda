"""Keyset pagination SQL built from a statement's own ORDER BY (shared by unpaged-list and
deep-offset-pagination)."""

from __future__ import annotations

from sqlglot import exp

from analyzer.model import Statement
from analyzer.rules.base import Context, next_param, redacted_tree, tie_breaker, to_sql
from analyzer.sql.parse import PG
from analyzer.sql.shape import Scope


def _param(n: int) -> exp.Expression:
    return exp.Parameter(this=exp.Literal.number(n))


def keyset_sql(s: Statement, scope: Scope, ctx: Context) -> tuple[str | None, list[str]]:
    """(the rewritten statement, the keyset columns): `WHERE (sort keys) < (last seen values)`
    with the same ORDER BY plus a unique tie-breaker, `LIMIT $n` and no OFFSET."""
    tree = redacted_tree(s)
    if not isinstance(tree, exp.Select):
        return None, []
    order = tree.args.get("order")
    items: list[tuple[exp.Expression, bool]] = []
    for o in order.expressions if order is not None else []:
        if isinstance(o, exp.Ordered):
            items.append((o.this.copy(), bool(o.args.get("desc"))))
    tb = tie_breaker(scope, ctx)
    if tb is not None:
        table, _, column = tb.rpartition(".")
        tb_node = exp.column(column, table or None)
        names = {PG.generate(k, copy=False) for k, _ in items} | {
            k.name for k, _ in items if isinstance(k, exp.Column)}
        if tb not in names and tb.split(".")[-1] not in names:
            items.append((tb_node, items[-1][1] if items else False))
    if not items or any(isinstance(k, exp.Literal) for k, _ in items):
        return None, []
    n = next_param(tree)
    params = [_param(n + i) for i in range(len(items))]
    descending = {d for _, d in items}
    if len(descending) == 1:
        left = items[0][0].copy() if len(items) == 1 else exp.Tuple(expressions=[k.copy() for k, _ in items])
        right = params[0] if len(items) == 1 else exp.Tuple(expressions=params)
        cond: exp.Expression = (exp.LT if descending == {True} else exp.GT)(this=left, expression=right)
    else:  # mixed directions: (a < $1) OR (a = $1 AND b > $2) ...
        ors: list[exp.Expression] = []
        for i, (key, desc) in enumerate(items):
            parts: list[exp.Expression] = [exp.EQ(this=items[j][0].copy(), expression=params[j].copy())
                                           for j in range(i)]
            parts.append((exp.LT if desc else exp.GT)(this=key.copy(), expression=params[i].copy()))
            ors.append(exp.paren(exp.and_(*parts)) if len(parts) > 1 else parts[0])
        cond = exp.paren(exp.or_(*ors))
    tree = tree.where(cond, copy=False)
    tree.set("order", exp.Order(expressions=[exp.Ordered(this=k.copy(), desc=d or None, nulls_first=d)
                                             for k, d in items]))
    tree.set("offset", None)
    tree.set("limit", exp.Limit(expression=_param(n + len(items))))
    return to_sql(tree), [PG.generate(k, copy=False) for k, _ in items]
