-- Schema version 2 (SQLite): who held the slots, one row per connection group, so that the
-- holders at a peak can be read without decoding every snapshot; and the pgqa version that wrote
-- each snapshot.
ALTER TABLE snapshots ADD COLUMN pgqa_version TEXT;
CREATE TABLE IF NOT EXISTS snapshot_groups (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
    database TEXT,
    user_name TEXT,
    application_name TEXT,
    client_addr TEXT,
    count INTEGER NOT NULL,
    idle INTEGER NOT NULL,
    idle_in_transaction INTEGER NOT NULL,
    active INTEGER NOT NULL,
    max_idle_s REAL,
    oldest_backend_start TEXT
);
CREATE INDEX IF NOT EXISTS snapshot_groups_snapshot ON snapshot_groups (snapshot_id)
