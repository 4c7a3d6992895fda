"""The demo's SQL files (shipped in the wheel next to this module) and their named sections."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read(name: str) -> str:
    return resources.files("analyzer.demo").joinpath(name).read_text(encoding="utf-8")


def sections(text: str, marker: str) -> tuple[str, dict[str, str]]:
    """Split `text` at lines `-- <marker>: NAME`: the text before the first one, and each section's
    statement by name. Full-line comments inside a section are dropped, so what is sent (and what
    pg_stat_statements keeps) is the statement alone."""
    prelude: list[str] = []
    found: dict[str, list[str]] = {}
    current: list[str] = prelude
    head = f"-- {marker}:"
    for line in text.splitlines():
        if line.startswith(head):
            name = line[len(head):].strip()
            if name in found:
                raise ValueError(f"section {name!r} appears twice")
            current = found[name] = []
        elif current is prelude or not line.lstrip().startswith("--"):
            current.append(line)
    body = {name: "\n".join(lines).strip().rstrip(";").strip() for name, lines in found.items()}
    return "\n".join(prelude).strip(), body
