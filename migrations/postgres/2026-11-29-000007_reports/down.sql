DROP INDEX wishes_confirmed;
DROP INDEX redemptions_fulfilled_at;
DROP INDEX ledger_transactions_created;
DROP INDEX activity_logs_reviewed;
