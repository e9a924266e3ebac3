//! What tests that run the real binary share: where a started `serve` listens.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// The real binary on the database at `url` with `secret` as its JWT secret, a clean
/// environment otherwise: it binds a free port and logs only errors.
pub fn service(url: &str, secret: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_volunteer-points"));
    cmd.env_clear()
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", secret)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null());
    cmd
}

/// Waits until the service (started with its stdout piped) says where it listens, and returns
/// that address; keeps draining its stdout so it never blocks on a full pipe.
pub fn listening_address(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the service prints where it listens")
            .expect("a line");
        if let Some(rest) = line.strip_prefix("volunteer-points listening on ") {
            break rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    address
}

/// Runs a command that must succeed (its stderr shown if it does not); its output.
pub fn succeeded(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `create-admin` with the service's command (its environment set).
pub fn create_admin(mut service: Command, phone: &str, name: &str, password: &str) {
    succeeded(
        service
            .args(["create-admin", "--phone", phone, "--name", name])
            .env("ADMIN_PASSWORD", password),
    );
}

/// Starts `serve` with the service's command (its environment set); the child and the base URL
/// it listens on.
pub fn serve(mut service: Command) -> (Child, String) {
    let mut child = service
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service starts");
    let base = listening_address(&mut child);
    (child, base)
}
