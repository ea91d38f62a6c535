//! Test support for Flowstate's Lambda function crates: run the real
//! binary (`env!("CARGO_BIN_EXE_...")`) the way Lambda does, against
//! moto.
//!
//! - [`RuntimeApi`]: a Lambda Runtime API emulator on a loopback port
//!   (`GET /2018-06-01/runtime/invocation/next`, `POST
//!   .../invocation/{id}/response` and `.../error`, `POST
//!   .../init/error`). [`RuntimeApi::invoke`] hands one event to the
//!   function and waits for its [`Outcome`].
//! - [`Function`]: a function binary started with the variables
//!   `lambda_runtime` needs pointing at an emulator, killed on drop, its
//!   stderr kept for failure messages.
//! - [`HttpApi`]: an API Gateway HTTP API (payload 2.0) in front of a
//!   [`Function`], so real HTTP clients (the AWS CLI, SDKs) can call it.
//! - [`Moto`]: a moto server on a free port, and [`Moto::stack`], the
//!   resources `template.yaml` would create (table, queues, KMS key) with
//!   the environment the functions read.
//!
//! ```no_run
//! # async fn demo() {
//! use flowstate_testkit::{Function, Moto};
//! let moto = Moto::start();
//! let stack = moto.stack().await;
//! let function = Function::start(env!("CARGO_PKG_NAME"), &stack.env()).await;
//! let outcome = function.invoke(serde_json::json!({"hello": 1})).await;
//! # drop(outcome);
//! # }
//! ```

mod function;
mod http_api;
mod moto;
mod runtime_api;

pub use function::Function;
pub use http_api::HttpApi;
pub use moto::{Moto, Stack};
pub use runtime_api::{Outcome, RuntimeApi};
