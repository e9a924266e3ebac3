//! Plain Rust rules of the product: valid values by construction, no actix and no diesel.

pub mod activities;
pub mod page;
pub mod people;
pub mod rewards;
pub mod text;
pub mod wishes;
