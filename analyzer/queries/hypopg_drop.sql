-- Drop one hypothetical index of pgqa's session.
SELECT {drop}(%s)
