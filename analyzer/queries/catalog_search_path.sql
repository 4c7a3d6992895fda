-- The schemas unqualified names resolve to in this session, in order (pg_catalog left out).
SELECT current_schemas(false)::text[] AS schemas
