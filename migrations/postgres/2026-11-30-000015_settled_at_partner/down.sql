DROP INDEX redemptions_partner_fulfilled;
ALTER TABLE redemptions DROP COLUMN fulfilled_partner_id;
