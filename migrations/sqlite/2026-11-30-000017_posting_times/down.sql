ALTER TABLE accounts DROP COLUMN last_posted_at;
