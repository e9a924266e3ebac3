CREATE INDEX redemptions_reward ON redemptions (reward_id);
DROP INDEX redemptions_reward_created;
DROP INDEX activity_logs_activity_created;
CREATE INDEX activities_team ON activities (team_id);
DROP INDEX activities_team_starts;
