"""Parsing PostgreSQL text as the sources give it: placeholders, statement kind, fingerprint.

Texts come as pg_stat_statements writes them (`$1`, original spacing), as Performance Insights
tokenizes them (`?`), as pg_stat_activity holds them (raw literals, possibly cut) and from files.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from analyzer.sql import lexer
from analyzer.sql.shape import (
    DELETE,
    INSERT,
    MERGE,
    SELECT,
    TRANSACTION,
    UNKNOWN,
    UPDATE,
    UTILITY,
)

DIALECT = "postgres"

# sqlglot logs a warning for every statement it falls back to exp.Command on; we classify those
# ourselves and say so in the report, so the log line is noise on a user's terminal.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_KIND_BY_KEYWORD = {
    "SELECT": SELECT, "WITH": SELECT, "VALUES": SELECT, "TABLE": SELECT,
    "INSERT": INSERT, "UPDATE": UPDATE, "DELETE": DELETE, "MERGE": MERGE,
    "BEGIN": TRANSACTION, "START": TRANSACTION, "COMMIT": TRANSACTION, "END": TRANSACTION,
    "ROLLBACK": TRANSACTION, "ABORT": TRANSACTION, "SAVEPOINT": TRANSACTION, "RELEASE": TRANSACTION,
}

# Words that, placed before a minus sign, make it the sign of a constant rather than a subtraction.
_SIGN_CONTEXT = frozenset({
    "select", "where", "and", "or", "not", "when", "then", "else", "by", "values", "limit", "offset",
    "returning", "in", "between", "on", "set", "is", "from", "any", "all", "having", "case", "as",
})
_TYPED_LITERAL_PREFIX = frozenset({
    "date", "time", "timestamp", "timestamptz", "interval", "inet", "cidr", "json", "jsonb", "uuid",
    "numeric", "text", "bigint", "integer", "int", "boolean",
})
_BOOLEAN_OR_NULL = frozenset({"true", "false", "null"})


def classify(text: str) -> str:
    """Statement kind from the first keyword: queries, transaction control, utility, unknown.

    sqlglot reads many utility statements as exp.Command or misreads them (`SAVEPOINT a` comes
    back as an alias), so the kind never comes from the tree. A WITH may still turn out to be a
    data-modifying statement; extract refines that from the tree."""
    word = lexer.first_keyword(text)
    if not word:
        return UNKNOWN
    if word == "PREPARE" and "TRANSACTION" in text.upper().split()[1:2]:
        return TRANSACTION
    return _KIND_BY_KEYWORD.get(word, UTILITY)


def for_parser(text: str) -> str:
    """The text with a space after every `$n` placeholder (sqlglot reads `$1,$2` as the start of a
    dollar-quoted string and raises TokenError) and without trailing semicolons."""
    out: list[str] = []
    toks = list(lexer.tokens(text))
    for i, t in enumerate(toks):
        out.append(t.text)
        if t.kind == lexer.PARAM and i + 1 < len(toks) and toks[i + 1].kind != lexer.WS:
            out.append(" ")
    return "".join(out).rstrip().rstrip(";").rstrip()


@dataclass
class Parsed:
    tree: exp.Expression | None
    error: str | None = None
    line: int | None = None
    col: int | None = None

    @property
    def position(self) -> str:
        return f"line {self.line}, column {self.col}" if self.line is not None else ""


def parse(text: str) -> Parsed:
    """Parse one statement; never raises. The error keeps the parser's message and position."""
    try:
        trees = [t for t in sqlglot.parse(for_parser(text), read=DIALECT) if t is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        return Parsed(None, _clean(str(first.get("description") or e).splitlines()[0]),
                      first.get("line"), first.get("col"))
    except TokenError as e:
        return Parsed(None, str(e).splitlines()[0] if str(e) else "cannot tokenize the statement")
    except (SqlglotError, RecursionError, ValueError, TypeError, KeyError, AttributeError,
            IndexError) as e:
        # sqlglot raises assorted errors on texts it was never meant to see; the run goes on.
        return Parsed(None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'parser error'}")
    if not trees:
        return Parsed(None, "empty statement")
    if isinstance(trees[0], exp.Command):
        return Parsed(None, f"unsupported syntax after {trees[0].this!s}")
    return Parsed(trees[0])


_TOKEN_REPR = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+"
                         r", comments: \[.*?\]>")


def _clean(message: str) -> str:
    """sqlglot's messages carry token reprs; a user wants the text that was found."""
    return _TOKEN_REPR.sub(lambda m: m.group(1), message)


def normalized_tokens(text: str) -> list[str]:
    """The statement as the tokens a fingerprint hashes: literals and placeholders as `?`, words
    folded to lower case, IN-lists and VALUES rows collapsed to one item, comments dropped."""
    toks = lexer.significant(text)
    out: list[str] = []
    prev: lexer.Token | None = None
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        kind, low = t.kind, t.text.lower()
        if kind == lexer.OP and t.text == "-" and nxt is not None and nxt.kind in (
                lexer.NUMBER, lexer.PARAM, lexer.QMARK) and _is_sign(prev):
            prev = t
            continue  # a negative constant is one constant, as pg_stat_statements folds it
        if kind == lexer.WORD and low in _TYPED_LITERAL_PREFIX and nxt is not None and nxt.kind in (
                lexer.STRING, lexer.PARAM, lexer.QMARK) and not (prev and prev.text == "::"):
            prev = t
            continue  # DATE '2024-01-01' and DATE $1 are the same constant
        if kind in lexer.LITERALS or kind in (lexer.PARAM, lexer.QMARK):
            out.append("?")
        elif kind == lexer.WORD and low in _BOOLEAN_OR_NULL and not (prev and prev.text.lower() in (
                "is", "not")):
            out.append("?")
        elif kind == lexer.WORD:
            out.append(low)
        elif kind == lexer.QIDENT:
            inner = t.text[1:-1] if t.text.endswith('"') and len(t.text) > 1 else t.text[1:]
            out.append(inner if inner and inner == inner.lower() and inner.isidentifier() else t.text)
        else:
            out.append(t.text)
        prev = t
    while out and out[-1] == ";":
        out.pop()
    return _collapse_lists(out)


def _is_sign(prev: lexer.Token | None) -> bool:
    if prev is None:
        return True
    if prev.kind == lexer.OP:
        return True
    if prev.kind == lexer.PUNCT:
        return prev.text not in (")", "]")
    return prev.kind == lexer.WORD and prev.text.lower() in _SIGN_CONTEXT


def _collapse_lists(toks: list[str]) -> list[str]:
    """`( ? , ? , ? )` -> `( ? )`, `[ ? , ? ]` -> `[ ? ]`, then repeated `, ( ? )` rows -> one."""
    out: list[str] = []
    i = 0
    closing = {"(": ")", "[": "]"}
    while i < len(toks):
        t = toks[i]
        if t in closing:
            j = i + 1
            while j < len(toks) and toks[j] in ("?", ","):
                j += 1
            if j < len(toks) and toks[j] == closing[t] and j > i + 1:
                out += [t, "?", closing[t]]
                i = j + 1
                continue
        out.append(t)
        i += 1
    rows: list[str] = []
    for t in out:
        rows.append(t)
        if len(rows) >= 8 and rows[-4:] == [",", "(", "?", ")"] and rows[-8:-4] in (
                [",", "(", "?", ")"], ["values", "(", "?", ")"]):
            del rows[-4:]
    return rows


def fingerprint(text: str) -> str:
    """A stable hash of the normalized statement: the same for the pg_stat_statements (`$1`),
    Performance Insights (`?`) and pg_stat_activity (literal) forms of one statement."""
    norm = " ".join(normalized_tokens(text))
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()[:16]
