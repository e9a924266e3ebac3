//! The behaviour of the service over real HTTP. One binary; `spawn_app` gives each test its own
//! server and database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set).

mod helpers;

mod import;

mod activities;
mod auth;
mod exports;
mod ledger;
mod ops;
mod people;
mod reports;
mod rewards;
mod teams;
