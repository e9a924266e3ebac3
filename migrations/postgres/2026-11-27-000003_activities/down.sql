DROP TABLE activity_logs;
DROP TABLE enrollments;
DROP TABLE activities;
DROP TABLE team_members;
DROP TABLE teams;
