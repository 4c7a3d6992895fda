-- Statements setup_demo and the replayer run around the workload (never part of it).

-- name: table_sizes
SELECT (SELECT coalesce(max(id), 0) FROM companies) AS companies,
       (SELECT coalesce(max(id), 0) FROM jobs) AS jobs,
       (SELECT coalesce(max(id), 0) FROM candidates) AS candidates,
       (SELECT coalesce(max(id), 0) FROM applications) AS applications,
       (SELECT count(*) FROM kintone_candidates) AS kintone_candidates

-- name: reset_statements
-- Only this database's entries: other databases on the server keep their statistics.
SELECT pg_stat_statements_reset(0, d.oid, 0) FROM pg_database d WHERE d.datname = current_database()
