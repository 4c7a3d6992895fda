-- Who and where we are, what the role may read, and the server's own values of the settings
-- pgqa is about to override in its session (read first: afterwards pg_settings shows pgqa's values).
-- One row. shared_preload_libraries is readable only with pg_read_all_settings, so a plain role
-- falls back to "pg_stat_statements.max exists", which only a preloaded pg_stat_statements defines.
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       current_database() AS database,
       current_user AS current_user,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
       EXISTS (SELECT 1 FROM pg_settings WHERE name = 'pg_stat_statements.max') AS pgss_guc,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS can_read_all_stats,
       EXISTS (SELECT 1 FROM pg_settings WHERE name LIKE 'rds.%') AS is_rds,
       (SELECT json_object_agg(name, setting) FROM pg_settings
         WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'))
         AS server_settings
