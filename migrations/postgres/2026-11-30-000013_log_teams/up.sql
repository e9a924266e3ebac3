-- Growth (issue 12 item 6): a leader's logs, newest first, walk their team's own index instead
-- of every log in the city. A log carries its activity's team: written when the log is opened
-- (check-in, recorded attendance) from the activity row the opening holds, and moved with the
-- activity when an edit moves it to another team (db/activities.rs), in that edit's
-- transaction; `verify` checks it against the activities.
ALTER TABLE activity_logs ADD COLUMN team_id TEXT REFERENCES teams (id);

UPDATE activity_logs
SET team_id = (SELECT team_id FROM activities WHERE activities.id = activity_logs.activity_id);

CREATE INDEX activity_logs_team_created ON activity_logs (team_id, created_at, id);
CREATE INDEX activity_logs_team_status ON activity_logs (team_id, status, created_at, id);
