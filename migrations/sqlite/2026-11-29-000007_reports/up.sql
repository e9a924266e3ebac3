-- Reports and exports read ranges of time: each range has an index.
-- Approved logs by when they were reviewed (summary, leaderboard).
CREATE INDEX activity_logs_reviewed ON activity_logs (status, reviewed_at);
-- Transactions by when they were made (summary, ledger export in keyset order).
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at, id);
-- Fulfilled redemptions by when they were handed over.
CREATE INDEX redemptions_fulfilled_at ON redemptions (status, fulfilled_at);
-- Confirmed wishes by when they were confirmed (summary).
CREATE INDEX wishes_confirmed ON wishes (status, confirmed_at);
