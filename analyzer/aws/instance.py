"""The RDS instance pgqa looks at: its DbiResourceId (what PI wants), endpoint and class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analyzer.aws.session import AwsError, call


@dataclass
class DbInstance:
    identifier: str
    dbi_resource_id: str
    host: str = ""
    port: int = 5432
    instance_class: str = ""
    engine: str = ""
    engine_version: str = ""
    pi_enabled: bool = False
    pi_retention_days: int | None = None
    cluster: str | None = None


def describe(rds: Any, name: str) -> DbInstance:
    """The instance named `name`; AwsError when it does not exist in this account and region."""
    try:
        resp = call(rds, "describe_db_instances", DBInstanceIdentifier=name)
    except AwsError as e:
        if "DBInstanceNotFound" in str(e):
            region = getattr(rds.meta, "region_name", "") or "this region"
            raise AwsError(f"unknown RDS instance '{name}' in {region}: check --db-instance and --region",
                           "error", e.action, session_wide=True) from None
        raise
    items = resp.get("DBInstances") or []
    if not items:
        raise AwsError(f"unknown RDS instance '{name}': check --db-instance and --region", "error")
    return from_api(items[0])


def from_api(d: dict[str, Any]) -> DbInstance:
    endpoint = d.get("Endpoint") or {}
    return DbInstance(
        identifier=d.get("DBInstanceIdentifier", ""),
        dbi_resource_id=d.get("DbiResourceId", ""),
        host=str(endpoint.get("Address") or ""),
        port=int(endpoint.get("Port") or d.get("DbInstancePort") or 5432),
        instance_class=d.get("DBInstanceClass", ""),
        engine=d.get("Engine", ""),
        engine_version=d.get("EngineVersion", ""),
        pi_enabled=bool(d.get("PerformanceInsightsEnabled")),
        pi_retention_days=d.get("PerformanceInsightsRetentionPeriod"),
        cluster=d.get("DBClusterIdentifier"),
    )
