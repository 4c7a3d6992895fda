"""The RDS Proxies in front of an instance and the health of their targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzer.aws.instance import DbInstance
from analyzer.aws.session import AwsError, call, pages


@dataclass
class ProxyTarget:
    rds_resource_id: str
    type: str = ""
    endpoint: str | None = None
    port: int | None = None
    state: str = ""  # REGISTERING | AVAILABLE | UNAVAILABLE | UNUSED
    reason: str | None = None  # UNREACHABLE | CONNECTION_FAILED | AUTH_FAILURE | PENDING_PROXY_CAPACITY ...
    description: str | None = None


@dataclass
class Proxy:
    name: str
    endpoint: str
    status: str = ""
    engine_family: str = ""
    max_connections_percent: int | None = None
    targets: list[ProxyTarget] = field(default_factory=list)

    @property
    def unhealthy(self) -> list[ProxyTarget]:
        return [t for t in self.targets if t.state and t.state != "AVAILABLE"]


def _targets(rds: Any, name: str) -> list[ProxyTarget]:
    out = []
    for page in pages(rds, "describe_db_proxy_targets", DBProxyName=name):
        for t in page.get("Targets") or []:
            health = t.get("TargetHealth") or {}
            out.append(ProxyTarget(rds_resource_id=str(t.get("RdsResourceId") or ""), type=t.get("Type", ""),
                                   endpoint=t.get("Endpoint"), port=t.get("Port"),
                                   state=str(health.get("State") or ""), reason=health.get("Reason"),
                                   description=health.get("Description")))
    return out


def _pool_percent(rds: Any, name: str) -> int | None:
    try:
        resp = call(rds, "describe_db_proxy_target_groups", DBProxyName=name)
    except AwsError:
        return None
    for g in resp.get("TargetGroups") or []:
        pct = (g.get("ConnectionPoolConfig") or {}).get("MaxConnectionsPercent")
        if g.get("IsDefault", True) and pct is not None:
            return int(pct)
    return None


def _targets_instance(t: ProxyTarget, inst: DbInstance) -> bool:
    if t.rds_resource_id and t.rds_resource_id in (inst.identifier, inst.cluster):
        return True
    return bool(t.endpoint and inst.host and t.endpoint.lower() == inst.host.lower())


def for_instance(rds: Any, inst: DbInstance) -> list[Proxy]:
    """Proxies with a target that is the instance (or its cluster); only those targets kept."""
    found = []
    for page in pages(rds, "describe_db_proxies"):
        for p in page.get("DBProxies") or []:
            name = p["DBProxyName"]
            targets = [t for t in _targets(rds, name) if _targets_instance(t, inst)]
            if not targets:
                continue
            found.append(Proxy(name=name, endpoint=str(p.get("Endpoint") or ""), status=p.get("Status", ""),
                               engine_family=p.get("EngineFamily", ""),
                               max_connections_percent=_pool_percent(rds, name), targets=targets))
    return sorted(found, key=lambda p: p.name)
