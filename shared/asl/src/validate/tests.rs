use super::*;
use serde_json::json;
use std::path::{Path, PathBuf};

fn errors(def: &Value) -> Vec<(String, String)> {
    validate(def)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.location, d.message))
        .collect()
}

fn locations(def: &Value) -> Vec<String> {
    let mut l: Vec<String> = errors(def).into_iter().map(|(l, _)| l).collect();
    l.sort();
    l
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Every definition AWS accepted (each conformance case was executed, so its
/// definition passed CreateStateMachine) and every benchmark workload must
/// validate without errors.
#[test]
fn every_accepted_definition_is_valid() {
    let dir = crate::test_data_dir();
    let mut files = Vec::new();
    json_files(&dir.join("conformance/cases"), &mut files);
    files.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let Some(def) = case.get("definition") else {
            continue;
        };
        // `definition_text` is the exact text sent; it only differs from
        // `definition` by duplicate keys, which the last occurrence wins.
        let def = match case.get("definition_text").and_then(Value::as_str) {
            Some(text) => serde_json::from_str(text).unwrap(),
            None => def.clone(),
        };
        for (loc, msg) in errors(&def) {
            failures.push(format!("{}: {loc}: {msg}", case["id"]));
        }
        checked += 1;
    }
    let mut workloads = 0;
    for e in std::fs::read_dir(dir.join("bench/workloads"))
        .unwrap()
        .flatten()
    {
        let p = e.path();
        if p.to_string_lossy().ends_with(".asl.json") {
            let def: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            for (loc, msg) in errors(&def) {
                failures.push(format!("{}: {loc}: {msg}", p.display()));
            }
            workloads += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} errors on accepted definitions:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 639, "only {checked} cases found");
    assert_eq!(workloads, 5);
}

#[test]
fn transitions_and_reachability_all_reported() {
    let def = json!({
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Next": "Charge"},
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Next": "Chrage",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Nowhere"}],
                "Default": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    assert_eq!(
        errors(&def),
        [
            ("/States/Charge/Next".into(), "state 'Charge': Next names 'Chrage', which does not exist".into()),
            (
                "/States/Charge/Catch/0/Next".into(),
                "state 'Charge': Catch[0].Next names 'Recover', which does not exist".into()
            ),
            (
                "/States/Route/Choices/0/Next".into(),
                "state 'Route': Choices[0].Next names 'Nowhere', which does not exist".into()
            ),
            (
                "/States/Route".into(),
                "state 'Route' is not reachable from StartAt 'Start' (no StartAt, Next, Default or Catch leads to it)".into()
            ),
            (
                "/States/Done".into(),
                "state 'Done' is not reachable from StartAt 'Start' (no StartAt, Next, Default or Catch leads to it)".into()
            ),
        ]
    );
}

#[test]
fn top_level_shape() {
    let def = json!({
        "StartAt": "Missing",
        "States": {"A": {"Type": "Succeed"}},
        "Comment": 3,
        "Version": "2.0",
        "TimeoutSeconds": 0,
        "QueryLanguage": "XPath",
        "Extra": true
    });
    // With StartAt broken, reachability is not judged: every state would be "unreachable".
    assert_eq!(
        locations(&def),
        [
            "/Comment",
            "/Extra",
            "/QueryLanguage",
            "/StartAt",
            "/TimeoutSeconds",
            "/Version"
        ]
    );
    assert_eq!(locations(&json!({})), ["", ""]);
    assert_eq!(locations(&json!([])), [""]);
    assert_eq!(
        locations(&json!({"StartAt": 1, "States": []})),
        ["/StartAt", "/States"]
    );
}

#[test]
fn next_end_rules_and_fields_per_type() {
    let def = json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Next": "W", "End": true},
            "W": {"Type": "Wait", "Seconds": 1, "Timestamp": "2016-03-14T01:59:00Z"},
            "C": {"Type": "Choice", "Choices": [], "End": true},
            "S": {"Type": "Succeed", "Next": "P"},
            "F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": 5},
            "T": {"Type": "Task", "Resource": "lambda", "TimeoutSeconds": 10, "HeartbeatSeconds": 10, "TimeoutSecondsPath": "$.t", "End": true},
            "X": {"Type": "Sleep"},
            "N": {"Comment": "no type"}
        }
    });
    let got = errors(&def);
    let expect = [
        ("/States/P/End", "state 'P': it has both Next and End: true; only one is allowed"),
        ("/States/W/Timestamp", "state 'W': Seconds and Timestamp cannot be used together; use only one"),
        ("/States/W", "state 'W': it needs either Next or End: true"),
        ("/States/C/End", "state 'C': field 'End' is not supported in a Choice state"),
        ("/States/C/Choices", "state 'C': Choices must hold at least one rule"),
        ("/States/S/Next", "state 'S': field 'Next' is not supported in a Succeed state"),
        ("/States/F/Cause", "state 'F': Cause must be a string, found a number"),
        ("/States/F/ErrorPath", "state 'F': Error and ErrorPath cannot be used together; use only one"),
        ("/States/T/Resource", "state 'T': Resource 'lambda' is not an ARN (arn:partition:service:region:account:resource)"),
        ("/States/T/TimeoutSecondsPath", "state 'T': TimeoutSeconds and TimeoutSecondsPath cannot be used together; use only one"),
        ("/States/T/HeartbeatSeconds", "state 'T': HeartbeatSeconds (10) must be smaller than TimeoutSeconds (10)"),
        ("/States/X/Type", "state 'X': Type 'Sleep' is not a state type (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map)"),
        ("/States/N", "state 'N': the required field Type is missing"),
    ];
    for (loc, msg) in expect {
        assert!(
            got.iter().any(|(l, m)| l == loc && m == msg),
            "missing {loc}: {msg}\ngot {got:#?}"
        );
    }
    // Everything else reported is reachability (the machine stops at P).
    let rest: Vec<_> = got
        .iter()
        .filter(|(l, m)| !expect.iter().any(|(el, em)| el == l && em == m))
        .collect();
    assert!(
        rest.iter().all(|(_, m)| m.contains("is not reachable")),
        "{rest:#?}"
    );
    assert_eq!(rest.len(), 6, "{rest:#?}");
}

#[test]
fn query_language_fields() {
    let def = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "InputPath": "$.x", "Parameters": {"a.$": "$"}, "Output": "{% $states.input %}", "Next": "B"},
            "B": {"Type": "Pass", "QueryLanguage": "JSONPath", "Next": "C"},
            "C": {"Type": "Wait", "Seconds": "{% 1 + 1 %}", "Next": "D"},
            "D": {"Type": "Choice", "Choices": [
                {"Condition": "{% true %}", "Next": "E"},
                {"Variable": "$.x", "IsNull": true, "Next": "E"}
            ], "Default": "E"},
            "E": {"Type": "Wait", "Seconds": "soon", "End": true}
        }
    });
    let got = locations(&def);
    assert_eq!(
        got,
        [
            "/States/A/InputPath",
            "/States/A/Parameters",
            "/States/B/QueryLanguage",
            "/States/D/Choices/1",
            "/States/D/Choices/1/IsNull",
            "/States/D/Choices/1/Variable",
            "/States/E/Seconds",
        ]
    );
    let def = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Output": {"x": "{% 1 %}"}, "Arguments": {}, "Next": "B"},
            "B": {"Type": "Pass", "QueryLanguage": "JSONata", "ResultPath": "$.x", "Output": {"bad": "{% 1 "}, "End": true}
        }
    });
    assert_eq!(
        locations(&def),
        [
            "/States/A/Arguments",
            "/States/A/Output",
            "/States/B/Output/bad",
            "/States/B/ResultPath"
        ]
    );
}

#[test]
fn retry_and_catch_shape() {
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [
                    {"ErrorEquals": ["States.ALL", "Custom"], "BackoffRate": 0.5, "MaxAttempts": -1, "IntervalSeconds": 0, "JitterStrategy": "SOME"},
                    {"ErrorEquals": [], "Bogus": 1},
                    {"MaxDelaySeconds": 5}
                ],
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Next": "Done"},
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.a[*]"},
                    "nope"
                ],
                "End": true
            },
            "Done": {"Type": "Succeed"}
        }
    });
    assert_eq!(
        locations(&def),
        [
            "/States/T/Catch/0/ErrorEquals/0",
            "/States/T/Catch/1",
            "/States/T/Catch/1/ResultPath",
            "/States/T/Catch/2",
            "/States/T/Retry/0/BackoffRate",
            "/States/T/Retry/0/ErrorEquals/0",
            "/States/T/Retry/0/ErrorEquals/0",
            "/States/T/Retry/0/IntervalSeconds",
            "/States/T/Retry/0/JitterStrategy",
            "/States/T/Retry/0/MaxAttempts",
            "/States/T/Retry/1/Bogus",
            "/States/T/Retry/1/ErrorEquals",
            "/States/T/Retry/2",
        ]
    );
}

#[test]
fn names_unique_across_nested_scopes_and_limited_in_length() {
    let long = "N".repeat(81);
    let def = json!({
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Work", "States": {"Work": {"Type": "Succeed"}}},
                    {"StartAt": "Missing", "States": {"Inner": {"Type": "Pass", "Next": "Work"}}}
                ],
                "Next": "Map"
            },
            "Map": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": true}}},
                "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "Next": long.clone()
            },
            long.clone(): {"Type": "Succeed"}
        }
    });
    let got = errors(&def);
    let locs: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    assert!(
        locs.contains(&"/States/Map/ItemProcessor/States/Work"),
        "{got:#?}"
    );
    assert!(got
        .iter()
        .any(|(l, m)| l == "/States/Map/ItemProcessor/States/Work"
            && m.contains("already used at /States/Par/Branches/0/States/Work")));
    // A branch is its own scope: its Next cannot leave it, and its StartAt must be inside.
    assert!(locs.contains(&"/States/Par/Branches/1/StartAt"));
    assert!(locs.contains(&"/States/Par/Branches/1/States/Inner/Next"));
    assert!(locs.contains(&"/States/Map/Iterator"));
    assert!(locs.contains(&format!("/States/{long}").as_str()));
}

#[test]
fn templates_paths_and_choice_rules_located() {
    let def = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "InputPath": 5, "ResultPath": "$$.x", "OutputPath": "$[", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.a", "NumericEquals": "1", "Next": "D"},
                {"And": [{"Variable": "$.a", "StringEquals": "x"}, {"StringEquals": "y"}], "Next": "D"},
                {"Not": {"Variable": "$.b", "IsNull": true, "IsString": true}}
            ], "Default": "D"},
            "D": {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {}, "Parameters": {}, "MaxConcurrency": -1,
                  "ToleratedFailurePercentage": 101,
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "SIDEWAYS"}, "StartAt": "E", "States": {"E": {"Type": "Succeed"}}},
                  "End": true}
        }
    });
    assert_eq!(
        locations(&def),
        [
            "/States/A/InputPath",
            "/States/A/OutputPath",
            "/States/A/ResultPath",
            "/States/C/Choices/0/NumericEquals",
            "/States/C/Choices/1/And/1",
            "/States/C/Choices/2",
            "/States/C/Choices/2/Not",
            "/States/D/ItemProcessor/ProcessorConfig/Mode",
            "/States/D/MaxConcurrency",
            "/States/D/Parameters",
            "/States/D/ToleratedFailurePercentage",
        ]
    );
}

/// Prints what the corpus of accepted definitions gets (warnings included):
/// `cargo test -p flowstate-asl --lib corpus_report -- --ignored --nocapture`.
#[test]
#[ignore]
fn corpus_report() {
    let dir = crate::test_data_dir();
    let mut files = Vec::new();
    json_files(&dir.join("conformance/cases"), &mut files);
    for file in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if let Some(def) = case.get("definition") {
            for d in validate(def) {
                println!(
                    "{} {:?} {} {}",
                    case["id"], d.severity, d.location, d.message
                );
            }
        }
    }
}

#[test]
fn pointers_escape_tilde_and_slash() {
    let def = json!({"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "Next": "x"}}});
    assert_eq!(errors(&def)[0].0, "/States/a~1b~0c/Next");
}

#[test]
fn warnings_do_not_count_as_errors() {
    let def = json!({
        "StartAt": "Loop",
        "States": {
            "Loop": {"Type": "Pass", "Next": "Fail"},
            "Fail": {"Type": "Fail", "Error": "States.Oops"}
        }
    });
    let diags = validate(&def);
    assert!(
        diags.iter().all(|d| d.severity == Severity::Warning),
        "{diags:#?}"
    );
    assert_eq!(diags.len(), 1);
}

/// Issue 12, item 10: a scope no state ends is refused, as AWS refuses it
/// (`MISSING_END_STATE`), in nested scopes too.
#[test]
fn issue_12_a_scope_without_a_terminal_state_is_an_error() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}});
    assert_eq!(
        errors(&def),
        [(
            "/States".to_string(),
            "the state machine has no terminal state (End: true, Succeed or Fail)".to_string()
        )]
    );
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "L", "States": {"L": {"Type": "Wait", "Seconds": 1, "Next": "L"}}}
    ]}}});
    assert_eq!(locations(&def), ["/States/P/Branches/0/States"]);
    // A Choice that can leave the loop is enough.
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "C"}], "Default": "D"},
        "D": {"Type": "Succeed"}
    }});
    assert!(errors(&def).is_empty(), "{:?}", errors(&def));
}

fn map_with(extra: Value, mode: &str) -> Value {
    let mut map = json!({"Type": "Map", "End": true, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I", "States": {"I": {"Type": "Succeed"}}}});
    if let (Some(m), Some(e)) = (map.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    json!({"QueryLanguage": mode, "StartAt": "M", "States": {"M": map}})
}

/// Issue 12, item 10: a value and its path exclude each other in a Map's
/// ReaderConfig and ItemBatcher; a batcher needs a limit; each value is in range.
#[test]
fn issue_12_map_reader_and_batcher_values_exclude_their_paths() {
    let reader = |config: Value| {
        json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket": "b", "Key": "k"}, "ReaderConfig": config}})
    };
    let def = map_with(
        reader(json!({"InputType": "JSON", "MaxItems": 10, "MaxItemsPath": "$.n"})),
        "JSONPath",
    );
    assert_eq!(
        errors(&def),
        [(
            "/States/M/ItemReader/ReaderConfig/MaxItemsPath".to_string(),
            "state 'M': ItemReader.ReaderConfig: MaxItems and MaxItemsPath cannot be used together; use only one".to_string()
        )]
    );
    let def = map_with(reader(json!({"MaxItemsPath": "$.n["})), "JSONPath");
    assert_eq!(
        locations(&def),
        ["/States/M/ItemReader/ReaderConfig/MaxItemsPath"]
    );
    let def = map_with(reader(json!({"MaxItems": -1})), "JSONPath");
    assert_eq!(
        locations(&def),
        ["/States/M/ItemReader/ReaderConfig/MaxItems"]
    );
    let def = map_with(
        json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "Arguments": {"Bucket": "b", "Key": "k"}, "ReaderConfig": {"MaxItems": "{% $states.input.n %}"}}}),
        "JSONata",
    );
    assert!(errors(&def).is_empty(), "{:?}", errors(&def));

    let batcher = |b: Value| json!({"ItemBatcher": b});
    let def = map_with(
        batcher(json!({"MaxItemsPerBatch": 5, "MaxItemsPerBatchPath": "$.n",
            "MaxInputBytesPerBatch": 1024, "MaxInputBytesPerBatchPath": "$.b"})),
        "JSONPath",
    );
    assert_eq!(
        locations(&def),
        [
            "/States/M/ItemBatcher/MaxInputBytesPerBatchPath",
            "/States/M/ItemBatcher/MaxItemsPerBatchPath"
        ]
    );
    let def = map_with(batcher(json!({"BatchInput": {"a": 1}})), "JSONPath");
    assert_eq!(locations(&def), ["/States/M/ItemBatcher"]);
    let def = map_with(
        batcher(json!({"MaxInputBytesPerBatch": 262_145})),
        "JSONPath",
    );
    assert_eq!(
        locations(&def),
        ["/States/M/ItemBatcher/MaxInputBytesPerBatch"]
    );
    let def = map_with(batcher(json!({"MaxItemsPerBatch": 0})), "JSONPath");
    assert_eq!(locations(&def), ["/States/M/ItemBatcher/MaxItemsPerBatch"]);
    let def = map_with(
        batcher(json!({"MaxItemsPerBatchPath": "$.n", "BatchInput": {"k.$": "$.k"}})),
        "JSONPath",
    );
    assert!(errors(&def).is_empty(), "{:?}", errors(&def));
    let def = map_with(batcher(json!({"MaxItemsPerBatchPath": "$.n"})), "JSONata");
    assert_eq!(
        locations(&def),
        ["/States/M/ItemBatcher/MaxItemsPerBatchPath"]
    );
    let def = map_with(batcher(json!({"MaxItemsPerBatch": "{% $n %}"})), "JSONata");
    assert!(errors(&def).is_empty(), "{:?}", errors(&def));
}

/// Issue 12, item 10: Credentials is an object naming the role, by
/// `RoleArn` or (JSONPath) `RoleArn.$`.
#[test]
fn issue_12_credentials_name_a_role() {
    let task = |credentials: Value, mode: &str| {
        json!({"QueryLanguage": mode, "StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "End": true, "Credentials": credentials}}})
    };
    for ok in [
        task(
            json!({"RoleArn": "arn:aws:iam::123456789012:role/r"}),
            "JSONPath",
        ),
        task(json!({"RoleArn.$": "$.role"}), "JSONPath"),
        task(
            json!({"RoleArn.$": "States.Format('arn:aws:iam::{}:role/r', $.account)"}),
            "JSONPath",
        ),
        task(json!({"RoleArn": "{% $states.input.role %}"}), "JSONata"),
        task(
            json!({"RoleArn": "arn:aws:iam::123456789012:role/r"}),
            "JSONata",
        ),
    ] {
        assert!(errors(&ok).is_empty(), "{ok}: {:?}", errors(&ok));
    }
    for (bad, location) in [
        (
            task(json!("arn:aws:iam::123456789012:role/r"), "JSONPath"),
            "/States/T/Credentials",
        ),
        (task(json!({}), "JSONPath"), "/States/T/Credentials"),
        (
            task(json!({"Role": "x"}), "JSONPath"),
            "/States/T/Credentials",
        ),
        (
            task(json!({"RoleArn": "a", "RoleArn.$": "$.r"}), "JSONPath"),
            "/States/T/Credentials",
        ),
        (
            task(json!({"RoleArn": 7}), "JSONPath"),
            "/States/T/Credentials/RoleArn",
        ),
        (
            task(json!({"RoleArn.$": "$.r["}), "JSONPath"),
            "/States/T/Credentials/RoleArn.$",
        ),
        (
            task(json!({"RoleArn.$": "$.r"}), "JSONata"),
            "/States/T/Credentials",
        ),
        (
            task(json!({"RoleArn": "{% $states.input. %}"}), "JSONata"),
            "/States/T/Credentials/RoleArn",
        ),
        (
            task(json!("{% $role %}"), "JSONata"),
            "/States/T/Credentials",
        ),
    ] {
        assert_eq!(locations(&bad), [location], "{bad}");
    }
}

/// Runs `f` on a thread with a small stack, as a server's worker has, so a
/// recursion that is not bounded overflows here too.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn problems(text: String) -> Vec<String> {
    on_small_stack(move || {
        let mut out: Vec<String> = match crate::definition::StateMachine::from_text(&text) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.message).collect(),
        };
        if let Ok(v) = crate::definition::parse_document(&text) {
            out.extend(errors(&v).into_iter().map(|(_, m)| m));
        }
        out
    })
}

/// Issue 12: a 12 KB JSONata chain crashed `validate`, `run` and the
/// server's CreateStateMachine/ValidateStateMachineDefinition.
#[test]
fn issue_12_long_chains_in_a_definition_are_errors_not_crashes() {
    for expr in [
        format!("a{}", ".a".repeat(6_000)),
        format!("1{}", "+1".repeat(6_000)),
        format!("true{}", " or true".repeat(6_000)),
    ] {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}});
        let found = problems(def.to_string());
        assert!(
            found
                .iter()
                .any(|m| m.contains("more than 200 levels deep at position")),
            "{:?}",
            found
                .iter()
                .map(|m| m.chars().take(300).collect::<String>())
                .collect::<Vec<_>>()
        );
        // the message quotes the start of the expression, not all of it
        assert!(found.iter().all(|m| m.len() < 600));
    }
    let filter = format!("$.a[?(@.b == 1{})]", " && @.b == 1".repeat(6_000));
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": filter, "End": true}}});
    let found = problems(def.to_string());
    assert!(
        found
            .iter()
            .any(|m| m.contains("filter nested deeper than 64 levels")),
        "{found:?}"
    );
}

/// Choice rules, payload templates and nested states recurse once per
/// level of the definition's JSON (or YAML), which the reader bounds at 128.
#[test]
fn deeply_nested_definitions_are_refused_by_the_reader() {
    let choice = |levels: usize| {
        let mut rule = json!({"Variable": "$.x", "IsPresent": true});
        for _ in 0..levels {
            rule = json!({"Not": rule});
        }
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Not": rule, "Next": "E"}], "Default": "E"}, "E": {"Type": "Succeed"}}})
        .to_string()
    };
    assert_eq!(problems(choice(100)), Vec::<String>::new());
    let found = problems(choice(130));
    assert!(
        found.iter().any(|m| m.contains("recursion limit exceeded")),
        "{found:?}"
    );
    let mut branch = json!({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}});
    for _ in 0..40 {
        branch = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch], "End": true}}});
    }
    let found = problems(branch.to_string());
    assert!(
        found.iter().any(|m| m.contains("recursion limit exceeded")),
        "{found:?}"
    );
    let yaml = format!(
        "StartAt: P\nStates:\n  P:\n    Type: Pass\n    Parameters: {}1{}\n    End: true\n",
        "{a: ".repeat(200),
        "}".repeat(200)
    );
    let found = problems(yaml);
    assert!(
        found.iter().any(|m| m.contains("more than 128 levels")),
        "{found:?}"
    );
}
