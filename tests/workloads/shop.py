"""A second workload for the index advisor, unlike the demo: an e-commerce shop with devices
sending events. The best index set is known by hand (HAND_INDEXES): what a DBA would build for
these statements, weighted by their share of the time.

Used by tests/test_advisor_shop.py and bench/advisor.py. Deterministic data (arithmetic on
generate_series), so plans and costs repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

SCHEMA = """
CREATE TABLE customers (
    id bigint PRIMARY KEY, email text NOT NULL, country text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE products (
    id integer PRIMARY KEY, sku text NOT NULL, category_id integer NOT NULL, price numeric NOT NULL,
    name text NOT NULL);
CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL, total numeric NOT NULL, note text);
CREATE TABLE order_items (
    id bigint PRIMARY KEY, order_id bigint NOT NULL, product_id integer NOT NULL, qty integer NOT NULL,
    price numeric NOT NULL);
CREATE TABLE device_events (
    id bigint PRIMARY KEY, device_id integer NOT NULL, kind text NOT NULL, at timestamptz NOT NULL,
    value double precision NOT NULL);
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
"""

DATA = """
INSERT INTO countries SELECT 'C' || i, 'Country ' || i FROM generate_series(1, 40) i;
INSERT INTO customers SELECT i,
    CASE WHEN i % 7 = 0 THEN 'User' || i || '@Mail.COM' ELSE 'user' || i || '@mail.com' END,
    'C' || (1 + i % 40), timestamptz '2022-01-01' + (i % 1000) * interval '1 day'
  FROM generate_series(1::bigint, {customers}) i;
INSERT INTO products SELECT i, 'SKU-' || i, 1 + i % 50, 1 + (i % 300), 'Product ' || i
  FROM generate_series(1, 3000) i;
INSERT INTO orders SELECT i, 1 + (i * 7919) % {customers},
    (ARRAY['paid', 'paid', 'paid', 'shipped', 'shipped', 'shipped', 'delivered', 'delivered',
           'pending', 'cancelled'])[1 + i % 10],
    timestamptz '2023-01-01' + ((i * 104729) % 700000) * interval '1 minute', (i % 500) + 0.99, NULL
  FROM generate_series(1::bigint, {orders}) i;
INSERT INTO order_items SELECT i, 1 + (i * 15485863) % {orders}, 1 + i % 3000, 1 + i % 4, 1 + i % 300
  FROM generate_series(1::bigint, {items}) i;
INSERT INTO device_events SELECT i, 1 + (i * 31) % 2000, (ARRAY['temp','hum','volt'])[1 + i % 3],
    timestamptz '2024-01-01' + (i * 3) * interval '1 second', (i % 1000) / 10.0
  FROM generate_series(1::bigint, {events}) i;
ANALYZE;
"""

SCALE = {"customers": 40_000, "orders": 200_000, "items": 400_000, "events": 300_000}


@dataclass(frozen=True)
class WorkloadStatement:
    text: str  # normalized, as pg_stat_statements shows it
    calls: int
    mean_ms: float  # observed without indexes (what pg_stat_statements would say)
    literal: str  # one execution with real values (for pg_qualstats and for timing)


STATEMENTS: list[WorkloadStatement] = [
    WorkloadStatement(
        "SELECT id, status, total, created_at FROM orders WHERE customer_id = $1 "
        "ORDER BY created_at DESC LIMIT $2", 5000, 12.0,
        "SELECT id, status, total, created_at FROM orders WHERE customer_id = 1234 "
        "ORDER BY created_at DESC LIMIT 20"),
    WorkloadStatement(
        "SELECT oi.product_id, oi.qty, oi.price FROM order_items oi WHERE oi.order_id = $1", 8000, 25.0,
        "SELECT oi.product_id, oi.qty, oi.price FROM order_items oi WHERE oi.order_id = 4321"),
    WorkloadStatement(
        "SELECT id, total FROM orders WHERE status = $1 AND created_at >= $2 AND created_at < $3",
        600, 20.0,
        "SELECT id, total FROM orders WHERE status = 'pending' AND created_at >= '2023-03-01' "
        "AND created_at < '2023-03-02'"),
    WorkloadStatement(
        "SELECT id, country FROM customers WHERE lower(email) = $1", 2000, 9.0,
        "SELECT id, country FROM customers WHERE lower(email) = 'user77@mail.com'"),
    WorkloadStatement(
        "SELECT count(*), avg(value) FROM device_events WHERE device_id = $1 AND at >= $2", 1500, 18.0,
        "SELECT count(*), avg(value) FROM device_events WHERE device_id = 77 "
        "AND at >= '2024-01-05'"),
    WorkloadStatement(
        "SELECT name, price FROM products WHERE id = $1", 20000, 0.05,
        "SELECT name, price FROM products WHERE id = 42"),
    WorkloadStatement(
        "UPDATE orders SET status = $1 WHERE id = $2", 3000, 0.08,
        "UPDATE orders SET status = 'shipped' WHERE id = 99"),
    WorkloadStatement(
        "SELECT code FROM countries WHERE name = $1", 4000, 0.03,
        "SELECT code FROM countries WHERE name = 'Country 3'"),
    WorkloadStatement(
        "SELECT c.id, c.email, o.id, o.total FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE c.country = $1 AND o.created_at >= $2", 50, 60.0,
        "SELECT c.id, c.email, o.id, o.total FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE c.country = 'C9' AND o.created_at >= '2024-04-01'"),
]

# What a DBA builds for these, by hand. (orders.customer_id, created_at DESC) also serves the join.
HAND_INDEXES: list[str] = [
    "CREATE INDEX ON orders (customer_id, created_at DESC)",
    "CREATE INDEX ON order_items (order_id)",
    "CREATE INDEX ON orders (status, created_at)",
    "CREATE INDEX ON customers (lower(email))",
    "CREATE INDEX ON device_events (device_id, at)",
]


def load(dsn: str, scale: dict[str, int] | None = None) -> None:
    """Create and fill the shop schema in the (empty) database at dsn."""
    sizes = {**SCALE, **(scale or {})}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(DATA.format(**sizes))
