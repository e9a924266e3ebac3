-- The points ledger (LEDGER.md). Volunteer accounts share their volunteer's id; the system
-- accounts have fixed ids and keep no cached balance (no hot row).
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('volunteer', 'community_fund', 'redemptions')),
    volunteer_id TEXT UNIQUE REFERENCES users (id),
    balance      BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0), -- L2 backstop
    earned_total BIGINT NOT NULL DEFAULT 0,
    spent_total  BIGINT NOT NULL DEFAULT 0,
    entry_count  BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    CHECK ((kind = 'volunteer') = (volunteer_id IS NOT NULL))
);
INSERT INTO accounts (id, kind, created_at) VALUES
    ('00000000-0000-0000-0000-000000000001', 'community_fund', CURRENT_TIMESTAMP),
    ('00000000-0000-0000-0000-000000000002', 'redemptions', CURRENT_TIMESTAMP);
INSERT INTO accounts (id, kind, volunteer_id, created_at)
    SELECT id, 'volunteer', id, created_at FROM users;

CREATE TABLE ledger_transactions (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'refund', 'adjust', 'reversal')),
    memo            TEXT NOT NULL,
    created_by      TEXT REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    activity_log_id TEXT,
    redemption_id   TEXT,
    -- L4: a transaction is reversed at most once.
    reverses_id     TEXT UNIQUE REFERENCES ledger_transactions (id)
);
-- L4: one earn and one reversal per activity log; one redeem and one refund per redemption.
CREATE UNIQUE INDEX ledger_transactions_log_kind ON ledger_transactions (activity_log_id, kind);
CREATE UNIQUE INDEX ledger_transactions_redemption_kind ON ledger_transactions (redemption_id, kind);

CREATE TABLE ledger_entries (
    id             TEXT PRIMARY KEY NOT NULL,
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    amount         BIGINT NOT NULL CHECK (amount <> 0),
    -- Position in a volunteer account's history (1, 2, ...) and the balance after it; both
    -- null on system accounts.
    seq            BIGINT,
    balance_after  BIGINT CHECK (balance_after >= 0),
    created_at     TIMESTAMP NOT NULL,
    CHECK ((seq IS NULL) = (balance_after IS NULL))
);
-- Statement pages (keyset on seq) and the newest entry of an account: O(log n) at any size.
CREATE UNIQUE INDEX ledger_entries_account_seq ON ledger_entries (account_id, seq);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- L6: history is append-only, whatever the code does.
CREATE TRIGGER ledger_entries_append_only_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_append_only_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;

-- L5: a request's answer, kept with its effect.
CREATE TABLE idempotency_keys (
    caller_id       TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
