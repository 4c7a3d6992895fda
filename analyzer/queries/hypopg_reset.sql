-- Drop every hypothetical index of pgqa's session (they live only in it).
SELECT {reset}()
