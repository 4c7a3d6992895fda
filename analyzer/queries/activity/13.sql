-- One pg_stat_activity snapshot: every backend, raw (the connections checks classify them).
-- Server 13+. Columns, one row per backend, ordered by pid:
--   pid, leader_pid (parallel workers), backend_type ('client backend' uses a connection slot;
--   'autovacuum worker', 'walsender', 'background worker'... do not), datname, usename,
--   application_name, client_addr (text, NULL for Unix sockets), client_hostname, client_port,
--   backend_start, xact_start, query_start, state_change (timestamptz), state ('active', 'idle',
--   'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call', 'disabled',
--   NULL for non-client backends), wait_event_type, wait_event,
--   blocking_pids (int[] from pg_blocking_pids, empty when not waiting on a lock),
--   backend_xid, backend_xmin (text),
--   query (raw literals, cut at track_activity_query_size - 1 bytes; '<insufficient privilege>'
--   for other roles' sessions without pg_read_all_stats), query_id (always NULL before PostgreSQL 14),
--   is_self (pgqa's own session), taken_at (the server's now(), same on every row),
--   backend_age_s, xact_age_s, query_age_s, state_age_s (seconds, float, from taken_at; NULL when
--   the timestamp is NULL).
SELECT a.pid,
       a.leader_pid,
       a.backend_type,
       a.datname,
       a.usename,
       a.application_name,
       host(a.client_addr) AS client_addr,
       a.client_hostname,
       a.client_port,
       a.backend_start,
       a.xact_start,
       a.query_start,
       a.state_change,
       a.state,
       a.wait_event_type,
       a.wait_event,
       pg_blocking_pids(a.pid) AS blocking_pids,
       a.backend_xid::text AS backend_xid,
       a.backend_xmin::text AS backend_xmin,
       a.query,
       NULL::text AS query_id,
       a.pid = pg_backend_pid() AS is_self,
       now() AS taken_at,
       extract(epoch FROM now() - a.backend_start)::float8 AS backend_age_s,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_s,
       extract(epoch FROM now() - a.query_start)::float8 AS query_age_s,
       extract(epoch FROM now() - a.state_change)::float8 AS state_age_s
FROM pg_stat_activity a
ORDER BY a.pid
