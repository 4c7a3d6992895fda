-- Connection limits, reserved slots, server-side guards and pg_stat_statements limits.
-- One row per setting this server has (reserved_connections is PG16+, idle_session_timeout PG14+,
-- transaction_timeout PG17+, rds.* only on RDS, pg_stat_statements.* only when it is loaded).
-- setting is pg_settings.setting: timeouts in milliseconds (0 = off), track_activity_query_size
-- in bytes. source 'session' or 'client' means pgqa's own session set it; the collector then
-- reports the server's value read before that (Target.server_settings).
SELECT name, setting, unit, source
FROM pg_settings
WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections',
               'rds.rds_superuser_reserved_connections', 'idle_session_timeout',
               'idle_in_transaction_session_timeout', 'statement_timeout', 'transaction_timeout',
               'lock_timeout', 'track_activity_query_size', 'pg_stat_statements.max',
               'pg_stat_statements.track', 'pg_stat_statements.track_utility',
               'pg_stat_statements.track_planning')
ORDER BY name
