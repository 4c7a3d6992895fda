-- Every client backend (only those use connection slots), with the ages pgqa groups by.
-- Query text only for active sessions; it holds raw literals and is redacted before storing.
SELECT a.pid,
       a.datname,
       a.usename,
       a.application_name,
       host(a.client_addr) AS client_addr,
       a.state,
       a.wait_event_type,
       a.wait_event,
       a.backend_start,
       extract(epoch FROM now() - a.state_change)::float8 AS state_age_s,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - a.query_start)::float8 AS query_age_s,
       pg_blocking_pids(a.pid) AS blocked_by,
       CASE WHEN a.state = 'active' THEN a.query END AS query,
       a.pid = pg_backend_pid() AS is_self,
       a.backend_type IS NULL AS hidden
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend'
   -- Another role's session, seen without pg_read_all_stats: backend_type, state and times are
   -- hidden. One with a database and a role is taken for a client backend (it holds a slot).
   OR (a.backend_type IS NULL AND a.datname IS NOT NULL AND a.usename IS NOT NULL)
ORDER BY a.pid
