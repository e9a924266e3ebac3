-- Back to awards of at most 10,000 (fails if a log was awarded more since).
ALTER TABLE activity_logs
    DROP CONSTRAINT activity_logs_points_awarded_check,
    ADD CONSTRAINT activity_logs_points_awarded_check CHECK (points_awarded BETWEEN 0 AND 10000);
