-- A volunteer's hours, kept beside their points so a balance read is one primary-key row:
-- minutes of approved logs and the proposed points of submitted ones. The log's state machine
-- (db/activity_logs.rs) changes them in the transaction that moves the log; `verify` checks
-- them against the logs.
ALTER TABLE accounts ADD COLUMN minutes_served BIGINT NOT NULL DEFAULT 0 CHECK (minutes_served >= 0);
ALTER TABLE accounts ADD COLUMN pending_points BIGINT NOT NULL DEFAULT 0 CHECK (pending_points >= 0);

UPDATE accounts
SET minutes_served = (
        SELECT COALESCE(SUM(minutes), 0) FROM activity_logs
        WHERE volunteer_id = accounts.volunteer_id AND status = 'approved'),
    pending_points = (
        SELECT COALESCE(SUM(points_proposed), 0) FROM activity_logs
        WHERE volunteer_id = accounts.volunteer_id AND status = 'submitted')
WHERE volunteer_id IS NOT NULL;
