//! Flowstate's durable runtime: drives the sans-IO engine through the ports
//! of `flowstate-ports` ([`Store`], [`Queue`], [`Invoker`], [`Clock`]).
//!
//! - [`Service`]: every Step Functions operation (state machines,
//!   executions, history, callbacks, StartSyncExecution, validation), with
//!   errors as [`ServiceError`] carrying Step Functions' error codes.
//! - Advancing: [`Service::apply`] loads an execution, applies one event,
//!   commits the step with a compare-and-set on the version (reloading on a
//!   conflict), then performs its effects from the outbox committed with
//!   it. Stale and duplicate events are dropped. [`Service::recover`] after
//!   a crash performs every effect that was committed but not performed.
//! - Workers: [`Service::run_worker`] (tokio; concurrent, one step per
//!   execution at a time) and [`Service::run_until_idle`] (deterministic,
//!   simulated time jumps to the next due message).
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

mod apply;
mod cache;
mod children;
pub mod contract;
mod error;
mod express;
mod finished;
pub mod names;
mod perform;
mod retry;
mod service;
mod worker;

pub use error::ServiceError;
pub use finished::status_change;
pub use service::{
    header, Applied, Config, CreateStateMachine, ExecutionDescription, HistoryPage, HistoryRequest,
    Service, StartExecution, StartedExecution, UpdateStateMachine,
};
pub use worker::IdleReport;
