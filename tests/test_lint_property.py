"""Property: whatever SQL-like text `pgqa lint` is fed (generated statements, mangled ones, truncated
prefixes), it does not crash and answers every statement: analyzed, or skipped with a reason."""

from __future__ import annotations

import contextlib
import io
import json
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.cli import main
from analyzer.commands.lint import lint_texts
from analyzer.sql.split import split_statements

IDENT = st.sampled_from(["id", "name", "email", "status", "created_at", "org_id", "c.id", "a.stage",
                         '"Mixed"', "t1.c2"])
TABLE = st.sampled_from(["candidates c", "applications a", "jobs", "app.users u", '"Quoted Table" q'])
SECRET = st.sampled_from(["alice@example.com", "Alice Martin", "+1 555 123 4567"])
VALUE = st.one_of(
    st.integers(min_value=1, max_value=99).map(lambda n: f"${n}"),
    st.just("?"),
    st.integers(min_value=-10**6, max_value=10**6).map(str),
    SECRET.map(lambda s: "'" + s.replace("'", "''") + "'"),
    SECRET.map(lambda s: "$q$" + s + "$q$"),
    st.sampled_from(["NULL", "true", "now()", "interval '1 day'", "ARRAY[$1,$2]"]),
)
OP = st.sampled_from(["=", "<>", "<", ">=", "LIKE", "ILIKE", "IN", "IS", "@>", "= ANY"])


@st.composite
def predicate(draw: st.DrawFn) -> str:
    col, op = draw(IDENT), draw(OP)
    if draw(st.booleans()):
        col = draw(st.sampled_from(["lower", "upper", "coalesce", "date_trunc"])) + f"({col})"
    if op == "IN":
        return f"{col} IN ({', '.join(draw(st.lists(VALUE, min_size=1, max_size=4)))})"
    if op == "IS":
        return f"{col} IS {draw(st.sampled_from(['NULL', 'NOT NULL', 'TRUE']))}"
    if op == "= ANY":
        return f"{col} = ANY({draw(VALUE)})"
    return f"{col} {op} {draw(VALUE)}"


@st.composite
def select(draw: st.DrawFn) -> str:
    cols = draw(st.one_of(st.just("*"), st.just("c.*"), st.just("count(*)"),
                          st.lists(IDENT, min_size=1, max_size=4).map(", ".join)))
    sql = f"SELECT {cols} FROM {draw(TABLE)}"
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["JOIN", "LEFT JOIN", ",", "CROSS JOIN"]))
        table = draw(TABLE)
        sql += f", {table}" if kind == "," else f" {kind} {table}" + ("" if kind == "CROSS JOIN" else
                                                                       f" ON {draw(predicate())}")
    preds = draw(st.lists(predicate(), max_size=3))
    if preds:
        sql += " WHERE " + draw(st.sampled_from([" AND ", " OR "])).join(preds)
    if draw(st.booleans()):
        sql += f" ORDER BY {draw(IDENT)}{draw(st.sampled_from(['', ' DESC', ' ASC NULLS FIRST']))}"
    if draw(st.booleans()):
        sql += f" LIMIT {draw(VALUE)}"
    if draw(st.booleans()):
        sql += f" OFFSET {draw(VALUE)}"
    return sql


@st.composite
def statement(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["select", "union", "cte", "insert", "upsert", "update", "delete",
                                 "utility"]))
    if kind == "select":
        return draw(select())
    if kind == "union":
        return f"{draw(select())} UNION ALL {draw(select())}"
    if kind == "cte":
        return f"WITH x AS ({draw(select())}) SELECT * FROM x"
    if kind == "insert":
        return f"INSERT INTO t (a, b) VALUES ({draw(VALUE)}, {draw(VALUE)})"
    if kind == "upsert":
        return (f"INSERT INTO t (a, b) VALUES ({draw(VALUE)}, {draw(VALUE)}) ON CONFLICT (a) DO UPDATE "
                "SET b = EXCLUDED.b")
    if kind == "update":
        return f"UPDATE t SET a = {draw(VALUE)} WHERE {draw(predicate())}"
    if kind == "delete":
        return f"DELETE FROM t WHERE {draw(predicate())}"
    return draw(st.sampled_from(["VACUUM t", "BEGIN", "COMMIT", "SHOW work_mem", "SET x = 1", "SAVEPOINT s",
                                 "EXPLAIN SELECT 1", "DISCARD ALL", "DEALLOCATE ALL", "ANALYZE t"]))


@st.composite
def mangled(draw: st.DrawFn) -> str:
    text = draw(statement())
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["cut", "insert", "delete", "junk"]))
        pos = draw(st.integers(0, max(0, len(text))))
        if action == "cut":
            text = text[:pos]
        elif action == "insert":
            text = text[:pos] + draw(st.sampled_from(["'", "$$", "(", ")", "/*", "--", "\"", "$1", "?", "\\",
                                                      "\x00", "é", "`"])) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)):]
        else:
            text = text[:pos] + draw(st.text(max_size=8)) + text[pos:]
    return text


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_answered(texts: list[str]) -> None:
    source = ";\n".join(texts)
    expected = len(split_statements(source))
    report = lint_texts([("gen.sql", source)])
    assert len(report.statements) == expected
    skipped = {s["index"]: s for s in report.skipped}
    for s in report.statements:
        assert s.shape is not None
        assert "internal error" not in (s.shape.parse_error or ""), (s.text, s.shape.parse_error)
        if s.index in skipped:
            assert skipped[s.index]["reason"]
        else:
            assert s.shape.is_query, (s.text, s.shape)
    for f in report.findings:
        assert f.statement_index not in skipped
        assert f.severity != "error"


@SETTINGS
@given(st.lists(statement(), min_size=1, max_size=6))
def test_generated_statements_are_all_answered(texts: list[str]) -> None:
    assert_answered(texts)


@SETTINGS
@given(st.lists(mangled(), min_size=1, max_size=6))
def test_mangled_statements_are_all_answered(texts: list[str]) -> None:
    assert_answered(texts)


@SETTINGS
@given(statement(), st.data())
def test_every_prefix_of_a_statement_is_answered(text: str, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(1, len(text)), min_size=1, max_size=8, unique=True))
    assert_answered([text[:n] for n in sorted(cuts)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mangled(), min_size=1, max_size=4))
def test_cli_on_stdin_never_crashes_and_prints_a_report(texts: list[str]) -> None:
    data = ";\n".join(texts).encode("utf-8", "surrogatepass")
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["lint", "--format", "json", "-"])
    finally:
        sys.stdin = old_stdin
    assert code == 0
    rep = json.loads(out.getvalue())
    assert rep["schema"] == "pgqa.report/1"
    answered = {s["index"] for s in rep["skipped"]} | {s["index"] for s in rep["statements"]}
    assert answered == set(range(len(rep["statements"])))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement(), min_size=1, max_size=4), st.integers(0, 200))
def test_report_shows_no_literal_of_well_formed_or_cut_input(texts: list[str], cut: int) -> None:
    # Mangled text can turn a value into a name (`q$Alice` is an identifier): only literals that
    # PostgreSQL would read as literals, whole or cut at the end, are checked here.
    from analyzer.report import render

    source = ";\n".join(texts)
    for text in (source, source[: max(1, len(source) - cut)]):
        dumped = render(lint_texts([("gen.sql", text)]), "json")
        for secret in ("alice@example.com", "Alice Martin", "555 123 4567"):
            assert secret not in dumped
