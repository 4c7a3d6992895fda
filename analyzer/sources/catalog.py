"""The analyzed database's tables, columns (with planner statistics) and indexes.

Three questions (queries/catalog_tables.sql, catalog_columns.sql, catalog_indexes.sql) plus the
session's search_path, joined here into one `Catalog` keyed by schema.table.
"""

from __future__ import annotations

from typing import Any

from analyzer.model import Catalog, Column, Index, Table
from analyzer.target import Target


def _table(row: dict[str, Any]) -> Table:
    return Table(
        schema=row["schema"], name=row["name"], size_bytes=int(row["size_bytes"] or 0),
        live_rows=int(row["live_rows"] or 0), seq_scan=int(row["seq_scan"]), idx_scan=int(row["idx_scan"]),
        n_tup_ins=int(row["n_tup_ins"]), n_tup_upd=int(row["n_tup_upd"]), n_tup_del=int(row["n_tup_del"]),
        primary_key=list(row["primary_key"] or []),
    )


def _column(row: dict[str, Any]) -> Column:
    return Column(
        name=row["name"], type=row["type"], not_null=bool(row["not_null"]),
        avg_width=None if row["avg_width"] is None else int(row["avg_width"]),
        n_distinct=row["n_distinct"], null_frac=row["null_frac"], correlation=row["correlation"],
    )


def _index(row: dict[str, Any], table: str) -> Index:
    return Index(
        name=row["name"], table=table, definition=row["definition"],
        columns=list(row["columns"] or []), include=list(row["include"] or []),
        unique=bool(row["is_unique"]), primary=bool(row["is_primary"]), valid=bool(row["is_valid"]),
        partial=bool(row["is_partial"]), method=row["method"], size_bytes=int(row["size_bytes"] or 0),
        scans=int(row["scans"]),
    )


def collect(target: Target) -> Catalog:
    """User tables with their columns and indexes; pg_catalog and information_schema left out."""
    catalog = Catalog()
    for row in target.query("catalog_tables"):
        table = _table(row)
        catalog.tables[table.qualified] = table
    for row in target.query("catalog_columns"):
        table = catalog.tables.get(f"{row['schema']}.{row['table_name']}")
        if table is not None:
            table.columns.append(_column(row))
    for row in target.query("catalog_indexes"):
        key = f"{row['schema']}.{row['table_name']}"
        table = catalog.tables.get(key)
        if table is not None:
            table.indexes.append(_index(row, key))
    rows = target.query("catalog_search_path")
    if rows and rows[0]["schemas"]:
        catalog.search_path = list(rows[0]["schemas"])
    return catalog


def summary(catalog: Catalog) -> str:
    """The source status line: how much of the catalog was read."""
    indexes = sum(len(t.indexes) for t in catalog.tables.values())
    return f"{len(catalog.tables)} tables, {indexes} indexes"
