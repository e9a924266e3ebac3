-- Rewards and redemptions (API.md "Rewards and redemptions"; LEDGER.md L10).
-- `stock` is what is left now (NULL = unlimited); `stocked_total` is the initial stock plus every
-- restock, so verify can recompute stock = stocked_total - units of reserved and fulfilled
-- redemptions. Both are NULL together: an unlimited reward never becomes limited.
CREATE TABLE rewards (
    id                  TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description         TEXT,
    sponsor             TEXT,
    cost_points         BIGINT NOT NULL CHECK (cost_points BETWEEN 1 AND 1000000),
    stock               BIGINT CHECK (stock IS NULL OR stock >= 0), -- L10
    stocked_total       BIGINT CHECK (stocked_total IS NULL OR stocked_total >= 0),
    per_volunteer_limit BIGINT CHECK (per_volunteer_limit IS NULL OR per_volunteer_limit BETWEEN 1 AND 1000),
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    created_by          TEXT NOT NULL REFERENCES users (id),
    created_at          TIMESTAMP NOT NULL,
    CHECK ((stock IS NULL) = (stocked_total IS NULL)),
    CHECK (stock IS NULL OR stock <= stocked_total)
);
-- The catalogue is listed by name (keyset on name, id).
CREATE INDEX rewards_name ON rewards (name, id);

CREATE TABLE redemptions (
    id                    TEXT PRIMARY KEY NOT NULL,
    reward_id             TEXT NOT NULL REFERENCES rewards (id),
    volunteer_id          TEXT NOT NULL REFERENCES users (id),
    quantity              BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 10),
    -- What was paid: a refund returns this, whatever the reward costs later.
    points                BIGINT NOT NULL CHECK (points > 0),
    status                TEXT NOT NULL CHECK (status IN ('reserved', 'fulfilled', 'cancelled')),
    pickup_code           TEXT NOT NULL CHECK (length(pickup_code) = 6),
    created_by            TEXT NOT NULL REFERENCES users (id),
    created_at            TIMESTAMP NOT NULL,
    fulfilled_at          TIMESTAMP,
    fulfilled_by          TEXT REFERENCES users (id),
    cancelled_at          TIMESTAMP,
    cancelled_by          TEXT REFERENCES users (id),
    redeem_transaction_id TEXT NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    -- L4: refunded at most once.
    refund_transaction_id TEXT UNIQUE REFERENCES ledger_transactions (id),
    CHECK ((status = 'fulfilled') = (fulfilled_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
-- A pickup code names one reserved redemption.
CREATE UNIQUE INDEX redemptions_pickup_reserved ON redemptions (pickup_code) WHERE status = 'reserved';
CREATE INDEX redemptions_created ON redemptions (created_at, id);
CREATE INDEX redemptions_status ON redemptions (status, created_at, id);
CREATE INDEX redemptions_volunteer ON redemptions (volunteer_id, created_at, id);
CREATE INDEX redemptions_reward ON redemptions (reward_id);

-- Units each volunteer holds of each reward (reserved + fulfilled): the row a redemption updates
-- conditionally, so the per-volunteer limit holds under concurrent requests on both databases.
CREATE TABLE reward_claims (
    reward_id    TEXT NOT NULL REFERENCES rewards (id),
    volunteer_id TEXT NOT NULL REFERENCES users (id),
    units        BIGINT NOT NULL DEFAULT 0 CHECK (units >= 0),
    PRIMARY KEY (reward_id, volunteer_id)
);
