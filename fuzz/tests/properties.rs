//! The fuzz targets' properties over a bounded number of generated cases,
//! in the test command: for each target, cases from a fixed seed, so the
//! test command stays deterministic and a failure reproduces.
//! `FUZZ_SEED=N cargo test --workspace --test properties` explores from
//! another seed. A failing case is printed in the crash file format that
//! `flowstate-fuzz --replay` reads.

use flowstate_fuzz::corpus::{default_data_dir, Corpus};
use flowstate_fuzz::{check, generate, Runner, Target};
use std::sync::OnceLock;

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| match Corpus::load(&default_data_dir()) {
        Ok(c) => c,
        Err(e) => panic!("the seed corpus: {e}"),
    })
}

/// Runs `cases` cases of `target` from `seed`; panics with the case that
/// broke a property (a panic inside `check` fails the test as it is).
fn run(target: Target, seed: u64, cases: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut runner = Runner::default();
    for i in 0..cases {
        let case = generate(target, &mut rng, corpus());
        if let Err(v) = check(target, &case, &mut runner) {
            panic!(
                "{} case {i} of seed {seed}: {v}\n{}",
                target.name(),
                case.to_json(target)
            );
        }
    }
}

/// Cases per target: together well under a minute of a debug build on two
/// busy cores.
fn cases(target: Target) -> usize {
    match target {
        Target::Reader | Target::Api => 1_500,
        Target::Validator | Target::Jsonata => 2_000,
        Target::JsonPath | Target::Intrinsics => 5_000,
    }
}

fn seeded(target: Target) {
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    run(target, seed, cases(target));
}

#[test]
fn definition_reader_reads_or_refuses() {
    seeded(Target::Reader);
}

#[test]
fn validator_answers_every_definition() {
    seeded(Target::Validator);
}

#[test]
fn jsonpath_selects_and_assigns_within_bounds() {
    seeded(Target::JsonPath);
}

#[test]
fn intrinsics_return_bounded_values_or_their_errors() {
    seeded(Target::Intrinsics);
}

#[test]
fn jsonata_ends_within_its_steps_and_value_bounds() {
    seeded(Target::Jsonata);
}

#[test]
fn api_answers_2xx_or_4xx_in_aws_error_shape() {
    seeded(Target::Api);
}

/// The defects fuzzing found, as cases: each failed (a hang, memory
/// without bound, a 4xx outside AWS's error shape) before its fix.
#[test]
fn cases_found_by_fuzzing() {
    let mut runner = Runner::default();
    let tower = format!("{}$.a{}", "States.JsonToString(".repeat(30), ")".repeat(30));
    let oversized = format!(
        r#"{{"name":"m","definition":"{}","roleArn":"r"}}"#,
        "x".repeat(5 << 20)
    );
    let found = [
        // Issue 12: a range of huge integers stepped a float that no longer
        // changes past 2^53.
        (Target::Jsonata, "[1e300..1e300]", serde_json::json!({})),
        // Issue 12: nested JsonToString doubled the escapes 30 times.
        (
            Target::Intrinsics,
            tower.as_str(),
            serde_json::json!({"a": "\"q\""}),
        ),
        // Issue 12: a body past the router's limit got axum's plain-text 413.
        (
            Target::Api,
            oversized.as_str(),
            serde_json::json!({
                "target": "AWSStepFunctions.CreateStateMachine",
                "content-type": "application/x-amz-json-1.0"
            }),
        ),
    ];
    for (target, text, data) in found {
        let case = flowstate_fuzz::Case {
            text: text.to_string(),
            data,
        };
        check(target, &case, &mut runner).unwrap_or_else(|v| panic!("{text}: {v}"));
    }
}
