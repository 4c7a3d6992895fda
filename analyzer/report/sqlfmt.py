"""Statements laid out for people (sqlglot's pretty printer), falling back to the text as it was."""

from __future__ import annotations

import functools
import logging
import re

_PARAM_RE = re.compile(r"(\$\d+)(?=[^\s\d])")


@functools.lru_cache(maxsize=2048)  # tickets show one statement once per finding
def pretty_sql(text: str | None, truncated: bool = False) -> str:
    """One statement, pretty-printed by sqlglot for PostgreSQL; the original (stripped) when it
    does not parse as exactly one statement, or when it was cut at the source's limit (a cut text
    can parse into a wrong tree)."""
    raw = (text or "").strip()
    if not raw or truncated:
        return raw
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        trees = sqlglot.parse(_PARAM_RE.sub(r"\1 ", raw), read="postgres", error_level=ErrorLevel.RAISE)
        trees = [t for t in trees if t is not None]
        if len(trees) != 1 or type(trees[0]).__name__ == "Command":
            return raw
        # the tree is ours alone: no need for sqlglot to copy it before generating
        out = trees[0].sql(
            dialect="postgres",
            pretty=True,
            unsupported_level=ErrorLevel.RAISE,
            copy=False,
            normalize_functions=False,
        )
    except (SqlglotError, RecursionError, ValueError, KeyError, TypeError):
        return raw
    finally:
        logger.setLevel(level)
    return out or raw


def parses(text: str) -> bool:
    """True when sqlglot reads the text as SQL (used for the ticket's code blocks)."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        trees = sqlglot.parse(_PARAM_RE.sub(r"\1 ", text), read="postgres", error_level=ErrorLevel.RAISE)
    except SqlglotError:
        return False
    return any(t is not None for t in trees)
