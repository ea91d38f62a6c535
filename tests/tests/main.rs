//! Tests across crates: the recorded conformance corpus in memory, and crash, duplicate-delivery and large-Map tests of the durable runtime on the embedded store and on moto.
//!
//! One test binary for the crate (each module was its own binary, and each
//! binary linked the whole dependency graph again).

mod durable_support;

mod conformance;
mod durable_aws;
mod durable_crash;
mod durable_duplicates;
mod durable_map;
