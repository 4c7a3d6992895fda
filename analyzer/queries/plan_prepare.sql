-- Before PostgreSQL 16: prepare the normalized text to get a generic plan of it.
PREPARE {name} AS {statement}
