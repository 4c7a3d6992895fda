"""Redaction for every output: literal values in SQL, passwords in DSNs, host names on request.

Renderers never redact by themselves: they call `prepare(report, ...)`, which returns a redacted
copy of the report, so that text, Markdown, JSON and tickets all show the same, safe values.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from analyzer.model import Report
from analyzer.sql import lexer
from analyzer.sql.redact import redact

# Quoted and dollar-quoted strings, for plan text, where numbers (costs, rows) must stay.
_DOLLAR_QUOTED = r"\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$.*?\$(?P=tag)?\$"
_QUOTED = r"(?:\b[EeBbXxNnUu]&?)?'(?:[^'\\]|''|\\.)*'"
# A string literal cut off by a truncated text (pg_stat_activity's track_activity_query_size).
_OPEN_QUOTE_RE = re.compile(r"'[^']*\Z")
_STRING_LITERAL_RE = re.compile(f"{_DOLLAR_QUOTED}|{_QUOTED}", re.S)
PLACEHOLDER = "?"
# A text without any of these has no value to hide (a normalized pg_stat_statements text with
# only $n parameters): redaction can skip it. Comments always go through it.
_MAY_HOLD_VALUE = re.compile(r"['@]|--|/\*|\$[A-Za-z_\x80-\uffff]*\$|(?<![\w$])\d|\b(?:true|false)\b", re.I)

# Secrets in connection strings, messages and commands.
_SECRET_RES = (
    (re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'\"&;,]+)"), r"\1***"),
    (re.compile(r"(?i)(\bpgpassword\s*=\s*)(\S+)"), r"\1***"),
    (re.compile(r"(?i)([?&]password=)([^&\s'\"]+)"), r"\1***"),
    (re.compile(r"(?i)\b(postgres(?:ql)?(?:\+\w+)?://[^:/@\s'\"]*):([^@\s'\"]*)@"), r"\1:***@"),
)
_IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_HOST_IN_TEXT_RES = (
    re.compile(r"(?i)(\bhost\s*=\s*)([^\s'\"]+)"),
    re.compile(r"(?i)(\bhostaddr\s*=\s*)([^\s'\"]+)"),
    re.compile(r"(?i)(postgres(?:ql)?://(?:[^@/\s'\"]*@)?)([^:/?\s'\"]+)"),
    re.compile(r"(?i)(server at \")([^\"]+)"),
)
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}

# Evidence keys whose string values are SQL (or plan text showing SQL expressions).
_SQL_KEY_RE = re.compile(r"(?i)(sql|query|statement|text|ddl|expression|predicate|filter|cond)")
_PLAN_KEY_RE = re.compile(r"(?i)plan")
_LOOKS_LIKE_SQL_RE = re.compile(
    r"(?is)^\s*(select|insert|update|delete|with|merge|values|copy|call|explain|table)\b"
    r"|\b(from|where|set|values)\b.*['$\d]"
)


def redact_sql(text: str | None) -> str | None:
    """Every literal of a statement replaced by a placeholder (the parsing layer's redaction,
    which never fails: it is a lexer pass, so cut or broken texts are covered too)."""
    if not text or not _MAY_HOLD_VALUE.search(text):
        return text
    return redact(text)


def workload_literals(texts: list[str]) -> set[str]:
    """The literal tokens of the workload's own texts: the values that must not reappear."""
    out: set[str] = set()
    for t in texts:
        if _MAY_HOLD_VALUE.search(t):
            out.update(tok.text for tok in lexer.tokens(t) if tok.kind in lexer.LITERALS)
    return out


def redact_suggested(text: str | None, literals: set[str]) -> str | None:
    """SQL that pgqa wrote (a rewrite, a guard, a setting): its own constants (LIMIT 50, '5min')
    stay readable; every literal that comes from the workload's texts, and anything shaped like an
    e-mail address or a phone number, becomes a placeholder."""
    if not text:
        return text
    try:
        from analyzer.sql import lexer
    except ImportError:
        return redact_sql(text)
    toks = list(lexer.tokens(text))
    n = max((int(t.text[1:]) for t in toks if t.kind == lexer.PARAM and t.text[1:].isdigit()), default=0)
    out: list[str] = []
    for i, t in enumerate(toks):
        if t.kind in lexer.LITERALS and (t.text in literals or _PERSONAL_RE.search(t.text)):
            n += 1
            out.append(f"${n}")
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is not None and nxt.kind in (lexer.WORD, lexer.NUMBER, lexer.PARAM):
                out.append(" ")
        elif t.kind == lexer.COMMENT:
            out.append(_PERSONAL_RE.sub(PLACEHOLDER, t.text))
        else:
            out.append(t.text)
    return "".join(out)


_PERSONAL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\+?\d[\d ().-]{6,}\d")


def redact_plan_text(text: str) -> str:
    """Plan text: quoted strings hide values; numbers are costs and row counts, so they stay."""
    return _OPEN_QUOTE_RE.sub(PLACEHOLDER, _STRING_LITERAL_RE.sub(PLACEHOLDER, text))


def mask_secrets(text: str) -> str:
    for rx, repl in _SECRET_RES:
        text = rx.sub(repl, text)
    return text


class HostMasker:
    """Stable pseudonyms within one report: the same address gets the same name everywhere."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def mask(self, value: str | None, kind: str = "host") -> str | None:
        if value is None:
            return None
        v = str(value)
        if v in _LOCAL_HOSTS or v.startswith("/"):  # local socket paths reveal nothing of the network
            return v
        if v in self.names.values():  # already a pseudonym
            return v
        if v not in self.names:
            n = sum(1 for name in self.names.values() if name.startswith(kind)) + 1
            self.names[v] = f"{kind}-{n}"
        return self.names[v]

    def text(self, text: str) -> str:
        """Known names and anything that looks like an address in free text."""
        for real in sorted(self.names, key=len, reverse=True):
            text = text.replace(real, self.names[real])
        for rx in _HOST_IN_TEXT_RES:
            text = rx.sub(lambda m: m.group(1) + (self.mask(m.group(2)) or ""), text)
        return _IPV4_RE.sub(lambda m: self.mask(m.group(0), "addr") or "", text)


def redact_value(key: str, value: Any, sql: bool = False) -> Any:
    """Evidence values: SQL keys get full redaction, plan text its strings, other strings only
    when they look like SQL. Works through nested lists and dicts."""
    if isinstance(value, dict):
        return {k: redact_value(str(k), v, sql or bool(_SQL_KEY_RE.search(str(k)))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v, sql) for v in value]
    if not isinstance(value, str):
        return value
    if sql or _SQL_KEY_RE.search(key):
        return redact_sql(value)
    if _PLAN_KEY_RE.search(key):
        return redact_plan_text(value)
    if _LOOKS_LIKE_SQL_RE.search(value):
        return redact_sql(value)
    return value


def scrub_strings(obj: Any, fn: Callable[[str], str]) -> Any:
    """fn applied to every string (and dict key) in a JSON-like tree."""
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {(fn(k) if isinstance(k, str) else k): scrub_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [scrub_strings(v, fn) for v in obj]
    return obj


def prepare(report: Report, *, show_literals: bool = False, mask_hosts: bool = False) -> Report:
    """A copy of the report safe to show: literals redacted unless show_literals, host names
    masked when mask_hosts. The original is left as it was."""
    # Parsed shapes are read-only here and can be large: share them instead of copying.
    memo: dict[int, Any] = {id(s.shape): s.shape for s in report.statements if s.shape is not None}
    r = copy.deepcopy(report, memo)
    if not show_literals:
        _redact_literals(r)
    if mask_hosts:
        _mask_hosts(r)
    _mask_secrets(r)
    return r


def _mask_secrets(r: Report) -> None:
    """Passwords out of the free text before a renderer wraps or cuts it: a password split over
    two lines, or cut short, would no longer match the patterns that mask the finished output."""
    for s in r.sources:
        s.detail = mask_secrets(s.detail or "")
    for f in r.findings:
        f.message = mask_secrets(f.message)
        f.evidence = scrub_strings(f.evidence, mask_secrets)
    if r.connections is not None and r.connections.error:
        r.connections.error = mask_secrets(r.connections.error)
    r.extra = scrub_strings(r.extra, mask_secrets)


def _raw_sql_texts(r: Report) -> list[str]:
    texts = [s.text for s in r.statements if s.text]
    for f in r.findings:
        texts += _sql_strings(f.evidence)
    if r.connections is not None and r.connections.longest_active:
        texts += _sql_strings(r.connections.longest_active, True)
    for sk in r.skipped:
        texts += _sql_strings(sk)
    return texts


def _sql_strings(value: Any, sql: bool = False, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [
            t
            for k, v in value.items()
            for t in _sql_strings(v, sql or bool(_SQL_KEY_RE.search(str(k))), str(k))
        ]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _sql_strings(v, sql, key)]
    if isinstance(value, str) and (sql or _LOOKS_LIKE_SQL_RE.search(value)):
        return [value]
    return []


def _redact_literals(r: Report) -> None:
    literals = workload_literals(_raw_sql_texts(r))
    for s in r.statements:
        s.text = redact_sql(s.text) or ""
        s.extra = redact_value("extra", s.extra)
    for f in r.findings:
        f.suggested_sql = redact_suggested(f.suggested_sql, literals)
        f.evidence = redact_value("evidence", f.evidence)
        f.title, f.message, f.recommendation = (
            _redact_embedded_sql(t, literals) for t in (f.title, f.message, f.recommendation)
        )
    for sk in r.skipped:
        for k in list(sk):
            sk[k] = redact_value(k, sk[k])
    for note in r.advice_notes:
        for k in list(note):
            note[k] = redact_value(k, note[k])
    for res in r.resolved_findings:
        for k in ("evidence", "suggested_sql", "statement_text"):
            if k in res:
                res[k] = redact_value(k, res[k])
    c = r.connections
    if c is not None and c.longest_active:
        c.longest_active = redact_value("longest_active", c.longest_active)
        for k in ("query", "last_query", "text", "statement"):
            if isinstance(c.longest_active.get(k), str):
                c.longest_active[k] = redact_sql(c.longest_active[k])
    if c is not None:
        c.blocked = [redact_value("blocked", b) for b in c.blocked]
    if r.connections_history:
        r.connections_history = redact_value("connections_history", r.connections_history)


# A statement quoted inside a message: `SELECT ... 'x'` in backticks, or anything after "query:".
_BACKTICK_RE = re.compile(r"`([^`]+)`")


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_INTL_PHONE_RE = re.compile(r"\+\d[\d ().-]{6,}\d")


def _redact_embedded_sql(text: str, literals: set[str]) -> str:
    """Prose (titles, messages, recommendations): statements quoted in it lose their literals,
    quoted values taken from the workload and e-mail addresses or phone numbers go; pgqa's own
    words in quotes ('5min', 'active' when it is not a workload value) stay."""
    if not text:
        return text
    text = _BACKTICK_RE.sub(lambda m: "`" + (redact_value("", m.group(1)) or "") + "`", text)
    if _LOOKS_LIKE_SQL_RE.search(text) and "'" in text:
        text = _STRING_LITERAL_RE.sub(PLACEHOLDER, text)
    else:
        text = _STRING_LITERAL_RE.sub(lambda m: PLACEHOLDER if m.group(0) in literals else m.group(0), text)
    return _INTL_PHONE_RE.sub(PLACEHOLDER, _EMAIL_RE.sub(PLACEHOLDER, text))


def _mask_hosts(r: Report) -> None:
    masker = HostMasker()
    if r.target is not None:
        r.target.host = masker.mask(r.target.host) or ""
    c = r.connections
    if c is not None:
        for g in c.groups:
            g.client_addr = masker.mask(g.client_addr, "client")
        if c.instance:
            c.instance = masker.mask(c.instance, "instance") or ""
        if c.longest_active and c.longest_active.get("client_addr"):
            c.longest_active["client_addr"] = masker.mask(str(c.longest_active["client_addr"]), "client")
    h = r.connections_history
    if h and h.get("instance"):
        h["instance"] = masker.mask(str(h["instance"]), "instance")
    for holder in (h or {}).get("top_holders") or []:
        if isinstance(holder, dict) and holder.get("client_addr"):
            holder["client_addr"] = masker.mask(str(holder["client_addr"]), "client")
    # The same names wherever else they occur: messages, source details, evidence, history.
    for f in r.findings:
        f.title, f.message, f.recommendation = (
            masker.text(t) for t in (f.title, f.message, f.recommendation)
        )
        f.evidence = scrub_strings(f.evidence, masker.text)
        if f.key:
            f.key = masker.text(f.key)
    for s in r.sources:
        s.detail = masker.text(s.detail)
    if c is not None:
        if c.error:
            c.error = masker.text(c.error)
        for g in c.groups:
            if g.client_addr:
                g.client_addr = masker.text(g.client_addr)
    if r.connections_history:
        r.connections_history = scrub_strings(r.connections_history, masker.text)
    r.extra = scrub_strings(r.extra, masker.text)
