//! Flowstate's durable runtime: drives the sans-IO engine through the ports
//! of `flowstate-ports` ([`Store`], [`Queue`], [`Invoker`], [`Clock`]).
//!
//! - [`Service`]: every Step Functions operation (state machines,
//!   executions, history, callbacks, StartSyncExecution, validation), with
//!   errors as [`ServiceError`] carrying Step Functions' error codes.
//! - Advancing (`apply.rs`): [`Service::apply`] loads an execution (or
//!   takes it from a cache bounded in bytes), applies one event, commits
//!   the step with a compare-and-set on the version (retrying a lost one
//!   after a jittered back-off), then performs its effects from the outbox
//!   committed with it. Events of one execution that arrive while a step
//!   of it is committed are applied together and commit as one step. Stale
//!   and duplicate events are dropped.
//! - Performing (`perform.rs`): effects are claimed before they are
//!   performed, at most once per claim ([`flowstate_ports::Claim`]); a
//!   task is performed only while its frame still waits for it; a failed
//!   message comes back after a jittered back-off
//!   ([`Service::retry_later`]). [`Service::sweep_outbox`] performs the
//!   effects whose claim lapsed (a process died); [`Service::recover`] at
//!   start those of this process's earlier run.
//! - Workers: [`Service::run_worker`] (tokio; concurrent, one step per
//!   execution at a time) and [`Service::run_until_idle`] (deterministic,
//!   simulated time jumps to the next due message).
//! - Activities (`activities.rs`): CreateActivity and the rest, activity
//!   Task states' tasks waiting in the store, GetActivityTask's long poll.
//! - [`contract`]: the test suite every Store/Queue backend must pass.
//!
//! ```ignore
//! let service = Service::new(store, queue, invoker, SystemClock, Config::default());
//! service.recover().await?;
//! let sm = service.create_state_machine(CreateStateMachine { name: "hello".into(), definition,
//!     role_arn, kind: WorkflowType::Standard, description: None }).await?;
//! let started = service.start_execution(StartExecution { state_machine_arn: sm.arn, ..Default::default() }).await?;
//! tokio::spawn({ let s = service.clone(); async move { s.run_worker(std::future::pending()).await } });
//! ```
//!
//! [`Store`]: flowstate_ports::Store
//! [`Queue`]: flowstate_ports::Queue
//! [`Invoker`]: flowstate_ports::Invoker
//! [`Clock`]: flowstate_ports::Clock

mod activities;
mod apply;
mod cache;
pub mod chain;
mod children;
pub mod constraints;
pub mod contract;
mod contract_limits;
mod error;
mod express;
mod finished;
pub mod names;
mod perform;
mod redrive;
mod retry;
mod service;
mod versions;
mod worker;

pub use activities::{
    activity_arn, check_activity_arn, is_activity, ActivityTaskGiven, CreateActivity, ACTIVITY_POLL,
};
pub use chain::ChainBudget;
pub use error::ServiceError;
pub use finished::status_change;
pub use redrive::{redrive_status, RedriveStatus, REDRIVE_PERIOD_MS};
pub use service::{
    header, Applied, Config, CreateStateMachine, ExecutionDescription, HistoryPage, HistoryRequest,
    Service, StartExecution, StartedExecution, UpdateStateMachine,
};
pub use versions::MAX_TAGS;
pub use worker::IdleReport;
