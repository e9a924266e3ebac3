-- Rate limits counted in the database, so every instance on this database shares them: failed
-- logins per phone, wrong current passwords per account, logins and registrations per client
-- address, wrong check-in codes per volunteer and activity (src/ratelimit.rs).
--
-- One row per limited key: the times of its events in the sliding window (at most the limit's
-- `max` of them; a hit that would pass `max` is refused and not recorded). The key is kept as its
-- SHA-256 digest, 32 bytes however long the key sent. A row whose newest event is older than the
-- window (`expires_at`) counts nothing and is deleted by the periodic purge.
CREATE TABLE rate_limits (
    scope TEXT NOT NULL,
    key_digest BYTEA NOT NULL CHECK (octet_length(key_digest) = 32),
    hits TIMESTAMP[] NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key_digest)
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);
