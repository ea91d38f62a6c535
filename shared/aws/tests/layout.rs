//! The execution header stays small on DynamoDB: many steps too large for
//! one transaction (each written partly ahead) leave it no larger, and
//! every step after the first writes neither the execution's input nor
//! the Map's items again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use flowstate_asl::definition::StateMachine;
use flowstate_engine::{advance, Env, Event, Execution, ExecutionInfo, Limits, Step};
use flowstate_ports::{ExecutionMeta, ExecutionRecord, StepWrite, Store, WorkflowType};
use serde_json::{json, Value};
use std::sync::Arc;

/// 150 branches, each a Task in a loop: every round of answers changes
/// all 150 frames at once.
fn looping_branches() -> StateMachine {
    let branches: Vec<Value> = (0..150)
        .map(|i| {
            json!({"StartAt": format!("T{i}"), "States": {
                format!("T{i}"): {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:w",
                    "Next": format!("Again{i}")},
                format!("Again{i}"): {"Type": "Choice",
                    "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": format!("Done{i}")}],
                    "Default": format!("T{i}")},
                format!("Done{i}"): {"Type": "Succeed"}}})
        })
        .collect();
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": branches}}});
    StateMachine::from_value(&definition).unwrap()
}

fn record(input: Value) -> ExecutionRecord {
    let info = ExecutionInfo {
        arn: "arn:aws:states:us-east-1:123456789012:execution:M:loops".into(),
        name: "loops".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
        state_machine_name: "M".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        region: "us-east-1".into(),
        start_time: 1_000,
        input: Arc::new(input),
        limits: Limits::STANDARD,
        timeout_seconds: None,
    };
    ExecutionRecord {
        execution: Execution::new(info),
        meta: ExecutionMeta {
            revision_id: "rev".into(),
            kind: WorkflowType::Standard,
            test_case: None,
            parent: None,
            version_arn: None,
            alias_arn: None,
            trace_header: None,
            redrive_date: None,
            redrive_tokens: Vec::new(),
        },
    }
}

/// Answers every waiting task of `rec`, as one step.
fn answer_all(rec: &mut ExecutionRecord, sm: &StateMachine) -> Step {
    let waiting: Vec<(u64, u64)> = rec
        .execution
        .frames
        .values()
        .filter(|f| matches!(f.waiting, flowstate_engine::Waiting::Task(_)))
        .map(|f| (f.id, f.seq))
        .collect();
    let env = Env {
        now: 2_000,
        token_key: b"k",
    };
    let steps: Vec<Step> = waiting
        .into_iter()
        .map(|(frame, seq)| {
            let output = json!({"round": seq});
            let event = Event::TaskSucceeded { frame, seq, output };
            advance(&mut rec.execution, sm, event, &env).unwrap()
        })
        .collect();
    Step::merge(steps, &rec.execution)
}

fn write(step: &Step) -> StepWrite<'_> {
    StepWrite {
        frames_changed: &step.frames_changed,
        frames_removed: &step.frames_removed,
        history: &step.history,
        outbox: &[],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_stays_small_through_many_large_steps() {
    let moto = flowstate_testkit::Moto::start();
    let backend = moto.backend().await;
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = backend.settings().table.clone();
    let header_bytes = || {
        let (ddb, table) = (ddb.clone(), table.clone());
        async move {
            let item = ddb
                .get_item()
                .table_name(table)
                .key(
                    "PK",
                    AttributeValue::S(
                        "X#arn:aws:states:us-east-1:123456789012:execution:M:loops".into(),
                    ),
                )
                .key("SK", AttributeValue::S("E".into()))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .unwrap();
            item.get("d")
                .and_then(|d| d.as_s().ok())
                .map(String::len)
                .unwrap()
        }
    };
    let sm = looping_branches();
    // A 100 KB input: the header must not carry it.
    let mut rec = record(json!({"blob": "x".repeat(100_000)}));
    let env = Env {
        now: 1_000,
        token_key: b"k",
    };
    let first = advance(&mut rec.execution, &sm, Event::Start, &env).unwrap();
    let created = backend
        .create_execution(&rec, &write(&first))
        .await
        .unwrap();
    assert_eq!(created, flowstate_ports::Created::New);
    let mut sizes = Vec::new();
    for _ in 0..12 {
        let v = rec.execution.version;
        let step = answer_all(&mut rec, &sm);
        assert!(
            step.frames_changed.len() >= 150,
            "a step beyond one transaction"
        );
        backend.commit_step(&rec, v, &write(&step)).await.unwrap();
        sizes.push(header_bytes().await);
    }
    eprintln!("header bytes after each large step: {sizes:?}");
    assert!(
        sizes[0] < 10_000,
        "the header holds no input: {} bytes",
        sizes[0]
    );
    // Counters may gain a digit; nothing else grows.
    assert!(
        sizes.iter().all(|s| *s <= sizes[0] + 16),
        "header sizes over 12 large steps: {sizes:?}"
    );
    let loaded = backend
        .load_execution(&rec.execution.info.arn, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.execution, rec.execution);
}

/// An execution written by the first item layout (input inside the
/// header, one item per history event, write-ahead nonces in `ah`) is
/// still described and its history read; stepping it is refused with a
/// message that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_of_the_first_layout_is_still_readable() {
    let moto = flowstate_testkit::Moto::start();
    let backend = moto.backend().await;
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = backend.settings().table.clone();
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: u64| AttributeValue::N(v.to_string());
    // What the first layout wrote for an execution that ran a Pass state.
    let sm = StateMachine::from_value(
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .unwrap();
    let mut rec = record(json!({"order": 7}));
    let env = Env {
        now: 1_000,
        token_key: b"k",
    };
    let step = advance(&mut rec.execution, &sm, Event::Start, &env).unwrap();
    let arn = rec.execution.info.arn.clone();
    let pk = format!("X#{arn}");
    let doc = json!({"header": flowstate_ports::ExecutionHeader::of(&rec), "live": []});
    ddb.put_item()
        .table_name(&table)
        .item("PK", s(&pk))
        .item("SK", s("E"))
        .item("d", s(&doc.to_string()))
        .item("n", n(1))
        .item("ver", n(rec.execution.version))
        .item("st", s("SUCCEEDED"))
        .item("ah", AttributeValue::Ss(vec!["n1".into()]))
        .send()
        .await
        .unwrap();
    for (i, event) in step.history.iter().enumerate() {
        // The last one as written ahead under a nonce the header lists.
        let sk = if i + 1 == step.history.len() {
            format!("H#{:020}#n1", event.id)
        } else {
            format!("H#{:020}", event.id)
        };
        ddb.put_item()
            .table_name(&table)
            .item("PK", s(&pk))
            .item("SK", s(&sk))
            .item("d", s(&serde_json::to_string(event).unwrap()))
            .item("n", n(1))
            .send()
            .await
            .unwrap();
    }
    let header = backend.load_execution(&arn, false).await.unwrap().unwrap();
    assert_eq!(*header.execution.info.input, json!({"order": 7}));
    assert_eq!(header.execution.status, flowstate_engine::Status::Succeeded);
    let query = flowstate_ports::HistoryQuery {
        after: None,
        limit: 100,
        reverse: false,
    };
    assert_eq!(backend.history(&arn, &query).await.unwrap(), step.history);
    let refused = backend.load_execution(&arn, true).await;
    assert!(
        matches!(&refused, Err(flowstate_ports::StoreError::Backend(m)) if m.contains("earlier version")),
        "{refused:?}"
    );
}
