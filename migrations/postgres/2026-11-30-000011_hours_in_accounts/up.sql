-- A volunteer's hours, kept beside their points so a balance read is one primary-key row:
-- minutes of approved logs and the proposed points of submitted ones. The log's state machine
-- (db/activity_logs.rs) changes them in the transaction that moves the log; `verify` checks
-- them against the logs.
ALTER TABLE accounts ADD COLUMN minutes_served BIGINT NOT NULL DEFAULT 0 CHECK (minutes_served >= 0);
ALTER TABLE accounts ADD COLUMN pending_points BIGINT NOT NULL DEFAULT 0 CHECK (pending_points >= 0);

UPDATE accounts AS a
SET minutes_served = h.minutes_served, pending_points = h.pending_points
FROM (
    SELECT volunteer_id,
           COALESCE(SUM(CASE WHEN status = 'approved' THEN minutes ELSE 0 END), 0) AS minutes_served,
           COALESCE(SUM(CASE WHEN status = 'submitted' THEN points_proposed ELSE 0 END), 0) AS pending_points
    FROM activity_logs
    GROUP BY volunteer_id
) AS h
WHERE a.volunteer_id = h.volunteer_id;
