"""QueryShape: what a statement reads, filters, joins, orders and returns, per SELECT scope.

The rules and the index advisor read these; nobody else walks sqlglot trees. The dataclasses here
are the contract between the parsing layer and its readers: fields may be added, none renamed.
Extraction from a sqlglot tree lives in analyzer/sql/extract.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Statement kinds
SELECT, INSERT, UPDATE, DELETE, MERGE = "select", "insert", "update", "delete", "merge"
UTILITY, TRANSACTION, UNKNOWN = "utility", "transaction", "unknown"
QUERY_KINDS = (SELECT, INSERT, UPDATE, DELETE, MERGE)

# Predicate operator classes
EQ, RANGE, IN, LIKE_PREFIX, LIKE_INFIX = "eq", "range", "in", "like_prefix", "like_infix"
IS_NULL, IS_NOT_NULL, NEQ, OTHER = "is_null", "is_not_null", "neq", "other"


@dataclass
class TableRef:
    name: str  # as written, e.g. "candidates" or "public.candidates"
    alias: str | None = None
    qualified: str | None = None  # schema.table resolved with the catalog, when known

    @property
    def key(self) -> str:
        """The best name we have: resolved when the catalog knew it, else as written."""
        return self.qualified or self.name


@dataclass
class ColumnRef:
    column: str
    table: str | None = None  # the TableRef.key of the table the column belongs to, when known


@dataclass
class Predicate:
    column: ColumnRef
    op: str  # one of EQ, RANGE, IN, LIKE_PREFIX, LIKE_INFIX, IS_NULL, IS_NOT_NULL, NEQ, OTHER
    expression: str | None = None  # set when the column is wrapped: "lower(email)", "created_at::date"
    constant: bool = False  # compared with a literal (not a $n parameter): partial-index material
    value_sql: str | None = None  # the literal as SQL when constant ("'active'", "NULL")
    in_join: bool = False  # from a JOIN ... ON condition rather than WHERE
    in_or: bool = False  # one side of an OR: an index on it alone does not narrow the scan
    case_insensitive: bool = False  # ILIKE: a btree on the plain column cannot serve it
    subquery: bool = False  # compared with a subquery: IN (SELECT ...), NOT IN (SELECT ...)


@dataclass
class JoinRef:
    kind: str  # inner | left | right | full | cross | comma | lateral
    table: TableRef
    on: list[tuple[ColumnRef, ColumnRef]] = field(default_factory=list)  # equality pairs of the ON


@dataclass
class OrderItem:
    expression: str  # SQL of the sort key
    column: ColumnRef | None = None  # when the key is a plain column
    descending: bool = False
    nulls_first: bool | None = None  # None: the default for the direction (ASC last, DESC first)


@dataclass
class Scope:
    """One SELECT: the root, a CTE, a subquery, a derived table or one branch of a set operation."""

    kind: str = "root"  # root | cte | subquery | derived | union_branch
    name: str | None = None  # CTE name or derived-table alias
    tables: list[TableRef] = field(default_factory=list)  # base tables (not CTE references)
    joins: list[JoinRef] = field(default_factory=list)
    predicates: list[Predicate] = field(default_factory=list)
    order_by: list[OrderItem] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)  # function names: count, sum, ...
    select_columns: list[ColumnRef] = field(default_factory=list)
    stars: list[str] = field(default_factory=list)  # "*" or an alias for alias.*
    limit: str | None = None  # SQL of LIMIT / FETCH FIRST, None when absent
    offset: str | None = None
    distinct: bool = False
    reads_whole: bool = False  # a CTE / subquery read whole by an unlimited outer query


@dataclass
class QueryShape:
    kind: str  # SELECT, INSERT, ... UTILITY, TRANSACTION, UNKNOWN
    scopes: list[Scope] = field(default_factory=list)  # scopes[0] is the outermost SELECT, if any
    set_operations: list[str] = field(default_factory=list)  # "union all", "union", "intersect"...
    target_table: TableRef | None = None  # INSERT / UPDATE / DELETE / MERGE target
    on_conflict: str | None = None  # None | "nothing" | "update"
    conflict_columns: list[str] = field(default_factory=list)
    update_columns: list[str] = field(default_factory=list)  # SET list of UPDATE / DO UPDATE
    has_conflict_where: bool = False  # DO UPDATE ... WHERE guard present
    truncated: bool = False
    parse_error: str | None = None
    error_line: int | None = None  # where the parser stopped, when it says
    error_column: int | None = None
    first_keyword: str = ""

    @property
    def root(self) -> Scope | None:
        return self.scopes[0] if self.scopes else None

    @property
    def is_query(self) -> bool:
        return self.kind in QUERY_KINDS and self.parse_error is None
