//! The `flowstate-lambda-eventbridge-starter` binary behind a Lambda Runtime API
//! emulator, on moto: EventBridge payloads (as the rule's input
//! transformer shapes them) start executions named after the event id.

#![allow(clippy::unwrap_used)]

use flowstate_lambda::NoTaskInvoker;
use flowstate_ports::{PageRequest, SystemClock};
use flowstate_runtime::{Config, CreateStateMachine, Service};
use flowstate_testkit::{Function, Moto, Outcome};
use serde_json::{json, Value};

/// An EventBridge event, as delivered (the shape of AWS's documented example).
fn eventbridge_event(id: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Order Placed",
        "source": "flowstate.start",
        "account": "123456789012",
        "time": "2026-11-25T16:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"orderId": "A-1", "total": 42}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_starts_one_execution_named_after_its_id_even_when_redelivered() {
    let moto = Moto::start();
    let stack = moto.stack().await;
    let config = moto.sdk_config().await;
    // The test's own view of the same table, to create and inspect.
    let backend = stack.backend(&config);
    let service = Service::new(
        backend.clone(),
        backend,
        NoTaskInvoker,
        SystemClock,
        Config {
            region: stack.region.clone(),
            account: stack.account.clone(),
            spawn_tasks: false,
            ..Config::default()
        },
    );
    // A Wait keeps the first execution running, so the redelivery meets a
    // running execution; the second machine ends at once.
    let waits =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let passes = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let mut arns = Vec::new();
    for (name, definition) in [("OnEvent", waits), ("Quick", passes)] {
        let sm = service
            .create_state_machine(CreateStateMachine {
                name: name.into(),
                definition: definition.to_string(),
                role_arn: "arn:aws:iam::123456789012:role/flowstate".into(),
                kind: flowstate_ports::WorkflowType::Standard,
                description: None,
            })
            .await
            .unwrap();
        arns.push(sm.arn);
    }

    let function = Function::start(
        env!("CARGO_BIN_EXE_flowstate-lambda-eventbridge-starter"),
        &stack.env(),
    )
    .await;
    let id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718";
    let payload = json!({"stateMachineName": "OnEvent", "event": eventbridge_event(id)});

    let first = function.invoke(payload.clone()).await.json();
    let expected_arn = format!(
        "arn:aws:states:us-east-1:{}:execution:OnEvent:{id}",
        stack.account
    );
    assert_eq!(first["status"], "STARTED", "{first}\n{}", function.logs());
    assert_eq!(first["executionArn"], expected_arn.as_str());
    let described = service.describe_execution(&expected_arn).await.unwrap();
    assert_eq!(described.input.as_ref(), &payload["event"]);

    // Redelivered while running: the same execution, nothing new.
    let again = function.invoke(payload.clone()).await.json();
    assert_eq!(again["status"], "STARTED", "{again}");
    assert_eq!(again["executionArn"], expected_arn.as_str());
    assert_eq!(again["startDate"], first["startDate"]);
    let listed = service
        .list_executions(
            &arns[0],
            None,
            PageRequest {
                max_results: 100,
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "{:?}", listed.items);

    // Redelivered after the execution ended: already done, not an error.
    let quick = json!({"stateMachineName": "Quick", "event": eventbridge_event(id)});
    let ran = function.invoke(quick.clone()).await.json();
    assert_eq!(ran["status"], "STARTED", "{ran}");
    let replay = function.invoke(quick).await.json();
    assert_eq!(replay["status"], "ALREADY_ENDED", "{replay}");
    assert_eq!(replay["executionStatus"], "SUCCEEDED", "{replay}");
    let listed = service
        .list_executions(
            &arns[1],
            None,
            PageRequest {
                max_results: 100,
                next_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    // Another event reusing the id is not a redelivery: rejected, saying so
    // (whether the execution still runs or has ended).
    for machine in ["OnEvent", "Quick"] {
        let mut other = eventbridge_event(id);
        other["detail"]["orderId"] = json!("B-2");
        let clash = function
            .invoke(json!({"stateMachineName": machine, "event": other}))
            .await
            .json();
        assert_eq!(clash["status"], "REJECTED", "{machine}: {clash}");
        assert_eq!(clash["error"], "ExecutionAlreadyExists", "{clash}");
        assert!(
            clash["cause"].as_str().unwrap().contains("different input"),
            "{clash}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_state_machine_fails_the_invocation_and_bad_payloads_are_rejected() {
    let moto = Moto::start();
    let stack = moto.stack().await;
    let function = Function::start(
        env!("CARGO_BIN_EXE_flowstate-lambda-eventbridge-starter"),
        &stack.env(),
    )
    .await;

    // Retrying can help (the machine may be created): the invocation fails.
    let outcome = function
        .invoke(json!({"stateMachineName": "Missing", "event": eventbridge_event("e-1")}))
        .await;
    let Outcome::Error {
        error_type,
        error_message,
    } = outcome
    else {
        panic!("expected a failed invocation, got {outcome:?}");
    };
    assert_eq!(error_type, "StateMachineDoesNotExist");
    assert!(error_message.contains("'Missing'"), "{error_message}");
    assert!(
        error_message.contains(&format!(
            "arn:aws:states:us-east-1:{}:stateMachine:Missing",
            stack.account
        )),
        "{error_message}"
    );

    // No retry can help: answered, not failed, and saying why.
    for (payload, error, mentions) in [
        (
            json!({"event": eventbridge_event("e-2")}),
            "InvalidPayload",
            "stateMachineName",
        ),
        (
            json!({"stateMachineName": "OnEvent"}),
            "InvalidPayload",
            "\"event\"",
        ),
        (
            json!({"stateMachineName": "OnEvent", "event": {"detail": {}}}),
            "InvalidPayload",
            "\"id\"",
        ),
        (
            json!({"stateMachineName": "On Event", "event": eventbridge_event("e-3")}),
            "InvalidName",
            "stateMachineName",
        ),
    ] {
        let answer = function.invoke(payload.clone()).await.json();
        assert_eq!(answer["status"], "REJECTED", "{payload}: {answer}");
        assert_eq!(answer["error"], error, "{payload}: {answer}");
        assert!(
            answer["cause"].as_str().unwrap().contains(mentions),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn a_missing_variable_stops_the_function_naming_it() {
    let moto = Moto::start();
    let stack = moto.stack().await;
    let env: Vec<_> = stack
        .env()
        .into_iter()
        .filter(|(k, _)| k != "FLOWSTATE_TABLE")
        .collect();
    let function = Function::start(
        env!("CARGO_BIN_EXE_flowstate-lambda-eventbridge-starter"),
        &env,
    )
    .await;
    let status = function.wait_exit(std::time::Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    assert!(
        function.logs().contains("FLOWSTATE_TABLE"),
        "{}",
        function.logs()
    );
}
