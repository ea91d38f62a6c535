//! End-to-end tests of the `flowstate` binary: `run`, `validate`, `keys`, local Task handlers, and `serve` driven by the AWS CLI, boto3, the Rust SDK and the conformance runner, on the embedded store and on moto.
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod serve_support;

mod aws_timers;
mod cli;
mod keys;
mod local_tasks;
mod serve_aws_conformance;
mod serve_conformance;
mod serve_crash;
mod serve_sdk;
mod serve_tools;
