//! What metered AWS calls ([`Calls`]) cost, at US East list prices (2026),
//! beside what Step Functions Standard charges for the same transitions.

use crate::fault_proxy::Calls;

/// Dollars per million of each.
pub mod prices {
    /// DynamoDB on-demand write request unit.
    pub const DYNAMODB_WRU: f64 = 0.625;
    /// DynamoDB on-demand read request unit.
    pub const DYNAMODB_RRU: f64 = 0.125;
    /// SQS standard queue request.
    pub const SQS_REQUEST: f64 = 0.40;
    /// SNS publish.
    pub const SNS_PUBLISH: f64 = 0.50;
    /// Lambda request.
    pub const LAMBDA_REQUEST: f64 = 0.20;
    /// Lambda arm64 GB-second (per million GB-seconds).
    pub const LAMBDA_GB_SECOND: f64 = 0.0000133334 * 1_000_000.0;
    /// Step Functions Standard state transition.
    pub const STEP_FUNCTIONS_TRANSITION: f64 = 25.0;
}

/// The stepper function's memory (`template.yaml`), in GB.
pub const STEPPER_GB: f64 = 0.5;

/// Dollars for `calls`, plus `invocations` of the stepper that ran
/// `stepper_ms` milliseconds in all, by what is paid for: DynamoDB writes
/// and reads, SQS requests, SNS publishes, Lambda requests and Lambda
/// duration. SQS receives that returned nothing are left out (an event
/// source's polling while idle is a standing cost, not one of the work).
pub fn breakdown(calls: &Calls, invocations: u64, stepper_ms: f64) -> [(&'static str, f64); 6] {
    use prices::*;
    let sqs = calls.service("sqs") as f64;
    let publishes = calls.count("sns:Publish") as f64;
    let gb_seconds = STEPPER_GB * stepper_ms / 1000.0;
    [
        ("DynamoDB writes", calls.write_units as f64 * DYNAMODB_WRU),
        ("DynamoDB reads", calls.read_units as f64 * DYNAMODB_RRU),
        ("SQS", sqs * SQS_REQUEST),
        ("SNS", publishes * SNS_PUBLISH),
        ("Lambda requests", invocations as f64 * LAMBDA_REQUEST),
        ("Lambda duration", gb_seconds * LAMBDA_GB_SECOND),
    ]
    .map(|(what, micro)| (what, micro / 1_000_000.0))
}

/// The sum of [`breakdown`].
pub fn dollars(calls: &Calls, invocations: u64, stepper_ms: f64) -> f64 {
    breakdown(calls, invocations, stepper_ms)
        .iter()
        .map(|(_, d)| d)
        .sum()
}

/// [`dollars`] for work that made `transitions` state transitions, scaled
/// to a million transitions (comparable with
/// [`prices::STEP_FUNCTIONS_TRANSITION`]).
pub fn per_million_transitions(
    calls: &Calls,
    invocations: u64,
    stepper_ms: f64,
    transitions: u64,
) -> f64 {
    dollars(calls, invocations, stepper_ms) * 1_000_000.0 / transitions.max(1) as f64
}
