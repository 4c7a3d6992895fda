-- Cumulative pg_stat_statements counters for the snapshot store (extension 1.8, PG13: no toplevel).
-- {pgss}: the extension's view, qualified with the schema it was installed in.
SELECT s.userid::bigint AS userid, s.dbid::bigint AS dbid, s.queryid, true AS toplevel,
       r.rolname AS usename, d.datname,
       s.calls, s.total_exec_time, s.total_plan_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read, s.temp_blks_read, s.temp_blks_written,
       s.wal_bytes::bigint AS wal_bytes, NULL::timestamptz AS stats_since, s.query
FROM {pgss} s
LEFT JOIN pg_roles r ON r.oid = s.userid
LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE s.queryid IS NOT NULL
  -- pgqa's own statements (marked) are never part of the workload
  AND (s.query IS NULL OR NOT starts_with(s.query, %(own_marker)s))
