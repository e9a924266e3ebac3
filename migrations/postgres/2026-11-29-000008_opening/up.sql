-- Opening balances (API.md "Importing volunteers"; LEDGER.md L4): the account an `opening`
-- transaction opens. A volunteer gets at most one opening balance ever: the UNIQUE index says
-- so whatever the code does (NULLs, every other kind, never clash).
ALTER TABLE ledger_transactions ADD COLUMN opening_account_id TEXT REFERENCES accounts (id);
CREATE UNIQUE INDEX ledger_transactions_opening ON ledger_transactions (opening_account_id);
