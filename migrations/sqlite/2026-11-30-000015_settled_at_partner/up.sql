-- A settlement counts what was handed out at a partner (API.md): the partner is recorded on the
-- redemption when it is fulfilled, so moving a reward to another partner later does not move
-- past hand-outs with it. Those already handed out were handed out at their reward's partner.
ALTER TABLE redemptions ADD COLUMN fulfilled_partner_id TEXT REFERENCES partners (id);
UPDATE redemptions
   SET fulfilled_partner_id = (SELECT partner_id FROM rewards WHERE rewards.id = redemptions.reward_id)
 WHERE status = 'fulfilled';
CREATE INDEX redemptions_partner_fulfilled ON redemptions (fulfilled_partner_id, fulfilled_at)
    WHERE fulfilled_partner_id IS NOT NULL;
-- It replaces the settlement's index by reward (migration 000005), which nothing reads now.
DROP INDEX redemptions_fulfilled;
