-- User tables (plain, partitioned, materialized views) with size and activity counters.
-- Skips pg_catalog, information_schema, pg_toast and temporary schemas.
-- live_rows: n_live_tup, or the planner's reltuples when the statistics have no count yet.
-- primary_key: the key columns of the primary key, in order.
SELECT n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS kind,
       pg_table_size(c.oid)::bigint AS size_bytes,
       CASE WHEN coalesce(st.n_live_tup, 0) > 0 THEN st.n_live_tup
            ELSE greatest(c.reltuples, 0)::bigint END AS live_rows,
       coalesce(st.seq_scan, 0)::bigint AS seq_scan,
       coalesce(st.idx_scan, 0)::bigint AS idx_scan,
       coalesce(st.n_tup_ins, 0)::bigint AS n_tup_ins,
       coalesce(st.n_tup_upd, 0)::bigint AS n_tup_upd,
       coalesce(st.n_tup_del, 0)::bigint AS n_tup_del,
       coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
                   FROM pg_index i
                   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                  WHERE i.indrelid = c.oid AND i.indisprimary AND k.ord <= i.indnkeyatts),
                ARRAY[]::text[]) AS primary_key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
ORDER BY n.nspname, c.relname
