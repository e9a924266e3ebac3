CREATE TABLE reward_claims (
    reward_id    TEXT NOT NULL REFERENCES rewards (id),
    volunteer_id TEXT NOT NULL REFERENCES users (id),
    units        BIGINT NOT NULL DEFAULT 0 CHECK (units >= 0),
    PRIMARY KEY (reward_id, volunteer_id)
);
INSERT INTO reward_claims (reward_id, volunteer_id, units)
SELECT reward_id, volunteer_id, SUM(quantity) FROM redemptions
WHERE status IN ('reserved', 'fulfilled') GROUP BY reward_id, volunteer_id;
