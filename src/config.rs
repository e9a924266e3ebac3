//! Settings from the environment, with defaults that run out of the box. A bad value stops the
//! start with a message naming the variable.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};
use ipnet::IpNet;

use crate::db::batch::Batching;

/// `WRITE_BATCH_MAX` when unset: the most writes one SQLite transaction commits together.
pub const DEFAULT_WRITE_BATCH_MAX: u32 = 64;

/// Where the SQLite database lives when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_PATH: &str = "./data/volunteer-points.db";

/// The community's time zone when `COMMUNITY_TZ` is unset.
pub const DEFAULT_COMMUNITY_TZ: &str = "Asia/Shanghai";

/// Every setting of the service.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: a `postgres://` URL or a SQLite file path.
    pub database_url: String,
    /// `BIND_ADDR`: where the HTTP server listens.
    pub bind_addr: String,
    /// `JWT_SECRET`; `None` means "use (or create) the secret file beside the SQLite database".
    pub jwt_secret: Option<String>,
    /// `ACCESS_TOKEN_TTL`.
    pub access_token_ttl: Duration,
    /// `REFRESH_TOKEN_TTL`.
    pub refresh_token_ttl: Duration,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `DATABASE_POOL_SIZE`: connections in the pool.
    pub pool_size: u32,
    /// `WRITE_BATCH_MAX` and `WRITE_BATCH_WAIT`: group commit of concurrent writes (SQLite).
    pub write_batching: Batching,
    /// `PASSWORD_HASH_THREADS`: threads hashing passwords (each keeps argon2's 19 MiB).
    pub hash_threads: u32,
    /// `DATABASE_TIMEOUT`: how long a request waits for a connection, the write lock, a
    /// database lock or a password-hashing thread before answering 503.
    pub database_timeout: Duration,
    /// `TRUSTED_PROXIES`: the peers whose `X-Forwarded-For` names the client (default none).
    pub trusted_proxies: Vec<IpNet>,
    /// The rate limits.
    pub limits: Limits,
    /// `METRICS_TOKEN`: when set, `GET /metrics` answers only a request bearing it.
    pub metrics_token: Option<String>,
    /// `SHUTDOWN_TIMEOUT`: how long a stopping service waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// `COMMUNITY_TZ`: the community's time zone (an IANA name), whose calendar months
    /// settlements cover by default.
    pub community_tz: chrono_tz::Tz,
}

/// How logs are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object a line.
    Json,
}

/// Attempts allowed per key in a sliding window.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// How many attempts.
    pub max: u32,
    /// In how long.
    pub window: Duration,
}

/// The rate limits, each configurable.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `LOGIN_FAILURES_PER_PHONE` failed logins per `LOGIN_FAILURE_WINDOW` for one phone.
    pub login_failures_per_phone: Limit,
    /// `LOGINS_PER_ADDRESS` login attempts a minute from one client address.
    pub logins_per_address: Limit,
    /// `REGISTRATIONS_PER_ADDRESS` registrations a minute from one client address.
    pub registrations_per_address: Limit,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            login_failures_per_phone: Limit {
                max: 5,
                window: Duration::from_secs(15 * 60),
            },
            logins_per_address: Limit {
                max: 100,
                window: Duration::from_secs(60),
            },
            registrations_per_address: Limit {
                max: 100,
                window: Duration::from_secs(60),
            },
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Config> {
        Config::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from a map of variables (the environment, or a test's).
    pub fn from_vars(vars: &HashMap<String, String>) -> anyhow::Result<Config> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let duration = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            match get(name) {
                None => Ok(default),
                Some(v) => parse_duration(v).with_context(|| {
                    format!("{name}={v:?} is not a duration (like 900, 15m, 12h or 30d)")
                }),
            }
        };
        let number = |name: &str, default: u32| -> anyhow::Result<u32> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{name}={v:?} must be a whole number above 0"),
                },
            }
        };

        let database_url = get("DATABASE_URL")
            .unwrap_or(DEFAULT_SQLITE_PATH)
            .to_owned();
        // Anything else with a scheme would be taken for a SQLite file of that name: a mistyped
        // URL must not start the service on a new, empty database.
        if database_url.contains("://")
            && !["postgres://", "postgresql://", "sqlite://"]
                .iter()
                .any(|scheme| database_url.starts_with(scheme))
        {
            bail!(
                "DATABASE_URL={database_url:?} must be a SQLite file path (or sqlite://path) or a \
                 postgres:// URL"
            );
        }
        if let Some(filter) = get("RUST_LOG") {
            if let Err(e) = tracing_subscriber::EnvFilter::try_new(filter) {
                bail!("RUST_LOG={filter:?} is not a log filter (like info or volunteer_points=debug): {e}");
            }
        }
        // An empty token would leave /metrics open while the line in the environment file
        // looks as if it were closed.
        if vars
            .get("METRICS_TOKEN")
            .is_some_and(|v| v.trim().is_empty())
        {
            bail!("METRICS_TOKEN is empty: give it a token, or remove it to leave /metrics open");
        }
        let bind_addr = get("BIND_ADDR").unwrap_or("127.0.0.1:8080").to_owned();
        if bind_addr.parse::<std::net::SocketAddr>().is_err() {
            bail!("BIND_ADDR={bind_addr:?} is not an address like 127.0.0.1:8080");
        }
        let jwt_secret = get("JWT_SECRET").map(str::to_owned);
        if let Some(secret) = &jwt_secret {
            if secret.len() < 32 {
                bail!("JWT_SECRET must be at least 32 characters long");
            }
        }
        let log_format = match get("LOG_FORMAT").unwrap_or("pretty") {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => bail!("LOG_FORMAT={other:?} must be pretty or json"),
        };
        let tz_name = get("COMMUNITY_TZ").unwrap_or(DEFAULT_COMMUNITY_TZ);
        let community_tz = tz_name.parse::<chrono_tz::Tz>().map_err(|_| {
            anyhow::anyhow!("COMMUNITY_TZ={tz_name:?} is not an IANA time zone like Asia/Shanghai")
        })?;
        let defaults = Limits::default();
        let limits = Limits {
            login_failures_per_phone: Limit {
                max: number(
                    "LOGIN_FAILURES_PER_PHONE",
                    defaults.login_failures_per_phone.max,
                )?,
                window: duration(
                    "LOGIN_FAILURE_WINDOW",
                    defaults.login_failures_per_phone.window,
                )?,
            },
            logins_per_address: Limit {
                max: number("LOGINS_PER_ADDRESS", defaults.logins_per_address.max)?,
                window: defaults.logins_per_address.window,
            },
            registrations_per_address: Limit {
                max: number(
                    "REGISTRATIONS_PER_ADDRESS",
                    defaults.registrations_per_address.max,
                )?,
                window: defaults.registrations_per_address.window,
            },
        };
        Ok(Config {
            database_url,
            bind_addr,
            jwt_secret,
            access_token_ttl: duration("ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?,
            refresh_token_ttl: duration("REFRESH_TOKEN_TTL", Duration::from_secs(30 * 24 * 3600))?,
            log_format,
            pool_size: number("DATABASE_POOL_SIZE", 8)?,
            write_batching: Batching {
                max: number("WRITE_BATCH_MAX", DEFAULT_WRITE_BATCH_MAX)? as usize,
                wait: match get("WRITE_BATCH_WAIT") {
                    None => Duration::ZERO,
                    Some(v) => parse_short_duration(v).with_context(|| {
                        format!("WRITE_BATCH_WAIT={v:?} must be 0 or a short wait like 500us or 2ms (at most 1s)")
                    })?,
                },
            },
            hash_threads: number("PASSWORD_HASH_THREADS", 1)?,
            database_timeout: duration("DATABASE_TIMEOUT", Duration::from_secs(5))?,
            trusted_proxies: get("TRUSTED_PROXIES")
                .map(parse_networks)
                .transpose()
                .context(
                    "TRUSTED_PROXIES must list addresses or CIDRs, like 10.0.0.1, 10.1.0.0/16",
                )?
                .unwrap_or_default(),
            limits,
            metrics_token: get("METRICS_TOKEN").map(str::to_owned),
            shutdown_timeout: duration("SHUTDOWN_TIMEOUT", Duration::from_secs(30))?,
            community_tz,
        })
    }
}

/// Parses a list of addresses and CIDRs separated by commas or spaces (an address is a network
/// of one).
fn parse_networks(raw: &str) -> anyhow::Result<Vec<IpNet>> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .with_context(|| format!("{item:?} is not an address or CIDR"))
        })
        .collect()
}

/// The leading number of `raw` and the unit after it (trimmed).
fn number_and_unit(raw: &str) -> anyhow::Result<(u64, &str)> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    Ok((digits.parse().context("no number")?, unit.trim()))
}

/// Parses `900`, `900s`, `15m`, `12h` or `30d`.
pub fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    let (n, unit) = number_and_unit(raw)?;
    let seconds = match unit {
        "" | "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        other => bail!("unknown unit {other:?}"),
    };
    if seconds == 0 {
        bail!("must be above zero");
    }
    Ok(Duration::from_secs(seconds))
}

/// Parses a short wait: `0`, microseconds (`500us`), milliseconds (`2ms`, or a bare number) or
/// seconds (`1s`), at most one second.
pub fn parse_short_duration(raw: &str) -> anyhow::Result<Duration> {
    let (n, unit) = number_and_unit(raw)?;
    let wait = match unit {
        "" | "ms" => Duration::from_millis(n),
        "us" | "µs" => Duration::from_micros(n),
        "s" => Duration::from_secs(n),
        other => bail!("unknown unit {other:?}"),
    };
    if wait > Duration::from_secs(1) {
        bail!("longer than a second");
    }
    Ok(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_run_out_of_the_box() {
        let c = Config::from_vars(&HashMap::new()).expect("defaults are valid");
        assert_eq!(c.database_url, DEFAULT_SQLITE_PATH);
        assert_eq!(c.bind_addr, "127.0.0.1:8080");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(30 * 86400));
        assert!(c.jwt_secret.is_none());
        assert!(c.metrics_token.is_none());
        assert_eq!(c.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(c.community_tz, chrono_tz::Asia::Shanghai);
        assert!(
            c.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
    }

    #[test]
    fn trusted_proxies_take_addresses_and_cidrs() {
        let c = Config::from_vars(&vars(&[("TRUSTED_PROXIES", "10.0.0.1, 172.16.0.0/12 ::1")]))
            .expect("valid proxies");
        let nets: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.1/32", "172.16.0.0/12", "::1/128"]);
    }

    #[test]
    fn a_short_wait_takes_microseconds_milliseconds_or_one_second() {
        for (raw, wait) in [
            ("0", Duration::ZERO),
            ("500us", Duration::from_micros(500)),
            ("2ms", Duration::from_millis(2)),
            ("3", Duration::from_millis(3)),
            ("1s", Duration::from_secs(1)),
        ] {
            assert_eq!(parse_short_duration(raw).ok(), Some(wait), "{raw}");
        }
        assert!(parse_short_duration("1001ms").is_err());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL", "soon"),
            ("LOG_FORMAT", "xml"),
            ("BIND_ADDR", "here"),
            ("JWT_SECRET", "short"),
            ("DATABASE_POOL_SIZE", "0"),
            ("LOGIN_FAILURES_PER_PHONE", "-1"),
            ("SHUTDOWN_TIMEOUT", "never"),
            ("COMMUNITY_TZ", "Mars/Olympus"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "nginx"),
            ("DATABASE_URL", "mysql://localhost/points"),
            ("DATABASE_URL", "sqlite:/points.db://x"),
            ("RUST_LOG", "[[["),
            ("METRICS_TOKEN", " "),
            ("WRITE_BATCH_WAIT", "2s"),
        ] {
            let err = Config::from_vars(&vars(&[(name, value)])).expect_err(name);
            assert!(format!("{err:#}").contains(name), "{err:#}");
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("900").ok(), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("15m").ok(), Some(Duration::from_secs(900)));
        assert_eq!(
            parse_duration("30d").ok(),
            Some(Duration::from_secs(2_592_000))
        );
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5 weeks").is_err());
    }
}
