//! Router tests without a socket (`oneshot`), over a small fake implementation of the actions;
//! one test serves on a real port.

use super::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use std::sync::Mutex;
use tower::ServiceExt;

const SM_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";

#[derive(Default)]
struct Fake {
    machines: Mutex<Vec<(String, String)>>,
    last_history: Mutex<Option<GetExecutionHistoryInput>>,
    last_list: Mutex<Option<ListExecutionsInput>>,
}

fn no_machine(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::StateMachineDoesNotExist,
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

impl StepFunctionsActions for Fake {
    async fn create_state_machine(
        &self,
        i: CreateStateMachineInput,
    ) -> Result<CreateStateMachineOutput, ApiError> {
        let arn = format!("{SM_PREFIX}{}", i.name);
        self.machines
            .lock()
            .unwrap()
            .push((arn.clone(), i.definition));
        Ok(CreateStateMachineOutput {
            state_machine_arn: arn,
            creation_date: Timestamp(1_700_000_000_123),
            state_machine_version_arn: None,
        })
    }
    async fn describe_state_machine(
        &self,
        i: DescribeStateMachineInput,
    ) -> Result<DescribeStateMachineOutput, ApiError> {
        let machines = self.machines.lock().unwrap();
        let (arn, def) = machines
            .iter()
            .find(|(a, _)| *a == i.state_machine_arn)
            .ok_or_else(|| no_machine(&i.state_machine_arn))?;
        Ok(DescribeStateMachineOutput {
            state_machine_arn: arn.clone(),
            name: arn.trim_start_matches(SM_PREFIX).into(),
            status: Some(StateMachineStatus::Active),
            definition: def.clone(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            r#type: StateMachineType::Standard,
            creation_date: Timestamp(1_700_000_000_123),
            logging_configuration: None,
            tracing_configuration: None,
            label: None,
            revision_id: None,
            description: None,
            encryption_configuration: None,
        })
    }
    async fn update_state_machine(
        &self,
        _: UpdateStateMachineInput,
    ) -> Result<UpdateStateMachineOutput, ApiError> {
        Err(ApiError::internal("the disk is on fire"))
    }
    async fn delete_state_machine(
        &self,
        _: DeleteStateMachineInput,
    ) -> Result<DeleteStateMachineOutput, ApiError> {
        Ok(DeleteStateMachineOutput {})
    }
    async fn list_state_machines(
        &self,
        _: ListStateMachinesInput,
    ) -> Result<ListStateMachinesOutput, ApiError> {
        Ok(ListStateMachinesOutput {
            state_machines: vec![],
            next_token: None,
        })
    }
    async fn start_execution(
        &self,
        i: StartExecutionInput,
    ) -> Result<StartExecutionOutput, ApiError> {
        if i.name.as_deref() == Some("taken") {
            return Err(ApiError::new(
                ErrorCode::ExecutionAlreadyExists,
                "Execution Already Exists: 'x'",
            ));
        }
        Ok(StartExecutionOutput {
            execution_arn: "arn:exec".into(),
            start_date: Timestamp(1500),
        })
    }
    async fn start_sync_execution(
        &self,
        i: StartSyncExecutionInput,
    ) -> Result<StartSyncExecutionOutput, ApiError> {
        Ok(StartSyncExecutionOutput {
            execution_arn: "arn:express".into(),
            state_machine_arn: Some(i.state_machine_arn),
            name: Some("n".into()),
            start_date: Timestamp(1000),
            stop_date: Timestamp(2000),
            status: SyncExecutionStatus::Succeeded,
            error: None,
            cause: None,
            input: i.input.clone(),
            input_details: Some(CloudWatchEventsExecutionDataDetails { included: true }),
            output: i.input,
            output_details: Some(CloudWatchEventsExecutionDataDetails { included: true }),
            trace_header: None,
            billing_details: Some(BillingDetails {
                billed_memory_used_in_mb: 64,
                billed_duration_in_milliseconds: 100,
            }),
        })
    }
    async fn describe_execution(
        &self,
        i: DescribeExecutionInput,
    ) -> Result<DescribeExecutionOutput, ApiError> {
        Ok(DescribeExecutionOutput {
            execution_arn: i.execution_arn,
            state_machine_arn: "arn:sm".into(),
            name: Some("e".into()),
            status: ExecutionStatus::TimedOut,
            start_date: Timestamp(1000),
            stop_date: Some(Timestamp(2500)),
            input: Some("{}".into()),
            input_details: Some(CloudWatchEventsExecutionDataDetails { included: true }),
            output: None,
            output_details: None,
            trace_header: None,
            map_run_arn: None,
            error: Some("States.Timeout".into()),
            cause: None,
            state_machine_version_arn: None,
            state_machine_alias_arn: None,
            redrive_count: None,
            redrive_date: None,
            redrive_status: None,
            redrive_status_reason: None,
        })
    }
    async fn list_executions(
        &self,
        i: ListExecutionsInput,
    ) -> Result<ListExecutionsOutput, ApiError> {
        *self.last_list.lock().unwrap() = Some(i);
        Ok(ListExecutionsOutput {
            executions: vec![],
            next_token: Some("t2".into()),
        })
    }
    async fn get_execution_history(
        &self,
        i: GetExecutionHistoryInput,
    ) -> Result<GetExecutionHistoryOutput, ApiError> {
        *self.last_history.lock().unwrap() = Some(i);
        Ok(GetExecutionHistoryOutput {
            events: vec![
                json!({"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "timestamp": 1.5}),
            ],
            next_token: None,
        })
    }
    async fn stop_execution(&self, _: StopExecutionInput) -> Result<StopExecutionOutput, ApiError> {
        Ok(StopExecutionOutput {
            stop_date: Timestamp(3000),
        })
    }
    async fn send_task_success(
        &self,
        i: SendTaskSuccessInput,
    ) -> Result<SendTaskSuccessOutput, ApiError> {
        if i.task_token == "bad" {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "Invalid Token: 'bad'",
            ));
        }
        Ok(SendTaskSuccessOutput {})
    }
    async fn send_task_failure(
        &self,
        _: SendTaskFailureInput,
    ) -> Result<SendTaskFailureOutput, ApiError> {
        Err(ApiError::new(
            ErrorCode::TaskDoesNotExist,
            "Task Does Not Exist",
        ))
    }
    async fn send_task_heartbeat(
        &self,
        _: SendTaskHeartbeatInput,
    ) -> Result<SendTaskHeartbeatOutput, ApiError> {
        Ok(SendTaskHeartbeatOutput {})
    }
    async fn describe_state_machine_for_execution(
        &self,
        i: DescribeStateMachineForExecutionInput,
    ) -> Result<DescribeStateMachineForExecutionOutput, ApiError> {
        Err(ApiError::new(
            ErrorCode::ExecutionDoesNotExist,
            format!("Execution Does Not Exist: '{}'", i.execution_arn),
        ))
    }
}

fn app() -> (Arc<Fake>, Router) {
    let fake = Arc::new(Fake::default());
    (fake.clone(), router(fake))
}

async fn send_raw(
    app: &Router,
    target: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", CONTENT_TYPE);
    if let Some(t) = target {
        req = req.header("x-amz-target", t);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, json)
}

async fn send(app: &Router, action: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = send_raw(
        app,
        Some(&format!("AWSStepFunctions.{action}")),
        &body.to_string(),
    )
    .await;
    (s, v)
}

#[tokio::test]
async fn create_then_describe_uses_aws_member_names_and_epoch_seconds() {
    let (_, app) = app();
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#;
    let (s, v) = send(
        &app,
        "CreateStateMachine",
        json!({"name": "m", "definition": def, "roleArn": "arn:aws:iam::1:role/r"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["stateMachineArn"], json!(format!("{SM_PREFIX}m")));
    assert_eq!(v["creationDate"], json!(1_700_000_000.123));
    assert!(
        v.get("stateMachineVersionArn").is_none(),
        "absent members are omitted, not null: {v}"
    );

    let (s, v) = send(
        &app,
        "DescribeStateMachine",
        json!({"stateMachineArn": format!("{SM_PREFIX}m")}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["definition"], json!(def));
    assert_eq!(v["type"], json!("STANDARD"));
    assert_eq!(v["status"], json!("ACTIVE"));
    assert_eq!(v["roleArn"], json!("arn:aws:iam::123456789012:role/r"));
}

#[tokio::test]
async fn success_has_the_json_1_0_content_type_and_a_request_id() {
    let (_, app) = app();
    let (s, h, _) = send_raw(&app, Some("AWSStepFunctions.ListStateMachines"), "{}").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], CONTENT_TYPE);
    assert!(h.contains_key("x-amzn-requestid"));
}

#[tokio::test]
async fn action_errors_keep_their_code_message_and_400() {
    let (_, app) = app();
    let (s, h, v) = send_raw(
        &app,
        Some("AWSStepFunctions.DescribeStateMachine"),
        r#"{"stateMachineArn":"arn:nope"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({"__type": "StateMachineDoesNotExist", "message": "State Machine Does Not Exist: 'arn:nope'"})
    );
    assert_eq!(h["x-amzn-errortype"], "StateMachineDoesNotExist");
    assert_eq!(h["content-type"], CONTENT_TYPE);

    let (s, v) = send(
        &app,
        "StartExecution",
        json!({"stateMachineArn": "a", "name": "taken"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ExecutionAlreadyExists"))
    );
    let (s, v) = send(
        &app,
        "SendTaskSuccess",
        json!({"taskToken": "bad", "output": "{}"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("InvalidToken"))
    );
    let (s, v) = send(&app, "SendTaskFailure", json!({"taskToken": "t"})).await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("TaskDoesNotExist"))
    );
    let (s, v) = send(
        &app,
        "DescribeStateMachineForExecution",
        json!({"executionArn": "e"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ExecutionDoesNotExist"))
    );
}

#[tokio::test]
async fn internal_failures_are_500() {
    let (_, app) = app();
    let (s, v) = send(&app, "UpdateStateMachine", json!({"stateMachineArn": "a"})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v["__type"], json!("InternalFailure"));
}

#[tokio::test]
async fn unknown_or_missing_target_is_unknown_operation() {
    let (_, app) = app();
    for target in [
        Some("AWSStepFunctions.NoSuchAction"),
        Some("DynamoDB_20120810.GetItem"),
        None,
    ] {
        let (s, _, v) = send_raw(&app, target, "{}").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{target:?}");
        assert_eq!(
            v["__type"],
            json!("UnknownOperationException"),
            "{target:?}"
        );
    }
}

#[tokio::test]
async fn missing_required_member_is_a_validation_exception_naming_it() {
    let (_, app) = app();
    let (s, v) = send(&app, "DescribeExecution", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["__type"], json!("ValidationException"));
    assert_eq!(
        v["message"],
        json!("1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null")
    );
}

#[tokio::test]
async fn malformed_bodies_are_serialization_exceptions() {
    let (_, app) = app();
    for body in ["{not json", r#"{"stateMachineArn": 5}"#, "[]"] {
        let (s, _, v) = send_raw(&app, Some("AWSStepFunctions.DescribeStateMachine"), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(v["__type"], json!("SerializationException"), "{body}");
    }
}

#[tokio::test]
async fn an_empty_body_counts_as_no_members() {
    let (_, app) = app();
    let (s, _, v) = send_raw(&app, Some("AWSStepFunctions.ListStateMachines"), "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"stateMachines": []}));
}

#[tokio::test]
async fn list_executions_passes_filters_and_checks_ranges() {
    let (fake, app) = app();
    let (s, v) = send(
        &app,
        "ListExecutions",
        json!({"stateMachineArn": "arn:sm", "statusFilter": "TIMED_OUT", "maxResults": 7, "nextToken": "t1"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"executions": [], "nextToken": "t2"}));
    let got = fake.last_list.lock().unwrap().clone().unwrap();
    assert_eq!(got.status_filter, Some(ExecutionStatus::TimedOut));
    assert_eq!(
        (got.max_results, got.next_token.as_deref()),
        (Some(7), Some("t1"))
    );

    let (s, v) = send(
        &app,
        "ListExecutions",
        json!({"stateMachineArn": "arn:sm", "statusFilter": "DONE"}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ValidationException"))
    );
    let (s, v) = send(
        &app,
        "ListExecutions",
        json!({"stateMachineArn": "arn:sm", "maxResults": 1001}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ValidationException"))
    );
    assert!(v["message"].as_str().unwrap().contains("maxResults"));
    let (s, v) = send(&app, "ListExecutions", json!({})).await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ValidationException"))
    );
}

#[tokio::test]
async fn get_execution_history_passes_paging_and_data_flags() {
    let (fake, app) = app();
    let (s, v) = send(
        &app,
        "GetExecutionHistory",
        json!({"executionArn": "e", "maxResults": 2, "reverseOrder": true, "nextToken": "n", "includeExecutionData": false}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["events"][0]["type"], json!("ExecutionStarted"));
    assert!(v.get("nextToken").is_none());
    let got = fake.last_history.lock().unwrap().clone().unwrap();
    assert_eq!(got.reverse_order, Some(true));
    assert_eq!(got.include_execution_data, Some(false));
    assert_eq!(got.max_results, Some(2));
    assert_eq!(got.next_token.as_deref(), Some("n"));
}

#[tokio::test]
async fn describe_execution_renders_optional_members() {
    let (_, app) = app();
    let (s, v) = send(&app, "DescribeExecution", json!({"executionArn": "arn:e"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], json!("TIMED_OUT"));
    assert_eq!(v["stopDate"], json!(2.5));
    assert_eq!(v["inputDetails"], json!({"included": true}));
    assert_eq!(v["error"], json!("States.Timeout"));
    assert!(v.get("output").is_none() && v.get("cause").is_none());
}

#[tokio::test]
async fn start_sync_execution_shape() {
    let (_, app) = app();
    let (s, v) = send(
        &app,
        "StartSyncExecution",
        json!({"stateMachineArn": "arn:sm", "input": "{\"a\":1}"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], json!("SUCCEEDED"));
    assert_eq!(v["output"], json!("{\"a\":1}"));
    assert_eq!(
        v["billingDetails"],
        json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100})
    );
    assert_eq!(
        (v["startDate"].clone(), v["stopDate"].clone()),
        (json!(1.0), json!(2.0))
    );
}

#[tokio::test]
async fn empty_outputs_are_empty_objects() {
    let (_, app) = app();
    for (action, body) in [
        ("DeleteStateMachine", json!({"stateMachineArn": "a"})),
        ("SendTaskSuccess", json!({"taskToken": "t", "output": "1"})),
        ("SendTaskHeartbeat", json!({"taskToken": "t"})),
    ] {
        assert_eq!(
            send(&app, action, body).await,
            (StatusCode::OK, json!({})),
            "{action}"
        );
    }
    let (s, v) = send(
        &app,
        "StopExecution",
        json!({"executionArn": "e", "error": "E", "cause": "C"}),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"stopDate": 3.0})));
}

#[tokio::test]
async fn long_error_and_token_members_are_rejected_before_the_action_runs() {
    let (_, app) = app();
    let (s, v) = send(
        &app,
        "StopExecution",
        json!({"executionArn": "e", "error": "x".repeat(257)}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ValidationException"))
    );
    let (s, v) = send(
        &app,
        "SendTaskHeartbeat",
        json!({"taskToken": "t".repeat(2049)}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ValidationException"))
    );
}

#[tokio::test]
async fn issue_12_oversized_definitions_inputs_and_outputs_are_refused_as_aws_refuses_them() {
    let (fake, app) = app();
    let input = "x".repeat(262_145);
    let definition = "x".repeat(1_048_577);
    let size = |member: &str| {
        format!("1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding")
    };
    let length = "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to 1048576";
    let missing = format!("{SM_PREFIX}missing");
    for (action, body, message) in [
        // Checked before the state machine is looked up.
        (
            "StartExecution",
            json!({"stateMachineArn": missing, "input": input}),
            size("input"),
        ),
        (
            "StartSyncExecution",
            json!({"stateMachineArn": missing, "input": input}),
            size("input"),
        ),
        (
            "SendTaskSuccess",
            json!({"taskToken": "t", "output": input}),
            size("output"),
        ),
        (
            "CreateStateMachine",
            json!({"name": "big", "definition": definition, "roleArn": "r"}),
            length.to_string(),
        ),
        (
            "UpdateStateMachine",
            json!({"stateMachineArn": missing, "definition": definition}),
            length.to_string(),
        ),
        (
            "ValidateStateMachineDefinition",
            json!({"definition": definition}),
            length.to_string(),
        ),
    ] {
        let (s, v) = send(&app, action, body).await;
        assert_eq!(
            (s, v),
            (
                StatusCode::BAD_REQUEST,
                json!({"__type": "ValidationException", "message": message})
            ),
            "{action}"
        );
    }
    assert!(fake.machines.lock().unwrap().is_empty());
    // At the limit they are accepted.
    let (s, _) = send(
        &app,
        "StartExecution",
        json!({"stateMachineArn": missing, "input": &input[1..]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn validate_state_machine_definition_reports_ok_and_fail_with_codes() {
    let (_, app) = app();
    let good = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#;
    let (s, v) = send(
        &app,
        "ValidateStateMachineDefinition",
        json!({"definition": good}),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"result": "OK", "diagnostics": [], "truncated": false})
        )
    );

    let bad = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#;
    let (s, v) = send(
        &app,
        "ValidateStateMachineDefinition",
        json!({"definition": bad}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["result"], json!("FAIL"));
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], json!("ERROR"));
    assert_eq!(d["code"], json!("MISSING_TRANSITION_TARGET"));
    assert_eq!(d["location"], json!("/States/A/Next"));
    assert!(d["message"].as_str().unwrap().contains("'B'"));

    let (_, v) = send(
        &app,
        "ValidateStateMachineDefinition",
        json!({"definition": "{oops"}),
    )
    .await;
    assert_eq!(
        v["diagnostics"][0]["code"],
        json!("INVALID_JSON_DESCRIPTION")
    );
    let (s, v) = send(
        &app,
        "ValidateStateMachineDefinition",
        json!({"definition": good, "maxResults": 101}),
    )
    .await;
    assert_eq!(
        (s, v["__type"].clone()),
        (StatusCode::BAD_REQUEST, json!("ValidationException"))
    );
}

#[tokio::test]
async fn validate_truncates_to_max_results_and_filters_warnings() {
    let many = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "X1"}, "B": {"Type": "Pass", "Next": "X2"}, "C": {"Type": "Pass", "Next": "X3"}
    }})
    .to_string();
    let out = validate_state_machine_definition(&ValidateStateMachineDefinitionInput {
        definition: many,
        max_results: Some(2),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(out.result, ValidationResultCode::Fail);
    assert_eq!(out.diagnostics.len(), 2);
    assert!(out.truncated);
    assert!(out
        .diagnostics
        .iter()
        .all(|d| d.severity == ValidationSeverity::Error));
}

#[tokio::test]
async fn any_path_is_served_and_other_methods_are_refused() {
    let (_, app) = app();
    let req = Request::builder()
        .method("POST")
        .uri("/prod/")
        .header("x-amz-target", "AWSStepFunctions.ListStateMachines")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    let req = Request::builder()
        .method("GET")
        .uri("/")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.oneshot(req).await.unwrap().status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn serves_on_a_real_port() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_, app) = app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = r#"{"stateMachineArn":"arn:missing"}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: sync-localhost\r\nX-Amz-Target: AWSStepFunctions.DescribeStateMachine\r\n\
         Content-Type: {CONTENT_TYPE}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.ends_with(r#"{"__type":"StateMachineDoesNotExist","message":"State Machine Does Not Exist: 'arn:missing'"}"#), "{response}");
    server.abort();
}

/// The adapter over the real runtime (embedded store in memory): wire
/// shapes in, Service errors out with their Step Functions codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_service_implements_the_actions() {
    use flowstate_ports::SystemClock;
    struct NoInvoker;
    impl flowstate_ports::Invoker for NoInvoker {
        async fn invoke(
            &self,
            _: &flowstate_ports::InvokeContext,
            _: &flowstate_ports::TaskInvocation,
        ) -> flowstate_ports::TaskResult {
            flowstate_ports::TaskResult::AwaitingCallback
        }
    }
    let db = flowstate_embedded::Embedded::memory().unwrap();
    let service =
        flowstate_runtime::Service::new(db.clone(), db, NoInvoker, SystemClock, Default::default());
    let app = router(Arc::new(service));
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":1},"End":true}}}"#;
    let (s, v) = send(
        &app,
        "CreateStateMachine",
        json!({"name": "m", "definition": def, "roleArn": "arn:aws:iam::1:role/r"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sm = v["stateMachineArn"].as_str().unwrap().to_string();
    let (s, v) = send(&app, "DescribeStateMachine", json!({"stateMachineArn": sm})).await;
    assert_eq!(
        (s, v["type"].clone(), v["status"].clone()),
        (StatusCode::OK, json!("STANDARD"), json!("ACTIVE"))
    );
    let (s, v) = send(
        &app,
        "StartExecution",
        json!({"stateMachineArn": sm, "name": "e", "input": "{\"a\":1}"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let exec = v["executionArn"].as_str().unwrap().to_string();
    let (s, v) = send(&app, "DescribeExecution", json!({"executionArn": exec})).await;
    assert_eq!(
        (s, v["input"].clone()),
        (StatusCode::OK, json!("{\"a\":1}"))
    );
    let (s, v) = send(
        &app,
        "DescribeExecution",
        json!({"executionArn": exec, "includedData": "METADATA_ONLY"}),
    )
    .await;
    assert_eq!(
        (s, v.get("input"), v["inputDetails"].clone()),
        (StatusCode::OK, None, json!({"included": false}))
    );

    for (action, body, code) in [
        (
            "DescribeStateMachine",
            json!({"stateMachineArn": "not-an-arn"}),
            "InvalidArn",
        ),
        (
            "DescribeStateMachine",
            json!({"stateMachineArn": format!("{sm}x")}),
            "StateMachineDoesNotExist",
        ),
        (
            "CreateStateMachine",
            json!({"name": "bad name", "definition": def, "roleArn": "arn:aws:iam::1:role/r"}),
            "InvalidName",
        ),
        (
            "CreateStateMachine",
            json!({"name": "role", "definition": def, "roleArn": "r"}),
            "InvalidArn",
        ),
        (
            "UpdateStateMachine",
            json!({"stateMachineArn": sm, "roleArn": "arn:aws:iam::1:user/u"}),
            "InvalidArn",
        ),
        (
            "ListExecutions",
            json!({"mapRunArn": "not-an-arn"}),
            "InvalidArn",
        ),
        (
            "TestState",
            json!({"definition": "{\"Type\": \"Pass\", \"End\": true}", "roleArn": "role"}),
            "InvalidArn",
        ),
        (
            "CreateStateMachine",
            json!({"name": "b", "definition": "{}", "roleArn": "arn:aws:iam::1:role/r"}),
            "InvalidDefinition",
        ),
        (
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{oops"}),
            "InvalidExecutionInput",
        ),
        (
            "StartSyncExecution",
            json!({"stateMachineArn": sm}),
            "StateMachineTypeNotSupported",
        ),
        (
            "SendTaskSuccess",
            json!({"taskToken": "x", "output": "{}"}),
            "InvalidToken",
        ),
        (
            "UpdateStateMachine",
            json!({"stateMachineArn": sm}),
            "MissingRequiredParameter",
        ),
    ] {
        let (s, v) = send(&app, action, body).await;
        assert_eq!(
            (s, v["__type"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{action}: {v}"
        );
    }
}

/// Issue 12 (fuzzing): a body past the router's 4 MiB limit was answered
/// by axum's rejection, a 413 in plain text that no SDK can read as an
/// error. It is a 4xx in the wire protocol's shape like any other.
#[tokio::test]
async fn an_oversized_body_is_answered_in_aws_error_shape() {
    let (_, app) = app();
    let body = format!(
        r#"{{"name":"m","definition":"{}","roleArn":"r"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let (s, h, v) = send_raw(&app, Some("AWSStepFunctions.CreateStateMachine"), &body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["__type"], "ValidationException");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("length limit exceeded"),
        "{v}"
    );
    assert_eq!(h["x-amzn-ErrorType"], "ValidationException");
}

#[tokio::test]
async fn activity_actions_answer_in_the_service_model_s_shapes() {
    use flowstate_ports::SystemClock;
    struct NoInvoker;
    impl flowstate_ports::Invoker for NoInvoker {
        async fn invoke(
            &self,
            _: &flowstate_ports::InvokeContext,
            task: &flowstate_ports::TaskInvocation,
        ) -> flowstate_ports::TaskResult {
            panic!("{} was invoked", task.resource)
        }
    }
    let db = flowstate_embedded::Embedded::memory().unwrap();
    let config = flowstate_runtime::Config {
        activity_poll_ms: 50,
        ..Default::default()
    };
    let service = flowstate_runtime::Service::new(db.clone(), db, NoInvoker, SystemClock, config);
    let app = router(Arc::new(service));
    let (s, v) = send(
        &app,
        "CreateActivity",
        json!({"name": "approve", "tags": [{"key": "k", "value": "v"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let arn = v["activityArn"].as_str().unwrap().to_string();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:activity:approve"
    );
    assert!(v["creationDate"].is_f64(), "{v}");
    let (s, v) = send(&app, "DescribeActivity", json!({"activityArn": arn})).await;
    assert_eq!((s, v["name"].clone()), (StatusCode::OK, json!("approve")));
    let (_, v) = send(&app, "ListActivities", json!({"maxResults": 1})).await;
    assert_eq!(v["activities"][0]["activityArn"], json!(arn));
    assert!(v.get("nextToken").is_none(), "{v}");
    // Nothing to do within the poll: no members, as AWS answers.
    let (s, v) = send(
        &app,
        "GetActivityTask",
        json!({"activityArn": arn, "workerName": "w"}),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    for (action, body, code) in [
        (
            "DescribeActivity",
            json!({"activityArn": format!("{arn}-missing")}),
            "ActivityDoesNotExist",
        ),
        (
            "GetActivityTask",
            json!({"activityArn": format!("{arn}-missing")}),
            "ActivityDoesNotExist",
        ),
        (
            "DescribeActivity",
            json!({"activityArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}),
            "InvalidArn",
        ),
        (
            "DeleteActivity",
            json!({"activityArn": "nonsense"}),
            "InvalidArn",
        ),
        ("CreateActivity", json!({"name": "a b"}), "InvalidName"),
        (
            "CreateActivity",
            json!({"name": "x".repeat(81)}),
            "ValidationException",
        ),
        (
            "CreateActivity",
            json!({"name": "t", "tags": (0..51).map(|i| json!({"key": i.to_string(), "value": ""})).collect::<Vec<_>>()}),
            "TooManyTags",
        ),
        ("GetActivityTask", json!({}), "ValidationException"),
    ] {
        let (s, v) = send(&app, action, body.clone()).await;
        assert_eq!(
            (s, v["__type"].clone()),
            (StatusCode::BAD_REQUEST, json!(code)),
            "{action} {body}: {v}"
        );
    }
    let (s, _) = send(&app, "DeleteActivity", json!({"activityArn": arn})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = send(&app, "ListActivities", json!({})).await;
    assert_eq!(v, json!({"activities": []}));
}
