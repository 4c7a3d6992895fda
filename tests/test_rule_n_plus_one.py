"""n-plus-one works from statistics only: a cheap single-row statement called orders of magnitude
more often than the others, with the statement whose rows match its calls named as the driver."""

from __future__ import annotations

from analyzer.model import Finding, Report, Statement
from analyzer.rules import run_rules
from analyzer.workload import prepare


def run(statements: list[Statement]) -> list[Finding]:
    prepare(Report(generated_at="", pgqa_version=""), statements, None)
    return run_rules(statements, None, include=["n-plus-one"])


def background() -> list[Statement]:
    return [Statement(text=f"SELECT id, name FROM t{i} WHERE org_id = $1 LIMIT $2", calls=300 + i,
                      total_ms=900.0, mean_ms=3.0, rows=(300 + i) * 20) for i in range(6)]


def lookup(calls: int, mean_ms: float = 0.05, rows: int | None = None,
           text: str = "SELECT id, stage FROM applications WHERE candidate_id = $1 LIMIT 1") -> Statement:
    return Statement(text=text, calls=calls, total_ms=calls * mean_ms, mean_ms=mean_ms,
                     rows=calls if rows is None else rows)


def test_fires_on_a_cheap_lookup_called_in_a_loop_and_names_the_driver() -> None:
    driver = Statement(text="SELECT id FROM candidates WHERE job_id = $1", calls=1000, total_ms=2000.0,
                       mean_ms=2.0, rows=50_000)
    loop = lookup(50_000)
    statements = [driver, *background(), loop]
    [f] = run(statements)
    assert f.statement_index == statements.index(loop)
    assert f.evidence["likely_drivers"][0]["index"] == 0
    assert f.evidence["ratio"] >= 100
    assert "#0" in f.message


def test_fires_for_primary_key_lookups() -> None:
    for text in ["SELECT * FROM users WHERE id = $1", "SELECT name FROM jobs WHERE id = $1",
                 "SELECT c.email FROM candidates c WHERE c.id = $1",
                 "SELECT 1 FROM sessions WHERE token = $1 LIMIT 1",
                 "SELECT count(*) FROM applications WHERE candidate_id = $1"]:
        assert run([*background(), lookup(100_000, text=text)]), text


def test_quiet_cases() -> None:
    bg = background()
    assert run([*bg, lookup(5_000)]) == []  # only ~16x the others
    assert run([*bg, lookup(100_000, mean_ms=40.0)]) == []  # not cheap
    assert run([*bg, lookup(100_000, rows=3_000_000,
                            text="SELECT id FROM applications WHERE stage = $1")]) == []  # many rows per call
    assert run([lookup(100_000)]) == []  # nothing to compare with
    no_stats = Statement(text="SELECT id FROM users WHERE id = $1", source="file", has_stats=False)
    assert run([*bg, no_stats]) == []
    assert run([*bg, lookup(100_000, text="UPDATE users SET seen_at = now() WHERE id = $1")]) == []
