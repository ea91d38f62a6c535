//! The contract's rules about limits, on every backend (issue 12): what a
//! Service accepts stays readable, also by a Service started afresh (a
//! restart), and a step that panics fails its execution durably.

use crate::contract::{ok, NoTasks};
use crate::{Config, CreateStateMachine, HistoryRequest, Service, ServiceError, StartExecution};
use flowstate_engine::limits::MAX_DEPTH;
use flowstate_engine::Status;
use flowstate_ports::{PageRequest, Queue, SimulatedClock, StepWrite, Store, WorkflowType};
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
    page_tokens_open_only_for_the_request_that_issued_them(&make().await).await;
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
        trace_header: None,
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
    // A JSONata expression that builds a value deeper than the engine keeps
    // (yet within what the evaluator itself builds, 128 levels) fails the
    // state instead.
    let builds = machine(
        &s,
        "Builds",
        r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass",
            "Output":"{% $reduce([1..110], function($acc, $i) { {'a': $acc} }, {}) %}","End":true}}}"#,
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

async fn page_tokens_open_only_for_the_request_that_issued_them<B: Store + Queue + Clone>(b: &B) {
    let s = service(b);
    let chain = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}}"#;
    let one = machine(&s, "One", chain).await;
    let two = machine(&s, "Two", chain).await;
    let mut executions = Vec::new();
    for (sm, name) in [(&one, "a"), (&one, "b"), (&two, "c"), (&two, "d")] {
        let started = s.start_execution(start(sm, name, "{}".into())).await;
        executions.push(ok(started, "start").execution_arn);
    }
    let page = |reverse_order, next_token| HistoryRequest {
        max_results: 2,
        reverse_order,
        next_token,
        ..HistoryRequest::default()
    };
    let first = ok(
        s.get_execution_history(&executions[0], page(false, None))
            .await,
        "history",
    );
    let token = first
        .next_token
        .expect("contract: six events make three pages");
    let invalid = |r: Result<_, ServiceError>, what: &str| {
        assert!(
            matches!(r, Err(ServiceError::InvalidToken(_))),
            "contract: {what} is InvalidToken, got {r:?}"
        );
    };
    invalid(
        s.get_execution_history(&executions[1], page(false, Some(token.clone())))
            .await
            .map(|_| ()),
        "a history token used for another execution",
    );
    invalid(
        s.get_execution_history(&executions[0], page(true, Some(token.clone())))
            .await
            .map(|_| ()),
        "a history token used in the other order",
    );
    invalid(
        s.get_execution_history(&executions[0], page(false, Some("2".into())))
            .await
            .map(|_| ()),
        "a made-up history token",
    );
    let second = ok(
        s.get_execution_history(&executions[0], page(false, Some(token)))
            .await,
        "the history token for its own request",
    );
    assert_eq!(
        second.events.first().map(|e| e["id"].clone()),
        Some(json!(3)),
        "contract: a history token continues after its page"
    );

    let listed = ok(
        s.list_executions(
            &one,
            None,
            PageRequest {
                max_results: 1,
                next_token: None,
            },
        )
        .await,
        "list executions",
    );
    let token = listed
        .next_token
        .expect("contract: two executions, two pages");
    let list = |sm: &str, status, token: &str| {
        let page = PageRequest {
            max_results: 1,
            next_token: Some(token.to_string()),
        };
        let sm = sm.to_string();
        let s = &s;
        async move { s.list_executions(&sm, status, page).await.map(|_| ()) }
    };
    invalid(
        list(&two, None, &token).await,
        "a list token used for another state machine",
    );
    invalid(
        list(&one, Some(Status::Succeeded), &token).await,
        "a list token used with another status filter",
    );
    ok(
        list(&one, None, &token).await,
        "the list token for its own request",
    );

    let machines = ok(
        s.list_state_machines(PageRequest {
            max_results: 1,
            next_token: None,
        })
        .await,
        "list state machines",
    );
    let token = machines.next_token.expect("contract: two state machines");
    invalid(
        s.list_executions(
            &one,
            None,
            PageRequest {
                max_results: 1,
                next_token: Some(token.clone()),
            },
        )
        .await
        .map(|_| ()),
        "a state machine list token used to list executions",
    );
    ok(
        s.list_state_machines(PageRequest {
            max_results: 1,
            next_token: Some(token),
        })
        .await,
        "the state machine list token for its own request",
    );
}
