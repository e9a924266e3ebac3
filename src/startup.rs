//! Building the application: configuration → database (pool, migrations) → shared state →
//! HTTP server with the route table, extractor error handlers, request logs and docs.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::rt::task::JoinHandle;
use actix_web::{web, App, HttpServer};
use anyhow::{bail, Context};
use rand::RngCore;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{Hasher, TokenKeys};
use crate::clock::Clock;
use crate::config::{Config, Limits};
use crate::db::{idempotency, rate_limits, Backend, Db};
use crate::error::{AppError, PROBLEM_JSON};
use crate::monitoring::RequestSpan;
use crate::ratelimit::Limiter;

/// What every request handler shares.
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Access-token keys.
    pub tokens: TokenKeys,
    /// Where passwords are hashed and checked.
    pub hasher: Hasher,
    /// The settings.
    pub config: Config,
    /// The rate limiters.
    pub limiters: Limiters,
}

/// One limiter per limited action.
pub struct Limiters {
    /// Failed logins per phone.
    pub login_failures: Limiter,
    /// Wrong current passwords per account (`PUT /me/password`), as many as failed logins.
    pub password_failures: Limiter,
    /// Login attempts per client address.
    pub logins: Limiter,
    /// Registrations per client address.
    pub registrations: Limiter,
    /// Wrong check-in codes per volunteer and activity (5 in 10 minutes).
    pub check_in_codes: Limiter,
}

impl Limiters {
    /// Counted in the database on PostgreSQL (shared by every instance), in memory on SQLite.
    fn new(limits: &Limits, db: &Db, clock: &Clock) -> Limiters {
        let limiter = |scope, limit| Limiter::new(scope, limit, db, clock);
        Limiters {
            login_failures: limiter("login_failures", limits.login_failures_per_phone),
            password_failures: limiter("password_failures", limits.login_failures_per_phone),
            logins: limiter("logins", limits.logins_per_address),
            registrations: limiter("registrations", limits.registrations_per_address),
            check_in_codes: limiter(
                "check_in_codes",
                crate::config::Limit {
                    max: 5,
                    window: crate::ratelimit::minutes(10),
                },
            ),
        }
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    background: Vec<JoinHandle<()>>,
    /// The shared state (tests read the clock and database through it).
    pub state: web::Data<AppState>,
}

impl Application {
    /// Connects and migrates the database and binds `config.bind_addr`.
    pub fn build(config: Config, clock: Clock) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&config.bind_addr)
            .with_context(|| format!("cannot listen on BIND_ADDR={}", config.bind_addr))?;
        // The pool connects lazily: a missing JWT_SECRET on PostgreSQL is refused before the
        // database is touched (no migration runs for a service that will not start).
        let db = open_database(&config)?;
        let secret = jwt_secret(&config, db.backend())?;
        db.migrate().context("applying migrations failed")?;
        let state = web::Data::new(AppState {
            tokens: TokenKeys::new(secret.as_bytes(), config.access_token_ttl),
            hasher: Hasher::new(config.hash_threads as usize, config.database_timeout)
                .context("cannot start the password-hashing threads")?,
            limiters: Limiters::new(&config.limits, &db, &clock),
            db,
            clock,
            config,
        });
        let port = listener.local_addr()?.port();
        crate::monitoring::init();
        let server = run(listener, state.clone())?;
        let purge_state = state.clone();
        let background = vec![actix_web::rt::spawn(
            async move { purge(purge_state).await },
        )];
        Ok(Application {
            port,
            server,
            background,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT, then stops cleanly: no new connections, the requests in
    /// flight finish (for at most `SHUTDOWN_TIMEOUT`), background jobs stop, the pool closes.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let Application {
            server,
            background,
            state,
            ..
        } = self;
        let handle = server.handle();
        let timeout = state.config.shutdown_timeout;
        actix_web::rt::spawn(async move {
            match stop_signal().await {
                Ok(name) => tracing::info!(
                    signal = name,
                    timeout_s = timeout.as_secs(),
                    "stopping: no new connections, finishing requests in flight"
                ),
                Err(e) => tracing::error!(error = %e, "cannot listen for stop signals; stopping"),
            }
            handle.stop(true).await;
        });
        server.await?;
        for job in background {
            job.abort();
        }
        // The last handle on the pool: dropping it closes every connection.
        drop(state);
        tracing::info!("stopped");
        Ok(())
    }
}

/// Opens the pool for `DATABASE_URL`, creating the SQLite file's folder if needed.
pub fn open_database(config: &Config) -> anyhow::Result<Db> {
    if Backend::of(&config.database_url) == Backend::Sqlite {
        let path = config.database_url.trim_start_matches("sqlite://");
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the database folder {}", dir.display()))?;
        }
    }
    Ok(Db::connect(
        &config.database_url,
        config.pool_size,
        config.database_timeout,
    )?
    .with_batching(config.write_batching)?)
}

/// `JWT_SECRET`, or on SQLite a random secret kept beside the database file (mode 0600) and
/// reused on every start. PostgreSQL deployments must set it: instances share it.
fn jwt_secret(config: &Config, backend: Backend) -> anyhow::Result<String> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.clone());
    }
    if backend == Backend::Postgres {
        bail!("JWT_SECRET is not set: on PostgreSQL set JWT_SECRET to a random string of at least 32 characters, the same for every instance");
    }
    let db_path = Path::new(config.database_url.trim_start_matches("sqlite://"));
    let path = db_path.with_file_name(format!(
        "{}.jwt-secret",
        db_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("volunteer-points")
    ));
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot write the JWT secret file {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    Ok(secret)
}

/// Waits for SIGTERM (what systemd and container runtimes send) or SIGINT (Ctrl-C).
async fn stop_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let shutdown_timeout = state.config.shutdown_timeout.as_secs();
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    // Database work runs on each worker's blocking threads (actix allows 512 per process; each
    // thread keeps a stack and allocator caches). A thread without a connection could only wait,
    // except one whose write waits in the group-commit queue (it holds no connection meanwhile):
    // a worker gets as many threads as the pool has connections plus a full batch, so reads
    // never queue behind waiting writes.
    let config = &state.config;
    let blocking_threads = config.pool_size as usize + config.write_batching.max;
    let openapi = crate::api::openapi::document().context("serialising the OpenAPI document")?;
    let server = HttpServer::new(move || {
        let openapi = openapi.clone();
        App::new()
            .app_data(state.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| AppError::NotFound("resource").into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                AppError::BadRequest(format!("bad query parameters: {e}")).into()
            }))
            .wrap(ErrorHandlers::new().default_handler(problem_for_plain_errors))
            .wrap(from_fn(crate::api::idempotency::keep_refusals))
            .wrap(from_fn(crate::messages::localise))
            .wrap(from_fn(crate::monitoring::observe))
            .wrap(TracingLogger::<RequestSpan>::new())
            .into_utoipa_app()
            .configure(crate::api::routes)
            .into_app()
            .route(
                crate::api::openapi::DOCUMENT_PATH,
                web::get().to(move || {
                    let openapi = openapi.clone();
                    async move {
                        actix_web::HttpResponse::Ok()
                            .content_type(header::ContentType::json())
                            .body(openapi)
                    }
                }),
            )
            .service(
                SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::new([
                    crate::api::openapi::DOCUMENT_PATH,
                ])),
            )
            // Swagger UI's assets are relative to `/docs/`; `/docs` itself only redirects there.
            .route(
                "/docs",
                web::get().to(|| async {
                    actix_web::HttpResponse::PermanentRedirect()
                        .insert_header((header::LOCATION, "/docs/"))
                        .finish()
                }),
            )
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(AppError::NotFound("route"))
            }))
    })
    // Signals are ours (`run_until_signal`): actix stops at once on SIGINT.
    .disable_signals()
    .shutdown_timeout(shutdown_timeout)
    .workers(workers)
    .worker_max_blocking_threads(blocking_threads)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Every 10 minutes, off the request path, deletes what has expired, all of it in small batches:
/// idempotency answers past their retention, and (PostgreSQL) rate-limit keys whose window has
/// passed.
async fn purge(state: web::Data<AppState>) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let now = state.clock.now_naive();
        let db = state.db.clone();
        let purged = crate::db::blocking(move || {
            logged("idempotency keys", idempotency::purge_expired(&db, now));
            logged("rate-limit keys", rate_limits::purge_expired(&db, now));
            Ok(())
        })
        .await;
        if let Err(e) = purged {
            tracing::warn!(error = %e, "the purge did not run");
        }
    }
}

/// Logs what one purge deleted, or why it failed.
fn logged(what: &str, purged: Result<usize, AppError>) {
    match purged {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "purged expired {what}"),
        Err(e) => tracing::warn!(error = %e, "purging {what} failed"),
    }
}

/// Turns actix's own error answers (unknown route, wrong method, ...) into problem+json.
fn problem_for_plain_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let error = match res.status().as_u16() {
        404 => AppError::NotFound("route"),
        405 => AppError::MethodNotAllowed,
        413 => AppError::PayloadTooLarge,
        415 => AppError::UnsupportedMediaType,
        503 => AppError::Unavailable,
        s if s >= 500 => AppError::Internal(anyhow::anyhow!("unhandled {s} response")),
        _ => AppError::BadRequest("the request could not be read".into()),
    };
    let (req, _) = res.into_parts();
    // Carries the error, so `messages::localise` can answer in the request's language.
    let response = actix_web::HttpResponse::from_error(error);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body::<B>(),
    ))
}
