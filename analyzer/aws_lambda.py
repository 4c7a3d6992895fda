"""One connection-slot snapshot per invocation, for an EventBridge schedule in AWS Lambda.

Handler: `analyzer.aws_lambda.handler`. Configuration from the environment (no arguments):

  PGQA_DSN            the analyzed server (libpq key=value or URI); or
  PGQA_DSN_SECRET     a Secrets Manager secret id/ARN in the RDS format
                      ({"host", "port", "dbname", "username", "password"}); without either, the
                      libpq variables (PGHOST, PGUSER, PGPASSWORD...) apply
  PGQA_STORE          the central store, postgresql://... (a sqlite:/// path works for tests); or
  PGQA_STORE_SECRET   a secret holding that URL as plain text, or in the RDS format
  PGQA_RESERVED_DSN / PGQA_RESERVED_DSN_SECRET   optional: a role allowed to use reserved slots
  PGQA_INSTANCE       the name of the server in the store (default host:port/database); the
                      event's "instance" key, when present, wins
  PGQA_STATEMENTS     "1" to store a pg_stat_statements reading as well
  PGQA_CONNECT_TIMEOUT  seconds (default 5: keep it well under the function's timeout)

A refused or timed-out connection is stored like any snapshot and the invocation succeeds (a retry
would only add connections); only a store that cannot be written fails the invocation.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from psycopg import conninfo

from analyzer.connections.snapshot import capture_with
from analyzer.connections.store import open_store
from analyzer.errors import UsageError
from analyzer.target import SessionSettings


def _secret(secret_id: str) -> str:
    import boto3

    return str(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def _rds_secret(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _dsn(name: str) -> str | None:
    """PGQA_<name>, or the secret named by PGQA_<name>_SECRET as a libpq key=value DSN."""
    direct = os.environ.get(f"PGQA_{name}")
    if direct:
        return direct
    secret_id = os.environ.get(f"PGQA_{name}_SECRET")
    if not secret_id:
        return None
    text = _secret(secret_id)
    s = _rds_secret(text)
    if s is None:
        return text.strip()
    return conninfo.make_conninfo(host=s.get("host"), port=str(s.get("port") or 5432),
                                  dbname=s.get("dbname") or "postgres", user=s.get("username"),
                                  password=s.get("password"))


def _store_url() -> str:
    direct = os.environ.get("PGQA_STORE")
    if direct:
        return direct
    secret_id = os.environ.get("PGQA_STORE_SECRET")
    if not secret_id:
        raise UsageError("set PGQA_STORE (postgresql://...) or PGQA_STORE_SECRET for the central store")
    text = _secret(secret_id)
    s = _rds_secret(text)
    if s is None:
        return text.strip()
    return (f"postgresql://{quote(str(s.get('username', '')), safe='')}:"
            f"{quote(str(s.get('password', '')), safe='')}@{s.get('host')}:{s.get('port') or 5432}/"
            f"{quote(str(s.get('dbname') or 'postgres'), safe='')}")


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    store_url = _store_url()
    dsn = _dsn("DSN")
    instance = event.get("instance") or os.environ.get("PGQA_INSTANCE") or None
    settings = SessionSettings(connect_timeout_s=float(os.environ.get("PGQA_CONNECT_TIMEOUT", "5")))
    also = None
    if os.environ.get("PGQA_STATEMENTS", "").lower() in ("1", "true", "yes"):
        from analyzer.connections import pgss

        also = pgss.take
    snap, statements = capture_with(dsn, reserved_dsn=_dsn("RESERVED_DSN"), instance=instance,
                                    settings=settings, also=also)
    with open_store(store_url) as store:
        snapshot_id = store.save_snapshot(snap)
        if statements is not None and not isinstance(statements, Exception):
            store.save_statements(snap.instance, *statements)
    result = {"snapshot_id": snapshot_id, "instance": snap.instance, "taken_at": snap.taken_at,
              "status": snap.status, "error": snap.error, "used": snap.used, "usable": snap.usable,
              "used_pct": snap.used_pct}
    if isinstance(statements, Exception):
        result["statements_error"] = str(statements).strip().splitlines()[0]
    print(json.dumps(result))  # one line in CloudWatch Logs per snapshot
    return result
