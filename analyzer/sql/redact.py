"""Redaction: every literal replaced by a placeholder, on any text, parseable or not.

pg_stat_activity texts and files carry raw values (names, e-mails, phone numbers). Every renderer
shows statements through `redact` unless --show-literals is given. It works on the never-failing
lexer, so a truncated text (`... email = 'bob@exa`) or garbage is redacted as well; a last regular
expression pass catches values that hide outside literals (in comments, in garbage).
"""

from __future__ import annotations

import re

from analyzer.sql import lexer

# Values that must not survive even outside a literal token.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")
_QUOTED = re.compile(r"'[^']*(?:'|$)")
_LONG_NUMBER = re.compile(r"\d{3,}")

_BOOL_WORDS = frozenset({"true", "false"})


def redact(text: str) -> str:
    """The text with every string, dollar-quoted string, number and boolean constant replaced by a
    numbered placeholder (`$n`, numbered after the text's own placeholders; `?` when the text
    already uses `?` placeholders). Comments are kept with the values in them masked."""
    toks = list(lexer.tokens(text))
    own = [int(t.text[1:]) for t in toks if t.kind == lexer.PARAM and t.text[1:].isdigit()]
    qmarks = any(t.kind == lexer.QMARK for t in toks)
    counter = max(own, default=0)
    out: list[str] = []
    prev_word = ""
    for i, t in enumerate(toks):
        if t.kind in lexer.LITERALS or (t.kind == lexer.WORD and t.text.lower() in _BOOL_WORDS
                                        and prev_word not in ("is", "not")):
            if qmarks:
                out.append("?")
            else:
                counter += 1
                out.append(f"${counter}")
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if not qmarks and nxt is not None and nxt.kind in (lexer.WORD, lexer.NUMBER, lexer.PARAM):
                out.append(" ")  # `$1x` would read back as another token
        elif t.kind == lexer.COMMENT:
            out.append(_mask_free_text(t.text))
        else:
            out.append(t.text)
        if t.kind == lexer.WORD:
            prev_word = t.text.lower()
        elif t.kind not in (lexer.WS, lexer.COMMENT):
            prev_word = ""
    return _mask_free_text("".join(out), keep_placeholders=True)


def _mask_free_text(text: str, *, keep_placeholders: bool = False) -> str:
    text = _EMAIL.sub("?", text)
    if keep_placeholders:
        return text
    text = _QUOTED.sub("?", text)
    text = _PHONE.sub("?", text)
    return _LONG_NUMBER.sub("?", text)
