"""Split a file of SQL into statements on `;`, respecting quotes, dollar quotes and comments."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.sql import lexer


@dataclass
class Piece:
    text: str
    line: int  # 1-based line of the statement's first significant character


def split_statements(text: str) -> list[Piece]:
    """Statements in order, without their terminating `;`; pieces holding only whitespace and
    comments are dropped. A `;` inside a string, a dollar-quoted body or a comment does not split.
    psql meta-commands (lines starting with a backslash) are not SQL and are dropped."""
    pieces: list[Piece] = []
    buf: list[str] = []
    start: int | None = None
    significant = False

    def flush() -> None:
        nonlocal buf, start, significant
        body = "".join(buf).strip()
        if significant and body:
            pieces.append(Piece(body, text.count("\n", 0, start or 0) + 1))
        buf, start, significant = [], None, False

    for t in lexer.tokens(_drop_meta_commands(text)):
        if t.kind == lexer.PUNCT and t.text == ";":
            flush()
            continue
        if t.kind not in (lexer.WS, lexer.COMMENT) and not significant:
            significant = True
            start = t.start
        buf.append(t.text)
    flush()
    return pieces


def _drop_meta_commands(text: str) -> str:
    # Keep line count (for line numbers) by blanking the line rather than removing it.
    if "\\" not in text:
        return text
    return "\n".join("" if line.lstrip().startswith("\\") else line for line in text.split("\n"))
