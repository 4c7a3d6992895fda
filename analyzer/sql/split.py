"""Split a file of SQL into statements on `;`, respecting quotes, dollar quotes and comments."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Only what can hide a `;` is matched (and the `;` itself); everything else is skipped by the
# regular expression engine, which keeps splitting a large file cheap.
_UNIT = re.compile(
    r"""
    (?P<semi>;)
  | --[^\n]*
  | /\*(?:[^*]|\*(?!/))*(?:\*/|\Z)
  | (?<![\w$])[eE]'(?:[^'\\]|''|\\.)*(?:'|\\?\Z)
  | '(?:[^']|'')*(?:'|\Z)
  | "(?:[^"]|"")*(?:"|\Z)
  | \$\$.*?(?:\$\$|\Z)
  | \$(?P<tag>[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)\$.*?(?:\$(?P=tag)\$|\Z)
    """,
    re.VERBOSE | re.DOTALL,
)
_ONLY_NOISE = re.compile(r"(?:\s+|--[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z))*", re.DOTALL)
_META = re.compile(r"^[ \t]*\\[^\n]*", re.MULTILINE)


@dataclass
class Piece:
    text: str
    line: int  # 1-based line of the statement's first significant character


def split_statements(text: str) -> list[Piece]:
    """Statements in order, without their terminating `;`; pieces holding only whitespace and
    comments are dropped. A `;` inside a string, a dollar-quoted body or a comment does not split.
    psql meta-commands (lines starting with a backslash) are not SQL and are blanked out."""
    if "\\" in text:
        text = _META.sub(lambda m: " " * len(m.group()), text)
    cuts = [m.start() for m in _UNIT.finditer(text) if m.lastgroup == "semi"]
    pieces: list[Piece] = []
    start = 0
    line = 1
    for end in [*cuts, len(text)]:
        chunk = text[start:end]
        lead = _ONLY_NOISE.match(chunk)
        offset = lead.end() if lead else 0
        if offset < len(chunk):
            pieces.append(Piece(chunk.strip(), line + chunk.count("\n", 0, offset)))
        line += chunk.count("\n")
        start = end + 1
    return pieces
