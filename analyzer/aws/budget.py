"""The serverless connection budget: how many connections the Lambda functions in front of an
instance can open at worst, against the slots the server has. Pure functions over what the AWS
readers (lambdas.py, proxies.py) and the server returned; no calls of their own."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from analyzer.aws.instance import DbInstance
from analyzer.aws.lambdas import AccountConcurrency, LambdaFunction
from analyzer.aws.proxies import Proxy
from analyzer.model import Finding

GIB = 1024 ** 3
RDS_MEMORY_PER_CONNECTION = 9531392  # RDS PostgreSQL default: LEAST(DBInstanceClassMemory/9531392, 5000)
RDS_MAX_CONNECTIONS_CAP = 5000
# PostgreSQL's superuser_reserved_connections (3) + RDS's rds.rds_superuser_reserved_connections (2)
RDS_DEFAULT_RESERVED = {"superuser": 3, "rds_superuser": 2}

# Nominal memory of common burstable classes, GiB
_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
# Size multipliers of the m/r/x families (large = 2 vCPU)
_SIZE_MULT = {"large": 1, "xlarge": 2, "2xlarge": 4, "4xlarge": 8, "8xlarge": 16, "12xlarge": 24,
              "16xlarge": 32, "24xlarge": 48, "32xlarge": 64, "48xlarge": 96}
_FAMILY_LARGE_GIB = {"m": 8, "r": 16, "x": 32}  # memory of the .large size per family letter
_CLASS_RE = re.compile(r"^db\.([a-z])(\d+)([a-z]*)\.(\w+)$")


def class_memory_bytes(instance_class: str) -> int | None:
    """Nominal memory of an RDS instance class (db.t4g.micro = 1 GiB); None when unknown."""
    m = _CLASS_RE.match(instance_class or "")
    if not m:
        return None
    letter, size = m.group(1), m.group(4)
    if letter == "t":
        gib = _BURSTABLE_GIB.get(size)
    elif letter in _FAMILY_LARGE_GIB and size in _SIZE_MULT:
        gib = _FAMILY_LARGE_GIB[letter] * _SIZE_MULT[size]
    else:
        gib = None
    return int(gib * GIB) if gib else None


@dataclass
class Slots:
    usable: int
    max_connections: int
    reserved: dict[str, int]
    source: str  # "server" or "instance class estimate"
    detail: str = ""


def slots_from_class(instance_class: str) -> Slots | None:
    mem = class_memory_bytes(instance_class)
    if mem is None:
        return None
    max_conn = min(mem // RDS_MEMORY_PER_CONNECTION, RDS_MAX_CONNECTIONS_CAP)
    reserved = dict(RDS_DEFAULT_RESERVED)
    return Slots(usable=max(0, max_conn - sum(reserved.values())), max_connections=max_conn,
                 reserved=reserved, source="instance class estimate",
                 detail=f"LEAST({mem // GIB} GiB / 9531392, 5000) = {max_conn} minus reserved "
                        f"{sum(reserved.values())}; an upper bound: RDS's DBInstanceClassMemory is below "
                        "the class's nominal memory and a parameter group may set max_connections; "
                        "pass --dsn for the server's own figure")


@dataclass
class FunctionBudget:
    name: str
    via: str  # instance | proxy:<name>
    variables: list[str]
    timeout_s: int
    memory_mb: int
    reserved: int | None
    concurrency_cap: int  # reserved, else the account's unreserved pool
    reserved_known: bool
    worst_connections: int  # concurrency_cap x pool size
    suggested_reserved: int | None = None


@dataclass
class Budget:
    instance: str
    pool_size: int
    slots: Slots | None
    account: AccountConcurrency
    functions: list[FunctionBudget] = field(default_factory=list)
    proxies: list[Proxy] = field(default_factory=list)
    direct_worst: int = 0
    proxy_worst: int = 0
    sum_of_caps: int = 0
    suggested_reserved: int | None = None

    @property
    def worst_case(self) -> int:
        return self.direct_worst + self.proxy_worst


def _proxy_cap(proxy: Proxy, slots: Slots | None) -> int | None:
    if slots is None:
        return None
    pct = proxy.max_connections_percent if proxy.max_connections_percent is not None else 100
    # the proxy logs in as an ordinary role: it cannot hold more than the usable slots
    return min(math.floor(slots.max_connections * pct / 100), slots.usable)


def compute(inst: DbInstance, functions: list[LambdaFunction], proxies: list[Proxy],
            account: AccountConcurrency, slots: Slots | None, pool_size: int = 1) -> Budget:
    """Worst-case connections. Functions without reserved concurrency share the account's
    unreserved pool, so together they reach at most that many concurrent executions; functions
    behind a proxy are bounded by the proxy's pool (MaxConnectionsPercent of max_connections)."""
    b = Budget(instance=inst.identifier, pool_size=pool_size, slots=slots, account=account, proxies=proxies)
    direct_reserved = direct_unreserved = 0
    proxied: dict[str, int] = {}
    for fn in functions:
        cap = fn.reserved if fn.reserved is not None else account.unreserved
        via = "instance" if fn.direct else f"proxy:{fn.proxies[0]}" if fn.proxies else "instance"
        b.functions.append(FunctionBudget(
            name=fn.name, via=via, variables=[m.variable for m in fn.matches], timeout_s=fn.timeout_s,
            memory_mb=fn.memory_mb, reserved=fn.reserved, concurrency_cap=cap,
            reserved_known=fn.reserved_known, worst_connections=cap * pool_size))
        b.sum_of_caps += cap * pool_size
        if via == "instance":
            if fn.reserved is None:
                direct_unreserved += cap * pool_size
            else:
                direct_reserved += cap * pool_size
        else:
            proxied[via] = proxied.get(via, 0) + cap * pool_size
    b.direct_worst = direct_reserved + min(direct_unreserved, account.unreserved * pool_size)
    by_name = {p.name: p for p in proxies}
    for via, conns in proxied.items():
        p = by_name.get(via.split(":", 1)[1])
        cap = _proxy_cap(p, slots) if p else None
        b.proxy_worst += min(conns, cap) if cap is not None else conns
    b.suggested_reserved = suggest_reserved(b)
    for f in b.functions:
        if f.via == "instance":
            f.suggested_reserved = b.suggested_reserved
    return b


def suggest_reserved(b: Budget) -> int | None:
    """Reserved concurrency per direct function so that all of them together fit the slots left
    after the proxies' pools; None without a slot figure or direct functions."""
    direct = [f for f in b.functions if f.via == "instance"]
    if b.slots is None or not direct:
        return None
    room = b.slots.usable - b.proxy_worst
    return max(0, room // (len(direct) * b.pool_size))


def _cmd(fn: str, n: int) -> str:
    return f"aws lambda put-function-concurrency --function-name {fn} --reserved-concurrent-executions {n}"


_REASON_FIX = {
    "AUTH_FAILURE": "the proxy cannot log in: check the Secrets Manager secret in the proxy's auth "
                    "settings (user, password) and that the proxy's IAM role may read it",
    "CONNECTION_FAILED": "the proxy cannot connect: check that the instance's security group allows "
                         "the proxy's security group on the database port, and the instance is available",
    "UNREACHABLE": "the proxy cannot reach the instance: check subnets, route tables and security groups "
                   "between the proxy and the instance",
    "PENDING_PROXY_CAPACITY": "the proxy is scaling its capacity: wait, and check again",
    "INVALID_REPLICATION_STATE": "the target is not in a usable replication state",
}


def findings(b: Budget) -> list[Finding]:
    out: list[Finding] = []
    usable = b.slots.usable if b.slots else None
    n_direct = sum(1 for f in b.functions if f.via == "instance")
    fit = b.suggested_reserved
    for f in b.functions:
        if f.reserved is not None:
            continue
        direct = f.via == "instance"
        if direct and fit:
            fix = (f"reserve concurrency for {f.name}: `{_cmd(f.name, fit)}` ({n_direct} direct functions "
                   f"x {fit} x pool {b.pool_size} = {n_direct * fit * b.pool_size} connections of {usable} "
                   "usable)")
        elif direct and fit == 0:
            fix = (f"the {usable} usable slots cannot give each of the {n_direct} direct functions even "
                   "one connection: put them behind an RDS Proxy, then reserve concurrency")
        else:
            fix = (f"reserve concurrency for {f.name} (aws lambda put-function-concurrency) sized to the "
                   "connections the database can give it"
                   + ("" if direct else ", or rely on the proxy's pool"))
        out.append(Finding(
            rule="unbounded-lambda-concurrency", severity="high" if direct else "medium",
            title=f"Lambda {f.name} has no reserved concurrency",
            message=(f"{f.name} connects to {b.instance} {'directly' if direct else 'through ' + f.via} "
                     f"(variables {', '.join(f.variables)}) and can scale to the account's "
                     f"{b.account.unreserved} unreserved concurrent executions, each with "
                     f"{b.pool_size} connection(s)"),
            recommendation=fix, key=f.name,
            evidence={"function": f.name, "via": f.via, "timeout_s": f.timeout_s, "memory_mb": f.memory_mb,
                      "concurrency_cap": f.concurrency_cap, "account_unreserved": b.account.unreserved,
                      "suggested_reserved": fit if direct else None},
        ))
    if usable is not None and b.worst_case > usable:
        plan = (f"reserve {fit} concurrent executions for each of the {n_direct} functions that connect "
                f"directly ({n_direct} x {fit} x pool {b.pool_size} = {n_direct * fit * b.pool_size} "
                f"<= {usable - b.proxy_worst} slots), e.g. `{_cmd('<function>', fit)}`"
                if fit else
                "route the functions through an RDS Proxy: the slots cannot give each direct function "
                "even one connection")
        out.append(Finding(
            rule="connection-budget-exceeded", severity="critical",
            title=f"Lambda functions can open {b.worst_case} connections; {b.instance} has {usable} usable",
            message=(f"{len(b.functions)} functions talk to {b.instance}: at worst {b.worst_case} "
                     "connections "
                     f"({b.direct_worst} direct, {b.proxy_worst} through proxies) against {usable} usable "
                     f"slots ({b.slots.source if b.slots else ''}); the overflow is refused with "
                     "'sorry, too many clients already' (SQLSTATE 53300)"),
            recommendation=plan + (", and point them at the proxy endpoint" if b.proxies else ""),
            key=b.instance,
            evidence={"worst_case_connections": b.worst_case, "direct": b.direct_worst,
                      "through_proxies": b.proxy_worst, "usable_slots": usable,
                      "slots_source": b.slots.source if b.slots else None, "pool_size": b.pool_size,
                      "functions": len(b.functions), "direct_functions": n_direct,
                      "account_unreserved": b.account.unreserved, "sum_of_function_caps": b.sum_of_caps,
                      "suggested_reserved_per_function": fit},
        ))
    for p in b.proxies:
        for t in p.unhealthy:
            fix = _REASON_FIX.get(t.reason or "", "see the target's health description")
            out.append(Finding(
                rule="proxy-target-unavailable", severity="high" if t.state == "UNAVAILABLE" else "medium",
                title=f"RDS Proxy {p.name}: target {t.rds_resource_id} is {t.state}",
                message=(f"The proxy {p.name} cannot serve {t.rds_resource_id}: state {t.state}"
                         + (f", reason {t.reason}" if t.reason else "")
                         + (f": {t.description}" if t.description else "")),
                recommendation=f"{fix}; `aws rds describe-db-proxy-targets --db-proxy-name {p.name}` shows "
                               "the health once fixed",
                key=p.name,
                evidence={"proxy": p.name, "target": t.rds_resource_id, "state": t.state, "reason": t.reason,
                          "description": t.description,
                          "functions_using_proxy": [f.name for f in b.functions
                                                    if f.via == f"proxy:{p.name}"]},
            ))
        bypass = [f for f in b.functions if f.via == "instance"]
        if bypass:
            variables = sorted({v for f in bypass for v in f.variables})
            first = "first fix the proxy's target health, then " if p.unhealthy else ""
            out.append(Finding(
                rule="functions-bypass-proxy", severity="high",
                title=f"{len(bypass)} Lambda functions bypass RDS Proxy {p.name}",
                message=(f"{len(bypass)} functions connect to the instance endpoint of {b.instance} "
                         "instead of "
                         f"the proxy {p.name}, so the proxy's pooling does not protect the connection slots"),
                recommendation=_sentence(f"{first}switch {', '.join(variables)} of these functions to the "
                                         f"proxy endpoint {p.endpoint}"),
                key=p.name,
                evidence={"proxy": p.name, "proxy_endpoint": p.endpoint, "variables": variables,
                          "functions": [f.name for f in bypass]},
            ))
    return out


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def table(b: Budget) -> dict[str, Any]:
    """report.extra["budget"]: the numbers behind the findings."""
    s = b.slots
    return {
        "instance": b.instance, "pool_size": b.pool_size,
        "slots": None if s is None else {"usable": s.usable, "max_connections": s.max_connections,
                                         "reserved": s.reserved, "source": s.source, "detail": s.detail},
        "account": {"concurrency_limit": b.account.limit, "unreserved": b.account.unreserved,
                    "source": b.account.source},
        "worst_case_connections": b.worst_case, "direct_connections": b.direct_worst,
        "proxy_connections": b.proxy_worst, "sum_of_function_caps": b.sum_of_caps,
        "suggested_reserved_per_function": b.suggested_reserved,
        "functions": [{"name": f.name, "via": f.via, "variables": f.variables, "timeout_s": f.timeout_s,
                       "memory_mb": f.memory_mb, "reserved": f.reserved, "reserved_known": f.reserved_known,
                       "concurrency_cap": f.concurrency_cap,
                       "worst_connections": f.worst_connections, "suggested_reserved": f.suggested_reserved}
                      for f in b.functions],
        "proxies": [{"name": p.name, "endpoint": p.endpoint, "status": p.status,
                     "max_connections_percent": p.max_connections_percent,
                     "targets": [{"id": t.rds_resource_id, "type": t.type, "state": t.state,
                                  "reason": t.reason, "description": t.description} for t in p.targets]}
                    for p in b.proxies],
    }
