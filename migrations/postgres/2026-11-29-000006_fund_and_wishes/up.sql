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
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
    CHECK (kind IN ('earn', 'redeem', 'refund', 'adjust', 'reversal', 'donate', 'opening'));
ALTER TABLE ledger_transactions ADD COLUMN wish_id TEXT REFERENCES wishes (id);
-- L4: one earn per confirmed wish.
CREATE UNIQUE INDEX ledger_transactions_wish_kind ON ledger_transactions (wish_id, kind);
