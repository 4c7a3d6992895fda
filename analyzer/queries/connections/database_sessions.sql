-- Session counters of pg_stat_database (PG14+), summed over the databases of the server:
-- deltas of sessions_abandoned between snapshots show clients that vanished.
SELECT coalesce(sum(sessions), 0)::bigint AS sessions,
       coalesce(sum(sessions_abandoned), 0)::bigint AS sessions_abandoned,
       coalesce(sum(sessions_fatal), 0)::bigint AS sessions_fatal,
       coalesce(sum(sessions_killed), 0)::bigint AS sessions_killed
FROM pg_stat_database
WHERE datname IS NOT NULL
