"""Redaction in every output over a hand-built report whose every SQL-bearing field carries
personal data: statement text, suggested SQL, evidence, the longest active query, skipped
statements, plus a password in a DSN and real-looking host names."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_sample import SECRETS, rich_report

from analyzer.model import Finding
from analyzer.report import render
from analyzer.report.redact import mask_secrets, redact_sql
from analyzer.report.tickets import write_tickets

HOSTS = ("db-prod-1.internal.example", "10.1.2.3", "10.1.2.4")


def loaded_report():  # type: ignore[no-untyped-def]
    r = rich_report()
    r.findings.append(
        Finding(
            "literal-rewrite",
            "low",
            "Rewrite for 'alice@example.com'",
            "m",
            suggested_sql="SELECT id FROM candidates WHERE email = 'alice@example.com' "
            "AND phone = '+1 555 0100'",
            evidence={
                "sample": {"statement": "UPDATE candidates SET name = 'Alice Smith' WHERE id = 42"},
                "plan_excerpt": "Seq Scan on candidates  (cost=0.00..1.01 rows=1)\n"
                "  Filter: (email = 'bob@example.org'::text)",
            },
            statement_index=4,
            fingerprint="fp-activity",
        )
    )
    return r


def all_outputs(tmp_path: Path, **kwargs: bool) -> dict[str, str]:
    r = loaded_report()
    out = {fmt: render(r, fmt, width=100, **kwargs) for fmt in ("text", "markdown", "json")}
    for group in ("finding", "statement"):
        d = tmp_path / f"{group}-{'-'.join(k for k, v in kwargs.items() if v) or 'default'}"
        write_tickets(r, d, group=group, chart=False, **kwargs)
        for p in d.iterdir():
            out[f"{group}/{p.name}"] = p.read_text()
    return out


def test_no_literal_value_in_any_output_by_default(tmp_path: Path) -> None:
    for name, text in all_outputs(tmp_path).items():
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{name} shows {leaked}"


def test_show_literals_shows_them_but_never_the_password(tmp_path: Path) -> None:
    outs = all_outputs(tmp_path, show_literals=True)
    assert "alice@example.com" in outs["text"] and "alice@example.com" in outs["json"]
    for name, text in outs.items():
        assert "s3cr3t-pw" not in text, name


def test_mask_hosts(tmp_path: Path) -> None:
    plain = render(loaded_report(), "json")
    assert all(h in plain for h in HOSTS)  # names are shown unless asked
    for name, text in all_outputs(tmp_path, mask_hosts=True).items():
        leaked = [h for h in HOSTS if h in text]
        assert not leaked, f"{name} shows {leaked}"
    masked = render(loaded_report(), "markdown", mask_hosts=True)
    # distinct clients stay distinct, so the groups still read
    assert "client-1" in masked and "client-2" in masked


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://app:hunter2@db.example:5432/ats",
        "host=db.example password=hunter2 dbname=ats",
        "host=db.example password='hunter2' dbname=ats",
        "postgres://app:hunter2@db.example/ats?sslmode=require",
        "postgresql://db.example/ats?user=app&password=hunter2",
        "PGPASSWORD=hunter2 pgqa analyze",
    ],
)
def test_passwords_are_masked_in_any_text(text: str) -> None:
    assert "hunter2" not in mask_secrets(text)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM c WHERE email = 'alice@example.com'",
        "SELECT * FROM c WHERE note = E'Alice\\'s phone: +1 555 0100'",
        "SELECT * FROM c WHERE note = $tag$Alice Smith$tag$",
        "SELECT * FROM c WHERE phone = 15550100 AND name = 'Alice Smith' LIMIT 10",
        "SELECT * FROM c WHERE email = 'alice@example.com' AND name = 'Alice Sm",  # cut by the source
    ],
)
def test_statement_redaction(sql: str) -> None:
    out = redact_sql(sql) or ""
    for value in ("alice@example.com", "Alice", "555 0100", "15550100"):
        assert value not in out
    assert out.startswith("SELECT * FROM c WHERE")


def test_plan_text_keeps_its_numbers() -> None:
    md = render(loaded_report(), "markdown")
    assert "Seq Scan on candidates  (cost=0.00..1.01 rows=1)" in md  # costs and rows stay readable
    assert "bob@example.org" not in md
