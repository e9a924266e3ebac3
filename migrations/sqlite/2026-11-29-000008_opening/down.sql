-- SQLite drops no column that references another table: the table is rebuilt as 000007 left it
-- (see 000006 for why foreign keys are deferred).
PRAGMA defer_foreign_keys = ON;
DROP INDEX ledger_transactions_opening;
CREATE TABLE ledger_transactions_copy AS SELECT * FROM ledger_transactions;
DROP TABLE ledger_transactions;
CREATE TABLE ledger_transactions (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'refund', 'adjust', 'reversal',
                                                  'donate', 'opening')),
    memo            TEXT NOT NULL,
    created_by      TEXT REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    activity_log_id TEXT,
    redemption_id   TEXT,
    reverses_id     TEXT UNIQUE REFERENCES ledger_transactions (id),
    wish_id         TEXT REFERENCES wishes (id)
);
INSERT INTO ledger_transactions
    (id, kind, memo, created_by, created_at, activity_log_id, redemption_id, reverses_id, wish_id)
    SELECT id, kind, memo, created_by, created_at, activity_log_id, redemption_id, reverses_id,
           wish_id
    FROM ledger_transactions_copy;
DROP TABLE ledger_transactions_copy;
CREATE UNIQUE INDEX ledger_transactions_log_kind ON ledger_transactions (activity_log_id, kind);
CREATE UNIQUE INDEX ledger_transactions_redemption_kind ON ledger_transactions (redemption_id, kind);
CREATE UNIQUE INDEX ledger_transactions_wish_kind ON ledger_transactions (wish_id, kind);
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at, id);
CREATE TRIGGER ledger_transactions_append_only_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
