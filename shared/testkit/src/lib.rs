//! Test support for Flowstate's Lambda function crates and its processes
//! on AWS: run the real binaries (`env!("CARGO_BIN_EXE_...")`) the way
//! Lambda and a deployment do, against moto, with faults.
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
//! - [`FaultProxy`]: an HTTP proxy in front of moto that meters every AWS
//!   call ([`Calls`]) and injects faults by [`Rule`]: throttling in each
//!   service's wire shape, delays, and answers dropped after the write.
//!   [`cost`] turns the metered calls into dollars.
//! - [`LambdaEndpoint`]: Lambda's Invoke API served by the test
//!   (`AWS_ENDPOINT_URL_LAMBDA`), counting invocations per function and
//!   payload, answering as the test's [`Behaviour`] says (results, errors,
//!   delays, [`Gate`]s).
//! - [`Workers`]: several processes of one command (`flowstate worker`),
//!   each with a client id in its SDK User-Agent; SIGKILL one, restart it.
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

pub mod cost;
mod fault_proxy;
mod function;
mod http_api;
mod item_size;
mod lambda_endpoint;
mod moto;
mod runtime_api;
mod workers;

pub use fault_proxy::{Calls, Fault, FaultProxy, Rule};
pub use function::Function;
pub use http_api::HttpApi;
pub use lambda_endpoint::{Answer, Behaviour, Gate, Invocation, LambdaEndpoint, Reply};
pub use moto::{Moto, Stack};
pub use runtime_api::{Outcome, RuntimeApi};
pub use workers::{process_env, WorkerCommand, Workers};

/// A state machine of `length` Task states of `resource` one after the
/// other (`T0` … `T{length-1}`): the cost meter's chain.
pub fn task_chain(resource: &str, length: usize) -> serde_json::Value {
    let mut states = serde_json::Map::new();
    for i in 0..length {
        let mut s = serde_json::json!({"Type": "Task", "Resource": resource});
        if i + 1 < length {
            s["Next"] = serde_json::json!(format!("T{}", i + 1));
        } else {
            s["End"] = serde_json::json!(true);
        }
        states.insert(format!("T{i}"), s);
    }
    serde_json::json!({"StartAt": "T0", "States": states})
}
