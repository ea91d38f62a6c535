//! SigV4 verification against AWS's own test suite, recorded and live requests of real clients, and the axum layer.
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod support;

mod aws_test_suite;
mod layer;
mod real_clients;
mod verify;
