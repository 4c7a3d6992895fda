-- Who and where we are, and what the role may read. One row.
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       current_database() AS database,
       current_user AS current_user,
       current_setting('shared_preload_libraries') AS preload,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS can_read_all_stats,
       EXISTS (SELECT 1 FROM pg_settings WHERE name LIKE 'rds.%') AS is_rds
