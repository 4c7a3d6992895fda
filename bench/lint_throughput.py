"""Parse-and-lint throughput of `pgqa lint` (statements/s) on 10,000 statements of a realistic mix,
with sqlglot's compiled extension (sqlglotc) and with its pure-Python modules.

    .venv/bin/python bench/lint_throughput.py [--statements N] [--seed S]

The mix imitates what a DBA feeds lint: an application's statements as pg_stat_statements writes
them ($n placeholders), some in pg_stat_activity's literal form and Performance Insights' `?` form,
utility and transaction statements, a few broken or cut texts; about one in eight has a finding.
Each variant runs in its own subprocess; the pure-Python one hides the compiled modules with an
import hook (sqlglotc installs `.so` files beside sqlglot's `.py` files, and Python prefers them).
Figures are given for one process and for one process per CPU (lint's default from 1,000
distinct statements on), on the mix as generated (about half the texts repeat, and lint parses
each distinct text once) and with every text made distinct. Wall time depends on what else the
machine runs: the load average is printed, and the CPU-second rate alongside.
Target: at least 2,000 statements/s with the compiled extension on this 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import os
import random
import subprocess
import sys
import time

TABLES = {
    "candidates": ["id", "org_id", "name", "email", "phone", "status", "created_at", "updated_at", "source"],
    "applications": ["id", "candidate_id", "job_id", "status", "stage", "created_at", "updated_at", "score"],
    "jobs": ["id", "org_id", "title", "department", "status", "opened_at", "closed_at"],
    "interviews": ["id", "application_id", "interviewer_id", "scheduled_at", "kind", "outcome"],
    "users": ["id", "org_id", "email", "name", "role", "last_login_at"],
    "events": ["id", "org_id", "kind", "subject_id", "payload", "created_at"],
}

NAMES = ["Alice Martin", "Bob O'Neil", "Chen Wei", "Dana Smith", "Eve Tanaka"]


def _cols(rng: random.Random, table: str, n: int) -> list[str]:
    cols = TABLES[table]
    return rng.sample(cols, min(n, len(cols)))


def _value(rng: random.Random, form: str, n: int, kind: str = "int") -> str:
    if form == "pgss":
        return f"${n}"
    if form == "pi":
        return "?"
    if kind == "text":
        return "'" + rng.choice(NAMES).replace("'", "''") + "'"
    if kind == "email":
        return f"'user{rng.randint(1, 99999)}@example.com'"
    return str(rng.randint(1, 10_000_000))


def statement(rng: random.Random) -> str:
    form = rng.choices(["pgss", "activity", "pi"], [70, 20, 10])[0]
    t = rng.choice(list(TABLES))
    a = t[0]
    cols = _cols(rng, t, rng.randint(2, 5))
    sel = ", ".join(f"{a}.{c}" for c in cols)
    pick = rng.random()
    if pick < 0.22:  # lookup by key
        return f"SELECT {sel} FROM {t} {a} WHERE {a}.id = {_value(rng, form, 1)}"
    if pick < 0.36:  # paged list
        return (f"SELECT {sel} FROM {t} {a} WHERE {a}.org_id = {_value(rng, form, 1)} AND {a}.{cols[0]} "
                f"IS NOT NULL ORDER BY {a}.id DESC LIMIT {_value(rng, form, 2)}")
    if pick < 0.46:  # join with filters
        return (f"SELECT c.id, c.name, ap.status, j.title FROM applications ap JOIN candidates c ON c.id = "
                f"ap.candidate_id JOIN jobs j ON j.id = ap.job_id WHERE j.org_id = {_value(rng, form, 1)} "
                f"AND ap.stage IN ({_value(rng, form, 2)}, {_value(rng, form, 3)}) ORDER BY ap.created_at "
                f"DESC LIMIT {_value(rng, form, 4)}")
    if pick < 0.56:  # insert
        vals = ", ".join(_value(rng, form, i + 1, "text") for i in range(len(cols)))
        return f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({vals})"
    if pick < 0.64:  # update by key
        return (f"UPDATE {t} SET {cols[0]} = {_value(rng, form, 1, 'text')}, updated_at = now() "
                f"WHERE id = {_value(rng, form, 2)}")
    if pick < 0.68:
        return f"DELETE FROM {t} WHERE id = {_value(rng, form, 1)}"
    if pick < 0.72:  # grouped report
        return (f"SELECT {a}.status, count(*) FROM {t} {a} WHERE {a}.org_id = {_value(rng, form, 1)} "
                f"GROUP BY {a}.status")
    if pick < 0.76:  # CTE
        return (f"WITH recent AS (SELECT candidate_id, max(created_at) AS last FROM applications WHERE "
                f"created_at > {_value(rng, form, 1)} GROUP BY candidate_id) SELECT c.id, c.name, r.last "
                f"FROM candidates c JOIN recent r ON r.candidate_id = c.id ORDER BY r.last DESC LIMIT "
                f"{_value(rng, form, 2)}")
    if pick < 0.84:  # utility and transaction control
        return rng.choice(["BEGIN", "COMMIT", "ROLLBACK", "SET statement_timeout = 5000", "SHOW work_mem",
                           "SAVEPOINT s1", "RELEASE SAVEPOINT s1", "DISCARD ALL", "DEALLOCATE ALL"])
    if pick < 0.87:  # the incident's candidate list
        status = _value(rng, form, 1, "text")
        return (f"SELECT c.id, c.name, c.email FROM candidates c WHERE c.status = {status} "
                "ORDER BY c.created_at DESC")
    if pick < 0.89:  # candidate detail
        return ("SELECT c.* FROM candidates c LEFT JOIN applications ap ON ap.candidate_id = c.id "
                f"WHERE c.id = {_value(rng, form, 1)}")
    if pick < 0.91:  # KPI
        branches = [f"SELECT count(*) FROM applications WHERE stage = {_value(rng, form, i + 1)}"
                    for i in range(rng.randint(2, 5))]
        return " UNION ALL ".join(branches)
    if pick < 0.93:  # kintone sync
        return (f"INSERT INTO candidates (id, name, email) VALUES ({_value(rng, form, 1)}, "
                f"{_value(rng, form, 2, 'text')}, {_value(rng, form, 3, 'email')}) "
                "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email")
    if pick < 0.95:
        return f"SELECT id, name FROM candidates WHERE name ILIKE {_value(rng, form, 1, 'text')} LIMIT 20"
    if pick < 0.97:
        return (f"SELECT {sel} FROM {t} {a} ORDER BY {a}.id LIMIT {_value(rng, form, 1)} "
                f"OFFSET {_value(rng, form, 2)}")
    if pick < 0.985:  # cut at a limit
        full = f"SELECT {sel} FROM {t} {a} WHERE {a}.id = {_value(rng, form, 1)} ORDER BY {a}.id"
        return full[: rng.randint(10, len(full) - 1)]
    return f"SELEC {sel} FRM {t} WHERE"  # broken


def workload(n: int, seed: int, distinct: bool = False) -> str:
    """The mix as a SQL file. About half the texts repeat (the same statement logged again, with
    the same placeholders); `distinct` makes every text unique with a trailing comment, which
    defeats lint's parse-once cache for repeated texts."""
    rng = random.Random(seed)
    return ";\n".join((f"/* #{i} */ " if distinct else "") + statement(rng) for i in range(n)) + ";\n"


class _PureSqlglot(importlib.abc.MetaPathFinder):
    """Find sqlglot's modules as .py source only, so the compiled twins are never loaded."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname != "sqlglot" and not fullname.startswith("sqlglot."):
            return None
        for entry in path or sys.path:
            finder = importlib.machinery.FileFinder(
                entry or ".", (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES))
            spec = finder.find_spec(fullname)
            if spec is not None:
                return spec
        return None


def measure(n: int, seed: int, pure: bool, jobs: int, distinct: bool) -> dict[str, object]:
    if pure:
        sys.meta_path.insert(0, _PureSqlglot())
    import sqlglot.parser

    from analyzer.commands.lint import lint_texts

    text = workload(n, seed, distinct)
    lint_texts([("warmup.sql", workload(200, seed + 1))])
    def cpu_now() -> float:
        t = os.times()  # this process and its finished workers
        return t.user + t.system + t.children_user + t.children_system

    start, cpu_start = time.perf_counter(), cpu_now()
    report = lint_texts([("bench.sql", text)], jobs=jobs)
    elapsed, cpu = time.perf_counter() - start, cpu_now() - cpu_start
    n_done = len(report.statements)
    return {"compiled": not sqlglot.parser.__file__.endswith(".py"), "statements": n_done,
            "skipped": len(report.skipped), "findings": len(report.findings), "seconds": round(elapsed, 3),
            "per_second": round(n_done / elapsed, 1), "per_cpu_second": round(n_done / cpu, 1),
            "distinct_texts": len({st.text for st in report.statements})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statements", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", choices=["compiled", "pure"], help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--distinct", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.statements, args.seed, args.child == "pure", args.jobs, args.distinct)))
        return 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine skews wall time
    print(f"pgqa lint throughput, {args.statements} statements (seed {args.seed}); {os.cpu_count()} CPUs, "
          f"load average {load}")
    cpus = os.cpu_count() or 1
    runs = [("compiled", 1, False), ("pure", 1, False), ("compiled", 1, True), ("pure", 1, True),
            ("compiled", cpus, False), ("compiled", cpus, True)]
    for variant, jobs, distinct in runs:
        if jobs > 1 and cpus == 1:
            continue
        res = subprocess.run([sys.executable, __file__, "--statements", str(args.statements), "--seed",
                              str(args.seed), "--child", variant, "--jobs", str(jobs)]
                             + (["--distinct"] if distinct else []), capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(f"{variant}: failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else '?'}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        label = ("sqlglot[c] compiled" if r["compiled"] else "sqlglot pure Python") + f", {jobs} process" + (
            "es (lint's default)" if jobs > 1 else "") + (", all texts distinct" if distinct else "")
        print(f"{label:<56} {r['per_second']:>7.0f} statements/s wall, {r['per_cpu_second']:>7.0f} per CPU "
              f"second  ({r['statements']} statements, {r['distinct_texts']} distinct, in {r['seconds']} s; "
              f"{r['findings']} findings, {r['skipped']} skipped)")
    print("target: >= 2000 statements/s with sqlglot[c]; `pgqa lint` parses in one process per CPU (--jobs) "
          "from 1,000 distinct statements on, which pays on an otherwise idle machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
