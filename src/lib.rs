//! volunteer-points: a community's public-benefit points platform. Volunteers earn points for
//! approved hours of service and spend them on rewards that local social enterprises sponsor.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod messages;
pub mod monitoring;
pub mod ratelimit;
pub mod startup;
pub mod telemetry;
