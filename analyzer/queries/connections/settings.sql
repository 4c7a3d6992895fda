-- Connection limits and the server-side guards against idle hoarding, as pgqa's role sees them.
-- One row per setting that exists on this server (reserved_connections is PG16+,
-- idle_session_timeout PG14+, rds.* only on RDS). `source` tells whether pgqa's own session
-- sets the value: 'session' (a SET: reset_val is the value other sessions get) or 'client' (a
-- startup option: the server's value is not visible from this session).
SELECT name, setting, unit, source, reset_val, current_setting(name) AS shown
FROM pg_settings
WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections',
               'rds.rds_superuser_reserved_connections', 'idle_session_timeout',
               'idle_in_transaction_session_timeout', 'statement_timeout')
ORDER BY name
