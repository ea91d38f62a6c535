//! End-to-end tests of the `flowstate` binary: `run` and `validate` as a
//! user calls them, exit codes included.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn flowstate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowstate"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the flowstate binary runs")
}

fn write_temp(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("the temp dir is writable");
    p.to_string_lossy().into_owned()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn run_order_example_with_local_handlers_succeeds() {
    let o = flowstate(&[
        "run",
        "examples/orders/order.asl.json",
        "--config",
        "examples/orders/flowstate.toml",
        "--input-file",
        "examples/orders/input.json",
        "--wait-scale",
        "0",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_out(&o);
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["status"], "CONFIRMED");
    assert_eq!(v["output"]["total"], json!(37.0));
    assert_eq!(v["output"]["trackingId"], "TRK-A-1001");
    assert_eq!(v["error"], Value::Null);
}

#[test]
fn a_handler_error_is_caught_by_the_catcher_that_names_it() {
    let o = flowstate(&[
        "run",
        "examples/orders/order.asl.json",
        "--config",
        "examples/orders/flowstate.toml",
        "--input-file",
        "examples/orders/declined.json",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v = json_out(&o);
    assert_eq!(v["output"]["status"], "DECLINED");
    let reason: Value = serde_json::from_str(v["output"]["reason"].as_str().unwrap()).unwrap();
    assert_eq!(reason["errorType"], "Card.Declined");
}

#[test]
fn jsonata_example_with_variables_runs_from_yaml() {
    let o = flowstate(&[
        "run",
        "examples/jsonata/cart.asl.yaml",
        "--input-file",
        "examples/jsonata/cart.json",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_out(&o);
    assert_eq!(v["output"]["discount"], json!(0.1));
    assert_eq!(v["output"]["total"], json!(102.6));
    assert_eq!(
        v["output"]["lines"][1],
        json!({"sku": "LAMP-3", "total": 80.1})
    );
}

#[test]
fn failed_execution_exits_1_with_error_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "fail.json",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"it broke"}}}"#,
    );
    let o = flowstate(&["run", &def, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(
        v,
        json!({"status": "FAILED", "output": null, "error": "Boom", "cause": "it broke"})
    );
}

#[test]
fn history_is_printed_in_get_execution_history_shape() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "p.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1},"Next":"B"},"B":{"Type":"Succeed"}}}"#,
    );
    let o = flowstate(&[
        "run",
        &def,
        "--json",
        "--history",
        "--input",
        r#"{"in":true}"#,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v = json_out(&o);
    let h = v["history"].as_array().unwrap();
    let types: Vec<&str> = h.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, e) in h.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
        assert_eq!(e["previousEventId"], json!(i));
        assert!(e["timestamp"].is_number());
    }
    assert_eq!(h[1]["stateEnteredEventDetails"]["name"], "A");
    assert_eq!(h[1]["stateEnteredEventDetails"]["input"], r#"{"in":true}"#);
    assert_eq!(h[2]["stateExitedEventDetails"]["output"], r#"{"x":1}"#);
}

#[test]
fn invalid_definition_given_to_run_exits_2_with_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "bad.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}"#,
    );
    let o = flowstate(&["run", &def]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/States/A/Next") && err.contains("'Nope'"),
        "{err}"
    );
}

#[test]
fn validate_lists_every_problem_of_a_broken_definition_with_locations() {
    let o = flowstate(&["validate", "examples/broken/broken.asl.json", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    let locations: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["location"].as_str().unwrap())
        .collect();
    for expected in [
        "/States/Validate/InputPath",
        "/States/Validate/Retry/0/MaxAttempts",
        "/States/Validate/Retry/0/ErrorEquals/0",
        "/States/Validate/Next",
        "/States/Charge/SecondsPath",
        "/States/Refund/ErrorPath",
        "/States/Charge",
        "/States/Refund",
    ] {
        assert!(
            locations.contains(&expected),
            "missing {expected} in {locations:?}"
        );
    }
    let text = flowstate(&["validate", "examples/broken/broken.asl.json"]);
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(
        err.contains("state 'Validate': Next names 'Chrage', which does not exist"),
        "{err}"
    );
}

#[test]
fn validate_accepts_the_examples() {
    for f in [
        "examples/orders/order.asl.json",
        "examples/jsonata/cart.asl.yaml",
    ] {
        let o = flowstate(&["validate", f]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn wait_scale_zero_skips_long_waits() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "w.json",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":31536000,"End":true}}}"#,
    );
    let o = flowstate(&["run", &def, "--wait-scale", "0", "--input", "[1]"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json_out(&o), json!([1]));
}

#[test]
fn an_unmapped_task_fails_naming_the_resource_and_how_to_map_it() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "t.json",
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:nowhere","End":true}}}"#,
    );
    let config = write_temp(dir.path(), "flowstate.toml", "# nothing mapped\n");
    let o = flowstate(&["run", &def, "--json", "--config", &config]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_out(&o);
    assert_eq!(v["error"], "States.TaskFailed");
    let cause = v["cause"].as_str().unwrap();
    assert!(
        cause.contains("nowhere") && cause.contains("[tasks."),
        "{cause}"
    );
}

#[test]
fn standard_type_stops_at_25000_history_events() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "loop.json",
        // An endless loop AWS accepts: it has a way out, never taken.
        r#"{"StartAt":"L","States":{"L":{"Type":"Pass","Next":"C"},
            "C":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"L"},
            "Done":{"Type":"Succeed"}}}"#,
    );
    let o = flowstate(&["run", &def, "--json", "--type", "STANDARD"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["status"], "FAILED");
    assert!(v["cause"].as_str().unwrap().contains("25000"), "{v}");
}

#[test]
fn bad_input_json_is_a_usage_error() {
    let o = flowstate(&[
        "run",
        "examples/jsonata/cart.asl.yaml",
        "--input",
        "{not json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not valid JSON"));
}

/// An endless loop AWS accepts: it has a way out (a terminal state), never taken.
const ENDLESS: &str = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},
    "B":{"Type":"Choice","Choices":[{"Variable":"$.never","IsPresent":true,"Next":"Out"}],"Default":"A"},
    "Out":{"Type":"Succeed"}}}"#;

#[test]
fn issue_12_an_endless_loop_stops_at_the_transition_cap_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(dir.path(), "loop.json", ENDLESS);
    let o = flowstate(&["run", &def, "--json", "--max-transitions", "5000"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(
        (v["status"].as_str(), v["error"].as_str()),
        (Some("FAILED"), Some("States.Runtime"))
    );
    let cause = v["cause"].as_str().unwrap();
    assert!(
        cause.contains("(5000)") && cause.contains("--max-transitions"),
        "{cause}"
    );
    // Without the flag, the default cap ends it too, and says how to raise it.
    let o = flowstate(&["run", &def]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("(1000000)") && err.contains("--max-transitions"),
        "{err}"
    );
}

#[test]
fn issue_12_an_input_over_256_kib_is_refused_as_start_execution_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(
        dir.path(),
        "p.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    );
    let input = write_temp(
        dir.path(),
        "big.json",
        &format!("\"{}\"", "x".repeat(262_143)),
    );
    let o = flowstate(&["run", &def, "--input-file", &input]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding"),
        "{err}"
    );
    // Exactly 256 KiB is accepted.
    let input = write_temp(
        dir.path(),
        "limit.json",
        &format!("\"{}\"", "x".repeat(262_142)),
    );
    assert_eq!(
        flowstate(&["run", &def, "--input-file", &input])
            .status
            .code(),
        Some(0)
    );
    // So is nesting up to the limit an execution keeps, and no deeper.
    let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(
        flowstate(&["run", &def, "--input", &nested(100)])
            .status
            .code(),
        Some(0)
    );
    let o = flowstate(&["run", &def, "--input", &nested(101)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("100 levels"));
}

#[test]
fn issue_12_a_task_result_over_256_kib_fails_with_data_limit_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    // The result is dropped (ResultPath null), yet too large to accept.
    let def = write_temp(
        dir.path(),
        "t.json",
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","ResultPath":null,"End":true}}}"#,
    );
    let config = write_temp(
        dir.path(),
        "flowstate.toml",
        r#"[tasks."arn:aws:states:::sqs:sendMessage"]
command = ["python3", "-c", "import sys; sys.stdin.read(); print('\"' + 'x' * 300000 + '\"')"]
"#,
    );
    let o = flowstate(&["run", &def, "--json", "--config", &config]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_out(&o);
    assert_eq!(v["error"], "States.DataLimitExceeded");
    assert!(v["cause"].as_str().unwrap().contains("'T'"), "{v}");
}

#[test]
fn issue_12_validate_exits_0_when_valid_1_when_not_and_2_when_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let valid = write_temp(
        dir.path(),
        "ok.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    );
    let invalid = write_temp(dir.path(), "bad.json", r#"{"StartAt":"P","States":{}}"#);
    let garbage = write_temp(dir.path(), "garbage.json", "{\"StartAt\": ");
    let huge = write_temp(
        dir.path(),
        "huge.json",
        &format!("{{\"Comment\": \"{}\"}}", "x".repeat(1_048_576)),
    );
    let missing = dir
        .path()
        .join("missing.json")
        .to_string_lossy()
        .into_owned();
    for (args, code) in [
        (vec!["validate", &valid], 0),
        (vec!["validate", &invalid], 1),
        (vec!["validate", &garbage], 1),
        (vec!["validate", &huge], 1),
        (vec!["validate", &missing], 2),
        (vec!["validate", &valid, "--no-such-flag"], 2),
    ] {
        let o = flowstate(&args);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Text that is not a definition is one diagnostic at the root, as
    // ValidateStateMachineDefinition reports it.
    let o = flowstate(&["validate", &garbage, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(
        (v[0]["location"].as_str(), v[0]["severity"].as_str()),
        (Some(""), Some("ERROR"))
    );
    let o = flowstate(&["validate", &huge, "--json"]);
    assert!(json_out(&o)[0]["message"]
        .as_str()
        .unwrap()
        .contains("1048576"));
}

/// Runs flowstate with its stdout a pipe whose reader is already gone.
fn with_stdout_closed(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowstate"))
        .args(args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the flowstate binary runs");
    drop(child.stdout.take());
    child.wait_with_output().expect("flowstate ends")
}

#[test]
fn issue_12_a_closed_pipe_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let def = write_temp(dir.path(), "loop.json", ENDLESS);
    let ok = "examples/orders/order.asl.json";
    for (args, code) in [
        (
            vec![
                "run",
                &def,
                "--max-transitions",
                "20000",
                "--json",
                "--history",
            ],
            1,
        ),
        (
            vec![
                "run",
                "examples/jsonata/cart.asl.yaml",
                "--input-file",
                "examples/jsonata/cart.json",
            ],
            0,
        ),
        (vec!["validate", ok], 0),
        (vec!["validate", ok, "--json"], 0),
        (
            vec!["bench", "--workload", "loop-counter", "--seconds", "0"],
            0,
        ),
    ] {
        let o = with_stdout_closed(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    }
}

#[test]
fn issue_13_validate_prints_aws_diagnostic_codes_and_applies_the_type() {
    let text = flowstate(&["validate", "examples/broken/broken.asl.json"]);
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(
        err.contains("error MISSING_TRANSITION_TARGET at /States/Validate/Next: state 'Validate'"),
        "{err}"
    );
    let o = flowstate(&["validate", "examples/broken/broken.asl.json", "--json"]);
    let v = json_out(&o);
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"SCHEMA_VALIDATION_FAILED"), "{codes:?}");

    let dir = tempfile::tempdir().unwrap();
    let callback = write_temp(
        dir.path(),
        "callback.asl.json",
        &json!({"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}}, "End": true}}})
        .to_string(),
    );
    assert_eq!(flowstate(&["validate", &callback]).status.code(), Some(0));
    let express = flowstate(&["validate", &callback, "--type", "EXPRESS", "--json"]);
    assert_eq!(express.status.code(), Some(1));
    let v = json_out(&express);
    assert_eq!(v[0]["code"], "INVALID_RESOURCE", "{v}");
    assert_eq!(v[0]["location"], "/States/Cb/Resource", "{v}");

    let garbage = write_temp(dir.path(), "garbage.asl.json", "{not json");
    let v = json_out(&flowstate(&["validate", &garbage, "--json"]));
    assert_eq!(v[0]["code"], "INVALID_JSON_DESCRIPTION", "{v}");
}
