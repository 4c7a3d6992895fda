-- Only pgqa's own prepared statement, never DEALLOCATE ALL.
DEALLOCATE {name}
