use super::*;
use serde_json::json;

fn env() -> TestStateEnv {
    TestStateEnv {
        region: "eu-west-3".into(),
        account: "111122223333".into(),
        now: 1_700_000_000_000,
    }
}

fn request(definition: Value) -> TestStateInput {
    TestStateInput {
        definition: definition.to_string(),
        ..Default::default()
    }
}

fn run(req: TestStateInput) -> Result<TestStateOutput, ApiError> {
    futures_lite(test_state(req, env(), no_invoker))
}

/// Polls a future that never waits (the invoker here answers at once).
fn futures_lite<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn mock_result(v: Value) -> Option<MockInput> {
    Some(MockInput {
        result: Some(v.to_string()),
        ..Default::default()
    })
}

fn mock_error(error: &str, cause: &str) -> Option<MockInput> {
    Some(MockInput {
        error_output: Some(MockErrorOutput {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }),
        ..Default::default()
    })
}

fn parsed(text: &Option<String>) -> Value {
    serde_json::from_str(text.as_deref().expect("a value")).expect("JSON")
}

#[test]
fn a_pass_state_shows_each_data_flow_step_at_debug() {
    let out = run(TestStateInput {
        input: Some(json!({"a": {"b": 1}, "keep": true}).to_string()),
        inspection_level: Some(InspectionLevel::Debug),
        ..request(json!({
            "Type": "Pass", "InputPath": "$.a", "Parameters": {"x.$": "$.b"},
            "ResultPath": "$.r", "OutputPath": "$.r", "Next": "After"
        }))
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("After"));
    assert_eq!(parsed(&out.output), json!({"x": 1}));
    let d = out.inspection_data.expect("DEBUG data");
    assert_eq!(parsed(&d.input), json!({"a": {"b": 1}, "keep": true}));
    assert_eq!(parsed(&d.after_input_path), json!({"b": 1}));
    assert_eq!(parsed(&d.after_parameters), json!({"x": 1}));
    assert_eq!(
        parsed(&d.after_result_path),
        json!({"a": {"b": 1}, "keep": true, "r": {"x": 1}})
    );
}

#[test]
fn info_level_has_no_data_flow() {
    let out = run(request(json!({"Type": "Pass", "End": true}))).unwrap();
    assert_eq!(out.status, TestExecutionStatus::Succeeded);
    assert_eq!(out.next_state, None);
    assert_eq!(out.inspection_data, None);
    assert_eq!(parsed(&out.output), json!({}));
}

#[test]
fn a_mocked_task_result_goes_through_result_selector_and_result_path() {
    let out = run(TestStateInput {
        input: Some(json!({"order": 7}).to_string()),
        inspection_level: Some(InspectionLevel::Debug),
        mock: mock_result(json!({"Payload": {"total": 42}, "StatusCode": 200})),
        ..request(json!({
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
            "ResultSelector": {"total.$": "$.Payload.total"},
            "ResultPath": "$.charged", "Next": "Ship"
        }))
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("Ship"));
    assert_eq!(
        parsed(&out.output),
        json!({"order": 7, "charged": {"total": 42}})
    );
    let d = out.inspection_data.unwrap();
    assert_eq!(
        parsed(&d.after_parameters),
        json!({"FunctionName": "charge", "Payload": {"order": 7}})
    );
    assert_eq!(
        parsed(&d.result),
        json!({"Payload": {"total": 42}, "StatusCode": 200})
    );
    assert_eq!(parsed(&d.after_result_selector), json!({"total": 42}));
}

fn retrying_task() -> Value {
    json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"},
        "Retry": [
            {"ErrorEquals": ["Other"], "MaxAttempts": 1},
            {"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}
        ],
        "Catch": [
            {"ErrorEquals": ["Nope"], "Next": "Never"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Recover"}
        ],
        "End": true
    })
}

#[test]
fn an_error_a_retrier_takes_is_retriable_with_its_back_off() {
    let out = run(TestStateInput {
        mock: mock_error("Boom", "it broke"),
        state_configuration: Some(TestStateConfiguration {
            retrier_retry_count: Some(1),
            ..Default::default()
        }),
        ..request(retrying_task())
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Retriable);
    assert_eq!(out.error.as_deref(), Some("Boom"));
    assert_eq!(out.cause.as_deref(), Some("it broke"));
    assert_eq!(out.next_state, None);
    let details = out.inspection_data.unwrap().error_details.unwrap();
    assert_eq!(details.retry_index, Some(1));
    // The second attempt waits IntervalSeconds * BackoffRate.
    assert_eq!(details.retry_backoff_interval_seconds, Some(6));
}

#[test]
fn an_error_past_its_retries_is_caught() {
    let out = run(TestStateInput {
        input: Some(json!({"id": 1}).to_string()),
        mock: mock_error("Boom", "it broke"),
        state_configuration: Some(TestStateConfiguration {
            retrier_retry_count: Some(2),
            ..Default::default()
        }),
        ..request(retrying_task())
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::CaughtError);
    assert_eq!(out.next_state.as_deref(), Some("Recover"));
    assert_eq!(
        parsed(&out.output),
        json!({"id": 1, "err": {"Error": "Boom", "Cause": "it broke"}})
    );
    assert_eq!(out.error.as_deref(), Some("Boom"));
    let details = out.inspection_data.unwrap().error_details.unwrap();
    assert_eq!(details.catch_index, Some(1));
}

#[test]
fn an_error_nothing_handles_fails() {
    let out = run(TestStateInput {
        mock: mock_error("Boom", "it broke"),
        ..request(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}),
        )
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Boom"));
    assert_eq!(out.cause.as_deref(), Some("it broke"));
    assert_eq!(out.output, None);
}

#[test]
fn choice_wait_succeed_and_fail_answer_as_states_alone() {
    let choice = run(TestStateInput {
        input: Some(json!({"n": 5}).to_string()),
        ..request(json!({"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}
        ], "Default": "Small"}))
    })
    .unwrap();
    assert_eq!(choice.next_state.as_deref(), Some("Big"));
    assert_eq!(choice.status, TestExecutionStatus::Succeeded);

    // A day-long Wait does not wait.
    let wait = run(request(
        json!({"Type": "Wait", "Seconds": 86400, "Next": "Later"}),
    ))
    .unwrap();
    assert_eq!(wait.status, TestExecutionStatus::Succeeded);
    assert_eq!(wait.next_state.as_deref(), Some("Later"));

    let succeed = run(request(json!({"Type": "Succeed"}))).unwrap();
    assert_eq!(succeed.status, TestExecutionStatus::Succeeded);
    assert_eq!(succeed.next_state, None);

    let fail = run(request(json!({"Type": "Fail", "Error": "E", "Cause": "C"}))).unwrap();
    assert_eq!(fail.status, TestExecutionStatus::Failed);
    assert_eq!(
        (fail.error.as_deref(), fail.cause.as_deref()),
        (Some("E"), Some("C"))
    );
}

#[test]
fn parallel_and_map_run_only_with_a_mock_standing_for_their_result() {
    let map = json!({
        "Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.done", "End": true,
        "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": true}}}
    });
    let refused = run(request(map.clone())).unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationException);
    let out = run(TestStateInput {
        input: Some(json!({"items": [1, 2]}).to_string()),
        mock: mock_result(json!([10, 20])),
        ..request(map.clone())
    })
    .unwrap();
    assert_eq!(
        parsed(&out.output),
        json!({"items": [1, 2], "done": [10, 20]})
    );
    let not_array = run(TestStateInput {
        mock: mock_result(json!({"x": 1})),
        ..request(map)
    })
    .unwrap_err();
    assert_eq!(not_array.code, ErrorCode::ValidationException);

    let parallel = json!({"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
    ]});
    let wrong_count = run(TestStateInput {
        mock: mock_result(json!([1])),
        ..request(parallel.clone())
    })
    .unwrap_err();
    assert_eq!(wrong_count.code, ErrorCode::ValidationException);
    let out = run(TestStateInput {
        mock: mock_result(json!([1, 2])),
        ..request(parallel.clone())
    })
    .unwrap();
    assert_eq!(parsed(&out.output), json!([1, 2]));
    let bad_origin = run(TestStateInput {
        mock: mock_error("E", "C"),
        state_configuration: Some(TestStateConfiguration {
            error_caused_by_state: Some("Z".into()),
            ..Default::default()
        }),
        ..request(parallel)
    })
    .unwrap_err();
    assert_eq!(bad_origin.code, ErrorCode::ValidationException);
}

#[test]
fn a_state_named_in_a_whole_jsonata_machine_with_variables_and_context() {
    let machine = json!({
        "QueryLanguage": "JSONata", "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Charge"},
            "Charge": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "charge", "Payload": {"amount": "{% $states.input.amount * $rate %}", "run": "{% $states.context.Execution.Name %}"}},
                "Output": "{% $states.result.Payload %}",
                "Assign": {"charged": "{% $states.result.Payload.ok %}"},
                "Next": "First"
            }
        }
    });
    let out = run(TestStateInput {
        state_name: Some("Charge".into()),
        input: Some(json!({"amount": 2}).to_string()),
        variables: Some(json!({"rate": 3}).to_string()),
        context: Some(json!({"Execution": {"Name": "run-1"}}).to_string()),
        inspection_level: Some(InspectionLevel::Debug),
        mock: mock_result(json!({"Payload": {"ok": true}, "StatusCode": 200})),
        ..request(machine)
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("First"));
    assert_eq!(parsed(&out.output), json!({"ok": true}));
    let d = out.inspection_data.unwrap();
    assert_eq!(
        parsed(&d.after_arguments),
        json!({"FunctionName": "charge", "Payload": {"amount": 6, "run": "run-1"}})
    );
    assert_eq!(parsed(&d.variables), json!({"rate": 3, "charged": true}));
}

#[test]
fn mocks_are_checked_by_field_validation_mode() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    let bad = json!({"StatusCode": "200", "Payload": 1});
    let strict = run(TestStateInput {
        mock: mock_result(bad.clone()),
        ..request(task.clone())
    })
    .unwrap_err();
    assert_eq!(strict.code, ErrorCode::ValidationException);
    let none = run(TestStateInput {
        mock: Some(MockInput {
            result: Some(bad.to_string()),
            field_validation_mode: Some(MockResponseValidationMode::None),
            ..Default::default()
        }),
        ..request(task.clone())
    })
    .unwrap();
    assert_eq!(parsed(&none.output), bad);
    let on_pass = run(TestStateInput {
        mock: mock_result(json!(1)),
        ..request(json!({"Type": "Pass", "End": true}))
    })
    .unwrap_err();
    assert_eq!(on_pass.code, ErrorCode::ValidationException);
}

#[test]
fn a_task_without_a_mock_goes_to_the_invoker() {
    let out = run(request(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true}),
    ))
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("States.TaskFailed"));
    let callback = run(request(
        json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}}, "End": true}),
    ))
    .unwrap_err();
    assert_eq!(callback.code, ErrorCode::ValidationException);
}

#[test]
fn bad_definitions_are_invalid_definition() {
    for def in [
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}),
        json!({"Type": "Pass"}),
        json!([1]),
    ] {
        assert_eq!(
            run(request(def.clone())).unwrap_err().code,
            ErrorCode::InvalidDefinition,
            "{def}"
        );
    }
}

#[test]
fn trace_shows_an_http_tasks_request_and_response() {
    let out = run(TestStateInput {
        inspection_level: Some(InspectionLevel::Trace),
        mock: mock_result(json!({"StatusCode": 200, "StatusText": "OK", "Headers": {"a": "b"}, "ResponseBody": {"ok": 1}})),
        ..request(json!({
            "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": "https://example.com/x", "Method": "POST",
                "QueryParameters": {"q": "1"}, "RequestBody": {"n": 1},
                "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}},
            "End": true
        }))
    })
    .unwrap();
    let d = out.inspection_data.unwrap();
    let req = d.request.unwrap();
    assert_eq!(req.method.as_deref(), Some("POST"));
    assert_eq!(req.url.as_deref(), Some("https://example.com/x?q=1"));
    assert_eq!(req.body.as_deref(), Some(r#"{"n":1}"#));
    let resp = d.response.unwrap();
    assert_eq!(resp.status_code.as_deref(), Some("200"));
    assert_eq!(resp.status_message.as_deref(), Some("OK"));
}

#[test]
fn a_mocked_map_shows_its_items_and_limits_and_counts_failed_iterations() {
    let map = json!({
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 5,
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ToleratedFailureCount": 1, "Next": "Done",
        "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": true}}}
    });
    let with = |failures: Option<i64>| TestStateInput {
        input: Some(json!({"items": ["a", "b", "c"]}).to_string()),
        inspection_level: Some(InspectionLevel::Debug),
        mock: mock_result(json!([1, 2, 3])),
        state_configuration: failures.map(|n| TestStateConfiguration {
            map_iteration_failure_count: Some(n),
            ..Default::default()
        }),
        ..request(map.clone())
    };
    let out = run(with(Some(1))).unwrap();
    assert_eq!(out.status, TestExecutionStatus::Succeeded);
    assert_eq!(out.next_state.as_deref(), Some("Done"));
    let d = out.inspection_data.unwrap();
    assert_eq!(parsed(&d.after_items_path), json!(["a", "b", "c"]));
    assert_eq!(
        parsed(&d.after_item_selector),
        json!([{"v": "a", "i": 0}, {"v": "b", "i": 1}, {"v": "c", "i": 2}])
    );
    assert_eq!(d.max_concurrency, Some(5));
    assert_eq!(d.tolerated_failure_count, Some(1));

    let out = run(with(Some(2))).unwrap();
    assert_eq!(out.status, TestExecutionStatus::Failed);
    assert_eq!(
        out.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    // ItemsPath that is not an array fails the state before any mock.
    let out = run(TestStateInput {
        input: Some(json!({"items": 1}).to_string()),
        ..with(None)
    })
    .unwrap();
    assert_eq!(out.status, TestExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
}
