DROP TABLE reward_claims;
DROP TABLE redemptions;
DROP TABLE rewards;
