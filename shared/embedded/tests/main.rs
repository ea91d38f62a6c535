//! The embedded backend: the store and queue contract suite and whole executions through the runtime's service.
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod activities;
mod contract;
mod nested_and_notify;
mod redrive;
mod service;
