//! Issue 12, item 11: the context object carries the fields Step Functions
//! documents in every state that has them, in every field, in both query
//! languages.

use super::*;

const ITEMS: &str = r#"{"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}"#;

#[test]
fn issue_12_retry_count_is_in_every_field_of_the_states_that_retry() {
    let processor: Value = serde_json::from_str(ITEMS).unwrap_or_default();
    // JSONPath: Parallel Parameters and ResultSelector, Map ItemSelector.
    let sm = machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
            "Parameters": {"r.$": "$$.State.RetryCount"},
            "ResultSelector": {"after.$": "$$.State.RetryCount", "branch.$": "$[0].r"},
            "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}
    }}));
    let (exec, _) = start(&sm, json!({}));
    assert_eq!(output(&exec), Some(&json!({"after": 0, "branch": 0})));

    let sm = machine(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "End": true,
            "ItemSelector": {"r.$": "$$.State.RetryCount", "i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
            "ItemProcessor": processor}
    }}));
    let (exec, _) = start(&sm, json!(["a"]));
    assert_eq!(output(&exec), Some(&json!([{"r": 0, "i": 0, "v": "a"}])));

    // JSONata: a Task's Arguments see it as its Parameters do.
    let sm = machine(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "End": true,
                "Arguments": {"r": "{% $states.context.State.RetryCount %}", "n": "{% $states.context.State.Name %}"}}
        }}),
    );
    let (_, step) = start(&sm, json!({}));
    assert_eq!(
        invocations(&step)[0].2.parameters,
        json!({"r": 0, "n": "T"})
    );

    // A Pass state has none, as recorded from AWS.
    let sm = machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"s.$": "$$.State"}, "End": true}
    }}));
    let (exec, _) = start(&sm, json!({}));
    let state = output(&exec)
        .and_then(|o| o.get("s"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(state.get("RetryCount"), None, "{state}");
    assert_eq!(state.get("Name"), Some(&json!("P")));
}

#[test]
fn issue_12_retry_count_counts_the_retries_of_a_task() {
    let sm = machine(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": LAMBDA, "End": true,
            "Parameters": {"r.$": "$$.State.RetryCount"},
            "ResultSelector": {"r.$": "$$.State.RetryCount"},
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}]}
    }}));
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    if let Some(f) = exec.frames.get_mut(&ROOT) {
        f.retry_counts = vec![2];
    }
    apply(&mut exec, &sm, succeeded(ROOT, 1, json!({})), NOW);
    assert_eq!(output(&exec), Some(&json!({"r": 2})));
}
