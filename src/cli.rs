//! The command line: `serve` (the default), `migrate`, `create-admin`, `verify-ledger`,
//! `import-volunteers`, `seed-demo`, `backup`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{users, Db};
use crate::domain::people::{Password, PersonName, Phone, Role};
use crate::startup::{open_database, Application};

/// volunteer-points: volunteer hours → points → rewards.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an admin, or promote an existing account to admin. The password of a new account
    /// comes from ADMIN_PASSWORD or is asked on the terminal.
    CreateAdmin {
        /// Phone number: 11 digits starting with 1.
        #[arg(long)]
        phone: String,
        /// Display name (1–50 characters).
        #[arg(long)]
        name: String,
    },
    /// Check the ledger's invariants over the whole database; exits 1 if any is broken.
    VerifyLedger,
    /// Import the community's volunteer list (CSV: phone, name, team, team_role,
    /// opening_points; UTF-8 or GB18030), as `POST /volunteers/import` does. Prints the report
    /// as JSON; exits 1 if any row had an error.
    ImportVolunteers {
        /// The CSV file.
        file: std::path::PathBuf,
        /// Report what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fill an EMPTY database with a living demo community (teams, partners and rewards,
    /// volunteers with a month of service, activities today and this week, micro-wishes) and
    /// print one line per sign-in account: `<role> <phone> <password>`. Refuses (exit 1,
    /// nothing changed) a database that already holds people.
    SeedDemo,
    /// Copy a live SQLite database, consistently, into FILE (which must not exist yet) while the
    /// service runs and writes. On PostgreSQL it refuses and points to pg_dump.
    Backup {
        /// Where the copy goes.
        file: std::path::PathBuf,
    },
}

/// Runs the command the user asked for.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = open_database(&config)?;
            db.migrate()?;
            println!("migrations applied ({})", db.backend().name());
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin { phone, name } => create_admin(&config, &phone, &name),
        Command::VerifyLedger => verify_ledger(&config),
        Command::ImportVolunteers { file, dry_run } => import_volunteers(&config, &file, dry_run),
        Command::SeedDemo => seed_demo(&config),
        Command::Backup { file } => backup(&config, &file),
    }
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let backend = crate::db::Backend::of(&config.database_url);
    let where_ = if backend == crate::db::Backend::Sqlite {
        format!("SQLite file {}", config.database_url)
    } else {
        "PostgreSQL (DATABASE_URL)".to_owned()
    };
    let app = Application::build(config.clone(), Clock::System)?;
    // The bound port, not the configured one: `BIND_ADDR=…:0` picks a free port.
    let mut bound: std::net::SocketAddr = config
        .bind_addr
        .parse()
        .with_context(|| format!("BIND_ADDR={:?} is not an address", config.bind_addr))?;
    bound.set_port(app.port());
    let addr = format!("http://{bound}");
    // Written, not `println!`ed: a service whose stdout has no reader (`serve | head -1`, a
    // closed terminal) must run on, not panic on the second line.
    let banner = format!(
        "volunteer-points listening on {addr} (API under {addr}/api/v1)\n\
         API docs: {addr}/docs (OpenAPI: {addr}/api-docs/openapi.json)\n\
         database: {where_}\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    tracing::info!(port = app.port(), database = backend.name(), "started");
    app.run_until_signal().await?;
    Ok(ExitCode::SUCCESS)
}

fn migrated(config: &Config) -> anyhow::Result<Db> {
    let db = open_database(config)?;
    db.migrate()?;
    Ok(db)
}

fn create_admin(config: &Config, phone: &str, name: &str) -> anyhow::Result<ExitCode> {
    let phone = Phone::parse(phone).map_err(|m| anyhow::anyhow!("--phone {m}"))?;
    let name = PersonName::parse(name).map_err(|m| anyhow::anyhow!("--name {m}"))?;
    let db = migrated(config)?;
    let now = Clock::System.now_naive();
    if let Some(existing) = db.read_blocking(|conn| users::find_by_phone(conn, phone.as_str()))? {
        db.write_blocking(|conn| users::set_role(conn, &existing.id, Role::Admin, now))?;
        println!("{} ({}) is now an admin", existing.name, existing.phone);
        return Ok(ExitCode::SUCCESS);
    }
    let raw = match std::env::var("ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => rpassword::prompt_password("Password for the new admin: ")
            .context("ADMIN_PASSWORD is not set and no terminal to ask on")?,
    };
    let password = Password::parse(&raw).map_err(|m| anyhow::anyhow!("the password {m}"))?;
    let hash = crate::auth::hash_password(password.expose())?;
    let user = db.write_blocking(|conn| {
        users::create(
            conn,
            users::NewUser {
                phone: &phone,
                name: &name.clone().into_inner(),
                role: Role::Admin,
                password_hash: &hash,
                now,
            },
        )
    })?;
    println!(
        "admin {} ({}) created, id {}",
        user.name, user.phone, user.id
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_ledger(config: &Config) -> anyhow::Result<ExitCode> {
    let db = migrated(config)?;
    let report = db.read_blocking(crate::db::verify_all)?;
    println!(
        "checked {} accounts and {} transactions (rules L1, L2, L9, L10 and the fund's figures)",
        report.accounts_checked, report.transactions_checked
    );
    for p in &report.problems {
        println!("{} {}: {}", p.rule, p.subject, p.detail);
    }
    if report.ok {
        println!("ledger ok");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} problem(s) found", report.problems.len());
        Ok(ExitCode::FAILURE)
    }
}

fn import_volunteers(
    config: &Config,
    file: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed = crate::domain::import::parse(&bytes, crate::messages::Lang::En)
        .map_err(|rule| anyhow::anyhow!("{}: {rule}", file.display()))?;
    let db = migrated(config)?;
    let report = crate::db::import::run(&db, parsed, dry_run, None, Clock::System.now_naive())?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn seed_demo(config: &Config) -> anyhow::Result<ExitCode> {
    use crate::demo::{demo_password, seed, Account, SignIns};
    let sign_in = |role: Role, phone: &str| -> anyhow::Result<(Account, String)> {
        let password = demo_password();
        let hash = crate::auth::hash_password(&password)?;
        let phone = phone.to_owned();
        Ok((
            Account {
                role,
                phone,
                password,
            },
            hash,
        ))
    };
    let sign_ins = SignIns {
        admin: sign_in(Role::Admin, "13800000001")?,
        staff: sign_in(Role::Staff, "13800000002")?,
        volunteer: sign_in(Role::Volunteer, "13800000003")?,
    };
    let db = migrated(config)?;
    let (now, tz) = (Clock::System.now(), config.community_tz);
    match db.write_blocking(|conn| seed(conn, sign_ins, now, tz))? {
        None => {
            eprintln!("the database already holds people: seed-demo fills only an empty one");
            Ok(ExitCode::FAILURE)
        }
        Some(accounts) => {
            for a in accounts {
                println!("{} {} {}", a.role.as_str(), a.phone, a.password);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn backup(config: &Config, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    if crate::db::Backend::of(&config.database_url) == crate::db::Backend::Postgres {
        anyhow::bail!(
            "backup copies SQLite databases; on PostgreSQL use pg_dump: \
             pg_dump --format=custom --file=FILE \"$DATABASE_URL\" (see docs/OPERATIONS.md)"
        );
    }
    let source = config.database_url.trim_start_matches("sqlite://");
    if !std::path::Path::new(source).exists() {
        anyhow::bail!("there is no database at DATABASE_URL={source}");
    }
    if file.exists() {
        anyhow::bail!("{} already exists; back up into a new file", file.display());
    }
    let target = file
        .to_str()
        .context("the backup file name is not valid UTF-8")?;
    let db = open_database(config)?;
    db.backup_into(target).map_err(|e| match e {
        crate::error::AppError::Internal(cause) => cause,
        other => anyhow::anyhow!("backup failed: {other:?}"),
    })?;
    // It holds everyone's phone and password hash: readable by its owner only, as the JWT
    // secret's file is.
    std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", file.display()))?;
    println!("backup written to {}", file.display());
    Ok(ExitCode::SUCCESS)
}
