PRAGMA defer_foreign_keys = ON;
CREATE TABLE ledger_transactions_copy AS SELECT * FROM ledger_transactions;
DROP TABLE ledger_transactions;
CREATE TABLE ledger_transactions (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'refund', 'adjust', 'reversal')),
    memo            TEXT NOT NULL,
    created_by      TEXT REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    activity_log_id TEXT,
    redemption_id   TEXT,
    reverses_id     TEXT UNIQUE REFERENCES ledger_transactions (id)
);
INSERT INTO ledger_transactions
    (id, kind, memo, created_by, created_at, activity_log_id, redemption_id, reverses_id)
    SELECT id, kind, memo, created_by, created_at, activity_log_id, redemption_id, reverses_id
    FROM ledger_transactions_copy;
DROP TABLE ledger_transactions_copy;
CREATE UNIQUE INDEX ledger_transactions_log_kind ON ledger_transactions (activity_log_id, kind);
CREATE UNIQUE INDEX ledger_transactions_redemption_kind ON ledger_transactions (redemption_id, kind);
CREATE TRIGGER ledger_transactions_append_only_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
DROP TABLE wishes;
ALTER TABLE accounts DROP COLUMN donated_total;
