//! Every recorded case of `tests/data/conformance/cases` run through the
//! engine in memory (simulated time), compared by the same code as the
//! endpoint runner compares (`flowstate_tests::conformance`): status,
//! output, error, cause and history event types.
//!
//! Cases that still fail are listed in `conformance-known-failures.txt`
//! with a reason each. The test fails when a case off the list fails, or
//! when a listed case passes — the list only shrinks.

use flowstate_asl::definition::StateMachine;
use flowstate_engine::driver::{run_simulated, NoTasks, RunOptions};
use flowstate_tests::conformance::json::Numbers;
use flowstate_tests::conformance::{self, Case, Observed, Output};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the case through the engine and compares with the recording.
fn run_case(case: &Case) -> Result<(), String> {
    let sm = StateMachine::from_text(&case.definition_text())
        .map_err(|e| format!("definition rejected: {e:?}"))?;
    let input = case.input.clone();
    let opts = RunOptions {
        execution_name: "conformance".into(),
        state_machine_name: "case".into(),
        ..Default::default()
    };
    let result = std::panic::catch_unwind(|| run_simulated(&sm, input, &mut NoTasks, &opts))
        .map_err(|_| "PANIC".to_string())?;
    let exec = &result.execution;
    let observed = Observed {
        status: exec.status.as_str().to_string(),
        output: exec.output.as_deref().cloned().map(Output::Json),
        error: exec.error.clone(),
        cause: exec.cause.clone(),
    };
    let history: Vec<&str> = result.history.iter().map(|e| e.type_name()).collect();
    case.check(&observed, Some(&history), Numbers::ByValue)
        .map_err(|m| m.to_string())
}

#[test]
fn conformance_cases_match_recorded_aws_behaviour() {
    let cases =
        conformance::load_cases(&conformance::cases_dir()).expect("the corpus in tests/data");
    let known = conformance::known_failures().expect("conformance-known-failures.txt");
    let mut passed = 0;
    let mut failed = BTreeMap::new();
    let mut skipped = 0;
    for case in &cases {
        if case.skip_reason().is_some() {
            skipped += 1;
            continue;
        }
        if let Err(why) = run_case(case) {
            failed.insert(case.id.clone(), why);
        } else {
            passed += 1;
        }
    }
    let total = cases.len() - skipped;
    let unexpected: Vec<_> = failed
        .iter()
        .filter(|(id, _)| !known.contains_key(*id))
        .collect();
    let fixed: BTreeSet<_> = known
        .keys()
        .filter(|id| !failed.contains_key(*id))
        .collect();
    println!(
        "conformance: {passed} of {total} cases pass ({:.1}%)",
        passed as f64 * 100.0 / total as f64
    );
    if std::env::var_os("CONFORMANCE_VERBOSE").is_some() {
        for (id, why) in &failed {
            println!("FAIL {id}: {why}");
        }
    }
    let panics: Vec<_> = failed
        .iter()
        .filter(|(_, w)| w.as_str() == "PANIC")
        .collect();
    assert!(panics.is_empty(), "cases panicked: {panics:?}");
    assert!(
        unexpected.is_empty(),
        "{} cases fail that are not in conformance-known-failures.txt:\n{}",
        unexpected.len(),
        unexpected
            .iter()
            .map(|(id, w)| format!("{id}: {w}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        fixed.is_empty(),
        "cases now pass; remove them from conformance-known-failures.txt: {fixed:?}"
    );
}
