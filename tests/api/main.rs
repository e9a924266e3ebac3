//! The behaviour of the service over real HTTP. One binary; `spawn_app` gives each test its own
//! server and database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set).

#[path = "../support/fresh_database.rs"]
mod fresh_database;
mod helpers;
#[path = "../support/served.rs"]
mod served;

mod activities;
mod activity_logs;
mod auth;
mod check_in;
mod docs;
mod exports;
mod fund;
mod fuzzed;
mod group_commit;
mod hardening;
mod i18n;
mod import;
mod ledger;
mod limits;
mod metrics;
mod ops;
mod partners;
mod people;
mod plans;
mod races;
mod reports;
mod rewards;
mod statements;
mod teams;
mod wishes;
