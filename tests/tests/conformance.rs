//! Every recorded case of `../shared/conformance/cases` run through the
//! engine in memory (simulated time), compared as the conformance runner
//! compares: status, output, error, cause and history event types.
//!
//! Cases that still fail are listed in `conformance-known-failures.txt`
//! with a reason each. The test fails when a case off the list fails, or
//! when a listed case passes — the list only shrinks.

use flowstate_asl::definition::StateMachine;
use flowstate_engine::driver::{run_simulated, NoTasks, RunOptions};
use flowstate_tests::{compare_output, shared_dir};
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            case_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json")
            && p.file_name().is_some_and(|n| n != "MANIFEST.json")
        {
            out.push(p);
        }
    }
}

fn run_case(case: &Value) -> Result<(), String> {
    let definition = match case.get("definition_text").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => case["definition"].to_string(),
    };
    let sm =
        StateMachine::from_text(&definition).map_err(|e| format!("definition rejected: {e:?}"))?;
    let input = case.get("input").cloned().unwrap_or(Value::Null);
    let opts = RunOptions {
        execution_name: "conformance".into(),
        state_machine_name: "case".into(),
        ..Default::default()
    };
    let result = std::panic::catch_unwind(|| run_simulated(&sm, input, &mut NoTasks, &opts))
        .map_err(|_| "PANIC".to_string())?;
    let exec = &result.execution;
    let expected = &case["expected"];
    let status = exec.status.as_str();
    if expected["status"].as_str() != Some(status) {
        return Err(format!(
            "status {status}, expected {} (error {:?}, cause {:?})",
            expected["status"], exec.error, exec.cause
        ));
    }
    if status == "SUCCEEDED" {
        let out = exec.output.as_deref().cloned().unwrap_or(Value::Null);
        let ignore: Vec<String> = expected
            .get("ignore_paths")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let patterns = expected
            .get("output_patterns")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        compare_output(&expected["output"], &out, &ignore, &patterns)?;
    } else {
        let want_error = expected.get("error").and_then(Value::as_str);
        if want_error != exec.error.as_deref() {
            return Err(format!("error {:?}, expected {want_error:?}", exec.error));
        }
        let cause = exec.cause.as_deref();
        if let Some(c) = expected.get("cause").and_then(Value::as_str) {
            if cause != Some(c) {
                return Err(format!("cause {cause:?}, expected {c:?}"));
            }
        } else if let Some(r) = expected.get("cause_regex").and_then(Value::as_str) {
            let re = Regex::new(&format!("^(?s:{r})$")).map_err(|e| e.to_string())?;
            if !cause.is_some_and(|c| re.is_match(c)) {
                return Err(format!("cause {cause:?} does not match {r}"));
            }
        } else if let Some(j) = expected.get("cause_json") {
            let parsed: Option<Value> = cause.and_then(|c| serde_json::from_str(c).ok());
            if !parsed
                .as_ref()
                .is_some_and(|p| flowstate_tests::json_equal(j, p))
            {
                return Err(format!("cause {cause:?}, expected JSON {j}"));
            }
        } else if cause.is_some() {
            return Err(format!("cause {cause:?}, expected none"));
        }
    }
    if let Some(types) = expected.get("history_types").and_then(Value::as_array) {
        let want: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
        let got: Vec<&str> = result.history.iter().map(|e| e.type_name()).collect();
        let same = if expected.get("history_compare").and_then(Value::as_str) == Some("multiset") {
            let mut a = want.clone();
            let mut b = got.clone();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        } else {
            want == got
        };
        if !same {
            return Err(format!(
                "history types differ:\n  expected {want:?}\n  actual   {got:?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn conformance_cases_match_recorded_aws_behaviour() {
    let dir = shared_dir().join("conformance/cases");
    assert!(
        dir.is_dir(),
        "conformance cases not found at {} (the project expects ../shared beside it)",
        dir.display()
    );
    let mut files = Vec::new();
    case_files(&dir, &mut files);
    files.sort();
    let known_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance-known-failures.txt"
    ))
    .unwrap_or_default();
    let known: BTreeMap<String, String> = known_text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, why)) => (id.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let mut passed = 0;
    let mut failed = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable case");
        let case: Value = serde_json::from_str(&text).expect("case is JSON");
        let id = case["id"].as_str().unwrap_or_default().to_string();
        match run_case(&case) {
            Ok(()) => passed += 1,
            Err(why) => {
                failed.insert(id, why);
            }
        }
    }
    let total = files.len();
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
