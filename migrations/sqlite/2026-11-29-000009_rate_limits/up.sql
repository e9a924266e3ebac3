-- Nothing to create on SQLite: its rate limits are counted in memory (src/ratelimit.rs).
--
-- A SQLite database serves one instance (one process holds its write lock), so a count kept in
-- that process is the only count there is, and costs no write per login. The PostgreSQL
-- migration of the same name creates `rate_limits`, which instances sharing one database need;
-- a copy here would be a table nothing writes, and its sliding window is a TIMESTAMP[] that
-- SQLite has no type for. The migration exists so both dialects keep the same list of names.
SELECT 1;
