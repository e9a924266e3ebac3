//! The `volunteer-points` binary: parse the command line, load the configuration, start logs,
//! dispatch.

use std::process::ExitCode;

use clap::Parser;
use volunteer_points::{cli, config::Config, telemetry};

#[actix_web::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e:#}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    match cli::run(args, config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
