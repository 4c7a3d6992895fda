"""`pgqa budget`'s reading side: the instance, its proxies, the Lambda functions that talk to it
and the account's concurrency, then the budget and its findings in a Report."""

from __future__ import annotations

import sys
from collections.abc import Callable

from analyzer.aws import budget as budget_mod
from analyzer.aws import instance as rds_instance
from analyzer.aws import lambdas, proxies
from analyzer.aws.session import AwsError, SessionLike, client
from analyzer.errors import PgqaError
from analyzer.model import Report

SlotsReader = Callable[[], budget_mod.Slots | None]


def budget_into(report: Report, session: SessionLike, db_instance: str, pool_size: int = 1,
                env_vars: list[str] | None = None,
                server_slots: SlotsReader | None = None) -> budget_mod.Budget:
    """Fill report with the budget of db_instance. AwsError from the instance lookup or the function
    listing propagates (nothing to report without them); proxy trouble is a source status."""
    rds = client(session, "rds")
    inst = rds_instance.describe(rds, db_instance)
    report.source("rds", "ok",
                  f"{inst.identifier} ({inst.instance_class}, {inst.engine} {inst.engine_version})")
    found_proxies: list[proxies.Proxy] = []
    try:
        found_proxies = proxies.for_instance(rds, inst)
        report.source("rds_proxy", "ok", f"{len(found_proxies)} proxies target {inst.identifier}")
    except AwsError as e:
        _say(report, "rds_proxy", e)
    hosts = {inst.host.lower(): "instance"} if inst.host else {}
    for p in found_proxies:
        if p.endpoint:
            hosts[p.endpoint.lower()] = f"proxy:{p.name}"
    lam = client(session, "lambda")
    functions = lambdas.discover(lam, hosts, env_vars)
    account = lambdas.account_concurrency(lam)
    if account.source != "get_account_settings":
        print(f"pgqa: lambda: {account.source}", file=sys.stderr)
    report.source("lambda", "ok", f"{len(functions)} functions name {inst.identifier}'s endpoints")
    slots = None
    slot_note = ""
    if server_slots is not None:
        try:
            slots = server_slots()
        except PgqaError as e:  # the server is optional here: fall back to the class estimate
            slot_note = f"server slots unavailable ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        if slots is None and not slot_note:
            slot_note = "server slots unavailable (no connection snapshot)"
    if slot_note:
        print(f"pgqa: slots: {slot_note}; using the instance class estimate", file=sys.stderr)
    if slots is None:
        slots = budget_mod.slots_from_class(inst.instance_class)
        if slots is not None and slot_note:
            slots.detail = f"{slot_note}; {slots.detail}"
    if slots is None:
        report.source("slots", "skipped",
                      f"unknown memory for instance class {inst.instance_class}: pass --dsn")
    else:
        report.source("slots", "ok", f"{slots.usable} usable slots from the {slots.source}")
    b = budget_mod.compute(inst, functions, found_proxies, account, slots, pool_size)
    report.findings += budget_mod.findings(b)
    report.extra["budget"] = budget_mod.table(b)
    return b


def _say(report: Report, name: str, e: AwsError) -> None:
    report.source(name, e.kind, str(e))
    print(f"pgqa: {name}: {e}", file=sys.stderr)
