"""The EventBridge-scheduled Lambda handler: one snapshot into a central PostgreSQL store."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from analyzer import aws_lambda
from analyzer.connections.store import open_store
from analyzer.localpg import LocalServer

PGQA_VARS = ("PGQA_DSN", "PGQA_DSN_SECRET", "PGQA_STORE", "PGQA_STORE_SECRET", "PGQA_RESERVED_DSN",
             "PGQA_RESERVED_DSN_SECRET", "PGQA_INSTANCE", "PGQA_STATEMENTS", "PGQA_CONNECT_TIMEOUT")


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for k in (*PGQA_VARS, "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


@pytest.fixture
def central(pg17: LocalServer) -> Iterator[tuple[str, str]]:
    """A store database on the server; yields (its URL, its name)."""
    name = f"central_{os.getpid()}_{time.monotonic_ns()}"
    with pg17.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres:{pg17.password}@{pg17.host}:{pg17.port}/{name}", name
    with pg17.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@mock_aws
def test_handler_reads_secrets_and_writes_the_central_store(
        lambda_env: None, pg17: LocalServer, central: tuple[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, store_db = central
    sm = boto3.client("secretsmanager")
    target = sm.create_secret(Name="ats-db", SecretString=json.dumps({
        "engine": "postgres", "host": pg17.host, "port": pg17.port, "dbname": "postgres",
        "username": "postgres", "password": pg17.password}))
    sm.create_secret(Name="pgqa-store", SecretString=url)
    monkeypatch.setenv("PGQA_DSN_SECRET", target["ARN"])
    monkeypatch.setenv("PGQA_STORE_SECRET", "pgqa-store")
    monkeypatch.setenv("PGQA_STATEMENTS", "1")

    out = aws_lambda.handler({"instance": "ats-prod"}, None)
    assert out["status"] == "ok" and out["instance"] == "ats-prod" and out["used"] >= 1
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["snapshot_id"] == out["snapshot_id"]
    assert pg17.password not in json.dumps(out)
    with open_store(url) as st:
        (snap,) = st.snapshots("ats-prod")
        assert snap.usable == 97 and any(g.application_name == "pgqa" for g in snap.groups)
        assert len(st.statement_snapshots("ats-prod")) == 1
    # pgqa's session is gone once the handler returned: nothing left holding a slot
    with pg17.connect() as conn:
        left = conn.execute("SELECT count(*) FROM pg_stat_activity "
                            "WHERE application_name = 'pgqa'").fetchone()
    assert left[0] == 0


def test_handler_stores_a_refusal_and_succeeds(lambda_env: None, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    store = f"sqlite:///{tmp_path / 's.db'}"
    monkeypatch.setenv("PGQA_DSN", f"host=127.0.0.1 port={port} dbname=ats user=app password=hunter2secret")
    monkeypatch.setenv("PGQA_STORE", store)
    out = aws_lambda.handler({}, None)
    assert out["status"] == "error" and out["instance"] == f"127.0.0.1:{port}/ats"
    assert "hunter2secret" not in json.dumps(out)
    with open_store(store) as st:
        assert [x.status for x in st.snapshots(out["instance"])] == ["error"]


def test_handler_without_a_store_says_what_to_set(lambda_env: None) -> None:
    from analyzer.errors import UsageError

    with pytest.raises(UsageError, match="PGQA_STORE"):
        aws_lambda.handler({}, None)
