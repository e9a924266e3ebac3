//! The tables, in portable SQL types only so one schema serves PostgreSQL and SQLite.

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

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(ledger_entries -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    refresh_tokens,
    accounts,
    ledger_transactions,
    ledger_entries,
    idempotency_keys,
);
