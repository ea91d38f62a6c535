//! The sans-IO execution engine.
//!
//! An [`Execution`] advances by [`advance`]: one [`Event`] (started, task
//! succeeded or failed, timer fired, heartbeat, stop requested) in, one
//! [`Step`] out — history events to append and [`Effect`]s to perform
//! (invoke a task, schedule a timer, report the end). The engine never does
//! I/O and never reads the clock: `now` and the token key come in through
//! [`Env`]. Parallel branches and Map iterations are frames of the same
//! execution, so a durable store may keep each in its own record.
//!
//! [`driver`] runs one execution in memory against a [`driver::TaskHandler`],
//! with simulated or real time; [`effect_loop`] holds what it shares with
//! the runtime's in-memory Express loop (pending tasks and timers, the step
//! budget).
//!
//! ```
//! use flowstate_asl::definition::StateMachine;
//! use flowstate_engine::driver::{run_simulated, NoTasks, RunOptions};
//! let sm = StateMachine::from_json_str(
//!     r#"{"StartAt":"Hi","States":{"Hi":{"Type":"Pass","Result":"hello","End":true}}}"#,
//! ).unwrap();
//! let out = run_simulated(&sm, serde_json::json!({}), &mut NoTasks, &RunOptions::default());
//! assert_eq!(out.execution.output.as_deref(), Some(&serde_json::json!("hello")));
//! ```

mod advance;
pub mod dataflow;
pub mod driver;
pub mod effect_loop;
pub mod execution;
pub mod history;
pub mod inspect;
pub mod integration;
pub mod limits;
mod resource;
pub mod scope;
pub mod token;

pub use advance::{
    advance, advance_inspected, advance_or_fail, redrivable, redrive, redrive_point, Env,
    NotRedrivable, RedrivePoint,
};
pub use execution::*;
pub(crate) use resource::integration_kind;
