-- Top statements of the current database, pg_stat_statements extension 1.11
-- (PostgreSQL 17: blk_*_time split into shared_ and local_, stats_since).
-- Chosen by the INSTALLED extension version (its view's columns follow it, not the server's).
-- {pgss} / {pgss_info}: the extension's view and info view, qualified with its schema.
-- Leaves out pgqa's own statements (they start with the marker comment pgqa puts first) and
-- other databases' entries (counted in other_databases: pgqa can only explain and advise inside
-- the database it is connected to).
-- The totals pgqa reports in the source status ride on every row, and on a single row of NULL
-- statement columns when nothing matched: matched (entries after the filters, before LIMIT),
-- hidden (texts shown as <insufficient privilege> to this role), other_databases, and dealloc,
-- stats_reset from pg_stat_statements_info (1.9+).
-- plan_ms is the total planning time, NULL unless pg_stat_statements.track_planning is on.
WITH s AS MATERIALIZED (
    SELECT * FROM {pgss}
    WHERE query IS NULL OR NOT starts_with(query, %(own_marker)s)
), here AS (
    SELECT * FROM s
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND calls >= %(min_calls)s
), totals AS (
    SELECT (SELECT count(*) FROM here) AS matched,
           (SELECT count(*) FROM here WHERE query = '<insufficient privilege>') AS hidden,
           (SELECT count(*) FROM s
             WHERE dbid <> (SELECT oid FROM pg_database WHERE datname = current_database()))
             AS other_databases,
           (SELECT dealloc FROM {pgss_info}) AS dealloc,
           (SELECT stats_reset FROM {pgss_info}) AS stats_reset
), ranked AS (
    SELECT h.queryid::text AS queryid,
           h.query,
           h.userid::bigint AS userid,
           h.dbid::bigint AS dbid,
           r.rolname AS "user",
           d.datname AS database,
           h.toplevel AS toplevel,
           h.calls,
           h.total_exec_time AS total_ms,
           h.mean_exec_time AS mean_ms,
           h.min_exec_time AS min_ms,
           h.max_exec_time AS max_ms,
           h.stddev_exec_time AS stddev_ms,
           h.rows,
           h.shared_blks_hit,
           h.shared_blks_read,
           h.shared_blks_dirtied,
           h.shared_blks_written,
           h.temp_blks_read,
           h.temp_blks_written,
           h.shared_blk_read_time + h.local_blk_read_time AS blk_read_ms,
           h.shared_blk_write_time + h.local_blk_write_time AS blk_write_ms,
           h.wal_records,
           h.wal_bytes::bigint AS wal_bytes,
           h.plans,
           CASE WHEN h.plans > 0 THEN h.total_plan_time END AS plan_ms,
           h.jit_generation_time + h.jit_inlining_time + h.jit_optimization_time + h.jit_emission_time
             + h.jit_deform_time AS jit_ms,
           h.stats_since AS stats_since
    FROM here h
    LEFT JOIN pg_roles r ON r.oid = h.userid
    LEFT JOIN pg_database d ON d.oid = h.dbid
    ORDER BY h.total_exec_time DESC, h.calls DESC
    LIMIT %(top)s
)
SELECT ranked.*, totals.*
FROM totals LEFT JOIN ranked ON true
ORDER BY ranked.total_ms DESC NULLS LAST, ranked.calls DESC
