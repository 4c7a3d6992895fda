"""Load the analyzer's own SQL from analyzer/queries/ (shipped in the wheel).

One question per file. A question with version variants is a folder whose files are named by the
lowest version they serve: queries/statements/1.8.sql, 1.9.sql, 1.11.sql (pg_stat_statements
extension versions) or queries/settings/13.sql, 16.sql (server major versions). The loader picks
the highest variant not above the version asked for, like pgwatch's metric definitions.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

Version = tuple[int, ...]


def parse_version(text: str | int | Version) -> Version:
    if isinstance(text, tuple):
        return text
    if isinstance(text, int):
        return (text,)
    parts: list[int] = []
    for piece in str(text).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _root() -> resources.abc.Traversable:
    return resources.files("analyzer").joinpath("queries")


@cache
def load(question: str, version: str | int | Version | None = None) -> str:
    """The text of one question, the variant chosen by `version` when the question has several."""
    root = _root()
    single = root.joinpath(f"{question}.sql")
    if single.is_file():
        return single.read_text(encoding="utf-8")
    folder = root.joinpath(question)
    if not folder.is_dir():
        raise FileNotFoundError(f"no query named {question!r} in analyzer/queries")
    variants = sorted(
        (parse_version(entry.name[: -len(".sql")]), entry)
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    if not variants:
        raise FileNotFoundError(f"query folder {question!r} holds no .sql files")
    if version is None:
        return variants[-1][1].read_text(encoding="utf-8")
    wanted = parse_version(version)
    chosen = [entry for v, entry in variants if v <= wanted]
    if not chosen:
        raise LookupError(f"query {question!r} has no variant for version {version}")
    return chosen[-1].read_text(encoding="utf-8")
