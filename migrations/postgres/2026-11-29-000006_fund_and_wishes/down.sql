DROP INDEX ledger_transactions_wish_kind;
ALTER TABLE ledger_transactions DROP COLUMN wish_id;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('earn', 'redeem', 'refund', 'adjust', 'reversal'));
DROP TABLE wishes;
ALTER TABLE accounts DROP COLUMN donated_total;
