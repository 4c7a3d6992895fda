"""EXPLAIN over the analyzer's single session: generic plans for normalized texts, estimated plans
for texts with literals, executed plans only when asked (SELECT only, rolled back).

Every EXPLAIN runs in its own transaction (a savepoint when one is already open, as with
`--whatif real`), so one statement that fails (unknown parameter type, dropped table, syntax)
gives a reason and leaves the session usable for the next.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from analyzer import sqlfiles
from analyzer.errors import TargetError
from analyzer.plans.model import Plan, parse_explain

PREPARED_NAME = "pgqa_explain"
_PARAM_RE = re.compile(r"\$\d+")


@dataclass
class Explained:
    plan: Plan | None = None
    reason: str | None = None  # why there is no plan
    method: str = ""  # generic_plan | prepare | estimate | analyze
    note: str | None = None  # e.g. why ANALYZE was not used

    @property
    def ok(self) -> bool:
        return self.plan is not None


def _code_only(text: str) -> str:
    """The text with string literals, quoted identifiers, dollar quotes and comments blanked, so
    that `;` and `$1` are only seen where they are code."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
            continue
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(" ")
            i = j + 1
            continue
        if ch == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
            if m:
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                out.append(" ")
                i = n if j < 0 else j + len(tag)
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def clean_statement(text: str) -> tuple[str, str | None]:
    """The text without trailing semicolons, or a reason why it cannot be explained safely."""
    body = text.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    if not body:
        return body, "empty statement"
    if ";" in _code_only(body):
        return body, "more than one statement in the text: explain them one at a time"
    return body, None


def has_parameters(text: str) -> bool:
    return bool(_PARAM_RE.search(_code_only(text)))


def first_keyword(text: str) -> str:
    m = re.match(r"\s*\(*\s*([A-Za-z]+)", _code_only(text))
    return m.group(1).lower() if m else ""


def describe_error(e: psycopg.Error) -> str:
    msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
    msg = re.sub(r"^ERROR:\s*", "", msg)
    state = getattr(e, "sqlstate", None)
    return f"{msg} (SQLSTATE {state})" if state else msg


def _execute(target: Any, query: sql.Composable, params: list[Any] | None = None) -> list[Any]:
    """Run one of our statements through the target (counted, marked as pgqa's own); rows as
    tuples, since EXPLAIN's one column has an awkward name."""
    return [tuple(r.values()) for r in target.run(query, params)]


def isolated(target: Any) -> AbstractContextManager[Any]:
    """What keeps one failing statement from spoiling the session: nothing in autocommit (each
    statement is its own read-only transaction, and pg_stat_statements is spared a BEGIN/ROLLBACK
    pair per EXPLAIN), a savepoint rolled back when a transaction is open (--whatif real)."""
    conn = target.conn
    if conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return nullcontext()
    return rolled_back(target)


def rolled_back(target: Any) -> AbstractContextManager[Any]:
    """A transaction (a savepoint when one is open) that is always rolled back, its BEGIN /
    SAVEPOINT / ROLLBACK marked as pgqa's own: psycopg's conn.transaction() sends them unmarked,
    and they would count as the user's in pg_stat_statements."""
    return target.transaction(force_rollback=True)


def _template(question: str, **parts: sql.Composable) -> sql.Composed:
    return sql.SQL(sqlfiles.load(question)).format(**parts)  # type: ignore[arg-type]


def explain(target: Any, text: str, *, analyze: bool = False, generic_plan: bool | None = None
            ) -> Explained:
    """The plan of one statement, or the reason there is none. Never raises for the statement's
    own faults; a lost connection still raises TargetError."""
    body, reason = clean_statement(text)
    if reason:
        return Explained(reason=reason)
    params = has_parameters(body)
    note = None
    if analyze and params:
        analyze, note = False, "EXPLAIN ANALYZE needs literal values; this is the generic plan"
    if analyze and first_keyword(body) not in ("select", "with", "values", "table"):
        analyze, note = False, "EXPLAIN ANALYZE runs only for SELECT; this is the estimated plan"
    if analyze and first_keyword(body) == "with" and re.search(
            r"\b(insert|update|delete|merge)\b", _code_only(body), re.I):
        analyze, note = False, "EXPLAIN ANALYZE runs only for SELECT; this is the estimated plan"
    major = int(getattr(target, "major", 0) or 0)
    use_generic = (major >= 16) if generic_plan is None else generic_plan
    conn = target.conn
    # psycopg prepares a query it has seen 5 times, and after any ROLLBACK answers by sending
    # DEALLOCATE ALL, which would drop our own prepared statement between PREPARE and EXECUTE
    # (and is never sent to a user's session by pgqa): no automatic prepares on this connection.
    conn.prepare_threshold = None
    try:
        if params and use_generic:
            method = "generic_plan"
            with isolated(target):
                rows = _execute(target, _template("plan_generic", statement=sql.SQL(body)))
        elif params:
            method = "prepare"
            rows = _explain_prepared(target, body)
        else:
            method = "analyze" if analyze else "estimate"
            question = "plan_analyze" if analyze else "plan_estimate"
            # ANALYZE executes the statement: always inside a transaction that is rolled back
            with rolled_back(target) if analyze else isolated(target):
                rows = _execute(target, _template(question, statement=sql.SQL(body)))
    except TargetError:
        raise
    except psycopg.OperationalError as e:
        if conn.closed:
            raise TargetError(f"lost the connection to the server: {describe_error(e)}") from None
        return Explained(reason=describe_error(e), method="")
    except psycopg.Error as e:
        return Explained(reason=describe_error(e), method="")
    if not rows:
        return Explained(reason="EXPLAIN returned nothing", method=method)
    return Explained(plan=parse_explain(rows[0][0], generic=params), method=method, note=note)


def _explain_prepared(target: Any, body: str) -> list[Any]:
    """PREPARE, force the generic plan, EXPLAIN EXECUTE with NULLs, DEALLOCATE. PREPARE is not
    transactional, so the DEALLOCATE runs after the rollback whatever happened in between; it is
    prepared anew every time, because a cached plan would ignore hypothetical indexes created
    since."""
    conn = target.conn
    name = sql.Identifier(PREPARED_NAME)
    prepared = False
    try:
        with rolled_back(target):
            _execute(target, _template("plan_prepare", name=name, statement=sql.SQL(body)))
            prepared = True
            n = _execute(target, sql.SQL(sqlfiles.load("plan_prepared_params")), [PREPARED_NAME])
            count = int(n[0][0]) if n else 0
            _execute(target, sql.SQL(sqlfiles.load("plan_force_generic")))
            args = sql.SQL("({})").format(sql.SQL(", ").join([sql.SQL("NULL")] * count)) if count \
                else sql.SQL("")
            return _execute(target, _template("plan_execute", name=name, args=args))
    except psycopg.errors.DuplicatePreparedStatement:
        # left over from an interrupted run of ours in this session: drop it and go again
        if not conn.closed:
            _execute(target, _template("plan_deallocate", name=name))
        return _explain_prepared(target, body)
    finally:
        if prepared and not conn.closed:
            try:
                _execute(target, _template("plan_deallocate", name=name))
            except psycopg.errors.InvalidSqlStatementName:
                pass  # already gone: nothing of ours is left behind
