-- Primary and unique keys of the demo schema, one section per table, each built right after its
-- table is loaded (see schema.sql: one index build is faster than row-by-row maintenance).

-- table: companies
ALTER TABLE companies ADD PRIMARY KEY (id);
-- table: stages
ALTER TABLE stages ADD PRIMARY KEY (id);
-- table: jobs
ALTER TABLE jobs ADD PRIMARY KEY (id);
-- table: candidates
ALTER TABLE candidates ADD PRIMARY KEY (id);
-- table: applications
ALTER TABLE applications ADD PRIMARY KEY (id);
-- table: interviews
ALTER TABLE interviews ADD PRIMARY KEY (id);
-- table: application_events
ALTER TABLE application_events ADD PRIMARY KEY (id);
-- table: kintone_candidates
ALTER TABLE kintone_candidates ADD PRIMARY KEY (id);
ALTER TABLE kintone_candidates ADD CONSTRAINT kintone_candidates_external_id_key UNIQUE (external_id);
