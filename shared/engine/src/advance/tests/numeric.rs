//! Issue 12, items 9 and 11: the numeric fields a state takes from its data
//! (`...Path` or JSONata) read by one rule, each wrong value failing with
//! Step Functions' words for its condition.

use super::*;

/// A one-state machine whose state sets `fields`; the cause it fails with,
/// or `Ok` when it started (a task invoked, a timer set) or ended well.
fn run(ty: &str, fields: Value, input: Value) -> Result<(), String> {
    let mut state = match ty {
        "Task" => json!({"Type": "Task", "Resource": LAMBDA, "End": true}),
        "Wait" => json!({"Type": "Wait", "End": true}),
        _ => json!({"Type": "Map", "End": true, "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}),
    };
    if let (Some(s), Some(extra)) = (state.as_object_mut(), fields.as_object()) {
        s.extend(extra.clone());
    }
    let sm = machine(json!({"StartAt": "S", "States": {"S": state}}));
    let (exec, _) = start(&sm, input);
    match (exec.error, exec.cause) {
        (None, _) => Ok(()),
        (Some(e), c) => Err(format!("{e}: {}", c.unwrap_or_default())),
    }
}

fn path(ty: &str, field: &str, value: Value) -> Result<(), String> {
    run(
        ty,
        json!({ format!("{field}Path"): "$.v" }),
        json!({"v": value, "items": [1, 2]}),
    )
}

fn fails_with(r: Result<(), String>, error: &str, cause: &str) {
    let got = r.expect_err("expected a failure");
    assert!(
        got.starts_with(error) && got.ends_with(cause),
        "expected {error} ending in {cause:?}, got {got:?}"
    );
}

const INTEGER_FIELDS: &[(&str, &str)] = &[
    ("Task", "TimeoutSeconds"),
    ("Task", "HeartbeatSeconds"),
    ("Wait", "Seconds"),
    ("Map", "MaxConcurrency"),
    ("Map", "ToleratedFailureCount"),
    ("Map", "ToleratedFailurePercentage"),
];

#[test]
fn issue_12_every_numeric_path_takes_whole_numbers_in_every_form() {
    for (ty, field) in INTEGER_FIELDS {
        for v in [json!(10), json!(10.0), json!("10")] {
            assert_eq!(path(ty, field, v.clone()), Ok(()), "{field}Path = {v}");
        }
    }
    assert_eq!(
        path("Map", "ToleratedFailurePercentage", json!(12.5)),
        Ok(())
    );
    assert_eq!(
        path("Map", "ToleratedFailurePercentage", json!("12.5")),
        Ok(())
    );
}

#[test]
fn issue_12_every_numeric_jsonata_field_takes_a_computed_whole_number() {
    for (ty, field) in INTEGER_FIELDS {
        let r = run(
            ty,
            json!({"QueryLanguage": "JSONata", *field: "{% $states.input.v / 2 %}"}),
            json!({"v": 20, "items": [1]}),
        );
        // Map's JSONata items come from Items; the default is the input itself.
        let r = if *ty == "Map" {
            run(
                ty,
                json!({"QueryLanguage": "JSONata", "Items": "{% [1, 2] %}", *field: "{% $states.input.v / 2 %}"}),
                json!({"v": 20}),
            )
        } else {
            r
        };
        assert_eq!(r, Ok(()), "{field}");
    }
}

#[test]
fn issue_12_a_value_that_is_not_a_number_fails_with_the_fields_message() {
    for (ty, field) in INTEGER_FIELDS {
        for v in [
            json!("soon"),
            json!({}),
            json!(true),
            json!(null),
            json!(1.5),
        ] {
            if *field == "ToleratedFailurePercentage" && v == json!(1.5) {
                continue;
            }
            let shown = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let cause = match *field {
                "Seconds" => format!(
                    "The SecondsPath parameter cannot be parsed as a long value: $.v == {shown}"
                ),
                "ToleratedFailurePercentage" => format!(
                    "The {field}Path field refers to value \"{shown}\" which is not a valid float: $.v"
                ),
                _ => format!(
                    "The {field}Path field refers to value \"{shown}\" which is not a valid integer: $.v"
                ),
            };
            fails_with(path(ty, field, v), "States.Runtime", &cause);
        }
    }
}

#[test]
fn issue_12_a_path_that_selects_nothing_fails_with_the_fields_message() {
    for (ty, field) in INTEGER_FIELDS {
        let r = run(
            ty,
            json!({ format!("{field}Path"): "$.nothing" }),
            json!({"items": []}),
        );
        let cause = match *field {
            "Seconds" => "The SecondsPath parameter does not reference an input value: $.nothing",
            _ => "Invalid path '$.nothing' : No results for path: $['nothing']",
        };
        fails_with(r, "States.Runtime", cause);
    }
}

#[test]
fn issue_12_a_value_out_of_range_fails_with_the_fields_message() {
    let cases = [
        ("Wait", "Seconds", json!(-1), "The SecondsPath parameter references a negative value: $.v == -1"),
        ("Wait", "Seconds", json!(100_000_000), "The SecondsPath parameter references a wait longer than the 99999999 seconds a Wait state allows: $.v == 100000000"),
        ("Task", "TimeoutSeconds", json!(0), "The TimeoutSecondsPath field refers to value \"0\" which is not a valid integer: $.v"),
        ("Task", "HeartbeatSeconds", json!("-3"), "The HeartbeatSecondsPath field refers to value \"-3\" which is not a valid integer: $.v"),
        ("Map", "MaxConcurrency", json!(-1), "Expected non-negative integer for MaxConcurrency, got '-1' instead."),
        ("Map", "MaxConcurrency", json!(3_000_000_000_u64), "The MaxConcurrencyPath field refers to value \"3000000000\" which is not a valid integer: $.v"),
        ("Map", "ToleratedFailureCount", json!("-1"), "ToleratedFailureCount cannot be negative."),
        ("Map", "ToleratedFailurePercentage", json!(100.5), "ToleratedFailurePercentage must be between 0 and 100."),
        ("Map", "ToleratedFailurePercentage", json!(-1), "ToleratedFailurePercentage must be between 0 and 100."),
    ];
    for (ty, field, v, cause) in cases {
        fails_with(path(ty, field, v), "States.Runtime", cause);
    }
}

#[test]
fn issue_12_a_jsonata_field_of_the_wrong_type_quotes_its_expression() {
    for (ty, field) in INTEGER_FIELDS {
        let expected = if *field == "ToleratedFailurePercentage" {
            "number"
        } else {
            "integer"
        };
        let r = run(
            ty,
            json!({"QueryLanguage": "JSONata", "Items": "{% [1] %}", *field: "{% 'ten' %}"}),
            json!({}),
        );
        let r = match ty {
            &"Map" => r,
            _ => run(
                ty,
                json!({"QueryLanguage": "JSONata", *field: "{% 'ten' %}"}),
                json!({}),
            ),
        };
        fails_with(
            r,
            "States.QueryEvaluationError",
            &format!("The JSONata expression ''ten'' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was 'string' for value: \"ten\""),
        );
    }
}
