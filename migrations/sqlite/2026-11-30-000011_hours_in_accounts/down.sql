ALTER TABLE accounts DROP COLUMN pending_points;
ALTER TABLE accounts DROP COLUMN minutes_served;
