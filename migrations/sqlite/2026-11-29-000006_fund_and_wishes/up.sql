-- The community fund, donations and micro-wishes (API.md "The community fund and donations",
-- "Micro-wishes"; LEDGER.md L4).

-- Points a volunteer gave to the fund, cached like earned_total and spent_total.
ALTER TABLE accounts ADD COLUMN donated_total BIGINT NOT NULL DEFAULT 0;

-- A micro-wish (微心愿): open → adopted → fulfilled → confirmed, or cancelled on the way;
-- release and reject move it back. Every move is one conditional UPDATE on `status`.
CREATE TABLE wishes (
    id              TEXT PRIMARY KEY NOT NULL,
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description     TEXT,
    beneficiary     TEXT NOT NULL CHECK (length(beneficiary) BETWEEN 1 AND 500),
    team_id         TEXT REFERENCES teams (id),
    points          BIGINT NOT NULL CHECK (points BETWEEN 0 AND 10000),
    due_at          TIMESTAMP,
    status          TEXT NOT NULL
                    CHECK (status IN ('open', 'adopted', 'fulfilled', 'confirmed', 'cancelled')),
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    adopted_by      TEXT REFERENCES users (id),
    adopted_at      TIMESTAMP,
    fulfilment_note TEXT,
    fulfilled_at    TIMESTAMP,
    rejection_reason TEXT,
    confirmed_by    TEXT REFERENCES users (id),
    confirmed_at    TIMESTAMP,
    confirm_note    TEXT,
    points_awarded  BIGINT CHECK (points_awarded BETWEEN 0 AND 10000),
    -- L4: the credit of a confirmed wish (none for 0 points).
    transaction_id  TEXT UNIQUE REFERENCES ledger_transactions (id),
    cancel_reason   TEXT,
    cancelled_by    TEXT REFERENCES users (id),
    cancelled_at    TIMESTAMP,
    -- An open wish has no adopter; an adopted, fulfilled or confirmed one has one; a cancelled
    -- one keeps whoever held it.
    CHECK (status = 'cancelled' OR (status = 'open') = (adopted_by IS NULL)),
    CHECK ((adopted_by IS NULL) = (adopted_at IS NULL)),
    CHECK ((status = 'fulfilled') <= (fulfilled_at IS NOT NULL)),
    CHECK ((status = 'confirmed') = (confirmed_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX wishes_created ON wishes (created_at, id);
CREATE INDEX wishes_status ON wishes (status, created_at, id);
-- The wishes a person holds (the limit of 3) and lists as theirs.
CREATE INDEX wishes_adopter ON wishes (adopted_by, status);

-- ledger_transactions gains the kinds `donate` and `opening` and the cause column `wish_id`.
-- SQLite cannot alter a CHECK, so the table is rebuilt inside this migration's transaction.
-- Foreign keys stay on: `defer_foreign_keys` (reset at COMMIT) lets the drop orphan the entries,
-- redemptions and reversals that reference it, and re-inserting every row adopts them again;
-- a row lost on the way would fail the COMMIT.
PRAGMA defer_foreign_keys = ON;
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
    -- L4: a transaction is reversed at most once.
    reverses_id     TEXT UNIQUE REFERENCES ledger_transactions (id),
    wish_id         TEXT REFERENCES wishes (id)
);
INSERT INTO ledger_transactions
    (id, kind, memo, created_by, created_at, activity_log_id, redemption_id, reverses_id)
    SELECT id, kind, memo, created_by, created_at, activity_log_id, redemption_id, reverses_id
    FROM ledger_transactions_copy;
DROP TABLE ledger_transactions_copy;
-- L4: one earn and one reversal per activity log; one redeem and one refund per redemption;
-- one earn per confirmed wish.
CREATE UNIQUE INDEX ledger_transactions_log_kind ON ledger_transactions (activity_log_id, kind);
CREATE UNIQUE INDEX ledger_transactions_redemption_kind ON ledger_transactions (redemption_id, kind);
CREATE UNIQUE INDEX ledger_transactions_wish_kind ON ledger_transactions (wish_id, kind);
-- L6: history is append-only, whatever the code does.
CREATE TRIGGER ledger_transactions_append_only_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
