"""`pgqa lint` as a user runs it: files, stdin, exported pg_stat_statements, rule selection, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.rules import REGISTRY

SQL = """-- the incident's four shapes, as an application would log them
SELECT c.* FROM candidates c LEFT JOIN applications a ON a.candidate_id = c.id WHERE c.id = 42;
SELECT c.id, c.name FROM candidates c WHERE c.status = 'active' ORDER BY c.created_at DESC;
SELECT count(*) FROM applications WHERE stage = 'new'
UNION ALL SELECT count(*) FROM applications WHERE stage = 'hired';
INSERT INTO candidates (ext_id, name, email) VALUES (7, 'Alice Martin', 'alice@example.com')
  ON CONFLICT (ext_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email;
VACUUM candidates;
CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;
SELECT id FROM WHERE;
BEGIN;
SELECT id FROM candidates WHERE id = $1
"""


def lint_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["lint", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_sql_file_findings_positions_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.sql"
    f.write_text(SQL)
    code, rep = lint_json(capsys, str(f))
    assert code == 0
    assert rep["schema"] == "pgqa.report/1"
    assert [s["index"] for s in rep["statements"]] == list(range(9))
    by_index = {}
    for finding in rep["findings"]:
        by_index.setdefault(finding["statement"]["index"], set()).add(finding["rule"])
    assert "wide-select-join" in by_index[0]
    assert "unpaged-list" in by_index[1]
    assert "union-all-aggregates" in by_index[2]
    assert "upsert-without-change-guard" in by_index[3]
    skipped = {s["index"]: s["reason"] for s in rep["skipped"]}
    assert skipped[4].startswith("utility statement (VACUUM)")
    assert skipped[5].startswith("utility statement (CREATE)")  # the $$ body's ; did not split it
    assert skipped[6].startswith("parse error: ")
    assert [s for s in rep["skipped"] if s["index"] == 6][0]["line"] == 1
    assert skipped[7].startswith("transaction control")
    assert 8 not in skipped
    assert rep["sources"] == [{"name": f"file:{f}", "status": "ok", "detail": "9 statements (sql)"}]
    # every statement is answered: analyzed, or skipped with a reason
    assert all(s["statement"]["index"] not in skipped for s in rep["findings"])
    # no error-severity noise for the parse error
    assert all(fd["rule"] in REGISTRY for fd in rep["findings"])


def test_report_never_shows_input_literals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.sql"
    f.write_text(SQL)
    for fmt in ("json", "text", "markdown"):
        assert main(["lint", "--format", fmt, str(f)]) == 0
        out = capsys.readouterr().out
        for secret in ("alice@example.com", "Alice Martin"):
            assert secret not in out, fmt


def test_stdin_with_dash(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"SELECT id FROM jobs ORDER BY id;")))
    code, rep = lint_json(capsys, "-")
    assert code == 0 and [f["rule"] for f in rep["findings"]] == ["unpaged-list"]
    assert rep["sources"][0]["name"] == "file:-"


def test_pg_stat_statements_csv_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"queryid": "1", "query": "SELECT id, name FROM candidates WHERE org_id = $1 ORDER BY created_at "
                                  "DESC",
         "calls": "400", "total_exec_time": "95000.5", "mean_exec_time": "237.5", "rows": "2000000"},
        {"queryid": "2", "query": "SELECT stage FROM applications WHERE candidate_id = $1 LIMIT $2",
         "calls": "900000", "total_exec_time": "4500", "mean_exec_time": "0.005", "rows": "900000"},
        {"queryid": "3", "query": "SELECT 1", "calls": "300", "total_exec_time": "1",
         "mean_exec_time": "0.003", "rows": "300"},
        {"queryid": "5", "query": "<insufficient privilege>", "calls": "10", "total_exec_time": "1",
         "mean_exec_time": "0.1", "rows": "10"},
        {"queryid": "4", "query": "SELECT now()", "calls": "200", "total_exec_time": "1",
         "mean_exec_time": "0.005", "rows": "200"},
    ]
    f = tmp_path / "pgss.csv"
    with f.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code, rep = lint_json(capsys, str(f))
    assert code == 0
    assert rep["statements"][0]["calls"] == 400 and rep["statements"][0]["queryid"] == "1"
    rules = {(x["statement"]["index"], x["rule"]): x for x in rep["findings"]}
    unpaged = rules[(0, "unpaged-list")]
    assert unpaged["severity"] == "critical"  # 95% of the time, 5000 rows per call, sorted
    assert (1, "n-plus-one") in rules
    assert rep["sources"][0]["detail"] == "5 statements (csv)"
    [hidden] = [s for s in rep["skipped"] if s["index"] == 3]
    assert "pg_read_all_stats" in hidden["reason"]


def test_json_rows_export_and_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "export.json"
    f.write_text(json.dumps([{"query": "SELECT * FROM a JOIN b ON a.id = b.a_id", "calls": 5,
                              "total_exec_time": 10.0, "rows": 50},
                             {"query": "SELECT id FROM a WHERE id = $1", "calls": 5, "total_exec_time": 1.0,
                              "rows": 5}]))
    code, rep = lint_json(capsys, str(f), "--fail-on", "medium")
    assert code == 1
    assert {x["rule"] for x in rep["findings"]} >= {"wide-select-join", "unpaged-list"}
    code, rep = lint_json(capsys, str(f), "--fail-on", "info", "--rule", "order-by-random")
    assert code == 0 and rep["findings"] == []


def test_rule_selection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.sql"
    f.write_text(SQL)
    _, only = lint_json(capsys, str(f), "--rule", "unpaged-list", "--rule", "wide-select-join")
    assert {x["rule"] for x in only["findings"]} == {"unpaged-list", "wide-select-join"}
    _, without = lint_json(capsys, str(f), "--exclude-rule", "unpaged-list")
    assert "unpaged-list" not in {x["rule"] for x in without["findings"]}
    assert "wide-select-join" in {x["rule"] for x in without["findings"]}


def test_unknown_rule_is_a_usage_error_listing_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--rule", "no-such-rule", "-"]) == 2
    err = capsys.readouterr().err
    assert "no-such-rule" in err and all(name in err for name in REGISTRY)
    assert len(err.strip().splitlines()) == 1


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--list-rules"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list(REGISTRY)


def test_unreadable_file_is_one_line_and_the_others_are_linted(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.sql"
    good.write_text("SELECT id FROM jobs ORDER BY id;")
    missing = tmp_path / "missing.sql"
    code = main(["lint", "--format", "json", str(missing), str(good)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == f"pgqa lint: cannot read {missing}: No such file or directory"
    rep = json.loads(captured.out)
    assert [f["rule"] for f in rep["findings"]] == ["unpaged-list"]
    assert [s["status"] for s in rep["sources"]] == ["error", "ok"]


def test_bad_export_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "broken.json"
    f.write_text("[{\"query\": \"SELECT 1\"")
    assert main(["lint", "--format", "json", str(f)]) == 2
    assert "broken.json" in capsys.readouterr().err


def test_console_script_runs_without_a_database(tmp_path: Path) -> None:
    f = tmp_path / "a.sql"
    f.write_text("SELECT c.* FROM candidates c JOIN applications a ON a.candidate_id = c.id;")
    res = subprocess.run([sys.executable, "-m", "analyzer", "lint", "--format", "json", str(f)],
                         capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert "wide-select-join" in {f["rule"] for f in json.loads(res.stdout)["findings"]}


def test_worker_processes_give_the_same_report() -> None:
    from analyzer.commands.lint import lint_texts
    from analyzer.workload import PARALLEL_MIN

    lines = [f"SELECT id, name FROM t{i % 7} WHERE org_id = {i} ORDER BY id" if i % 3 else
             f"SELECT * FROM a{i % 5} a JOIN b ON b.a_id = a.id WHERE a.id = {i} LIMIT 5" if i % 2 else
             "VACUUM t" for i in range(PARALLEL_MIN + 50)]
    text = ";\n".join(lines)

    def summary(jobs: int) -> tuple:
        rep = lint_texts([("big.sql", text)], jobs=jobs)
        return ([(f.rule, f.statement_index, f.fingerprint, f.suggested_sql) for f in rep.findings],
                rep.skipped, [s.fingerprint for s in rep.statements])

    assert summary(1) == summary(2)


def test_text_that_only_looks_like_json_is_linted_as_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    # found by the property test: stdin starting with `{` was refused as a broken export (exit 2)
    f = tmp_path / "notes.sql"
    f.write_text("{VACUUM t;\nSELECT id FROM candidates ORDER BY random()")
    code = main(["lint", "--format", "json", str(f), "--rule", "order-by-random"])
    captured = capsys.readouterr()
    rep = json.loads(captured.out)
    assert code == 0 and rep["sources"][0]["status"] == "ok"
    assert [s["index"] for s in rep["skipped"]] == [0] and rep["findings"][0]["statement"]["index"] == 1
    assert "read as SQL text" in captured.err


def test_a_misspelt_keyword_is_unrecognised_not_a_utility_statement(monkeypatch, capsys) -> None:
    import io
    import json

    from analyzer.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("SELEC id FROM candidates;\nVACUUM candidates;\n"))
    rc = main(["lint", "--format", "json", "-"])
    assert rc == 0
    skipped = {s["index"]: s for s in json.loads(capsys.readouterr().out)["skipped"]}
    assert skipped[0]["kind"] == "unknown" and "SELEC" in skipped[0]["reason"]
    assert skipped[1]["kind"] == "utility"
