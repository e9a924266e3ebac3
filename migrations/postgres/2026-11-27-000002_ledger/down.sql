DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE accounts;
DROP FUNCTION ledger_append_only();
