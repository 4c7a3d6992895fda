"""Errors a user can act on. The CLI prints their message as one line and exits with their code;
anything else is a bug and keeps its traceback."""

from __future__ import annotations


class PgqaError(Exception):
    exit_code = 1


class UsageError(PgqaError):
    """Bad arguments or unreadable input (exit 2)."""

    exit_code = 2


class TargetError(PgqaError):
    """Cannot reach or query the analyzed server (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
