//! What tests that run the real binary share: where a started `serve` listens.

use std::io::{BufRead, BufReader};
use std::process::Child;

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
