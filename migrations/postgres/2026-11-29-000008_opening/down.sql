DROP INDEX ledger_transactions_opening;
ALTER TABLE ledger_transactions DROP COLUMN opening_account_id;
