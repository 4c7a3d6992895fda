-- Size of an index built for real inside the rolled-back what-if transaction, bytes.
SELECT pg_relation_size(to_regclass(%s)) AS bytes
