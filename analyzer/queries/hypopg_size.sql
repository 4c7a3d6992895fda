-- Estimated size of a hypothetical index, bytes.
SELECT {size}(%s) AS bytes
