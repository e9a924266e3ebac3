CREATE INDEX redemptions_fulfilled ON redemptions (reward_id, fulfilled_at) WHERE status = 'fulfilled';
DROP INDEX redemptions_partner_fulfilled;
ALTER TABLE redemptions DROP COLUMN fulfilled_partner_id;
