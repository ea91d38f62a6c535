use super::*;
use crate::context::StaticScope;
use serde_json::json;

fn rule(v: Value) -> ChoiceRule {
    ChoiceRule::parse(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn eval(v: Value, input: Value) -> Result<bool, Failure> {
    rule(v).evaluate(&input, &StaticScope::default())
}

/// Every recorded `choice_operators` case: evaluate the Choice state's rules on
/// the case input and check that the branch taken is the one whose Pass
/// `Result` AWS returned as the execution output.
#[test]
fn conformance_choice_operators() {
    let dir = crate::test_data_dir();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("conformance/cases/choice_operators"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let id = case["id"].as_str().unwrap().to_string();
        let states = case["definition"]["States"].as_object().unwrap();
        let (_, choice) = states.iter().find(|(_, s)| s["Type"] == "Choice").unwrap();
        // The branch AWS took: the Pass state whose Result is the recorded output.
        let expected = states
            .iter()
            .find(|(_, s)| s["Type"] == "Pass" && s["Result"] == case["expected"]["output"])
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| panic!("{id}: no Pass state yields the expected output"));
        let input = &case["input"];
        let mut taken = None;
        for r in choice["Choices"].as_array().unwrap() {
            let parsed = ChoiceRule::parse(r).unwrap_or_else(|e| panic!("{id}: {e}"));
            match parsed.evaluate(input, &StaticScope::default()) {
                Ok(true) => {
                    taken = Some(r["Next"].as_str().unwrap().to_string());
                    break;
                }
                Ok(false) => {}
                Err(f) => panic!("{id}: unexpected failure {f}"),
            }
        }
        let taken = taken.or_else(|| choice["Default"].as_str().map(String::from));
        if taken.as_deref() != Some(expected.as_str()) {
            failures.push(format!(
                "{id}: took {taken:?}, AWS took {expected} (input {input})"
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 361);
}

#[test]
fn missing_variable_is_states_runtime_except_for_is_present() {
    let f = eval(json!({"Variable": "$.nope", "NumericEquals": 1}), json!({})).unwrap_err();
    assert_eq!(f.error, "States.Runtime");
    assert_eq!(
        f.cause.as_deref(),
        Some(
            "Invalid path '$.nope': The choice state's condition path references an invalid value."
        )
    );
    let f = eval(json!({"Variable": "$.nope", "IsNull": true}), json!({})).unwrap_err();
    assert_eq!(f.error, "States.Runtime");
    assert!(!eval(json!({"Variable": "$.nope", "IsPresent": true}), json!({})).unwrap());
    assert!(eval(json!({"Variable": "$.nope", "IsPresent": false}), json!({})).unwrap());
    assert!(eval(
        json!({"Variable": "$.a", "IsPresent": true}),
        json!({"a": null})
    )
    .unwrap());
}

#[test]
fn missing_path_operand_is_states_runtime() {
    let f = eval(
        json!({"Variable": "$.a", "NumericLessThanPath": "$.b"}),
        json!({"a": 1}),
    )
    .unwrap_err();
    assert_eq!(f.error, "States.Runtime");
    assert_eq!(
        f.cause.as_deref(),
        Some("Invalid path '$.b': The choice state's condition path references an invalid value.")
    );
    // The Variable is read first: when both are missing, it is the one named.
    let f = eval(
        json!({"Variable": "$.a", "StringEqualsPath": "$.b"}),
        json!({}),
    )
    .unwrap_err();
    assert!(f.cause.unwrap().contains("'$.a'"));
}

#[test]
fn path_operand_of_the_wrong_type_is_false() {
    assert!(!eval(
        json!({"Variable": "$.a", "NumericEqualsPath": "$.b"}),
        json!({"a": 1, "b": "1"})
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$.a", "TimestampEqualsPath": "$.b"}),
        json!({"a": "2020-01-01T00:00:00Z", "b": 3})
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$.a", "BooleanEqualsPath": "$.b"}),
        json!({"a": true, "b": "true"})
    )
    .unwrap());
}

#[test]
fn numbers_compare_by_value() {
    let n = |op: &str, lit: Value, v: Value| eval(json!({"Variable": "$", op: lit}), v).unwrap();
    assert!(n("NumericEquals", json!(1), json!(1.0)));
    assert!(n("NumericLessThan", json!(1.5), json!(1)));
    assert!(!n(
        "NumericLessThan",
        json!(9007199254740993u64),
        json!(9007199254740993u64)
    ));
    assert!(n(
        "NumericLessThan",
        json!(9007199254740993u64),
        json!(9007199254740992u64)
    ));
    assert!(n(
        "NumericGreaterThanEquals",
        json!(-1),
        json!(18446744073709551615u64)
    ));
    assert!(!n("NumericEquals", json!(0), json!(false)));
}

#[test]
fn strings_compare_as_java_does() {
    // U+1F600 is the surrogate pair D83D DE00 in UTF-16, so it sorts before
    // U+FF61 in Java although its UTF-8 bytes sort after.
    assert!(eval(
        json!({"Variable": "$", "StringLessThan": "\u{FF61}"}),
        json!("\u{1F600}")
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$", "StringGreaterThan": "A"}),
        json!("a")
    )
    .unwrap());
}

#[test]
fn timestamps_compare_as_instants() {
    assert!(eval(
        json!({"Variable": "$", "TimestampEquals": "2012-10-09T19:00:55Z"}),
        json!("2012-10-09T20:00:55+01:00")
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$", "TimestampLessThan": "2012-10-09T19:00:55.001Z"}),
        json!("2012-10-09T19:00:55Z")
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$", "TimestampEquals": "2012-10-09T19:00:55Z"}),
        json!("2012-10-09T19:00:55")
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$", "IsTimestamp": true}),
        json!("2012-10-09T19:00:55+01:00")
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$", "IsTimestamp": true}),
        json!("2012-10-09T19:00:55")
    )
    .unwrap());
    assert!(eval(json!({"Variable": "$", "IsTimestamp": false}), json!(5)).unwrap());
}

#[test]
fn string_matches_wildcards_and_escapes() {
    let m = |pat: &str, s: &str| {
        eval(json!({"Variable": "$", "StringMatches": pat}), json!(s)).unwrap()
    };
    assert!(m("foo*.log", "foo23.log"));
    assert!(m("*.log", "zoo.log"));
    assert!(m("foo*.*", "foobar.zoo"));
    assert!(!m("foo*.log", "foo23.txt"));
    assert!(m("*", ""));
    assert!(m("a*b*c", "abc"));
    assert!(!m("a*b*c", "ac"));
    assert!(!m("ab*ba", "aba"));
    assert!(m("log\\*", "log*"));
    assert!(!m("log\\*", "logs"));
    assert!(m("C:\\\\*", "C:\\dir"));
    assert!(m("exact", "exact"));
    assert!(!m("exact", "exactly"));
    assert!(!eval(json!({"Variable": "$", "StringMatches": "*"}), json!(1)).unwrap());
}

#[test]
fn and_or_not_nest_and_short_circuit() {
    let r = json!({
        "And": [
            {"Variable": "$.a", "IsPresent": true},
            {"Not": {"Variable": "$.a", "StringEquals": "x"}},
            {"Or": [{"Variable": "$.n", "NumericGreaterThan": 10}, {"Variable": "$.b", "BooleanEquals": true}]}
        ],
        "Next": "Somewhere"
    });
    assert!(eval(r.clone(), json!({"a": "y", "n": 11})).unwrap());
    assert!(eval(r.clone(), json!({"a": "y", "n": 1, "b": true})).unwrap());
    assert!(!eval(r.clone(), json!({"a": "x"})).unwrap());
    // Or stops at its first true rule, so the missing $.b is never read.
    assert!(eval(r.clone(), json!({"a": "y", "n": 11})).unwrap());
    assert_eq!(
        eval(r, json!({"a": "y", "n": 1})).unwrap_err().error,
        "States.Runtime"
    );
}

#[test]
fn reads_context_and_variables() {
    let scope = StaticScope {
        context: json!({"Execution": {"Input": {"input-value": 3}}}),
        variables: json!({"limit": {"max": 5}}).as_object().unwrap().clone(),
    };
    let r = rule(
        json!({"Variable": "$$.Execution.Input.input-value", "NumericLessThanPath": "$limit.max"}),
    );
    assert!(r.evaluate(&json!({}), &scope).unwrap());
    let r = rule(json!({"Variable": "$unset", "IsPresent": false}));
    assert!(r.evaluate(&json!({}), &scope).unwrap());
}

#[test]
fn parse_reports_every_problem_located() {
    let errors = ChoiceRule::parse_all(&json!({
        "And": [
            {"Variable": "$.a", "StringEquals": 1},
            {"NumericEquals": 1},
            {"Variable": "$.b", "IsNull": true, "IsString": true},
            {"Variable": "$.c", "TimestampEquals": "yesterday", "Next": "X"}
        ],
        "Bogus": 1
    }))
    .unwrap_err();
    let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/Bogus",
            "/And/0/StringEquals",
            "/And/1",
            "/And/2",
            "/And/3/Next",
            "/And/3/TimestampEquals"
        ],
        "{errors:?}"
    );
    assert!(ChoiceRule::parse(&json!({"Or": []})).is_err());
    assert!(ChoiceRule::parse(&json!({"Not": [{"Variable": "$", "IsNull": true}]})).is_err());
    assert!(ChoiceRule::parse(&json!({"Condition": "{% true %}"})).is_err());
    assert!(ChoiceRule::parse(&json!("x")).is_err());
}

#[test]
fn operator_names() {
    for op in [
        "StringMatches",
        "NumericLessThanPath",
        "IsTimestamp",
        "BooleanEqualsPath",
        "TimestampGreaterThanEquals",
    ] {
        assert!(is_comparison_operator(op), "{op}");
    }
    for op in [
        "And",
        "Variable",
        "StringMatchesPath",
        "IsPresentPath",
        "Path",
    ] {
        assert!(!is_comparison_operator(op), "{op}");
    }
}

/// The benchmark's hot path, NumericLessThanPath, timed; run in release:
/// `cargo test --release -p flowstate-asl --lib choice_hot_path -- --ignored --nocapture`.
#[test]
#[ignore]
fn choice_hot_path() {
    let r =
        rule(json!({"Variable": "$.counter", "NumericLessThanPath": "$.N", "Next": "Increment"}));
    let scope = StaticScope::default();
    let mut input = json!({"counter": 0, "N": 1_000_000});
    let n = 2_000_000u64;
    let start = std::time::Instant::now();
    let mut taken = 0u64;
    for i in 0..n {
        input["counter"] = json!(i % 2_000_000);
        if r.evaluate(std::hint::black_box(&input), &scope).unwrap() {
            taken += 1;
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{n} evaluations (with input updates) in {elapsed:?}: {:.1} ns each",
        elapsed.as_nanos() as f64 / n as f64
    );
    assert_eq!(taken, 1_000_000);
}

#[test]
fn richer_paths_go_through_the_general_engine() {
    let input = json!({"a": [{"x": 1}, {"x": 5}], "q": {"k'ey": 2}});
    // An indefinite path yields the array of its matches.
    assert!(eval(
        json!({"Variable": "$.a[?(@.x > 2)].x", "IsPresent": true}),
        input.clone()
    )
    .unwrap());
    assert!(!eval(
        json!({"Variable": "$.a[*].x", "IsNumeric": true}),
        input.clone()
    )
    .unwrap());
    assert!(eval(
        json!({"Variable": "$.a[1].x", "NumericEqualsPath": "$.a[-1:].x"}),
        input
    )
    .is_ok());
    assert!(ChoiceRule::parse(&json!({"Variable": "$.a[", "IsNull": true})).is_err());
    assert!(ChoiceRule::parse(&json!({"Variable": "$.a", "NumericEqualsPath": "nope"})).is_err());
}
