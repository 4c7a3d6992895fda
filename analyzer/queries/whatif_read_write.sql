-- --whatif real (sandbox only): let this rolled-back transaction build indexes.
SET TRANSACTION READ WRITE
