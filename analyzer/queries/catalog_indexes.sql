-- Indexes of the user tables. columns: the key columns in order (expressions as their text),
-- include: the INCLUDE columns; scans from pg_stat_user_indexes; valid = usable by the planner
-- (false while CREATE INDEX CONCURRENTLY runs or after it failed).
SELECT n.nspname AS schema,
       t.relname AS table_name,
       ic.relname AS name,
       pg_get_indexdef(i.indexrelid) AS definition,
       (SELECT array_agg(pg_get_indexdef(i.indexrelid, k.ord::int, true) ORDER BY k.ord)
          FROM generate_series(1, i.indnkeyatts) AS k(ord)) AS columns,
       coalesce((SELECT array_agg(pg_get_indexdef(i.indexrelid, k.ord::int, true) ORDER BY k.ord)
                   FROM generate_series(i.indnkeyatts + 1, i.indnatts) AS k(ord)),
                ARRAY[]::text[]) AS include,
       i.indisunique AS is_unique,
       i.indisprimary AS is_primary,
       i.indisvalid AS is_valid,
       i.indpred IS NOT NULL AS is_partial,
       am.amname AS method,
       pg_relation_size(i.indexrelid)::bigint AS size_bytes,
       coalesce(si.idx_scan, 0)::bigint AS scans
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_user_indexes si ON si.indexrelid = i.indexrelid
WHERE t.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
ORDER BY n.nspname, t.relname, ic.relname
