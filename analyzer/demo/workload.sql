-- The demo workload: the statements the recruiting application sends, as it sends them, with
-- PostgreSQL's own $n placeholders (bound by psycopg, so pg_stat_statements stores them normalized).
-- One "-- name:" section per query shape; analyzer/demo/workload.py binds the parameters and decides
-- how often each runs. Full-line comments inside a section are dropped before the text is sent.

-- name: candidate_detail
-- The incident's top statement: the detail page joins every application of a candidate, and
-- applications.candidate_id has no index, so each call scans applications.
SELECT c.*, a.id AS application_id, a.status AS application_status, a.created_at AS applied_at,
       j.title AS job_title, s.name AS stage_name
FROM candidates c
LEFT JOIN applications a ON a.candidate_id = c.id
LEFT JOIN jobs j ON j.id = a.job_id
LEFT JOIN stages s ON s.id = a.stage_id
WHERE c.id = $1

-- name: candidate_list
-- The list page without paging: every candidate of the company, newest first (the timeouts).
SELECT c.id, c.name, c.email, c.status, c.source, c.owner_name, c.created_at
FROM candidates c
WHERE c.company_id = $1 AND c.deleted_at IS NULL
ORDER BY c.created_at DESC

-- name: kpi_applications
-- The KPI dashboard: one aggregate per status, glued with UNION ALL, each branch a scan.
SELECT 'applied' AS kpi, count(*) AS value FROM applications WHERE status = 'applied' AND created_at >= $1
UNION ALL
SELECT 'screening', count(*) FROM applications WHERE status = 'screening' AND created_at >= $1
UNION ALL
SELECT 'interview', count(*) FROM applications WHERE status = 'interview' AND created_at >= $1
UNION ALL
SELECT 'offer', count(*) FROM applications WHERE status = 'offer' AND created_at >= $1
UNION ALL
SELECT 'hired', count(*) FROM applications WHERE status = 'hired' AND created_at >= $1

-- name: kpi_events
-- The per-company funnel of the same dashboard, over the events table.
SELECT 'applied' AS kpi, count(*) AS value FROM application_events
WHERE company_id = $1 AND event_type = 'applied' AND created_at >= $2
UNION ALL
SELECT 'interview_scheduled', count(*) FROM application_events
WHERE company_id = $1 AND event_type = 'interview_scheduled' AND created_at >= $2
UNION ALL
SELECT 'offer_sent', count(*) FROM application_events
WHERE company_id = $1 AND event_type = 'offer_sent' AND created_at >= $2
UNION ALL
SELECT 'hired', count(*) FROM application_events
WHERE company_id = $1 AND event_type = 'hired' AND created_at >= $2

-- name: kintone_upsert
-- The kintone sync: every record of every batch is written again, changed or not (no WHERE guard
-- on the DO UPDATE), which costs WAL and dead rows for nothing.
INSERT INTO kintone_candidates (external_id, candidate_id, name, email, status, payload,
                                remote_updated_at, synced_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now())
ON CONFLICT (external_id) DO UPDATE
SET candidate_id = EXCLUDED.candidate_id, name = EXCLUDED.name, email = EXCLUDED.email,
    status = EXCLUDED.status, payload = EXCLUDED.payload,
    remote_updated_at = EXCLUDED.remote_updated_at, synced_at = EXCLUDED.synced_at

-- name: job_by_id
-- Healthy: a primary-key lookup.
SELECT id, company_id, title, department, location, status FROM jobs WHERE id = $1

-- name: application_with_job
-- Healthy: a join on primary keys.
SELECT a.id, a.status, a.created_at, j.title, j.location
FROM applications a
JOIN jobs j ON j.id = a.job_id
WHERE a.id = $1

-- name: candidates_page
-- Healthy: a keyset page with LIMIT, walking the primary key.
SELECT id, name, status, created_at FROM candidates
WHERE company_id = $1 AND id > $2
ORDER BY id
LIMIT 10

-- name: candidate_applications
-- The N+1: the application asks this once for every candidate of the page it just read.
SELECT id, job_id, stage_id, status, created_at FROM applications WHERE candidate_id = $1

-- name: job_pipeline
-- The pipeline board of one job: all its applications (applications.job_id has no index)...
SELECT id, candidate_id, stage_id, status FROM applications WHERE job_id = $1

-- name: candidate_by_id
-- ...then, for every application on the board, its candidate: a cheap primary-key lookup called in
-- a loop, the other face of N+1 (thousands of calls, one row each).
SELECT id, name, email, status FROM candidates WHERE id = $1

-- name: candidates_offset_page
-- Deep OFFSET paging: the server reads and throws away every row before the page.
SELECT id, name, email, status FROM candidates
WHERE company_id = $1
ORDER BY id
LIMIT 50 OFFSET $2

-- name: candidate_by_email
-- A function on the column: no plain index on email could serve it.
SELECT id, name, email, status FROM candidates WHERE lower(email) = $1

-- name: candidate_search
-- A search with a leading wildcard: no b-tree index helps.
SELECT id, name, email FROM candidates
WHERE company_id = $1 AND name LIKE '%' || $2 || '%'
ORDER BY created_at DESC
LIMIT 50
