-- API.md: `points_proposed` = `floor(minutes * points_per_hour / 60)`, and an approval awards
-- it by default; the 0–10,000 range is the approve body's `points`. A week at 1,000 points an
-- hour proposes 168,000, so an awarded value is no longer capped at 10,000 here (the approve
-- body still is, in the handler).
ALTER TABLE activity_logs
    DROP CONSTRAINT activity_logs_points_awarded_check,
    ADD CONSTRAINT activity_logs_points_awarded_check CHECK (points_awarded >= 0);
