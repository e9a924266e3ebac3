-- API.md: `points_proposed` = `floor(minutes * points_per_hour / 60)`, and an approval awards
-- it by default; the 0–10,000 range is the approve body's `points`. A week at 1,000 points an
-- hour proposes 168,000, so an awarded value is no longer capped at 10,000 here (the approve
-- body still is, in the handler). SQLite changes no CHECK in place: the table is rebuilt as it
-- stands (migration 000013 added `team_id`), with its indexes; no table references it.
CREATE TABLE activity_logs_copy AS SELECT * FROM activity_logs;
DROP TABLE activity_logs;
CREATE TABLE activity_logs (
    id                  TEXT PRIMARY KEY NOT NULL,
    activity_id         TEXT NOT NULL REFERENCES activities (id),
    volunteer_id        TEXT NOT NULL REFERENCES users (id),
    status              TEXT NOT NULL
                        CHECK (status IN ('checked_in', 'submitted', 'approved', 'rejected', 'reversed')),
    source              TEXT NOT NULL CHECK (source IN ('self', 'staff')),
    recorded_by         TEXT REFERENCES users (id),
    note                TEXT,
    checked_in_at       TIMESTAMP,
    checked_out_at      TIMESTAMP,
    check_in_lat        REAL,
    check_in_lng        REAL,
    check_in_accuracy_m REAL,
    check_out_lat       REAL,
    check_out_lng       REAL,
    check_out_accuracy_m REAL,
    minutes             BIGINT CHECK (minutes >= 0),
    points_proposed     BIGINT CHECK (points_proposed >= 0),
    points_awarded      BIGINT CHECK (points_awarded >= 0),
    check_in_distance_m REAL,
    reviewed_by         TEXT REFERENCES users (id),
    reviewed_at         TIMESTAMP,
    review_note         TEXT,
    transaction_id      TEXT REFERENCES ledger_transactions (id),
    reversed_by         TEXT REFERENCES users (id),
    reversed_at         TIMESTAMP,
    reversal_reason     TEXT,
    reversal_transaction_id TEXT REFERENCES ledger_transactions (id),
    created_at          TIMESTAMP NOT NULL,
    team_id             TEXT REFERENCES teams (id),
    -- One log per volunteer per activity (409 `already-checked-in`).
    UNIQUE (activity_id, volunteer_id),
    CHECK ((source = 'self') = (recorded_by IS NULL)),
    CHECK (status = 'checked_in' OR minutes IS NOT NULL),
    -- L4: the earn and its reversal are recorded once each.
    CHECK (status IN ('approved', 'reversed') OR transaction_id IS NULL),
    CHECK (status = 'reversed' OR reversal_transaction_id IS NULL)
);
INSERT INTO activity_logs
   (id, activity_id, volunteer_id, status, source, recorded_by, note, checked_in_at,
    checked_out_at, check_in_lat, check_in_lng, check_in_accuracy_m, check_out_lat, check_out_lng,
    check_out_accuracy_m, minutes, points_proposed, points_awarded, check_in_distance_m,
    reviewed_by, reviewed_at, review_note, transaction_id, reversed_by, reversed_at,
    reversal_reason, reversal_transaction_id, created_at, team_id)
    SELECT id, activity_id, volunteer_id, status, source, recorded_by, note, checked_in_at,
    checked_out_at, check_in_lat, check_in_lng, check_in_accuracy_m, check_out_lat, check_out_lng,
    check_out_accuracy_m, minutes, points_proposed, points_awarded, check_in_distance_m,
    reviewed_by, reviewed_at, review_note, transaction_id, reversed_by, reversed_at,
    reversal_reason, reversal_transaction_id, created_at, team_id
    FROM activity_logs_copy;
DROP TABLE activity_logs_copy;
CREATE INDEX activity_logs_status ON activity_logs (status, created_at, id);
CREATE INDEX activity_logs_volunteer ON activity_logs (volunteer_id, created_at, id);
CREATE INDEX activity_logs_created ON activity_logs (created_at, id);
CREATE UNIQUE INDEX activity_logs_transaction ON activity_logs (transaction_id)
    WHERE transaction_id IS NOT NULL;
CREATE INDEX activity_logs_reviewed ON activity_logs (status, reviewed_at);
CREATE INDEX activity_logs_activity_created ON activity_logs (activity_id, created_at, id);
CREATE INDEX activity_logs_team_created ON activity_logs (team_id, created_at, id);
CREATE INDEX activity_logs_team_status ON activity_logs (team_id, status, created_at, id);
