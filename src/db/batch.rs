//! Group commit (issue 12): write requests queue to one writer thread, which runs every request
//! waiting (up to `WRITE_BATCH_MAX`) in one database transaction, so one commit — one fsync —
//! serves them all. SQLite has one writer at a time anyway; this turns the queue in front of it
//! from one transaction per request into one per batch.
//!
//! What stays true (LEDGER.md):
//! - L7, one event all or nothing: each request of a batch of several runs in its own savepoint;
//!   its refusal or fault rolls back its savepoint only, and the others go on. A request alone in
//!   its batch runs with no savepoint, and its failure rolls back the transaction.
//! - L8, acknowledged = committed: a request is answered only after the commit that holds it. If
//!   the commit fails, or the connection breaks mid-batch (a savepoint cannot be opened, released
//!   or rolled back; a request panicked), the whole batch rolls back and every request in it that
//!   had succeeded is answered 503 `unavailable`.
//! - L5: a request's work and its idempotency key commit together, as before.
//! - Shedding: a request that waited longer than `DATABASE_TIMEOUT` in the queue is answered 503
//!   without running; a batch that cannot get the write lock or a connection within it answers
//!   503 to all its requests.
//! - Metrics: ledger postings of a rolled-back savepoint are discarded, the rest counted only
//!   when the batch commits (`ledger::posted`, which is per thread: one writer thread).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use diesel::connection::TransactionManager;

use super::{begin_write, ledger, Db, DbConnection};
use crate::error::AppError;

/// How writes are grouped (`WRITE_BATCH_MAX`, `WRITE_BATCH_WAIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// The most requests one transaction holds; 1 turns group commit off.
    pub max: usize,
    /// How long the writer waits for more requests once it has one. Zero: it takes what is
    /// queued (requests queue while the previous batch commits) and never waits.
    pub wait: Duration,
}

/// A request's work, erased to run on the writer thread.
struct Job {
    queued: Instant,
    run: Box<dyn FnOnce(&mut DbConnection) -> Ran + Send>,
    refuse: Box<dyn FnOnce(AppError) + Send>,
}

/// What a job did: whether its work succeeded (its savepoint is kept), and how to answer it once
/// the batch's fate is known.
struct Ran {
    ok: bool,
    answer: Box<dyn FnOnce(Result<(), AppError>) + Send>,
}

/// The queue to the writer thread. The thread ends when the last `Db` holding this drops.
pub(super) struct Batcher {
    queue: Sender<Job>,
    /// How many requests wait for the writer: queued, or in a batch not yet committed.
    waiting: AtomicUsize,
}

impl Batcher {
    /// Starts the writer thread over `db` (which must not batch itself), and the checkpointer
    /// beside it.
    pub(super) fn start(db: Db, batching: Batching) -> std::io::Result<Batcher> {
        let (queue, jobs) = mpsc::channel();
        let (nudge, nudged) = mpsc::sync_channel(1);
        let checkpoints = db.clone();
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || checkpointer(&checkpoints, &nudged))?;
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer(&db, &jobs, batching, &nudge))?;
        Ok(Batcher {
            queue,
            waiting: AtomicUsize::new(0),
        })
    }

    /// How many requests wait for the writer now (queued, or in a batch not yet committed).
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Queues `f` and blocks until the batch holding it has committed (or failed).
    pub(super) fn submit<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let refusal = reply.clone();
        let job = Job {
            queued: Instant::now(),
            run: Box::new(move |conn| {
                let result = f(conn);
                let ok = result.is_ok();
                Ran {
                    ok,
                    answer: Box::new(move |committed| {
                        // A refusal is its own answer: it changed nothing, committed or not.
                        let answer = if ok { committed.and(result) } else { result };
                        let _ = reply.send(answer);
                    }),
                }
            }),
            refuse: Box::new(move |e| {
                let _ = refusal.send(Err(e));
            }),
        };
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let answer = match self.queue.send(job) {
            Ok(()) => answer.recv().map_err(|_| {
                AppError::Internal(anyhow::anyhow!(
                    "a write was dropped by the database writer (it panicked)"
                ))
            }),
            Err(_) => Err(AppError::Internal(anyhow::anyhow!(
                "the database writer has stopped"
            ))),
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        answer?
    }
}

/// The writer thread: takes the first request waiting, then every other already queued (or
/// arriving within `wait`) up to `max`, and commits them as one batch.
fn writer(db: &Db, jobs: &Receiver<Job>, batching: Batching, nudge: &SyncSender<()>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        let until = Instant::now() + batching.wait;
        while batch.len() < batching.max {
            let next = match jobs.try_recv() {
                Ok(job) => Some(job),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        None
                    } else {
                        jobs.recv_timeout(left).ok()
                    }
                }
            };
            match next {
                Some(job) => batch.push(job),
                None => break,
            }
        }
        commit_batch(db, batch);
        // A nudge already waiting covers this batch too.
        let _ = nudge.try_send(());
    }
}

/// The checkpointer thread: after the writer's batches, copies the WAL's committed pages into
/// the database file (`PRAGMA wal_checkpoint(PASSIVE)`, which waits for no reader or writer),
/// so SQLite's automatic checkpoint, which would run on the writer's thread inside a commit once
/// the WAL reaches 1,000 pages, seldom has anything left to do. Ends with the writer.
fn checkpointer(db: &Db, nudged: &Receiver<()>) {
    while nudged.recv().is_ok() {
        let done = db.read_blocking(|conn| {
            diesel::connection::SimpleConnection::batch_execute(
                conn,
                "PRAGMA wal_checkpoint(PASSIVE)",
            )?;
            Ok(())
        });
        match done {
            Ok(()) => metrics::counter!("db_wal_checkpoints_total").increment(1),
            Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed"),
        }
    }
}

/// The answers of a batch's requests, given once the batch's fate is known.
type Answers = Vec<Box<dyn FnOnce(Result<(), AppError>) + Send>>;

/// Runs one batch in one transaction and answers each request.
fn commit_batch(db: &Db, batch: Vec<Job>) {
    let (stale, live): (Vec<Job>, Vec<Job>) = batch
        .into_iter()
        .partition(|job| job.queued.elapsed() > db.timeout);
    for job in stale {
        tracing::warn!("a write waited in the queue longer than DATABASE_TIMEOUT");
        (job.refuse)(AppError::Unavailable);
    }
    if live.is_empty() {
        return;
    }
    metrics::histogram!("db_write_batch_size").record(live.len() as f64);
    let mut waiting = Some(live);
    let ran = db.writer(|conn| {
        let Some(live) = waiting.take() else {
            return Ok((Vec::new(), false));
        };
        if let Err(e) = begin_write(conn) {
            waiting = Some(live);
            return Err(e);
        }
        let (answers, outcome) = run_batch(conn, live);
        let committed = match outcome {
            Ok(true) => {
                let committed = DbConnection::commit_transaction(conn);
                match &committed {
                    Ok(()) => ledger::posted::count_committed(),
                    Err(e) => tracing::error!(error = %e, "a batch's commit failed"),
                }
                committed.is_ok()
            }
            // Nothing to keep, or a broken batch: undo it all.
            Ok(false) | Err(()) => {
                if let Err(e) = DbConnection::rollback_transaction(conn) {
                    tracing::error!(error = %e, "a batch's rollback failed");
                }
                outcome.is_ok()
            }
        };
        ledger::posted::discard_from(0);
        Ok((answers, committed))
    });
    match ran {
        Ok((answers, committed)) => {
            for answer in answers {
                answer(if committed {
                    Ok(())
                } else {
                    Err(AppError::Unavailable)
                });
            }
        }
        // No write lock or connection in time (or BEGIN failed): nothing ran.
        Err(e) => {
            tracing::warn!(error = ?e, "a batch could not begin");
            for job in waiting.into_iter().flatten() {
                (job.refuse)(AppError::Unavailable);
            }
        }
    }
}

/// Runs each job of the batch, each in its own savepoint when there are several. Answers the
/// jobs' answers and whether there is anything to commit, or `Err` if the batch must fail whole
/// (the jobs not yet run are then refused with 503).
fn run_batch(conn: &mut DbConnection, live: Vec<Job>) -> (Answers, Result<bool, ()>) {
    let alone = live.len() == 1;
    let mut answers: Answers = Vec::with_capacity(live.len());
    let mut any_ok = false;
    let mut jobs = live.into_iter();
    let mut broken = false;
    for job in jobs.by_ref() {
        let posted_before = ledger::posted::len();
        if !alone {
            if let Err(e) = DbConnection::begin_transaction(conn) {
                tracing::error!(error = %e, "a savepoint could not be opened: the batch fails");
                (job.refuse)(AppError::Unavailable);
                broken = true;
                break;
            }
        }
        let run = job.run;
        let Ok(ran) = catch_unwind(AssertUnwindSafe(|| run(&mut *conn))) else {
            // Its caller learns of it from the dropped answer.
            tracing::error!("a write panicked: its batch fails");
            broken = true;
            break;
        };
        let ended = if ran.ok {
            any_ok = true;
            alone || DbConnection::commit_transaction(conn).is_ok()
        } else {
            ledger::posted::discard_from(posted_before);
            alone || DbConnection::rollback_transaction(conn).is_ok()
        };
        answers.push(ran.answer);
        if !ended {
            tracing::error!("a savepoint could not be ended: the batch fails");
            broken = true;
            break;
        }
    }
    if broken {
        for job in jobs {
            (job.refuse)(AppError::Unavailable);
        }
        return (answers, Err(()));
    }
    (answers, Ok(any_ok))
}
