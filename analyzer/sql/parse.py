"""Parsing PostgreSQL text as the sources give it: placeholders, statement kind, fingerprint.

Texts come as pg_stat_statements writes them (`$1`, original spacing), as Performance Insights
tokenizes them (`?`), as pg_stat_activity holds them (raw literals, possibly cut) and from files.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
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
# One dialect object for every parse and generate: looking it up by name costs more than a small
# statement's walk. Dialects hold settings only, no per-call state.
PG = Dialect.get_or_raise(DIALECT)

# sqlglot logs a warning for every statement it falls back to exp.Command on; we classify those
# ourselves and say so in the report, so the log line is noise on a user's terminal.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_KIND_BY_KEYWORD = {
    "SELECT": SELECT, "WITH": SELECT, "VALUES": SELECT, "TABLE": SELECT,
    "INSERT": INSERT, "UPDATE": UPDATE, "DELETE": DELETE, "MERGE": MERGE,
    "BEGIN": TRANSACTION, "START": TRANSACTION, "COMMIT": TRANSACTION, "END": TRANSACTION,
    "ROLLBACK": TRANSACTION, "ABORT": TRANSACTION, "SAVEPOINT": TRANSACTION, "RELEASE": TRANSACTION,
}
# The first words of PostgreSQL's other SQL commands. A statement starting with anything else
# ("SELEC ...") is not a utility statement but an unrecognised one, reported as such.
_UTILITY_KEYWORDS = frozenset(
    "ALTER ANALYZE ANALYSE CALL CHECKPOINT CLOSE CLUSTER COMMENT COPY CREATE DEALLOCATE DECLARE "
    "DISCARD DO DROP EXECUTE EXPLAIN FETCH GRANT IMPORT LISTEN LOAD LOCK MOVE NOTIFY PREPARE "
    "REASSIGN REFRESH REINDEX RESET REVOKE SECURITY SET SHOW TRUNCATE UNLISTEN VACUUM".split()
)



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
    kind = _KIND_BY_KEYWORD.get(word)
    if kind:
        return kind
    return UTILITY if word in _UTILITY_KEYWORDS else UNKNOWN


def for_parser(text: str) -> str:
    """The text with a space after every `$n` placeholder (sqlglot reads `$1,$2` as the start of a
    dollar-quoted string and raises TokenError) and without trailing semicolons."""
    if not _PARAM_TOUCHING.search(text):
        return text.rstrip().rstrip(";").rstrip()
    if "'" not in text and "$$" not in text and '"' not in text:  # no literal the regex could touch
        return _PARAM_TOUCHING_SUB.sub(r"\1 ", text).rstrip().rstrip(";").rstrip()
    out: list[str] = []
    toks = lexer.tokens(text)
    for i, t in enumerate(toks):
        out.append(t.text)
        if t.kind == lexer.PARAM and i + 1 < len(toks) and toks[i + 1].kind != lexer.WS:
            out.append(" ")
    return "".join(out).rstrip().rstrip(";").rstrip()


_PARAM_TOUCHING = re.compile(r"\$\d+[^\s\d]")
_PARAM_TOUCHING_SUB = re.compile(r"(\$\d+)(?=[^\s\d])")


@dataclass
class Parsed:
    tree: exp.Expression | None
    error: str | None = None
    line: int | None = None
    col: int | None = None

    @property
    def position(self) -> str:
        return f"line {self.line}, column {self.col}" if self.line is not None else ""


class Reader:
    """One tokenizer and one parser for a run of statements. Building them costs about a seventh
    of parsing a small statement, so a loop over thousands of texts keeps one (each call resets
    them); not to be shared between threads."""

    def __init__(self) -> None:
        self._tokenizer = PG.tokenizer()
        self._parser = PG.parser()

    def parse(self, sql: str) -> list[exp.Expression | None]:
        return self._parser.parse(self._tokenizer.tokenize(sql), sql)


def parse(text: str, reader: Reader | None = None) -> Parsed:
    """Parse one statement; never raises. The error keeps the parser's message and position."""
    try:
        prepared = for_parser(text)
        trees = [t for t in (reader.parse(prepared) if reader is not None else PG.parse(prepared))
                 if t is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        # the description only: str(e) quotes the statement around the error, literals and all
        description = str(first.get("description") or "syntax error").splitlines()[0]
        return Parsed(None, _clean(description), first.get("line"), first.get("col"))
    except TokenError:
        # sqlglot's message quotes the statement, literals and all: say what, not the text
        return Parsed(None, "cannot tokenize the statement (an unterminated string, quoted name or "
                            "dollar quote?)")
    except (SqlglotError, RecursionError, ValueError, TypeError, KeyError, AttributeError,
            IndexError) as e:
        # sqlglot raises assorted errors on texts it was never meant to see; the run goes on.
        return Parsed(None, f"the parser failed ({type(e).__name__})")
    if not trees:
        return Parsed(None, "empty statement")
    if isinstance(trees[0], exp.Command):
        return Parsed(None, f"unsupported syntax after {trees[0].this!s}")
    return Parsed(trees[0])


_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+, start: "
                          r"\d+, "
                         r"end: \d+, comments: \[.*?\]>")
_LITERAL_TOKENS = ("STRING", "NUMBER", "NATIONAL", "BIT", "HEX", "BYTE", "RAW", "HEREDOC", "UNICODE")


def _clean(message: str) -> str:
    """sqlglot's messages carry token reprs; a user wants the text that was found, but never a
    literal's value (parse errors are shown unredacted in every report)."""
    def token(m: re.Match[str]) -> str:
        kind, text = m.group(1), m.group(2)
        return "a literal" if any(k in kind for k in _LITERAL_TOKENS) else redact_free(text)

    return _TOKEN_REPR.sub(token, message)


def redact_free(text: str) -> str:
    from analyzer.sql.redact import redact

    return redact(text)


# One pass over the text finds what a fingerprint folds; words are left to str.lower().
# The leading lookahead rejects in one test every position where no alternative can start (most
# of a statement); without it each alternative and its lookbehinds are tried at every character,
# four times slower.
_FOLD = re.compile(
    r"""
    (?=[-/eEbBxXnNuU'$"?\d.])(?:
    (?P<comment>--[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z))
  | (?P<string>(?<![\w$])[eE]'(?:[^'\\]|''|\\.)*(?:'|\\?\Z)
      |(?:(?<![\w$])(?:[bBxXnN]|[uU]&))?'(?:[^']|'')*(?:'|\Z))
  | (?P<dollar>\$\$.*?(?:\$\$|\Z)
      |\$(?P<tag>[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)\$.*?(?:\$(?P=tag)\$|\Z))
  | (?P<qident>(?:[uU]&)?"(?:[^"]|"")*(?:"|\Z))
  | (?P<param>\$\d+|\?(?![|&-]))
  | (?P<number>(?<![\w$.])(?:0[xXoObB][0-9A-Fa-f_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?))
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_PLAIN_QIDENT = re.compile(r'"([a-z_][a-z0-9_$]*)"')
_BOOL_NULL = re.compile(r"(?=[tfn])(?<!\bis )(?<!\bnot )\b(?:true|false|null)\b")  # lookahead: see _FOLD
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" (?=[^\w\s$\x00])")
_SPACE_AFTER_PUNCT = re.compile(r"(?<=[^\w\s$\x00]) ")
_SIGN = re.compile(r"(^|[=<>(,+*/%\[]|\b(?:select|where|and|or|not|when|then|else|by|values|limit|offset"
                   r"|returning|in|between|on|set|is|from|any|all|having|case|as))-\?")
_LIST = re.compile(r"([(\[])\?(?:,\?)+([)\]])")
_ROWS = re.compile(r"(\(\?\))(?:,\(\?\))+")


def normalized(text: str) -> str:
    """The statement as a fingerprint hashes it: literals and placeholders as `?`, comments
    dropped, words folded to lower case (quoted identifiers kept as written unless plain lower
    case), whitespace only where two words meet, IN-lists and VALUES rows collapsed to one item,
    negative constants folded into the constant as pg_stat_statements does."""
    kept: list[str] = []

    def fold(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if kind == "comment":
            return " "
        if kind == "qident":
            plain = _PLAIN_QIDENT.fullmatch(m.group())
            if plain:
                return plain.group(1)
            kept.append(m.group())
            return f" \x00{len(kept) - 1}\x00 "
        return " ? "

    out = _FOLD.sub(fold, text).lower()
    out = _SPACES.sub(" ", out).strip()
    if "true" in out or "false" in out or "null" in out:
        out = _BOOL_NULL.sub("?", out)
    out = _SPACE_AFTER_PUNCT.sub("", _SPACE_BEFORE_PUNCT.sub("", out))
    if "-?" in out:
        out = _SIGN.sub(r"\1?", out)
    if "?,?" in out:
        out = _LIST.sub(r"\1?\2", out)
    if "),(" in out:
        out = _ROWS.sub(r"\1", out)
    out = out.rstrip(";").rstrip()
    if kept:
        out = re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], out)
    return out


def fingerprint(text: str) -> str:
    """A stable hash of the normalized statement: the same for the pg_stat_statements (`$1`),
    Performance Insights (`?`) and pg_stat_activity (literal) forms of one statement."""
    norm = normalized(text)
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()[:16]
