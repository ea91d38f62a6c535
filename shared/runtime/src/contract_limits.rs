//! The contract's rules about limits, on every backend (issue 12): what a
//! Service accepts stays readable, also by a Service started afresh (a
//! restart), and a step that panics fails its execution durably.

use crate::{Config, CreateStateMachine, HistoryRequest, Service, ServiceError, StartExecution};
use flowstate_engine::limits::MAX_DEPTH;
use flowstate_engine::Status;
use flowstate_ports::{
    InvokeContext, Invoker, PageRequest, Queue, SimulatedClock, StepWrite, Store, TaskInvocation,
    TaskResult, WorkflowType,
};
use serde_json::{json, Value};
use std::future::Future;

pub(crate) async fn run_all<B, F, Fut>(make: &F)
where
    B: Store + Queue + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    what_is_accepted_stays_readable(&make().await).await;
    a_panic_in_a_step_fails_the_execution(&make().await).await;
}

struct NoTasks;

impl Invoker for NoTasks {
    fn invoke(
        &self,
        _: &InvokeContext,
        _: &TaskInvocation,
    ) -> impl Future<Output = TaskResult> + Send {
        std::future::ready(TaskResult::AwaitingCallback)
    }
}

type Svc<B> = Service<B, B, NoTasks, SimulatedClock>;

fn service<B: Store + Queue + Clone>(b: &B) -> Svc<B> {
    let config = Config {
        spawn_tasks: false,
        ..Config::default()
    };
    Service::new(
        b.clone(),
        b.clone(),
        NoTasks,
        SimulatedClock::new(1_000),
        config,
    )
}

fn ok<T, E: std::fmt::Debug>(r: Result<T, E>, rule: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("contract: {rule}: unexpected error {e:?}"),
    }
}

async fn machine<B: Store + Queue + Clone>(s: &Svc<B>, name: &str, definition: &str) -> String {
    let created = s
        .create_state_machine(CreateStateMachine {
            name: name.into(),
            definition: definition.into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            kind: WorkflowType::Standard,
            description: None,
        })
        .await;
    ok(created, "create state machine").arn
}

fn start(arn: &str, name: &str, input: String) -> StartExecution {
    StartExecution {
        state_machine_arn: arn.into(),
        name: Some(name.into()),
        input: Some(input),
        parent: None,
    }
}

fn nested(levels: usize) -> String {
    (0..levels).fold("1".to_string(), |v, _| format!("[{v}]"))
}

/// Describes, pages through the whole history and lists the executions of
/// `machines`, as a client would after a restart: everything must read.
async fn read_everything<B: Store + Queue + Clone>(s: &Svc<B>, machines: &[&str]) -> Vec<Status> {
    let mut statuses = Vec::new();
    for sm in machines {
        let list = s.list_executions(sm, None, PageRequest::default()).await;
        for e in ok(list, "list executions stays readable").items {
            let d = ok(
                s.describe_execution(&e.execution_arn).await,
                "describe stays readable",
            );
            let mut token = None;
            loop {
                let page = s
                    .get_execution_history(
                        &e.execution_arn,
                        HistoryRequest {
                            next_token: token,
                            ..HistoryRequest::default()
                        },
                    )
                    .await;
                let page = ok(page, "history stays readable");
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
            statuses.push(d.status);
        }
    }
    statuses
}

async fn what_is_accepted_stays_readable<B: Store + Queue + Clone>(b: &B) {
    let s = service(b);
    let echo = machine(
        &s,
        "Echo",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    // Deeper than the engine keeps, though JSON that parses: refused.
    let refused = s.start_execution(start(&echo, "deep", nested(127))).await;
    assert!(
        matches!(refused, Err(ServiceError::InvalidExecutionInput(_))),
        "contract: input nested deeper than {MAX_DEPTH} levels is refused, got {refused:?}"
    );
    ok(
        s.start_execution(start(&echo, "limit", nested(MAX_DEPTH)))
            .await,
        "input as deep as the limit is accepted",
    );
    // A JSONata expression that builds a value deeper than any record can
    // be read back with fails the state instead.
    let builds = machine(
        &s,
        "Builds",
        r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
            "Output":"{% $reduce([1..130], function($acc, $i) { {'a': $acc} }, {}) %}","End":true}}}"#,
    )
    .await;
    ok(
        s.start_execution(start(&builds, "built", "{}".into()))
            .await,
        "start",
    );
    let built = ok(
        s.describe_execution(&format!(
            "{}:built",
            builds.replace(":stateMachine:", ":execution:")
        ))
        .await,
        "describe",
    );
    assert_eq!(
        (built.status, built.error.as_deref()),
        (Status::Failed, Some("States.DataLimitExceeded")),
        "contract: a state that builds a value too deep to keep fails"
    );
    // A new service over the same backend: nothing decoded is cached.
    let restarted = service(b);
    assert_eq!(
        read_everything(&restarted, &[&echo, &builds]).await,
        [Status::Succeeded, Status::Failed],
        "contract: every accepted execution reads back after a restart"
    );
}

async fn a_panic_in_a_step_fails_the_execution<B: Store + Queue + Clone>(b: &B) {
    let s = service(b);
    let waits = machine(
        &s,
        "Waits",
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#,
    )
    .await;
    let started = ok(
        s.start_execution(start(&waits, "broken", "{}".into()))
            .await,
        "start",
    );
    let arn = started.execution_arn;
    // The stored frame now names a state its definition does not have:
    // advancing it indexes out of range, the kind of bug a panic is.
    let mut rec = ok(b.load_execution(&arn, true).await, "load").expect("stored");
    let expected = rec.execution.version;
    rec.execution.version += 1;
    for f in rec.execution.frames.values_mut() {
        f.state = 99;
    }
    let frames: Vec<u64> = rec.execution.frames.keys().copied().collect();
    let write = StepWrite {
        frames_changed: &frames,
        frames_removed: &[],
        history: &[],
        outbox: &[],
    };
    ok(
        b.commit_step(&rec, expected, &write).await,
        "corrupt the frame",
    );
    let restarted = service(b);
    ok(
        restarted.run_until_idle(100).await,
        "a step that panics is applied, not propagated",
    );
    let d = ok(restarted.describe_execution(&arn).await, "describe");
    assert_eq!(
        (d.status, d.error.as_deref()),
        (Status::Failed, Some("States.Runtime")),
        "contract: a panic in a step fails the execution with States.Runtime"
    );
    assert!(
        d.cause
            .as_deref()
            .is_some_and(|c| c.contains("internal error")),
        "contract: the cause names an internal error: {:?}",
        d.cause
    );
    let history = ok(
        restarted
            .get_execution_history(&arn, HistoryRequest::default())
            .await,
        "history",
    );
    let last: Option<&Value> = history.events.last();
    assert_eq!(
        last.map(|e| e["type"].clone()),
        Some(json!("ExecutionFailed")),
        "contract: the failure is recorded last"
    );
}
