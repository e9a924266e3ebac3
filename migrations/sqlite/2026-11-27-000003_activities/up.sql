-- Teams, activities, enrolments and activity logs (API.md "Teams" and "Activities").
CREATE TABLE teams (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TIMESTAMP NOT NULL
);
-- Teams are listed by name.
CREATE INDEX teams_name ON teams (name, id);

CREATE TABLE team_members (
    team_id      TEXT NOT NULL REFERENCES teams (id),
    volunteer_id TEXT NOT NULL REFERENCES users (id),
    role         TEXT NOT NULL CHECK (role IN ('member', 'leader')),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, volunteer_id)
);
CREATE INDEX team_members_volunteer ON team_members (volunteer_id, role);
CREATE INDEX team_members_created ON team_members (team_id, created_at, volunteer_id);

CREATE TABLE activities (
    id              TEXT PRIMARY KEY NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT,
    location        TEXT,
    team_id         TEXT REFERENCES teams (id),
    starts_at       TIMESTAMP NOT NULL,
    ends_at         TIMESTAMP NOT NULL,
    capacity        BIGINT CHECK (capacity BETWEEN 1 AND 10000),
    points_per_hour BIGINT CHECK (points_per_hour BETWEEN 1 AND 1000),
    fixed_points    BIGINT CHECK (fixed_points BETWEEN 1 AND 10000),
    geofence_lat    REAL,
    geofence_lng    REAL,
    geofence_radius_m BIGINT CHECK (geofence_radius_m BETWEEN 10 AND 10000),
    -- Held under concurrent sign-ups by a conditional UPDATE (`enrolled_count < capacity`).
    enrolled_count  BIGINT NOT NULL DEFAULT 0 CHECK (enrolled_count >= 0),
    status          TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    -- The TOTP secret of the rotating check-in code; never shown.
    checkin_secret  TEXT NOT NULL,
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMP NOT NULL,
    CHECK ((points_per_hour IS NULL) <> (fixed_points IS NULL)),
    CHECK (ends_at > starts_at),
    CHECK ((geofence_lat IS NULL) = (geofence_radius_m IS NULL)
       AND (geofence_lng IS NULL) = (geofence_radius_m IS NULL))
);
-- Listing by time, soonest first.
CREATE INDEX activities_starts ON activities (starts_at, id);
CREATE INDEX activities_team ON activities (team_id);

CREATE TABLE enrollments (
    activity_id  TEXT NOT NULL REFERENCES activities (id),
    volunteer_id TEXT NOT NULL REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (activity_id, volunteer_id)
);
CREATE INDEX enrollments_volunteer ON enrollments (volunteer_id);

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
    points_awarded      BIGINT CHECK (points_awarded BETWEEN 0 AND 10000),
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
    -- One log per volunteer per activity (409 `already-checked-in`).
    UNIQUE (activity_id, volunteer_id),
    CHECK ((source = 'self') = (recorded_by IS NULL)),
    CHECK (status = 'checked_in' OR minutes IS NOT NULL),
    -- L4: the earn and its reversal are recorded once each.
    CHECK (status IN ('approved', 'reversed') OR transaction_id IS NULL),
    CHECK (status = 'reversed' OR reversal_transaction_id IS NULL)
);
-- The approval queue and "my logs", newest first, by keyset.
CREATE INDEX activity_logs_status ON activity_logs (status, created_at, id);
CREATE INDEX activity_logs_volunteer ON activity_logs (volunteer_id, created_at, id);
CREATE INDEX activity_logs_created ON activity_logs (created_at, id);
CREATE UNIQUE INDEX activity_logs_transaction ON activity_logs (transaction_id) WHERE transaction_id IS NOT NULL;
