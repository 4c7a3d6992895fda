-- Snapshot store, schema version 1 (SQLite). Times are ISO-8601 UTC text, so they sort.
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    used INTEGER,
    usable INTEGER,
    used_pct REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_instance_time ON snapshots (instance, taken_at);
CREATE TABLE IF NOT EXISTS statement_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    stats_reset TEXT,
    dealloc INTEGER
);
CREATE INDEX IF NOT EXISTS statement_snapshots_instance_time ON statement_snapshots (instance, taken_at);
CREATE TABLE IF NOT EXISTS statement_rows (
    snapshot_id INTEGER NOT NULL REFERENCES statement_snapshots (id),
    userid INTEGER NOT NULL,
    dbid INTEGER NOT NULL,
    queryid TEXT NOT NULL,
    toplevel INTEGER NOT NULL,
    usename TEXT,
    datname TEXT,
    calls INTEGER NOT NULL,
    total_exec_ms REAL NOT NULL,
    total_plan_ms REAL,
    rows INTEGER NOT NULL,
    shared_blks_hit INTEGER,
    shared_blks_read INTEGER,
    temp_blks_read INTEGER,
    temp_blks_written INTEGER,
    wal_bytes INTEGER,
    stats_since TEXT
);
CREATE INDEX IF NOT EXISTS statement_rows_snapshot ON statement_rows (snapshot_id);
CREATE TABLE IF NOT EXISTS statement_texts (
    instance TEXT NOT NULL,
    queryid TEXT NOT NULL,
    query TEXT NOT NULL,
    PRIMARY KEY (instance, queryid)
)
