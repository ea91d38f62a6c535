//! The database and its writer thread (group commit).

use flowstate_ports::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
}

/// A reply, sent once the batch transaction's outcome is known.
type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// An operation run on the writer thread inside the batch transaction.
/// Returns whether it succeeded (else its savepoint is rolled back).
type Op = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// The embedded store and queue. Cheap to clone; the writer thread stops
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Embedded {
    tx: Arc<mpsc::Sender<Op>>,
}

/// Most operations in one transaction: bounds the latency of the first.
const MAX_BATCH: usize = 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS state_machines(arn TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions(revision_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions(
    arn TEXT PRIMARY KEY, sm_arn TEXT NOT NULL, status TEXT NOT NULL,
    start_time INTEGER NOT NULL, version INTEGER NOT NULL, header TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions(sm_arn, start_time DESC, arn DESC);
CREATE TABLE IF NOT EXISTS frames(arn TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY(arn, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history(arn TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY(arn, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox(id TEXT PRIMARY KEY, created INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_by_created ON outbox(created);
CREATE TABLE IF NOT EXISTS queue(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, due INTEGER NOT NULL,
    visible_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS queue_by_visible ON queue(visible_at, seq);
";

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Embedded {
    /// Opens (or creates) `DIR/flowstate.db` in WAL mode with
    /// `synchronous=NORMAL`: a commit survives a process crash; an OS crash
    /// may lose the last commits but never corrupts the file.
    pub fn open(dir: impl AsRef<Path>) -> Result<Embedded, OpenError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("flowstate.db");
        let p = path.display().to_string();
        let conn = Connection::open(&path).map_err(|source| OpenError::Sqlite {
            path: p.clone(),
            source,
        })?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .map_err(|source| OpenError::Sqlite {
            path: p.clone(),
            source,
        })?;
        Self::start(conn, p)
    }

    /// A database in memory: nothing survives the process.
    pub fn memory() -> Result<Embedded, OpenError> {
        let p = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| OpenError::Sqlite {
            path: p.clone(),
            source,
        })?;
        Self::start(conn, p)
    }

    fn start(conn: Connection, path: String) -> Result<Embedded, OpenError> {
        conn.execute_batch(SCHEMA)
            .map_err(|source| OpenError::Sqlite {
                path: path.clone(),
                source,
            })?;
        conn.set_prepared_statement_cache_capacity(64);
        let (tx, rx) = mpsc::channel::<Op>();
        std::thread::Builder::new()
            .name("flowstate-sqlite".into())
            .spawn(move || writer(conn, rx))
            .map_err(|source| OpenError::Dir { path, source })?;
        Ok(Embedded { tx: Arc::new(tx) })
    }

    /// Runs `f` on the writer thread inside a batch transaction; resolves
    /// once that transaction committed.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let op: Op = Box::new(move |conn| {
            let r = f(conn);
            let ok = r.is_ok();
            let reply: Reply = Box::new(move |commit| {
                let _ = tx.send(commit.and(r));
            });
            (ok, reply)
        });
        self.tx
            .send(op)
            .map_err(|_| StoreError::Backend("the database thread stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the database thread stopped".into()))?
    }
}

fn writer(conn: Connection, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(batch.len());
        if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
            // Dropping the operations drops their reply channels: every
            // caller gets a backend error and may retry.
            drop(batch);
            continue;
        }
        for op in batch {
            if conn.execute_batch("SAVEPOINT op").is_err() {
                replies.push(op(&conn).1);
                continue;
            }
            let (ok, reply) = op(&conn);
            if !ok {
                let _ = conn.execute_batch("ROLLBACK TO op");
            }
            let _ = conn.execute_batch("RELEASE op");
            replies.push(reply);
        }
        let outcome = match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(backend(e))
            }
        };
        for r in replies {
            r(outcome.clone());
        }
    }
}
