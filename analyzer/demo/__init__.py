"""The demo database modelled on the incident (stub: filled by the foundation issue)."""

from __future__ import annotations

from typing import Any


def setup_demo(server: Any, dbname: str = "pgqa_demo", scale: float = 1.0) -> str:
    raise NotImplementedError
