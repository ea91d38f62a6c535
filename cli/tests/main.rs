//! End-to-end tests of the `flowstate` binary: `run`, `validate`, `keys`, local Task handlers, `serve` driven by the AWS CLI, boto3, the Rust SDK and the conformance runner, on the embedded store and on moto, and `serve --no-worker` with four `worker` processes under faults on moto.
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod serve_support;

mod aws_concurrency;
mod aws_timers;
mod cli;
mod keys;
mod local_tasks;
mod serve_activities;
mod serve_aws_conformance;
mod serve_conformance;
mod serve_conveniences;
mod serve_crash;
mod serve_redrive;
mod serve_sdk;
mod serve_test_state;
mod serve_tools;
mod serve_versions;
