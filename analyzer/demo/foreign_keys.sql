-- Foreign keys as the application declares them, added once every table is loaded and keyed
-- (one validation scan each instead of a trigger per row). None of the referencing columns gets
-- an index: PostgreSQL does not create one by itself, and the incident's schema had none either.

ALTER TABLE jobs ADD FOREIGN KEY (company_id) REFERENCES companies;
ALTER TABLE candidates ADD FOREIGN KEY (company_id) REFERENCES companies;
ALTER TABLE applications ADD FOREIGN KEY (candidate_id) REFERENCES candidates;
ALTER TABLE applications ADD FOREIGN KEY (job_id) REFERENCES jobs;
ALTER TABLE applications ADD FOREIGN KEY (stage_id) REFERENCES stages;
ALTER TABLE interviews ADD FOREIGN KEY (application_id) REFERENCES applications;
