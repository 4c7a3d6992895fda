-- pgqa's own session guards, set once right after the server's values were read (target_info).
-- false = for the whole session, not only the current transaction.
SELECT set_config('statement_timeout', %(statement_timeout)s, false) AS statement_timeout,
       set_config('lock_timeout', %(lock_timeout)s, false) AS lock_timeout,
       set_config('idle_in_transaction_session_timeout', %(idle_in_transaction_session_timeout)s, false)
         AS idle_in_transaction_session_timeout
