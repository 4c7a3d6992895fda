"""Server settings the connection and statement checks need, as the server has them.

pgqa sets statement_timeout and idle_in_transaction_session_timeout in its own session; the
values here are the server's (read by the Target before it set its own), not pgqa's.
"""

from __future__ import annotations

from analyzer.target import Target

QUESTION = "settings"


def collect(target: Target) -> dict[str, str]:
    """name -> pg_settings.setting (timeouts in ms, sizes in bytes); settings the server lacks
    are absent."""
    values: dict[str, str] = {}
    for row in target.query(QUESTION):
        name = str(row["name"])
        if row["source"] in ("session", "client") and name in target.server_settings:
            values[name] = target.server_settings[name]
        else:
            values[name] = str(row["setting"])
    return values
