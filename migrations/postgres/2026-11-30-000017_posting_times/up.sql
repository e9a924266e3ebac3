-- The time of a volunteer account's latest posting. A posting's time is the later of the
-- service's clock and this, so a statement's times follow its ledger order (`seq`) even when a
-- request that began first commits second. Empty until the account's next posting: earlier
-- postings are in the past.
ALTER TABLE accounts ADD COLUMN last_posted_at TIMESTAMP;
