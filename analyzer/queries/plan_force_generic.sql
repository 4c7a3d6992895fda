-- Make EXPLAIN EXECUTE show the generic plan (only inside pgqa's own transaction).
SET LOCAL plan_cache_mode = force_generic_plan
