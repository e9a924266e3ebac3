//! The benchmark's async ceiling: what this machine gives an HTTP server of the service's own
//! stack (actix-web, two workers) whose PostgreSQL driver is asynchronous (tokio-postgres), so a
//! worker thread keeps many statements in flight instead of a thread sleeping through each round
//! trip. It answers the service's balance SELECT and runs the lean redemption (the statements of
//! the bench's lean pgbench script, prepared, with bound values). It signs no one in, checks
//! nothing, keeps no idempotency answer beyond the lean row: a ceiling for an async data layer,
//! not a service.

use std::cell::RefCell;
use std::rc::Rc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Statement};

/// The service's balance read (`db::ledger::figures`).
const BALANCE: &str = "SELECT balance, earned_total, spent_total, donated_total, minutes_served, \
                       pending_points FROM accounts WHERE volunteer_id = $1 LIMIT 1";

/// The lean redemption's statements, as the bench's lean pgbench script has them.
const REDEEM: [&str; 5] = [
    "INSERT INTO idempotency_keys (caller_id, key, request_hash, response_status, response_body, \
     created_at) VALUES ($1, $2, 'lean', 201, $3, now())",
    "UPDATE accounts SET balance = balance - 1, spent_total = spent_total + 1, \
     entry_count = entry_count + 1 WHERE id = $1 AND balance >= 1 RETURNING balance, entry_count",
    "INSERT INTO ledger_transactions (id, kind, memo, created_by, created_at, redemption_id) \
     VALUES ($1, 'redeem', 'Bench reward', $2, now(), $3)",
    "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, seq, balance_after, \
     created_at) VALUES ($1, $2, $3, -1, $4, $5, now()), ($6, $2, $7, 1, NULL, NULL, now())",
    "INSERT INTO redemptions (id, reward_id, volunteer_id, quantity, points, status, pickup_code, \
     created_by, created_at, redeem_transaction_id) VALUES ($1, $2, $3, 1, 1, 'reserved', $4, $3, \
     now(), $5)",
];

/// Per worker: connections that pipeline reads, and connections a redemption holds.
const READ_CONNECTIONS: usize = 2;
const WRITE_CONNECTIONS: usize = 8;

/// What every worker needs.
pub struct Config {
    pub url: String,
    pub reward: String,
    pub redemptions_account: String,
}

/// A running ceiling server.
pub struct Ceiling {
    pub base: String,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Ceiling {
    /// Starts it on `addr` (two workers, each opening its connections on its first request).
    pub fn start(addr: &str, config: Config) -> anyhow::Result<Ceiling> {
        let config = web::Data::new(config);
        let (tx, rx) = std::sync::mpsc::channel();
        let addr = addr.to_owned();
        let base = format!("http://{addr}");
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(config.clone())
                        .route("/balance/{volunteer}", web::get().to(balance))
                        .route("/redeem/{volunteer}", web::post().to(redeem))
                })
                .workers(2)
                .bind(&addr);
                match server {
                    Ok(server) => {
                        let server = server.run();
                        let _ = tx.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            })
        });
        let handle = rx.recv()??;
        Ok(Ceiling {
            base,
            handle,
            thread: Some(thread),
        })
    }

    pub async fn stop(mut self) {
        self.handle.stop(false).await;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    balance: Statement,
    redeem: Vec<Statement>,
}

/// A worker's connections.
struct Pool {
    read: Vec<Conn>,
    write: Vec<tokio::sync::Mutex<Conn>>,
}

thread_local! {
    static POOL: Rc<tokio::sync::OnceCell<Rc<Pool>>> = Rc::new(tokio::sync::OnceCell::new());
    static TURN: RefCell<usize> = const { RefCell::new(0) };
}

/// The next of `n` in turn, per worker.
fn turn(n: usize) -> usize {
    TURN.with(|t| {
        let mut t = t.borrow_mut();
        *t = t.wrapping_add(1);
        *t % n
    })
}

async fn connect(url: &str) -> anyhow::Result<Conn> {
    let mut config: tokio_postgres::Config = url.parse()?;
    // libpq's variable, which the service and pgbench read, read here too.
    if std::env::var("PGSSLMODE").as_deref() == Ok("disable") {
        config.ssl_mode(SslMode::Disable);
    }
    // As libpq's default `prefer`: encrypted when the server offers it, the certificate not checked.
    let mut tls = SslConnector::builder(SslMethod::tls())?;
    tls.set_verify(SslVerifyMode::NONE);
    let mut tls = MakeTlsConnector::new(tls.build());
    tls.set_callback(|c, _| {
        c.set_verify_hostname(false);
        Ok(())
    });
    let (client, connection) = config.connect(tls).await?;
    actix_web::rt::spawn(connection);
    let balance = client.prepare(BALANCE).await?;
    let mut redeem = Vec::new();
    for sql in REDEEM {
        redeem.push(client.prepare(sql).await?);
    }
    Ok(Conn {
        client,
        balance,
        redeem,
    })
}

/// This worker's connections, opened by its first request (the others wait for them).
async fn pool(url: &str) -> anyhow::Result<Rc<Pool>> {
    let cell = POOL.with(Rc::clone);
    let pool = cell
        .get_or_try_init(|| async {
            let mut pool = Pool {
                read: Vec::new(),
                write: Vec::new(),
            };
            for _ in 0..READ_CONNECTIONS {
                pool.read.push(connect(url).await?);
            }
            for _ in 0..WRITE_CONNECTIONS {
                pool.write
                    .push(tokio::sync::Mutex::new(connect(url).await?));
            }
            anyhow::Ok(Rc::new(pool))
        })
        .await?;
    Ok(pool.clone())
}

/// Six characters of 64, as the lean script's code (one in 68 billion: no clash in a run).
fn pickup_code() -> String {
    const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";
    let bits = uuid::Uuid::new_v4().as_u128();
    (0..6)
        .map(|i| char::from(ALPHABET[(bits >> (6 * i)) as usize % 64]))
        .collect()
}

fn failed(e: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::InternalServerError().body(e.to_string())
}

async fn balance(config: web::Data<Config>, volunteer: web::Path<String>) -> HttpResponse {
    let answer = async {
        let pool = pool(&config.url).await?;
        let conn = &pool.read[turn(pool.read.len())];
        let row = conn
            .client
            .query_one(&conn.balance, &[&volunteer.as_str()])
            .await?;
        let figure = |i| row.get::<_, i64>(i);
        anyhow::Ok(serde_json::json!({
            "balance": figure(0), "earned_total": figure(1), "spent_total": figure(2),
            "donated_total": figure(3), "minutes_served": figure(4), "pending_points": figure(5),
        }))
    };
    match answer.await {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => failed(e),
    }
}

async fn redeem(config: web::Data<Config>, volunteer: web::Path<String>) -> HttpResponse {
    let answer = async {
        let pool = pool(&config.url).await?;
        let mut conn = pool.write[turn(pool.write.len())].lock().await;
        // Time-ordered, as the service's ids (`Id::fresh`).
        let fresh = || uuid::Uuid::now_v7().to_string();
        let (key, tx, redemption, e1, e2) = (fresh(), fresh(), fresh(), fresh(), fresh());
        let code = pickup_code();
        let body = format!(
            "{{\"id\":\"{redemption}\",\"reward_id\":\"{}\",\"points\":1,\"status\":\"reserved\"}}",
            config.reward
        );
        let v = volunteer.as_str();
        let statements = conn.redeem.clone();
        let t = conn.client.transaction().await?;
        t.execute(&statements[0], &[&v, &key, &body]).await?;
        let row = t.query_one(&statements[1], &[&v]).await?;
        let (balance, seq): (i64, i64) = (row.get(0), row.get(1));
        t.execute(&statements[2], &[&tx, &v, &redemption]).await?;
        let account = config.redemptions_account.as_str();
        t.execute(
            &statements[3],
            &[&e1, &tx, &v, &seq, &balance, &e2, &account],
        )
        .await?;
        t.execute(
            &statements[4],
            &[&redemption, &config.reward, &v, &code, &tx],
        )
        .await?;
        t.commit().await?;
        anyhow::Ok(body)
    };
    match answer.await {
        Ok(body) => HttpResponse::Created()
            .content_type("application/json")
            .body(body),
        Err(e) => failed(e),
    }
}
