"""Personal data in pg_stat_activity never reaches an output: sessions that are running or idle in
a transaction with e-mail addresses, names and phone numbers in their statements; `pgqa analyze`
in all three formats and `pgqa tickets` on its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

PERSONAL = ("alice@example.com", "Alice Smith", "555 0100", "bob@example.org", "Bob Jones", "7946 0958")

RUNNING = (
    "SELECT pg_sleep(60) WHERE 'alice@example.com' = 'alice@example.com' AND 'Alice Smith' <> '+1 555 0100'"
)
IDLE_LAST = (
    "SELECT id FROM people WHERE email = 'bob@example.org' AND name = 'Bob Jones' "
    "AND phone = '+44 20 7946 0958'"
)


def pgqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def personal_sessions(fresh_db: str) -> Iterator[str]:
    with psycopg.connect(fresh_db, autocommit=True) as c:
        c.execute("CREATE TABLE people (id int PRIMARY KEY, email text, name text, phone text)")
        c.execute(
            "INSERT INTO people VALUES (1, 'alice@example.com', 'Alice Smith', '+1 555 0100'), "
            "(2, 'bob@example.org', 'Bob Jones', '+44 20 7946 0958')"
        )
        for _ in range(3):  # into pg_stat_statements as well (normalized there)
            c.execute("SELECT * FROM people WHERE email = 'alice@example.com' OR name = 'Bob Jones'")
    running = psycopg.connect(fresh_db, autocommit=True, application_name="crm-search")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            running.execute(RUNNING)
        except psycopg.errors.QueryCanceled:
            pass
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    idle = psycopg.connect(fresh_db, application_name="crm-edit")  # not autocommit: a transaction stays open
    idle.execute(IDLE_LAST)
    with psycopg.connect(fresh_db, autocommit=True) as c:
        for _ in range(100):
            states = {
                r[0]: r[1]
                for r in c.execute(
                    "SELECT application_name, state FROM pg_stat_activity WHERE application_name LIKE 'crm-%'"
                )
            }
            if states == {"crm-search": "active", "crm-edit": "idle in transaction"}:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"sessions did not settle: {states}")
    try:
        yield fresh_db
    finally:
        running.cancel()
        thread.join(10)
        idle.close()
        running.close()
    assert not errors, errors


def test_no_personal_data_or_password_in_any_output(personal_sessions: str, tmp_path: Path) -> None:
    dsn = personal_sessions
    password = conninfo.conninfo_to_dict(dsn).get("password")
    assert password, "the test DSN carries a password"
    forbidden = (*PERSONAL, str(password))
    outputs: dict[str, str] = {}
    report = tmp_path / "report.json"
    for fmt in ("text", "markdown", "json"):
        args = ["analyze", "--dsn", dsn, "--format", fmt, "--no-advice"]
        if fmt == "json":
            args += ["--output", str(report)]
        res = pgqa(*args)
        assert res.returncode == 0, res.stderr
        outputs[fmt] = res.stdout if fmt != "json" else report.read_text()
        outputs[f"{fmt} stderr"] = res.stderr
    res = pgqa(
        "tickets", "--input", str(report), "--out-dir", str(tmp_path / "tickets"), "--group", "statement"
    )
    assert res.returncode == 0, res.stderr
    res2 = pgqa("tickets", "--input", str(report), "--out-dir", str(tmp_path / "tickets2"))
    assert res2.returncode == 0, res2.stderr
    for d in ("tickets", "tickets2"):
        for p in (tmp_path / d).iterdir():
            outputs[f"{d}/{p.name}"] = p.read_text()
    for name, text in outputs.items():
        leaked = [v for v in forbidden if v in text]
        assert not leaked, f"{name} shows {leaked}"

    # ...and the statements did reach the report, with placeholders: the running one as the
    # longest active statement, the workload's statement on the people table, the open transaction
    doc = json.loads(outputs["json"])
    conn = doc["connections"]
    assert conn is not None and conn["status"] == "ok"
    assert "pg_sleep" in (conn["longest_active"] or {}).get("query", "")
    assert conn["by_state"].get("idle in transaction", 0) >= 1
    assert any("people" in s["text"] for s in doc["statements"])
    assert "pg_sleep" in outputs["text"] and "pg_sleep" in outputs["markdown"]

    # --show-literals lifts the placeholders, never the password
    shown = pgqa("analyze", "--dsn", dsn, "--format", "json", "--no-advice", "--show-literals")
    assert shown.returncode == 0, shown.stderr
    assert str(password) not in shown.stdout
