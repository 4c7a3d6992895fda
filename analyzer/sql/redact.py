"""Redaction: every literal replaced by a placeholder, on any text, parseable or not.

pg_stat_activity texts and files carry raw values (names, e-mails, phone numbers). Every renderer
shows statements through `redact` unless --show-literals is given. It is one regular-expression
pass that needs no parse, so a truncated text (`... email = 'bob@exa`) or garbage is redacted as
well: an unterminated string or dollar quote runs to the end of the text. A backslash escapes a
quote even in a plain string (as with standard_conforming_strings off): in the rare text where that
is wrong, more is masked than needed, never less. A last pass catches
values that hide outside literals (e-mail addresses in comments, quoted identifiers, garbage).
"""

from __future__ import annotations

import re

# The leading lookahead rejects in one test every position where no alternative can start (most
# of a statement); without it each alternative and its lookbehinds are tried at every character,
# four times slower.
_LITERAL = re.compile(
    r"""
    (?=[-/eEbBxXnNuU'$"\d.tTfF])(?:
    (?P<comment>--[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z))
  | (?P<string>(?<![\w$])[eE]'(?:[^'\\]|''|\\.)*(?:'|\\?\Z)
      |(?:(?<![\w$])(?:[bBxXnN]|[uU]&))?'(?:[^'\\]|''|\\.)*(?:'|\\?\Z))
  | (?P<dollar>\$\$.*?(?:\$\$|\Z)
      |\$(?P<tag>[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)\$.*?(?:\$(?P=tag)\$|\Z))
  | (?P<qident>(?:[uU]&)?"(?:[^"]|"")*(?:"|\Z))
  | (?P<param>\$\d+)
  | (?P<number>(?<![\w$.])(?:0[xXoObB][0-9A-Fa-f_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?))
  | (?P<boolean>(?<![\w$])(?<!(?i:is)\s)(?<!(?i:not)\s)(?i:true|false)(?![\w$]))
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_PARAM = re.compile(r"\$(\d+)")
_QMARK = re.compile(r"(?:^|[\s(,=<>])\?(?:$|[\s),;])")
_WORDISH = re.compile(r"[\w$]")

# Values that must not survive even outside a literal token.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")
_QUOTED = re.compile(r"'[^']*(?:'|$)")
_LONG_NUMBER = re.compile(r"\d{3,}")


def redact(text: str) -> str:
    """The text with every string, dollar-quoted string, number and boolean constant replaced by a
    numbered placeholder (`$n`, numbered after the text's own placeholders; `?` when the text
    already uses `?` placeholders, as Performance Insights does). Comments are kept with the
    values in them masked."""
    if not text:
        return text
    qmarks = "$" not in text and _QMARK.search(text) is not None
    counter = max((int(n) for n in _PARAM.findall(text)), default=0)

    def replace(m: re.Match[str]) -> str:
        nonlocal counter
        kind = m.lastgroup
        if kind == "comment":
            return _mask_free_text(m.group())
        if kind in ("qident", "param"):
            return m.group()
        if qmarks:
            return "?"
        counter += 1
        after = text[m.end():m.end() + 1]
        return f"${counter} " if after and _WORDISH.match(after) else f"${counter}"

    return _EMAIL.sub("?", _LITERAL.sub(replace, text))


def _mask_free_text(text: str) -> str:
    text = _EMAIL.sub("?", text)
    text = _QUOTED.sub("?", text)
    text = _PHONE.sub("?", text)
    return _LONG_NUMBER.sub("?", text)
