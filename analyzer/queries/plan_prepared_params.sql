-- How many parameters a statement prepared by pgqa takes.
SELECT coalesce(cardinality(parameter_types), 0) AS n FROM pg_prepared_statements WHERE name = %s
