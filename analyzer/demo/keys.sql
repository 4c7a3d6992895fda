-- Keys of the demo schema, added after the data is loaded (see schema.sql). A primary key on every
-- table and the kintone unique key; foreign keys as the application declares them. None of the
-- referencing columns gets an index: PostgreSQL does not create one by itself, and the incident's
-- schema had none either.

ALTER TABLE companies ADD PRIMARY KEY (id);
ALTER TABLE stages ADD PRIMARY KEY (id);
ALTER TABLE jobs ADD PRIMARY KEY (id);
ALTER TABLE candidates ADD PRIMARY KEY (id);
ALTER TABLE applications ADD PRIMARY KEY (id);
ALTER TABLE interviews ADD PRIMARY KEY (id);
ALTER TABLE application_events ADD PRIMARY KEY (id);
ALTER TABLE kintone_candidates ADD PRIMARY KEY (id);
ALTER TABLE kintone_candidates ADD CONSTRAINT kintone_candidates_external_id_key UNIQUE (external_id);

ALTER TABLE jobs ADD FOREIGN KEY (company_id) REFERENCES companies;
ALTER TABLE candidates ADD FOREIGN KEY (company_id) REFERENCES companies;
ALTER TABLE applications ADD FOREIGN KEY (candidate_id) REFERENCES candidates;
ALTER TABLE applications ADD FOREIGN KEY (job_id) REFERENCES jobs;
ALTER TABLE applications ADD FOREIGN KEY (stage_id) REFERENCES stages;
ALTER TABLE interviews ADD FOREIGN KEY (application_id) REFERENCES applications;
