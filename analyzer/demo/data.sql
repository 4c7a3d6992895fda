-- Generated demo data, deterministic: every value is a function of the generate_series counter
-- (through PostgreSQL's own stable hash, no random()), so two loads at the same scale hold the
-- same rows, on every version, and give the same plans.
-- Row counts come from the session settings pgqa_demo.<table> (set by analyzer.demo.setup_demo;
-- with psql: SET pgqa_demo.candidates = 200000; ... before \i data.sql).
-- Each "-- table:" section fills one table and depends on no other, so setup_demo loads them over
-- several connections at once; what comes before the first section runs on each of them.
--
-- pick(i, salt, n): a value in [0, n) that looks random but is fixed for (i, salt). Each column
-- uses its own salt, so columns are independent of each other (a company does not imply a status).

CREATE FUNCTION pg_temp.pick(i bigint, salt bigint, n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT mod(hashint8extended(i, salt) & 1073741823, n) $$;

-- table: companies
INSERT INTO companies (id, name, plan, created_at)
SELECT i,
       'Company ' || i,
       (ARRAY['free', 'standard', 'standard', 'enterprise'])[1 + mod(i, 4)],
       timestamptz '2021-01-01 00:00+00' + i * interval '9 days'
FROM generate_series(1, current_setting('pgqa_demo.companies')::int) AS i;

-- table: stages
INSERT INTO stages (id, name, position) VALUES
    (1, 'applied', 1), (2, 'screening', 2), (3, 'first interview', 3), (4, 'final interview', 4),
    (5, 'offer', 5), (6, 'hired', 6), (7, 'rejected', 7), (8, 'withdrawn', 8);

-- table: jobs
INSERT INTO jobs (id, company_id, title, department, location, status, created_at, updated_at)
SELECT i,
       1 + pg_temp.pick(i, 1, n.companies),
       (ARRAY['Backend Engineer', 'Frontend Engineer', 'Sales Representative', 'Account Manager',
              'Recruiter', 'Data Analyst', 'Product Manager', 'Designer', 'Customer Success',
              'Marketing Specialist', 'SRE', 'QA Engineer'])[1 + pg_temp.pick(i, 2, 12)],
       (ARRAY['Engineering', 'Sales', 'HR', 'Product', 'Marketing', 'Support'])[1 + pg_temp.pick(i, 3, 6)],
       (ARRAY['Tokyo', 'Osaka', 'Fukuoka', 'Nagoya', 'Sapporo', 'Remote'])[1 + pg_temp.pick(i, 4, 6)],
       (ARRAY['open', 'open', 'open', 'paused', 'closed'])[1 + pg_temp.pick(i, 5, 5)],
       t.created,
       t.created + pg_temp.pick(i, 6, 90) * interval '1 day'
FROM generate_series(1, current_setting('pgqa_demo.jobs')::int) AS i,
     LATERAL (SELECT current_setting('pgqa_demo.companies')::int AS companies) AS n,
     LATERAL (SELECT timestamptz '2023-06-01 00:00+00' + pg_temp.pick(i, 7, 900) * interval '1 day')
         AS t(created);

-- table: candidates
INSERT INTO candidates (id, company_id, name, email, phone, status, source, owner_name, notes,
                        created_at, updated_at, deleted_at)
SELECT i,
       1 + pg_temp.pick(i, 11, n.companies),
       (ARRAY['Haruto', 'Yui', 'Sota', 'Aoi', 'Riku', 'Hina', 'Yuto', 'Mei', 'Kaito', 'Sakura',
              'Emma', 'Liam', 'Noah', 'Olivia', 'Mia', 'Lucas', 'Ren', 'Yuna', 'Minato', 'Rin'])
           [1 + pg_temp.pick(i, 12, 20)]
       || ' ' ||
       (ARRAY['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura',
              'Kobayashi', 'Kato', 'Yoshida', 'Yamada', 'Sasaki', 'Yamaguchi', 'Matsumoto', 'Inoue',
              'Kimura', 'Hayashi', 'Shimizu', 'Mori'])[1 + pg_temp.pick(i, 13, 20)],
       -- one in ten typed with capitals: why the application looks e-mails up with lower(email)
       CASE WHEN mod(i, 10) = 0 THEN 'Candidate.' || i || '@Example.COM'
            ELSE 'candidate.' || i || '@example.com' END,
       CASE WHEN pg_temp.pick(i, 14, 4) = 0 THEN NULL
            ELSE '090-' || lpad(pg_temp.pick(i, 15, 10000)::text, 4, '0')
                 || '-' || lpad(pg_temp.pick(i, 16, 10000)::text, 4, '0') END,
       (ARRAY['new', 'new', 'active', 'active', 'active', 'interviewing', 'offered', 'hired',
              'rejected', 'archived'])[1 + pg_temp.pick(i, 17, 10)],
       (ARRAY['referral', 'job board', 'agency', 'website', 'linkedin', 'kintone'])[1 + pg_temp.pick(i, 18, 6)],
       (ARRAY['Kimura', 'Ishikawa', 'Ogawa', 'Fujita', NULL])[1 + pg_temp.pick(i, 19, 5)],
       CASE WHEN pg_temp.pick(i, 20, 3) = 0
            THEN repeat('Follow up after the interview. ', 1 + pg_temp.pick(i, 21, 6)::int) END,
       t.created,
       t.created + pg_temp.pick(i, 22, 30) * interval '1 day',
       -- one in twenty soft-deleted
       CASE WHEN pg_temp.pick(i, 23, 20) = 0 THEN t.created + interval '60 days' END
FROM generate_series(1, current_setting('pgqa_demo.candidates')::bigint) AS i,
     LATERAL (SELECT current_setting('pgqa_demo.companies')::int AS companies,
                     current_setting('pgqa_demo.candidates')::bigint AS candidates) AS n,
     -- ids grow with time as in the application: two years of sign-ups
     LATERAL (SELECT timestamptz '2024-01-01 00:00+00'
                     + (i::float8 / n.candidates) * interval '730 days'
                     + pg_temp.pick(i, 24, 3600) * interval '1 second') AS t(created);

-- table: applications
INSERT INTO applications (id, candidate_id, job_id, stage_id, status, created_at, updated_at)
SELECT i,
       1 + pg_temp.pick(i, 31, n.candidates),
       1 + pg_temp.pick(i, 32, n.jobs),
       s.stage,
       (ARRAY['applied', 'screening', 'interview', 'interview', 'offer', 'hired', 'rejected',
              'withdrawn'])[s.stage],
       t.created,
       t.created + pg_temp.pick(i, 33, 45) * interval '1 day'
FROM generate_series(1, current_setting('pgqa_demo.applications')::bigint) AS i,
     LATERAL (SELECT current_setting('pgqa_demo.candidates')::bigint AS candidates,
                     current_setting('pgqa_demo.jobs')::int AS jobs,
                     current_setting('pgqa_demo.applications')::bigint AS applications) AS n,
     -- most applications sit in the first stages, few are hired
     LATERAL (SELECT (ARRAY[1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 5, 6, 7, 7, 7, 8])
                     [1 + pg_temp.pick(i, 34, 20)]) AS s(stage),
     LATERAL (SELECT timestamptz '2024-01-01 00:00+00'
                     + (i::float8 / n.applications) * interval '730 days'
                     + pg_temp.pick(i, 35, 86400) * interval '1 second') AS t(created);

-- table: interviews
INSERT INTO interviews (id, application_id, scheduled_at, interviewer, kind, result)
SELECT i,
       1 + pg_temp.pick(i, 41, n.applications),
       timestamptz '2024-01-15 00:00+00'
           + (i::float8 / n.interviews) * interval '730 days' + pg_temp.pick(i, 42, 9) * interval '1 hour',
       (ARRAY['Kimura', 'Ishikawa', 'Ogawa', 'Fujita', 'Okada', 'Maeda'])[1 + pg_temp.pick(i, 43, 6)],
       (ARRAY['phone', 'video', 'onsite', 'final'])[1 + pg_temp.pick(i, 44, 4)],
       (ARRAY['pass', 'pass', 'fail', 'no show', NULL])[1 + pg_temp.pick(i, 45, 5)]
FROM generate_series(1, current_setting('pgqa_demo.interviews')::bigint) AS i,
     LATERAL (SELECT current_setting('pgqa_demo.applications')::bigint AS applications,
                     current_setting('pgqa_demo.interviews')::bigint AS interviews) AS n;

-- table: application_events
INSERT INTO application_events (id, application_id, company_id, event_type, created_at)
SELECT i,
       1 + pg_temp.pick(i, 51, n.applications),
       1 + pg_temp.pick(i, 52, n.companies),
       (ARRAY['applied', 'applied', 'applied', 'screened', 'screened', 'interview_scheduled',
              'interview_done', 'offer_sent', 'hired', 'rejected'])[1 + pg_temp.pick(i, 53, 10)],
       timestamptz '2024-01-01 00:00+00'
           + (i::float8 / n.events) * interval '730 days' + pg_temp.pick(i, 54, 86400) * interval '1 second'
FROM generate_series(1, current_setting('pgqa_demo.application_events')::bigint) AS i,
     LATERAL (SELECT current_setting('pgqa_demo.applications')::bigint AS applications,
                     current_setting('pgqa_demo.companies')::int AS companies,
                     current_setting('pgqa_demo.application_events')::bigint AS events) AS n;

-- table: kintone_candidates
INSERT INTO kintone_candidates (external_id, candidate_id, name, email, status, payload,
                                remote_updated_at, synced_at)
SELECT 'KT-' || lpad(i::text, 7, '0'),
       CASE WHEN mod(i, 5) = 0 THEN NULL ELSE i END,
       'Kintone Applicant ' || i,
       'kintone.' || i || '@example.com',
       (ARRAY['new', 'contacted', 'screening', 'closed'])[1 + pg_temp.pick(i, 61, 4)],
       jsonb_build_object('record_id', i, 'revision', 1 + pg_temp.pick(i, 62, 7),
                          'owner', (ARRAY['Kimura', 'Ishikawa', 'Ogawa'])[1 + pg_temp.pick(i, 63, 3)]),
       timestamptz '2025-06-01 00:00+00' + pg_temp.pick(i, 64, 200) * interval '1 day',
       timestamptz '2025-12-01 00:00+00'
FROM generate_series(1, current_setting('pgqa_demo.kintone_candidates')::bigint) AS i;
