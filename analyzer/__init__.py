"""pgqa: a database-side query performance analyzer for PostgreSQL."""

__version__ = "0.1.0"
