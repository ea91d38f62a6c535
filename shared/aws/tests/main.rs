//! The AWS backends, integrations, keys and executions on moto (DynamoDB, SQS, SNS, EventBridge, KMS).
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod contract;
mod endpoint_env;
mod executions;
mod integrations;
mod keys;
mod layout;
mod long_timers;
mod lost_answers;
mod queue_takeover;
mod service;
