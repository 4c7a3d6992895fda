-- pg_stat_statements_info (extension 1.9+, PG14): evictions and the time of the last full reset.
SELECT dealloc, stats_reset FROM {pgss_info}
