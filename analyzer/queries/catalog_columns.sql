-- Columns of the user tables with the planner statistics the advisor weighs (pg_stats: only
-- columns this role may read; NULL until the table was analyzed). For a partitioned table
-- pg_stats has only inherited rows; for the others the non-inherited row wins.
SELECT n.nspname AS schema,
       c.relname AS table_name,
       a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       s.avg_width,
       s.n_distinct::float8 AS n_distinct,
       s.null_frac::float8 AS null_frac,
       s.correlation::float8 AS correlation
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN LATERAL (
    SELECT ps.avg_width, ps.n_distinct, ps.null_frac, ps.correlation
    FROM pg_stats ps
    WHERE ps.schemaname = n.nspname AND ps.tablename = c.relname AND ps.attname = a.attname
    ORDER BY ps.inherited
    LIMIT 1
) s ON true
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
ORDER BY n.nspname, c.relname, a.attnum
