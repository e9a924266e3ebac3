-- Partners: the social enterprises, units and funds behind the rewards, and the clerks who work
-- their counters (API.md "Partners").
CREATE TABLE partners (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind        TEXT NOT NULL CHECK (kind IN ('social-enterprise', 'unit', 'fund', 'other')),
    description TEXT,
    created_at  TIMESTAMP NOT NULL
);
-- Partners are listed by name (keyset on name, id).
CREATE INDEX partners_name ON partners (name, id);

-- One row per clerk and partner: the primary key makes `PUT .../clerks/{volunteer_id}` settle
-- concurrent adds on one row.
CREATE TABLE partner_clerks (
    partner_id   TEXT NOT NULL REFERENCES partners (id),
    volunteer_id TEXT NOT NULL REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (partner_id, volunteer_id)
);
-- `Me.partners` and the clerk checks read by person.
CREATE INDEX partner_clerks_volunteer ON partner_clerks (volunteer_id, partner_id);

-- The partner that hands a reward out (NULL: the community's own desk).
ALTER TABLE rewards ADD COLUMN partner_id TEXT REFERENCES partners (id);
CREATE INDEX rewards_partner ON rewards (partner_id);
-- Settlement counts a partner's fulfilled redemptions by `fulfilled_at`.
CREATE INDEX redemptions_fulfilled ON redemptions (reward_id, fulfilled_at) WHERE status = 'fulfilled';
