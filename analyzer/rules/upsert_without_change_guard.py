"""`INSERT ... ON CONFLICT ... DO UPDATE` without a WHERE: every sync rewrites unchanged rows.

Bad::

    INSERT INTO candidates (ext_id, name, email) VALUES ($1, $2, $3)
    ON CONFLICT (ext_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email

Good::

    INSERT INTO candidates AS t (ext_id, name, email) VALUES ($1, $2, $3)
    ON CONFLICT (ext_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email
    WHERE (t.name, t.email) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email)

Why: DO UPDATE writes a new row version even when nothing changed: a dead tuple, WAL, index
updates (no HOT when indexed columns are set), triggers and replication traffic for every row of
every sync run. The guard turns unchanged rows into no-ops. Not reported on truncated texts (the
WHERE may be in the part that was cut).
"""

from __future__ import annotations

from sqlglot import exp

from analyzer.model import Finding, Statement
from analyzer.rules.base import Context, finding, redacted_tree, safe_sql, scaled, to_sql

NAME = "upsert-without-change-guard"
SEVERITY = "medium"
TITLE = "Upsert rewrites unchanged rows"


def guard_sql(s: Statement) -> tuple[str | None, list[str]]:
    """The statement with `WHERE (t.a, ...) IS DISTINCT FROM (EXCLUDED.a, ...)` over the SET
    columns whose new value comes from EXCLUDED (a `updated_at = now()` always changes)."""
    tree = redacted_tree(s)
    if not isinstance(tree, exp.Insert):
        return None, []
    conflict = tree.args.get("conflict")
    if conflict is None:
        return None, []
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    if not isinstance(target, exp.Table):
        return None, []
    alias = target.alias or target.name
    olds: list[exp.Expression] = []
    news: list[exp.Expression] = []
    names: list[str] = []
    for e in conflict.expressions:
        if not isinstance(e, exp.EQ) or not isinstance(e.this, exp.Column):
            continue
        value = e.expression
        if not any(c.table.lower() == "excluded" for c in value.find_all(exp.Column)):
            continue
        names.append(e.this.name)
        olds.append(exp.column(e.this.name, alias))
        news.append(value.copy())
    if not names:
        return None, []
    left = olds[0] if len(olds) == 1 else exp.Tuple(expressions=olds)
    right = news[0] if len(news) == 1 else exp.Tuple(expressions=news)
    conflict.set("where", exp.Where(this=exp.NullSafeNEQ(this=left, expression=right)))
    return to_sql(tree), names


def check(s: Statement, ctx: Context) -> list[Finding]:
    shape = s.shape
    if shape is None or not shape.is_query or shape.truncated:
        return []
    if shape.on_conflict != "update" or shape.has_conflict_where:
        return []
    sql, guarded = guard_sql(s)
    target = shape.target_table.key if shape.target_table else "the table"
    evidence: dict[str, object] = {"table": target, "conflict_columns": shape.conflict_columns,
                                   "set_columns": shape.update_columns}
    if guarded:
        evidence["guard_columns"] = guarded
    message = (f"ON CONFLICT ... DO UPDATE on {target} has no WHERE: a conflicting row is rewritten even "
               "when its values did not change (a dead tuple, WAL and index updates per row and run).")
    if guarded:
        recommendation = ("Add `WHERE (" + ", ".join(f"t.{c}" for c in guarded) + ") IS DISTINCT FROM ("
                          + ", ".join(f"EXCLUDED.{c}" for c in guarded) + ")` (t = the target table or "
                          "its alias) so unchanged rows are left alone.")
    else:
        recommendation = ("Add a WHERE to DO UPDATE that compares the current row with EXCLUDED "
                          "(IS DISTINCT FROM) so unchanged rows are left alone.")
    return [finding(NAME, scaled(SEVERITY, s, ctx), TITLE, s, ctx, message=message,
                    recommendation=recommendation, evidence=evidence, suggested_sql=safe_sql(sql))]
