DROP INDEX redemptions_fulfilled;
DROP INDEX ledger_transactions_created;
DROP INDEX activity_logs_reviewed;
