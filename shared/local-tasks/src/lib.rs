//! Task states on your machine: performs each Task state with the local
//! handler `flowstate.toml` maps its resource to, or with a mocked response
//! from a Step Functions Local mock config, and returns the result exactly
//! as AWS Step Functions would show it to the state.
//!
//! - [`config`]: the `flowstate.toml` format, [`load_config`] and its
//!   [`ConfigError`]s (each names the file and the `[tasks.KEY]` at fault).
//! - [`LocalTasks`]: the engine driver's [`TaskHandler`]. It parses the
//!   resource with `flowstate_engine::integration`, finds the handler, runs
//!   it (a process, or a Lambda Invoke API endpoint) and shapes the answer
//!   with the same code the AWS Lambda invoker uses, so `lambda:invoke`
//!   results and Lambda error names are the cloud's.
//! - [`mock`]: Step Functions Local's `MockConfigFile.json` ([`MockConfig`],
//!   [`MockError`]); [`MockedTasks`] answers mocked states for one
//!   execution and hands the others to a [`LocalTasks`].
//! - [`LocalInvoker`]: the runtime's [`Invoker`] port over both, for a
//!   server that performs the tasks of many executions at once.
//!
//! Which entry handles a task, first match wins:
//!
//! 1. A Lambda function — a plain function ARN, or `lambda:invoke`'s
//!    `FunctionName` — by the `FunctionName`/ARN as written, then
//!    `NAME:QUALIFIER`, then `NAME`. The handler receives what the function
//!    would (the payload) and its output is shaped as the function's.
//! 2. Any resource by its full string, then without its `.sync`,
//!    `.sync:2` or `.waitForTaskToken` suffix. The handler then stands in for
//!    the whole integration: it receives the state's evaluated parameters
//!    and its output is the state's result as it is.
//!
//! A task no entry handles is [`Unmapped`], whose message shows the lines
//! to add to `flowstate.toml`. As a task handler, [`LocalTasks`] fails it
//! with `States.TaskFailed`; [`LocalInvoker`] lets a `.waitForTaskToken`
//! task wait for its callback instead, as on AWS.
//!
//! A command handler's stderr is its log: [`HandlerLog`] says where its
//! lines go while it runs (by default `tracing`, at `info`, with the state's
//! name).
//!
//! ```
//! use flowstate_engine::driver::TaskHandler;
//! use flowstate_engine::{TaskInvocation, TaskResult};
//! use flowstate_local_tasks::{HandlerLog, LocalTasks, TaskConfig};
//! use serde_json::json;
//!
//! let config = TaskConfig::parse(
//!     r#"[tasks.charge]
//!        command = ["sh", "-c", "cat > /dev/null; echo '{\"paid\": true}'"]"#,
//!     std::path::Path::new("/tmp/flowstate.toml"),
//! )?;
//! let mut tasks = LocalTasks::new(config).with_log(HandlerLog::Discard);
//! let task = TaskInvocation {
//!     resource: "arn:aws:lambda:us-east-1:123456789012:function:charge".into(),
//!     parameters: json!({"amount": 3}),
//!     task_token: None,
//!     state_name: "Charge".into(),
//!     execution_arn: "arn:aws:states:us-east-1:123456789012:execution:orders:1".into(),
//!     timeout_seconds: None,
//!     heartbeat_seconds: None,
//! };
//! assert_eq!(tasks.invoke(&task), TaskResult::Succeeded(json!({"paid": true})));
//! # Ok::<(), flowstate_local_tasks::ConfigError>(())
//! ```
//!
//! [`TaskHandler`]: flowstate_engine::driver::TaskHandler
//! [`Invoker`]: flowstate_ports::Invoker

mod command;
pub mod config;
mod http;
mod invoker;
pub mod mock;
mod outcome;
mod tasks;

pub use command::{HandlerLog, LogLines};
pub use config::{load_config, ConfigError, TaskConfig};
pub use invoker::LocalInvoker;
pub use mock::{MockConfig, MockError, MockedTasks};
pub use tasks::{LocalTasks, Unmapped};
