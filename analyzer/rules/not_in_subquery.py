"""`NOT IN (SELECT ...)`: wrong with NULLs and slow on large sets (the "Don't Do This" wiki).

Bad::

    SELECT id FROM candidates WHERE id NOT IN (SELECT candidate_id FROM applications)

Good::

    SELECT id FROM candidates c
    WHERE NOT EXISTS (SELECT 1 FROM applications a WHERE a.candidate_id = c.id)

Why: if the subquery returns a single NULL, `NOT IN` is never true and the query silently returns
nothing. And PostgreSQL cannot turn NOT IN into an anti-join: it runs a hashed subplan that must fit
in work_mem or, past it, re-runs the subquery for every outer row. NOT EXISTS has the expected
semantics and plans as a hash or merge anti-join.
"""

from __future__ import annotations

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, finding, scaled
from analyzer.sql.shape import NEQ

NAME = "not-in-subquery"
SEVERITY = "medium"
TITLE = "NOT IN with a subquery"


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query:
        return []
    for scope in shape.scopes:
        for p in scope.predicates:
            if p.op == NEQ and p.subquery:
                col = (p.column.table + "." if p.column.table else "") + p.column.column
                return [finding(NAME, scaled(SEVERITY, s, ctx), TITLE, s, ctx,
                                message=f"{col} NOT IN (SELECT ...): returns no rows at all when the "
                                "subquery yields a NULL, and cannot be planned as an anti-join.",
                                recommendation="Rewrite as NOT EXISTS (SELECT 1 FROM ... WHERE <inner "
                                "column> = <outer column>), which plans as an anti-join.",
                                evidence={"column": col})]
    return []
