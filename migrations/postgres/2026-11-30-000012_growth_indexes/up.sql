-- Growth (issue 12 item 6): first pages that stay as fast for a city as for a neighbourhood.
-- An activity list narrowed to a team walks its team's activities in start order.
CREATE INDEX activities_team_starts ON activities (team_id, starts_at, id);
DROP INDEX activities_team;
-- A leader's logs: the logs of their teams' activities, newest first, per activity.
CREATE INDEX activity_logs_activity_created ON activity_logs (activity_id, created_at, id);
-- A partner's redemptions: those of its rewards, newest first, per reward.
CREATE INDEX redemptions_reward_created ON redemptions (reward_id, created_at, id);
DROP INDEX redemptions_reward;
