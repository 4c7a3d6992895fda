"""A small PostgreSQL lexer that never fails: the base of fingerprints, redaction and splitting.

sqlglot's tokenizer raises on texts we must still handle (`$1,$2`, truncated literals, garbage), so
everything that must work on any text (a fingerprint, redaction so nothing leaks, splitting a file
on `;`) uses this one regular expression instead. Unterminated strings, dollar quotes and comments
run to the end of the text, which is what a truncated statement needs.
"""

from __future__ import annotations

import re
from typing import NamedTuple

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


class Token(NamedTuple):
    kind: str
    text: str
    start: int


# regex group name -> token kind (the dollar quote's tag group never ends a match)
_KIND = {"estring": STRING, "other": PUNCT, "tag": DOLLAR}


def tokens(text: str) -> list[Token]:
    """Every character of `text` belongs to exactly one token, in order."""
    kind = _KIND.get
    return [Token(kind(m.lastgroup, m.lastgroup), m.group(), m.start())  # type: ignore[arg-type]
            for m in _TOKEN.finditer(text)]


def significant(text: str) -> list[Token]:
    """Tokens without whitespace and comments."""
    return [t for t in tokens(text) if t.kind != WS and t.kind != COMMENT]


_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/|\()*([A-Za-z_]\w*)?")


def first_keyword(text: str) -> str:
    """The first word of the statement, upper-cased ("" when there is none); skips comments and
    opening parentheses, so `(SELECT ...) UNION ...` starts with SELECT."""
    m = _FIRST_WORD.match(text)
    return m.group(1).upper() if m and m.group(1) else ""
