-- The generic plan of a statement prepared by pgqa, every parameter NULL.
EXPLAIN (FORMAT JSON) EXECUTE {name}{args}
