//! Every table, written by hand in portable SQL types (TEXT, TIMESTAMP, BIGINT, BOOLEAN,
//! INTEGER, DOUBLE) so one schema serves PostgreSQL and SQLite; the migrations of both dialects
//! must agree with it. Never generated: the diesel CLI's `print_schema` would write native types.

diesel::table! {
    users (id) {
        id -> Text,
        phone -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        kind -> Text,
        volunteer_id -> Nullable<Text>,
        balance -> BigInt,
        earned_total -> BigInt,
        spent_total -> BigInt,
        entry_count -> BigInt,
        created_at -> Timestamp,
        donated_total -> BigInt,
        minutes_served -> BigInt,
        pending_points -> BigInt,
        last_posted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> Text,
        kind -> Text,
        memo -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        activity_log_id -> Nullable<Text>,
        redemption_id -> Nullable<Text>,
        reverses_id -> Nullable<Text>,
        wish_id -> Nullable<Text>,
        opening_account_id -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        transaction_id -> Text,
        account_id -> Text,
        amount -> BigInt,
        seq -> Nullable<BigInt>,
        balance_after -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (caller_id, key) {
        caller_id -> Text,
        key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, volunteer_id) {
        team_id -> Text,
        volunteer_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activities (id) {
        id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        location -> Nullable<Text>,
        team_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Nullable<BigInt>,
        points_per_hour -> Nullable<BigInt>,
        fixed_points -> Nullable<BigInt>,
        geofence_lat -> Nullable<Double>,
        geofence_lng -> Nullable<Double>,
        geofence_radius_m -> Nullable<BigInt>,
        enrolled_count -> BigInt,
        status -> Text,
        checkin_secret -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    enrollments (activity_id, volunteer_id) {
        activity_id -> Text,
        volunteer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activity_logs (id) {
        id -> Text,
        activity_id -> Text,
        volunteer_id -> Text,
        status -> Text,
        source -> Text,
        recorded_by -> Nullable<Text>,
        note -> Nullable<Text>,
        checked_in_at -> Nullable<Timestamp>,
        checked_out_at -> Nullable<Timestamp>,
        check_in_lat -> Nullable<Double>,
        check_in_lng -> Nullable<Double>,
        check_in_accuracy_m -> Nullable<Double>,
        check_out_lat -> Nullable<Double>,
        check_out_lng -> Nullable<Double>,
        check_out_accuracy_m -> Nullable<Double>,
        minutes -> Nullable<BigInt>,
        points_proposed -> Nullable<BigInt>,
        points_awarded -> Nullable<BigInt>,
        check_in_distance_m -> Nullable<Double>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_note -> Nullable<Text>,
        transaction_id -> Nullable<Text>,
        reversed_by -> Nullable<Text>,
        reversed_at -> Nullable<Timestamp>,
        reversal_reason -> Nullable<Text>,
        reversal_transaction_id -> Nullable<Text>,
        created_at -> Timestamp,
        team_id -> Nullable<Text>,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        sponsor -> Nullable<Text>,
        cost_points -> BigInt,
        stock -> Nullable<BigInt>,
        stocked_total -> Nullable<BigInt>,
        per_volunteer_limit -> Nullable<BigInt>,
        active -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        partner_id -> Nullable<Text>,
    }
}

diesel::table! {
    redemptions (id) {
        id -> Text,
        reward_id -> Text,
        volunteer_id -> Text,
        quantity -> BigInt,
        points -> BigInt,
        status -> Text,
        pickup_code -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        fulfilled_at -> Nullable<Timestamp>,
        fulfilled_by -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<Text>,
        redeem_transaction_id -> Text,
        refund_transaction_id -> Nullable<Text>,
        fulfilled_partner_id -> Nullable<Text>,
    }
}

diesel::table! {
    wishes (id) {
        id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        beneficiary -> Text,
        team_id -> Nullable<Text>,
        points -> BigInt,
        due_at -> Nullable<Timestamp>,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        adopted_by -> Nullable<Text>,
        adopted_at -> Nullable<Timestamp>,
        fulfilment_note -> Nullable<Text>,
        fulfilled_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
        confirmed_by -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
        confirm_note -> Nullable<Text>,
        points_awarded -> Nullable<BigInt>,
        transaction_id -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        cancelled_by -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    partners (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    partner_clerks (partner_id, volunteer_id) {
        partner_id -> Text,
        volunteer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(ledger_entries -> accounts (account_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(activity_logs -> activities (activity_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    accounts,
    ledger_transactions,
    ledger_entries,
    idempotency_keys,
    teams,
    team_members,
    activities,
    enrollments,
    activity_logs,
    rewards,
    redemptions,
    wishes,
    partners,
    partner_clerks,
);
