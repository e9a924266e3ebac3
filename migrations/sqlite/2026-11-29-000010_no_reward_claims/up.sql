-- The per-volunteer limit is checked by summing the volunteer's units of the reward while the
-- redemption holds their account row (db/redemptions.rs): no counter row to write on every
-- redemption, limited or not.
DROP TABLE reward_claims;
