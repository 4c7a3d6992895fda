"""The pgqa command line a report records (report.extra["command"]) so that a ticket can say how
to produce the report again: the options the run was given that differ from their defaults,
writing JSON, and never a password."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable

from analyzer.report.redact import mask_secrets

# Options that change where and how the report is written or shown, not what it finds; the
# reproduced command writes JSON (what `pgqa tickets` reads) and a baseline is added by the ticket.
NOT_REPRODUCED = frozenset(
    {"dsn", "format", "output", "fail_on", "show_literals", "mask_hosts", "baseline", "chart", "keep"}
)
DEFAULT_OUTPUT = "report.json"


def dsn_without_password(dsn: str) -> str:
    """The connection string with its password left out (URIs come back as key=value)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # not parseable: psycopg refused it already, mask what looks like a secret
        return mask_secrets(dsn)
    params.pop("password", None)
    return make_conninfo(**{k: str(v) for k, v in params.items()})


def command_line(
    command: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    args: argparse.Namespace,
    dsn: str | None = None,
    output: str = DEFAULT_OUTPUT,
) -> str:
    """`pgqa COMMAND [--dsn ...] [options not at their default] --format json --output FILE`.
    add_arguments is the command's own, so that the defaults are the ones its parser has."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    words = ["pgqa", command]
    if dsn:
        words += ["--dsn", dsn_without_password(dsn)]
    for action in parser._actions:
        if action.dest in NOT_REPRODUCED or not action.option_strings or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value == action.default or value is None:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:  # store_true / store_false
            words.append(flag)
        elif isinstance(value, list):
            for v in value:
                words += [flag, str(v)]
        else:
            words += [flag, str(value)]
    words += ["--format", "json", "--output", output]
    return mask_secrets(" ".join(shlex.quote(w) for w in words))


def dsn_hint(host: str | None, database: str | None, user: str | None) -> str:
    """host=... dbname=... user=... for a run whose connection came from the environment."""
    parts = [
        f"host={host}" if host else "",
        f"dbname={database}" if database else "",
        f"user={user}" if user else "",
    ]
    return " ".join(p for p in parts if p)


def with_output(command: str, output: str) -> str:
    """The command writing its JSON to `output` instead."""
    words = shlex.split(command)
    for i, w in enumerate(words[:-1]):
        if w in ("--output", "-o"):
            words[i + 1] = output
            return shlex.join(words)
    return shlex.join([*words, "--output", output])
