DROP INDEX activity_logs_team_status;
DROP INDEX activity_logs_team_created;
ALTER TABLE activity_logs DROP COLUMN team_id;
