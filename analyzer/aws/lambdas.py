"""The Lambda functions that talk to an instance: found by environment variables whose value names
the instance endpoint or a proxy endpoint in front of it. Only variable names are kept, never
values (they often hold passwords)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from analyzer.aws.session import AwsError, call, pages

DEFAULT_ACCOUNT_CONCURRENCY = 1000  # the default regional quota of concurrent executions


@dataclass
class EnvMatch:
    variable: str
    via: str  # "instance" or "proxy:<name>"


@dataclass
class LambdaFunction:
    name: str
    runtime: str = ""
    timeout_s: int = 3
    memory_mb: int = 128
    reserved: int | None = None  # reserved concurrency; None = shares the account's unreserved pool
    reserved_known: bool = True  # False when get_function_concurrency was refused (then None is assumed)
    matches: list[EnvMatch] = field(default_factory=list)

    @property
    def direct(self) -> bool:
        """Connects to the instance endpoint itself (not through a proxy)."""
        return any(m.via == "instance" for m in self.matches)

    @property
    def proxies(self) -> list[str]:
        return sorted({m.via.split(":", 1)[1] for m in self.matches if m.via.startswith("proxy:")})


@dataclass
class AccountConcurrency:
    limit: int = DEFAULT_ACCOUNT_CONCURRENCY
    unreserved: int = DEFAULT_ACCOUNT_CONCURRENCY
    source: str = "get_account_settings"  # or "default (why)"


def match_env(variables: dict[str, str], hosts: dict[str, str], names: list[str] | None) -> list[EnvMatch]:
    """hosts: lower-case endpoint host -> "instance" | "proxy:<name>"."""
    wanted = {n.upper() for n in names} if names else None
    out = []
    for var, value in sorted(variables.items()):
        if wanted is not None and var.upper() not in wanted:
            continue
        low = str(value).lower()
        for host, via in hosts.items():
            if host and host in low:
                out.append(EnvMatch(var, via))
                break
    return out


def discover(lam: Any, hosts: dict[str, str], names: list[str] | None = None) -> list[LambdaFunction]:
    """Every function of the region whose environment names one of `hosts`, with its reserved
    concurrency (get_function_concurrency)."""
    found: list[LambdaFunction] = []
    for page in pages(lam, "list_functions"):
        for f in page.get("Functions") or []:
            env = ((f.get("Environment") or {}).get("Variables")) or {}
            matches = match_env(env, hosts, names)
            if not matches:
                continue
            found.append(LambdaFunction(name=f["FunctionName"], runtime=f.get("Runtime", ""),
                                        timeout_s=int(f.get("Timeout") or 3),
                                        memory_mb=int(f.get("MemorySize") or 128), matches=matches))
    refused: AwsError | None = None
    for fn in found:
        try:
            resp = call(lam, "get_function_concurrency", FunctionName=fn.name)
        except AwsError as e:
            if e.kind != "skipped":  # only a refused permission is worked around: assume the worst
                raise
            refused = refused or e
            fn.reserved_known = False
            continue
        value = resp.get("ReservedConcurrentExecutions")
        fn.reserved = int(value) if value is not None else None
    if refused is not None:
        print(f"pgqa: lambda: {refused} (functions counted as having no reserved concurrency)",
              file=sys.stderr)
    return sorted(found, key=lambda f: f.name)


def account_concurrency(lam: Any) -> AccountConcurrency:
    """The account's concurrency quota and what is left unreserved; the default 1000 when the
    settings cannot be read (said in `source`)."""
    try:
        resp = call(lam, "get_account_settings")
    except AwsError as e:
        return AccountConcurrency(source=f"default {DEFAULT_ACCOUNT_CONCURRENCY} assumed ({e})")
    limit = resp.get("AccountLimit") or {}
    total = int(limit.get("ConcurrentExecutions") or DEFAULT_ACCOUNT_CONCURRENCY)
    unreserved = limit.get("UnreservedConcurrentExecutions")
    return AccountConcurrency(limit=total, unreserved=int(unreserved if unreserved is not None else total))
