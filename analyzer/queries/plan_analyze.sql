-- Executed plan (only for SELECT, only when asked, inside a transaction that is rolled back).
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}
