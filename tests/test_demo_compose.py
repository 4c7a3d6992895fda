"""docker-compose.yml (Docker cannot run here): the file a user starts must parse, give a
PostgreSQL 17 with pg_stat_statements preloaded and hypopg installed, and stay on localhost."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_gives_postgres17_with_pg_stat_statements_and_hypopg() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["postgres"]
    command = " ".join(service["command"])
    assert "shared_preload_libraries=pg_stat_statements" in command
    assert service["ports"] == ["127.0.0.1:5432:5432"]  # never published beyond this machine
    # no password in the file: the user sets one
    assert service["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")

    build = ROOT / service["build"]
    dockerfile = (build / "Dockerfile").read_text()
    assert "FROM postgres:17" in dockerfile
    assert "postgresql-${PG_MAJOR}-hypopg" in dockerfile
    init = dockerfile.split("COPY ", 1)[1].split()[0]
    sql = (build / init).read_text()
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in sql
    assert "CREATE EXTENSION IF NOT EXISTS hypopg" in sql
