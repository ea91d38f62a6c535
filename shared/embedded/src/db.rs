//! The database and its writer thread (group commit).

use flowstate_ports::StoreError;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

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
/// Runs an operation; returns whether it succeeded, and its reply.
type Run = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
/// An operation run on the writer thread inside the batch transaction.
/// Returns whether it succeeded (else its savepoint is rolled back).
struct Op {
    /// Writes: run in a savepoint, so a failed one does not undo the others.
    write: bool,
    run: Run,
}

/// The embedded store and queue. Cheap to clone; the writer thread stops
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Embedded {
    tx: Arc<mpsc::Sender<Op>>,
    /// Read connections (file databases only: WAL lets readers run beside
    /// the writer). `None` in memory: reads go to the writer thread.
    readers: Option<Arc<Readers>>,
    /// Told when an activity task is written (wakes GetActivityTask).
    activity_tasks_written: Arc<tokio::sync::Notify>,
}

struct Readers {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Most operations in one transaction: bounds the latency of the first.
const MAX_BATCH: usize = 1024;

/// The schema's version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 3;

/// Version 2 had no outbox claims: its entries become unclaimed ones.
const MIGRATE_FROM_2: &str = "
ALTER TABLE outbox ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS outbox_by_created;
";

/// Executions are keyed by an integer id in the tables of their parts, so
/// those keys stay short and a step's rows are appended next to each
/// other. A frame is two rows: its small state (rewritten by every step
/// that changes it) and its input/effective input (`frame_data`, written
/// only by the steps that change them). A step's history events are one
/// row, keyed by the id of its first event. The execution's input is
/// written once, beside the header. An outbox entry's claim (owner, lapse)
/// has columns of its own.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS state_machines(arn TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions(revision_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS executions(
    id INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE, sm_arn TEXT NOT NULL, status TEXT NOT NULL,
    start_time INTEGER NOT NULL, version INTEGER NOT NULL, header TEXT NOT NULL, input TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions(sm_arn, start_time DESC, arn DESC);
CREATE TABLE IF NOT EXISTS frames(exec INTEGER NOT NULL, id INTEGER NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY(exec, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frame_data(exec INTEGER NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY(exec, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history(exec INTEGER NOT NULL, first INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY(exec, first)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox(id TEXT PRIMARY KEY, created INTEGER NOT NULL, body TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_by_lease ON outbox(lease_until, created);
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
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;
             PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
        )
        .map_err(|source| OpenError::Sqlite {
            path: p.clone(),
            source,
        })?;
        Self::start(conn, p, Some(path))
    }

    /// A database in memory: nothing survives the process.
    pub fn memory() -> Result<Embedded, OpenError> {
        let p = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| OpenError::Sqlite {
            path: p.clone(),
            source,
        })?;
        Self::start(conn, p, None)
    }

    fn start(conn: Connection, path: String, file: Option<PathBuf>) -> Result<Embedded, OpenError> {
        let sqlite = |source| OpenError::Sqlite {
            path: path.clone(),
            source,
        };
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'executions'",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite)?;
        if tables > 0 && version == 2 {
            conn.execute_batch(MIGRATE_FROM_2).map_err(sqlite)?;
        } else if tables > 0 && version != SCHEMA_VERSION {
            // A data directory of an earlier version (no migration yet).
            return Err(sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!(
                    "schema version {version} is not {SCHEMA_VERSION}: use a new data directory"
                )),
            )));
        }
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        conn.execute_batch(crate::versions::SCHEMA)
            .map_err(sqlite)?;
        conn.execute_batch(crate::activities::SCHEMA)
            .map_err(sqlite)?;
        conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))
            .map_err(sqlite)?;
        conn.set_prepared_statement_cache_capacity(64);
        let readers = file.map(|path| {
            Arc::new(Readers {
                path,
                pool: Mutex::new(Vec::new()),
            })
        });
        // A file database is checkpointed by a thread of its own, beside
        // the writer (which checkpoints itself only if that one lags).
        let checkpoint = match &readers {
            Some(r) => {
                conn.execute_batch("PRAGMA wal_autocheckpoint=0")
                    .map_err(sqlite)?;
                let ckpt = Connection::open(&r.path).map_err(sqlite)?;
                ckpt.execute_batch("PRAGMA busy_timeout=5000")
                    .map_err(sqlite)?;
                let (tx, rx) = mpsc::sync_channel::<()>(1);
                let wal = Arc::new(AtomicI64::new(0));
                let w = wal.clone();
                std::thread::Builder::new()
                    .name("flowstate-ckpt".into())
                    .spawn(move || checkpointer(ckpt, rx, w))
                    .map_err(|source| OpenError::Dir {
                        path: path.clone(),
                        source,
                    })?;
                Some(Checkpoint { tx, wal })
            }
            None => None,
        };
        let (tx, rx) = mpsc::channel::<Op>();
        std::thread::Builder::new()
            .name("flowstate-sqlite".into())
            .spawn(move || writer(conn, rx, checkpoint))
            .map_err(|source| OpenError::Dir { path, source })?;
        Ok(Embedded {
            tx: Arc::new(tx),
            readers,
            activity_tasks_written: Arc::new(tokio::sync::Notify::new()),
        })
    }

    pub(crate) fn activity_tasks_written(&self) -> &tokio::sync::Notify {
        &self.activity_tasks_written
    }

    /// Runs a read-only `f` on a read connection (WAL: it sees the last
    /// committed transaction and does not wait for the writer), or on the
    /// writer thread, without a savepoint, for a database in memory.
    /// `f` runs in one read transaction: its queries see one snapshot.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Some(readers) = &self.readers else {
            return self.submit(false, f).await;
        };
        let pooled = lock(&readers.pool).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_reader(&readers.path)?,
        };
        let r = (|| {
            conn.prepare_cached("BEGIN")
                .and_then(|mut s| s.execute([]))
                .map_err(backend)?;
            let r = f(&conn);
            conn.prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]))
                .map_err(backend)?;
            r
        })();
        if conn.is_autocommit() {
            let mut pool = lock(&readers.pool);
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
        }
        r
    }

    /// Runs `f` on the writer thread inside a batch transaction; resolves
    /// once that transaction committed.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.submit(true, f).await
    }

    async fn submit<T: Send + 'static>(
        &self,
        write: bool,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let op = Op {
            write,
            run: Box::new(move |conn| {
                let r = f(conn);
                let ok = r.is_ok();
                let reply: Reply = Box::new(move |commit| {
                    let _ = tx.send(commit.and(r));
                });
                (ok, reply)
            }),
        };
        self.tx
            .send(op)
            .map_err(|_| StoreError::Backend("the database thread stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the database thread stopped".into()))?
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend)?;
    conn.execute_batch("PRAGMA busy_timeout=5000; PRAGMA cache_size=-8192;")
        .map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Runs one fixed statement through the statement cache.
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The writer's link to the checkpoint thread.
struct Checkpoint {
    /// Wakes the checkpoint thread after a commit.
    tx: mpsc::SyncSender<()>,
    /// Frames left in the WAL after the last checkpoint.
    wal: Arc<AtomicI64>,
}

/// WAL frames (pages) after which the writer checkpoints itself: bounds
/// the WAL if the checkpoint thread cannot keep up.
const WAL_LIMIT: i64 = 16_384;

/// Checkpoints the WAL into the database (PASSIVE: never blocks the
/// writer or readers), at most every 20 ms while commits come in. Stops
/// when the writer does.
fn checkpointer(conn: Connection, rx: mpsc::Receiver<()>, wal: Arc<AtomicI64>) {
    while rx.recv().is_ok() {
        let left = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok(r.get::<_, i64>(1)? - r.get::<_, i64>(2)?)
            })
            .unwrap_or(0);
        wal.store(left, Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn writer(conn: Connection, rx: mpsc::Receiver<Op>, checkpoint: Option<Checkpoint>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(batch.len());
        if exec(&conn, "BEGIN IMMEDIATE").is_err() {
            // Dropping the operations drops their reply channels: every
            // caller gets a backend error and may retry.
            drop(batch);
            continue;
        }
        for op in batch {
            if !op.write {
                replies.push((op.run)(&conn).1);
                continue;
            }
            if exec(&conn, "SAVEPOINT op").is_err() {
                replies.push((op.run)(&conn).1);
                continue;
            }
            let (ok, reply) = (op.run)(&conn);
            if !ok {
                let _ = exec(&conn, "ROLLBACK TO op");
            }
            let _ = exec(&conn, "RELEASE op");
            replies.push(reply);
        }
        let outcome = match exec(&conn, "COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(backend(e))
            }
        };
        for r in replies {
            r(outcome.clone());
        }
        if let Some(c) = &checkpoint {
            if c.wal.load(Ordering::Relaxed) > WAL_LIMIT {
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                c.wal.store(0, Ordering::Relaxed);
            }
            let _ = c.tx.try_send(());
        }
    }
}
