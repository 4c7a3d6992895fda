"""Catalog collector (stub: filled by the foundation issue)."""

from __future__ import annotations

from typing import Any

from analyzer.model import Catalog


def collect(target: Any) -> Catalog:
    return Catalog()
