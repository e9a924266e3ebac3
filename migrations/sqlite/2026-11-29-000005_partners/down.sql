DROP INDEX redemptions_fulfilled;
DROP INDEX rewards_partner;
ALTER TABLE rewards DROP COLUMN partner_id;
DROP TABLE partner_clerks;
DROP TABLE partners;
