//! JSONata mode: Arguments, Output, Assign and `$states`.

use super::*;

#[test]
fn arguments_become_the_task_parameters() {
    let sm = machine(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "End": true,
                "Arguments": {"FunctionName": "f", "Payload": {"n": "{% $states.input.n + 1 %}"}}}
        }}),
    );
    let (_, step) = start(&sm, json!({"n": 1}));
    assert_eq!(
        invocations(&step)[0].2.parameters,
        json!({"FunctionName": "f", "Payload": {"n": 2}})
    );
}

#[test]
fn output_and_assign_see_the_result_and_later_states_see_the_variables() {
    let sm = machine(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "Next": "Done",
                "Assign": {"last": "{% $states.result.Payload %}"},
                "Output": "{% $states.result.Payload.v * 10 %}"},
            "Done": {"Type": "Pass", "End": true,
                "Output": "{% {'input': $states.input, 'last': $last} %}"}
        }}),
    );
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    let step = apply(
        &mut exec,
        &sm,
        succeeded(ROOT, 1, json!({"Payload": {"v": 4}})),
        NOW,
    );
    assert_eq!(output(&exec), Some(&json!({"input": 40, "last": {"v": 4}})));
    // History records assigned variables as JSON text, as AWS does.
    match &step.history[1].details {
        Details::StateExited {
            assigned_variables, ..
        } => assert_eq!(
            assigned_variables.as_ref().map(|v| v["last"].clone()),
            Some(json!(r#"{"v":4}"#))
        ),
        other => panic!("expected TaskStateExited, found {other:?}"),
    }
}

#[test]
fn a_choice_condition_that_is_not_a_boolean_fails_with_query_evaluation_error() {
    let sm = machine(
        json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}]},
            "D": {"Type": "Succeed"}
        }}),
    );
    let (exec, step) = start(&sm, json!({"n": 3}));
    assert_eq!(exec.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(types(&step).contains(&"EvaluationFailed"));
    assert!(exec
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("Choices[0].Condition")));
}

#[test]
fn a_catcher_output_sees_the_error_output() {
    let sm = machine(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "End": true,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "R",
                    "Output": "{% $states.errorOutput.Error %}",
                    "Assign": {"why": "{% $states.errorOutput.Cause %}"}}]},
            "R": {"Type": "Pass", "End": true, "Output": "{% [$states.input, $why] %}"}
        }}),
    );
    let mut exec = waiting_for_task(&sm, "T", json!({}));
    apply(&mut exec, &sm, failed(ROOT, 1, "Boom", "because"), NOW);
    assert_eq!(output(&exec), Some(&json!(["Boom", "because"])));
}
