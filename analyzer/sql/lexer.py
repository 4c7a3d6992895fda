"""A small PostgreSQL lexer that never fails: the base of fingerprints, redaction and splitting.

sqlglot's tokenizer raises on texts we must still handle (`$1,$2`, truncated literals, garbage), so
everything that must work on any text (a fingerprint, redaction so nothing leaks, splitting a file
on `;`) uses this one regular expression instead. Unterminated strings, dollar quotes and comments
run to the end of the text, which is what a truncated statement needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Token kinds
WS, COMMENT, STRING, DOLLAR, NUMBER, PARAM, QMARK, QIDENT, WORD, OP, PUNCT = (
    "ws", "comment", "string", "dollar", "number", "param", "qmark", "qident", "word", "op", "punct")
LITERALS = (STRING, DOLLAR, NUMBER)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z))
  | (?P<estring>[eE]'(?:[^'\\]|''|\\.)*(?:'|\\?\Z))
  | (?P<string>(?:[bBxXnN]|[uU]&)?'(?:[^']|'')*(?:'|\Z))
  | (?P<dollar>\$\$.*?(?:\$\$|\Z)
      |\$(?P<tag>[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)\$.*?(?:\$(?P=tag)\$|\Z))
  | (?P<param>\$\d+)
  | (?P<number>0[xXoObB][0-9A-Fa-f_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
  | (?P<qident>(?:[uU]&)?"(?:[^"]|"")*(?:"|\Z))
  | (?P<word>[A-Za-z_\x80-\uffff][A-Za-z_0-9$\x80-\uffff]*)
  | (?P<qmark>\?(?![|&-]))
  | (?P<op>::|<=|>=|<>|!=|\|\||->>|->|\#>>|\#>|@>|<@|\?\||\?&|~~\*|!~~\*|!~~|~~|!~\*|~\*|!~
      |[-+*/%^<>=~!@\#&|`?])
  | (?P<punct>[(),;\[\].:{}])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int


def tokens(text: str) -> Iterator[Token]:
    """Every character of `text` belongs to exactly one token, in order."""
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or PUNCT
        if kind == "tag":  # the named group inside a dollar quote
            kind = DOLLAR
        elif kind == "estring":
            kind = STRING
        elif kind == "other":
            kind = PUNCT
        yield Token(kind, m.group(0), m.start())


def significant(text: str) -> list[Token]:
    """Tokens without whitespace and comments."""
    return [t for t in tokens(text) if t.kind not in (WS, COMMENT)]


def first_keyword(text: str) -> str:
    """The first word of the statement, upper-cased ("" when there is none); skips comments and
    opening parentheses, so `(SELECT ...) UNION ...` starts with SELECT."""
    for t in tokens(text):
        if t.kind in (WS, COMMENT) or t.text == "(":
            continue
        return t.text.upper() if t.kind == WORD else ""
    return ""
