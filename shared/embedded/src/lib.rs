//! The embedded backend: Flowstate's [`Store`] and [`Queue`] on SQLite, in a
//! data directory (`.flowstate/` by default) or in memory (`--memory`).
//!
//! - [`Embedded`]: one handle implementing both ports over one database,
//!   so a step, its outbox and its timers live in the same file. A timer is
//!   a row in the `queue` table: a Wait of a year costs a row, not a task.
//! - Group commit: one writer thread owns the connection and applies every
//!   operation waiting for it in one transaction (each in a savepoint, so a
//!   failed one does not undo the others). With WAL and
//!   `synchronous=NORMAL`, a batch costs about one commit. Reads of a file
//!   database use read connections of their own (WAL readers do not wait
//!   for the writer), and a checkpoint thread copies the WAL back.
//! - A step writes only what it changed: the header (without the
//!   execution's input, stored once), each changed frame's small state, a
//!   frame's input only when the step set it (`Frame::data_rev`), and one
//!   history row for the step's events.
//! - [`load_or_create_token_key`]: the task-token key, made on first start
//!   and kept in the data directory (mode 0600).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use flowstate_embedded::Embedded;
//! let db = Embedded::open(".flowstate")?;          // or Embedded::memory()?
//! let key = flowstate_embedded::load_or_create_token_key(".flowstate")?;
//! // Service::new(db.clone(), db, invoker, SystemClock, Config { token_key: key, .. })
//! # Ok(()) }
//! ```
//!
//! [`Store`]: flowstate_ports::Store
//! [`Queue`]: flowstate_ports::Queue

mod activities;
mod db;
mod key;
mod ports;
mod versions;

pub use db::{Embedded, OpenError};
pub use key::load_or_create_token_key;
