-- A hypothetical index (hypopg) in pgqa's own session; the argument is the CREATE INDEX text.
SELECT indexrelid FROM {create}(%s)
