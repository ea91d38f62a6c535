//! The contract every [`Store`] + [`Queue`] backend must pass.
//!
//! Call [`run_all`] from a test of the backend's crate with a function that
//! makes a fresh, empty backend:
//!
//! ```ignore
//! #[tokio::test]
//! async fn embedded_memory_passes_the_contract() {
//!     flowstate_runtime::contract::run_all(|| Embedded::memory().unwrap()).await;
//! }
//! ```
//!
//! Failures panic with the name of the broken rule (this is test code).

mod activities;
mod deployed;
mod steps;
mod versions;
mod watched;

pub use watched::{injected_crash, Fault, Watch, Watched};

use crate::{Config, CreateStateMachine, Service, ServiceError};
use flowstate_asl::definition::StateMachine;
use flowstate_engine::{advance, Env, Event, Execution, ExecutionInfo, Limits, Status};
use flowstate_ports::{
    Claim, Created, ExecutionMeta, ExecutionQuery, ExecutionRecord, HistoryQuery, InvokeContext,
    Invoker, MessageBody, OutboxEntry, PageRequest, Queue, QueueMessage, SimulatedClock,
    StateMachineRecord, StepWrite, Store, StoreError, SystemClock, TaskInvocation, TaskResult,
    WorkflowType,
};
use serde_json::json;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

pub(crate) fn ok<T, E: Debug>(r: Result<T, E>, rule: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("contract: {rule}: unexpected error {e:?}"),
    }
}

/// Runs every contract test, each on a fresh backend from `make`.
pub async fn run_all<B, F, Fut>(make: F)
where
    B: Store + Queue + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    crate::contract_limits::run_all(&make).await;
    state_machines(&make().await).await;
    create_or_update_state_machine(&make().await).await;
    idempotent_create(&make().await).await;
    compare_and_set(&make().await).await;
    frames_are_separate_records(&make().await).await;
    history_order_and_pagination(&make().await).await;
    list_executions(&make().await).await;
    outbox(&make().await).await;
    one_claim_wins(&make().await).await;
    load_frame(&make().await).await;
    steps::a_step_of_any_size_commits(&make().await).await;
    steps::what_a_losing_step_wrote_is_never_visible(&make().await).await;
    queue_due_order(&make().await).await;
    queue_batches_and_retries(&make().await).await;
    queue_redelivery_and_ack(&make().await).await;
    queue_dedup_and_release(&make().await).await;
    long_timers_are_delivered_when_due(&make().await).await;
    versions::run_all(&make).await;
    // Boxed, as the rules of `versions`: kept off the test thread's stack.
    // Boxed: a backend's futures (the AWS SDK's, in a debug build) are
    // large, and this one's state holds the largest of its calls.
    Box::pin(activities::activity_records(&make().await)).await;
    Box::pin(activities::activity_tasks(&make().await)).await;
    Box::pin(activities::concurrent_claims_deliver_each_task_once(
        &make().await,
    ))
    .await;
    Box::pin(run_deployed(&make)).await;
}

/// The runtime in the configuration the Lambda functions deploy (tasks
/// deferred to the queue, several services on one store and queue, every
/// message delivered to each of them): effects performed once per claim,
/// sweeps that end, stopped executions whose queued tasks are not
/// performed, results arriving together committed together. Part of
/// [`run_all`]; on its own for a backend configured as deployed.
pub async fn run_deployed<B, F, Fut>(make: F)
where
    B: Store + Queue + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    deployed::effects_are_performed_once_by_several_services_with_duplicate_messages(&make().await)
        .await;
    deployed::a_sweep_takes_each_lapsed_entry_once_and_ends(&make().await).await;
    deployed::stopping_an_execution_cancels_its_queued_tasks(&make().await).await;
    deployed::results_that_arrive_together_commit_together(&make().await).await;
    deployed::a_stale_timer_costs_one_frame_read(&make().await).await;
}

fn machine_record(name: &str, rev: &str, definition: &str) -> StateMachineRecord {
    StateMachineRecord {
        arn: format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"),
        name: name.into(),
        definition: definition.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        kind: WorkflowType::Standard,
        creation_date: 1,
        update_date: 1,
        revision_id: rev.into(),
        description: None,
        configuration: Default::default(),
    }
}

const WAITS: &str = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#;
const PARALLEL: &str = r#"{"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"Branches":[
  {"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":5,"End":true}}},
  {"StartAt":"B","States":{"B":{"Type":"Wait","Seconds":7,"End":true}}}]}}}"#;

/// A started execution of `definition` and its first step's pieces.
fn started(
    definition: &str,
    name: &str,
    start: i64,
) -> (
    ExecutionRecord,
    flowstate_engine::Step,
    Vec<OutboxEntry>,
    Arc<StateMachine>,
) {
    let sm = Arc::new(ok(
        StateMachine::from_json_str(definition),
        "test definition parses",
    ));
    let info = ExecutionInfo {
        arn: format!("arn:aws:states:us-east-1:123456789012:execution:M:{name}"),
        name: name.into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:M".into(),
        state_machine_name: "M".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        region: "us-east-1".into(),
        start_time: start,
        input: Arc::new(json!({"n": name})),
        // Without Standard's one-year timer: the outbox holds only the
        // timers the rules below are about.
        limits: Limits {
            max_duration_seconds: None,
            ..Limits::STANDARD
        },
        timeout_seconds: None,
    };
    let mut rec = ExecutionRecord {
        execution: Execution::new(info),
        meta: ExecutionMeta {
            revision_id: "rev-1".into(),
            kind: WorkflowType::Standard,
            test_case: None,
            parent: None,
            version_arn: None,
            alias_arn: None,
            trace_header: None,
            redrive_date: None,
            redrive_tokens: Vec::new(),
        },
    };
    let step = ok(
        advance(
            &mut rec.execution,
            &sm,
            Event::Start,
            &Env {
                now: start,
                token_key: b"k",
            },
        ),
        "start",
    );
    let outbox = crate::service::outbox_entries(&rec, &step.effects, start, false, None);
    (rec, step, outbox, sm)
}

fn write<'a>(step: &'a flowstate_engine::Step, outbox: &'a [OutboxEntry]) -> StepWrite<'a> {
    StepWrite {
        frames_changed: &step.frames_changed,
        frames_removed: &step.frames_removed,
        history: &step.history,
        outbox,
    }
}

async fn state_machines<B: Store>(b: &B) {
    let a = machine_record("A", "a1", WAITS);
    ok(b.create_state_machine(&a).await, "create state machine");
    assert_eq!(
        b.create_state_machine(&a).await,
        Err(StoreError::AlreadyExists(a.arn.clone())),
        "contract: a second create of the same ARN is AlreadyExists"
    );
    assert_eq!(
        ok(b.get_state_machine(&a.arn).await, "get"),
        Some(a.clone())
    );
    let mut a2 = a.clone();
    a2.revision_id = "a2".into();
    a2.definition = PARALLEL.into();
    ok(b.update_state_machine(&a2).await, "update");
    assert_eq!(
        ok(b.get_state_machine(&a.arn).await, "get"),
        Some(a2.clone()),
        "contract: update replaces"
    );
    assert_eq!(
        ok(b.get_revision("a1").await, "old revision"),
        Some(a.clone()),
        "contract: old revisions are kept"
    );
    let missing = machine_record("Missing", "m1", WAITS);
    assert!(
        matches!(
            b.update_state_machine(&missing).await,
            Err(StoreError::NotFound(_))
        ),
        "contract: update of a missing state machine is NotFound"
    );
    for n in ["C", "B", "D"] {
        ok(
            b.create_state_machine(&machine_record(n, &format!("{n}1"), WAITS))
                .await,
            "create",
        );
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = ok(
            b.list_state_machines(&PageRequest {
                max_results: 3,
                next_token: token,
            })
            .await,
            "list",
        );
        assert!(
            page.items.len() <= 3,
            "contract: pages hold at most max_results"
        );
        names.extend(page.items.into_iter().map(|s| s.name));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        ["A", "B", "C", "D"],
        "contract: state machines listed by ARN across pages"
    );
    assert!(ok(b.delete_state_machine(&a.arn).await, "delete"));
    assert!(!ok(b.delete_state_machine(&a.arn).await, "delete again"));
    assert_eq!(ok(b.get_state_machine(&a.arn).await, "get"), None);
    assert!(
        ok(b.get_revision("a2").await, "revision after delete").is_some(),
        "contract: revisions outlive deletes"
    );
}

/// The service's tasks are never performed: these rules start none.
pub(crate) struct NoTasks;

impl Invoker for NoTasks {
    fn invoke(
        &self,
        _: &InvokeContext,
        _: &TaskInvocation,
    ) -> impl Future<Output = TaskResult> + Send {
        std::future::ready(TaskResult::AwaitingCallback)
    }
}

/// `Service::create_or_update_state_machine` composes the store's create,
/// get and update; on every backend it must survive a concurrent twin.
async fn create_or_update_state_machine<B: Store + Queue + Clone>(b: &B) {
    let service = Service::new(
        b.clone(),
        b.clone(),
        NoTasks,
        SimulatedClock::new(1_000),
        Config::default(),
    );
    let request = |definition: &str| CreateStateMachine {
        name: "Loaded".into(),
        definition: definition.into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        kind: WorkflowType::Standard,
        description: None,
    };
    let (first, second) = tokio::join!(
        service.create_or_update_state_machine(request(WAITS)),
        service.create_or_update_state_machine(request(PARALLEL)),
    );
    let first = ok(first, "create or update, twice at once");
    let second = ok(second, "create or update, twice at once");
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:Loaded";
    assert_eq!(
        (first.arn.as_str(), second.arn.as_str()),
        (arn, arn),
        "contract: create or update gives CreateStateMachine's ARN"
    );
    let current = ok(b.get_state_machine(arn).await, "get")
        .expect("contract: create or update leaves the state machine there");
    assert!(
        current.definition == WAITS || current.definition == PARALLEL,
        "contract: one of two concurrent creates or updates wins"
    );

    let same = ok(
        service
            .create_or_update_state_machine(request(&current.definition))
            .await,
        "create or update with what is there",
    );
    assert_eq!(
        same, current,
        "contract: create or update with what is there changes nothing"
    );

    let mut other = request(if current.definition == WAITS {
        PARALLEL
    } else {
        WAITS
    });
    other.kind = WorkflowType::Express;
    other.role_arn = "arn:aws:iam::123456789012:role/other".into();
    let updated = ok(
        service.create_or_update_state_machine(other.clone()).await,
        "create or update of an existing state machine",
    );
    assert_eq!(
        (
            updated.definition.as_str(),
            updated.kind,
            updated.role_arn.as_str(),
            updated.creation_date
        ),
        (
            other.definition.as_str(),
            other.kind,
            other.role_arn.as_str(),
            current.creation_date
        ),
        "contract: create or update updates definition, type and role in place"
    );
    assert_ne!(updated.revision_id, current.revision_id);
    assert_eq!(
        ok(b.get_state_machine(arn).await, "get"),
        Some(updated.clone())
    );
    assert_eq!(
        ok(b.get_revision(&current.revision_id).await, "old revision"),
        Some(current),
        "contract: create or update keeps the old revision"
    );
    // CreateStateMachine ignores another role (as on AWS); this does not.
    let mut new_role = other.clone();
    new_role.role_arn = "arn:aws:iam::123456789012:role/third".into();
    let role_only = ok(
        service
            .create_or_update_state_machine(new_role.clone())
            .await,
        "create or update with only another role",
    );
    assert_eq!(
        role_only.role_arn, new_role.role_arn,
        "contract: create or update updates the role alone too"
    );

    ok(service.delete_state_machine(arn).await, "delete");
    let again = ok(
        service.create_or_update_state_machine(request(WAITS)).await,
        "create or update after a delete",
    );
    assert_eq!(
        ok(b.get_state_machine(arn).await, "get"),
        Some(again),
        "contract: create or update creates a deleted state machine again"
    );
    assert!(
        matches!(
            service
                .create_or_update_state_machine(request(r#"{"StartAt":"Nope","States":{}}"#))
                .await,
            Err(ServiceError::InvalidDefinition(_))
        ),
        "contract: create or update checks the definition"
    );
}

async fn idempotent_create<B: Store>(b: &B) {
    let (rec, step, outbox, _) = started(WAITS, "e1", 1000);
    assert_eq!(
        ok(
            b.create_execution(&rec, &write(&step, &outbox)).await,
            "create"
        ),
        Created::New
    );
    let (again, step2, outbox2, _) = started(WAITS, "e1", 2000);
    match ok(
        b.create_execution(&again, &write(&step2, &outbox2)).await,
        "create again",
    ) {
        Created::Existing(existing) => {
            assert_eq!(
                existing.execution.info.start_time, 1000,
                "contract: the first execution is kept"
            );
            assert_eq!(existing.execution.version, rec.execution.version);
        }
        Created::New => {
            panic!("contract: a second create of the same ARN must return the existing execution")
        }
    }
    let history = ok(
        b.history(
            &rec.execution.info.arn,
            &HistoryQuery {
                after: None,
                limit: 100,
                reverse: false,
            },
        )
        .await,
        "h",
    );
    assert_eq!(
        history.len(),
        step.history.len(),
        "contract: the losing create writes no history"
    );
}

async fn compare_and_set<B: Store>(b: &B) {
    let (mut rec, step, outbox, sm) = started(WAITS, "cas", 1000);
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create",
    );
    let v1 = rec.execution.version;
    let frame = rec
        .execution
        .frames
        .values()
        .next()
        .map(|f| (f.id, f.seq))
        .unwrap_or((0, 0));
    let mut other = rec.clone();
    let ev = Event::TimerFired {
        frame: frame.0,
        seq: frame.1,
        timer: flowstate_engine::Timer::WaitState,
    };
    let s2 = ok(
        advance(
            &mut rec.execution,
            &sm,
            ev.clone(),
            &Env {
                now: 11_000,
                token_key: b"k",
            },
        ),
        "advance",
    );
    ok(
        b.commit_step(&rec, v1, &write(&s2, &[])).await,
        "first commit wins",
    );
    let s3 = ok(
        advance(
            &mut other.execution,
            &sm,
            ev,
            &Env {
                now: 11_000,
                token_key: b"k",
            },
        ),
        "advance",
    );
    assert_eq!(
        b.commit_step(&other, v1, &write(&s3, &[])).await,
        Err(StoreError::Conflict),
        "contract: a commit on a stale version is a Conflict"
    );
    let loaded = ok(
        b.load_execution(&rec.execution.info.arn, true).await,
        "load",
    );
    let loaded = loaded.unwrap_or_else(|| panic!("contract: committed execution loads"));
    assert_eq!(
        loaded.execution, rec.execution,
        "contract: load returns what was committed"
    );
    assert_eq!(loaded.execution.status, Status::Succeeded);
    let h = ok(
        b.history(
            &rec.execution.info.arn,
            &HistoryQuery {
                after: None,
                limit: 1000,
                reverse: false,
            },
        )
        .await,
        "h",
    );
    assert_eq!(
        h.len() as u64,
        rec.execution.last_event_id,
        "contract: the loser's history is not written"
    );
    assert_eq!(
        ok(
            b.load_execution("arn:aws:states:us-east-1:1:execution:M:none", true)
                .await,
            "load missing"
        ),
        None
    );
}

async fn frames_are_separate_records<B: Store>(b: &B) {
    let (mut rec, step, outbox, sm) = started(PARALLEL, "par", 1000);
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create",
    );
    let loaded = ok(
        b.load_execution(&rec.execution.info.arn, true).await,
        "load",
    )
    .map(|r| r.execution);
    assert_eq!(
        loaded.as_ref(),
        Some(&rec.execution),
        "contract: frames load back"
    );
    let header = ok(
        b.load_execution(&rec.execution.info.arn, false).await,
        "header",
    );
    let header = header.unwrap_or_else(|| panic!("contract: header loads"));
    assert!(
        header.execution.frames.is_empty(),
        "contract: a header load has no frames"
    );
    assert_eq!(header.execution.version, rec.execution.version);
    // Finish branch A: only its frame (and the parent's counters) change.
    let (fid, seq) = rec
        .execution
        .frames
        .values()
        .find(|f| matches!(f.waiting, flowstate_engine::Waiting::WaitState { .. }))
        .map(|f| (f.id, f.seq))
        .unwrap_or((1, 0));
    let v = rec.execution.version;
    let ev = Event::TimerFired {
        frame: fid,
        seq,
        timer: flowstate_engine::Timer::WaitState,
    };
    let s = ok(
        advance(
            &mut rec.execution,
            &sm,
            ev,
            &Env {
                now: 6000,
                token_key: b"k",
            },
        ),
        "advance",
    );
    assert!(s.frames_changed.len() < rec.execution.frames.len() + 1);
    ok(b.commit_step(&rec, v, &write(&s, &[])).await, "commit");
    let loaded = ok(
        b.load_execution(&rec.execution.info.arn, true).await,
        "load",
    )
    .map(|r| r.execution);
    assert_eq!(
        loaded.as_ref(),
        Some(&rec.execution),
        "contract: changed and removed frames are applied"
    );
}

async fn history_order_and_pagination<B: Store>(b: &B) {
    let (rec, step, outbox, _) = started(PARALLEL, "hist", 1000);
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create",
    );
    let arn = &rec.execution.info.arn;
    let n = step.history.len() as u64;
    assert!(n >= 4);
    let all = ok(
        b.history(
            arn,
            &HistoryQuery {
                after: None,
                limit: 1000,
                reverse: false,
            },
        )
        .await,
        "h",
    );
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "contract: id order"
    );
    assert_eq!(
        all, step.history,
        "contract: history events load back as written"
    );
    let page = ok(
        b.history(
            arn,
            &HistoryQuery {
                after: Some(2),
                limit: 2,
                reverse: false,
            },
        )
        .await,
        "h",
    );
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        [3, 4],
        "contract: after + limit"
    );
    let rev = ok(
        b.history(
            arn,
            &HistoryQuery {
                after: None,
                limit: 2,
                reverse: true,
            },
        )
        .await,
        "h",
    );
    assert_eq!(
        rev.iter().map(|e| e.id).collect::<Vec<_>>(),
        [n, n - 1],
        "contract: reverse order"
    );
    let rev2 = ok(
        b.history(
            arn,
            &HistoryQuery {
                after: Some(n - 1),
                limit: 100,
                reverse: true,
            },
        )
        .await,
        "h",
    );
    assert_eq!(
        rev2.first().map(|e| e.id),
        Some(n - 2),
        "contract: reverse pages continue before the token"
    );
    assert_eq!(rev2.len() as u64, n - 2);
}

async fn list_executions<B: Store>(b: &B) {
    for i in 0..5 {
        let (mut rec, step, outbox, sm) = started(WAITS, &format!("x{i}"), 1000 + i);
        ok(
            b.create_execution(&rec, &write(&step, &outbox)).await,
            "create",
        );
        if i % 2 == 0 {
            let v = rec.execution.version;
            let s = ok(
                advance(
                    &mut rec.execution,
                    &sm,
                    Event::Stop {
                        error: None,
                        cause: None,
                    },
                    &Env {
                        now: 5000,
                        token_key: b"k",
                    },
                ),
                "stop",
            );
            ok(b.commit_step(&rec, v, &write(&s, &[])).await, "commit");
        }
    }
    let sm_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:M".to_string();
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let q = ExecutionQuery {
            state_machine_arn: sm_arn.clone(),
            qualified_arn: None,
            status: None,
            page: PageRequest {
                max_results: 2,
                next_token: token,
            },
        };
        let page = ok(b.list_executions(&q).await, "list");
        names.extend(page.items.into_iter().map(|s| s.name));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        ["x4", "x3", "x2", "x1", "x0"],
        "contract: newest first across pages"
    );
    let q = ExecutionQuery {
        state_machine_arn: sm_arn.clone(),
        qualified_arn: None,
        status: Some(Status::Aborted),
        page: PageRequest {
            max_results: 100,
            next_token: None,
        },
    };
    let aborted: Vec<String> = ok(b.list_executions(&q).await, "list")
        .items
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(aborted, ["x4", "x2", "x0"], "contract: status filter");
    let q = ExecutionQuery {
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:Other".into(),
        qualified_arn: None,
        status: None,
        page: PageRequest {
            max_results: 100,
            next_token: None,
        },
    };
    assert!(
        ok(b.list_executions(&q).await, "list").items.is_empty(),
        "contract: by state machine"
    );
}

async fn outbox<B: Store>(b: &B) {
    let (rec, step, mut outbox, _) = started(PARALLEL, "ob", 1000);
    assert_eq!(outbox.len(), 2, "two Wait timers");
    // Written claimed by the committing process for a minute.
    for entry in &mut outbox {
        entry.claim = Claim {
            owner: "committer".into(),
            until: 61_000,
        };
    }
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create",
    );
    assert!(
        ok(b.pending_outbox(60_999, 100).await, "pending").is_empty(),
        "contract: entries under a live claim are not pending"
    );
    let pending = ok(b.pending_outbox(61_000, 100).await, "pending");
    assert_eq!(
        pending, outbox,
        "contract: outbox entries are committed with the step, with their claims"
    );
    assert_eq!(
        ok(b.outbox_entry(&outbox[1].id).await, "outbox_entry").as_ref(),
        Some(&outbox[1]),
        "contract: an outbox entry is read back by id"
    );

    // Claims: only a lapsed claim, or the holder, can be replaced.
    let id = &outbox[0].id;
    let sweeper = Claim {
        owner: "sweeper".into(),
        until: 200_000,
    };
    assert_eq!(
        ok(b.claim_outbox(id, None, 60_000, &sweeper).await, "claim"),
        None,
        "contract: a live claim is not taken"
    );
    assert_eq!(
        ok(
            b.claim_outbox(id, Some("other"), 60_000, &sweeper).await,
            "claim"
        ),
        None,
        "contract: a live claim is not taken by another holder"
    );
    let taken = ok(b.claim_outbox(id, None, 61_000, &sweeper).await, "claim");
    assert_eq!(
        taken.map(|e| e.claim),
        Some(sweeper.clone()),
        "contract: a lapsed claim is taken"
    );
    let handed = Claim {
        owner: Claim::QUEUED.into(),
        until: 300_000,
    };
    assert!(
        ok(
            b.claim_outbox(id, Some("sweeper"), 61_000, &handed).await,
            "claim"
        )
        .is_some(),
        "contract: the holder may pass its claim on"
    );
    assert_eq!(
        ok(b.outbox_entry(id).await, "outbox_entry").map(|e| e.claim),
        Some(handed),
        "contract: the claim is stored"
    );
    assert_eq!(
        ok(
            b.claim_outbox("unknown", None, i64::MAX, &sweeper).await,
            "claim"
        ),
        None,
        "contract: an unknown entry is not claimed"
    );

    ok(
        b.complete_outbox(&[outbox[0].id.clone(), "unknown".into()])
            .await,
        "complete",
    );
    assert_eq!(
        ok(b.outbox_entry(&outbox[0].id).await, "outbox_entry"),
        None,
        "contract: a completed entry is gone"
    );
    assert_eq!(
        ok(b.pending_outbox(i64::MAX, 100).await, "pending"),
        outbox[1..].to_vec()
    );
    assert_eq!(
        ok(
            b.claim_outbox(&outbox[0].id, None, i64::MAX, &sweeper)
                .await,
            "claim"
        ),
        None,
        "contract: a completed entry is not claimed"
    );
}

/// Of many claims on one entry at once, exactly one succeeds.
async fn one_claim_wins<B: Store + Clone>(b: &B) {
    let (rec, step, mut outbox, _) = started(PARALLEL, "race", 1000);
    for entry in &mut outbox {
        entry.claim = Claim {
            owner: Claim::QUEUED.into(),
            until: 61_000,
        };
    }
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create",
    );
    let mut claims = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (b, id) = (b.clone(), outbox[0].id.clone());
        claims.spawn(async move {
            let claim = Claim {
                owner: format!("worker-{i}"),
                until: 100_000,
            };
            b.claim_outbox(&id, Some(Claim::QUEUED), 2_000, &claim)
                .await
        });
    }
    let mut won = 0;
    while let Some(joined) = claims.join_next().await {
        let claimed = ok(ok(joined, "claim task"), "claim");
        won += usize::from(claimed.is_some());
    }
    assert_eq!(won, 1, "contract: one of concurrent claims succeeds");
}

/// `load_frame` reads one frame's state of a running execution.
async fn load_frame<B: Store>(b: &B) {
    let (mut rec, step, outbox, sm) = started(PARALLEL, "frame", 1000);
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create",
    );
    let arn = rec.execution.info.arn.clone();
    for (id, frame) in &rec.execution.frames {
        let loaded = ok(b.load_frame(&arn, *id).await, "load_frame");
        let loaded = loaded.unwrap_or_else(|| panic!("contract: frame {id} loads"));
        assert_eq!(
            (loaded.seq, &loaded.waiting, loaded.state),
            (frame.seq, &frame.waiting, frame.state),
            "contract: load_frame reads the frame's state"
        );
    }
    let missing = rec.execution.next_frame_id + 5;
    assert_eq!(ok(b.load_frame(&arn, missing).await, "load_frame"), None);
    assert_eq!(
        ok(
            b.load_frame("arn:aws:states:us-east-1:1:execution:M:none", 0)
                .await,
            "load_frame"
        ),
        None
    );
    let v = rec.execution.version;
    let stop = Event::Stop {
        error: None,
        cause: None,
    };
    let s = ok(
        advance(
            &mut rec.execution,
            &sm,
            stop,
            &Env {
                now: 2000,
                token_key: b"k",
            },
        ),
        "stop",
    );
    ok(b.commit_step(&rec, v, &write(&s, &[])).await, "commit");
    assert_eq!(
        ok(b.load_frame(&arn, 1).await, "load_frame"),
        None,
        "contract: an ended execution has no frame to wait"
    );
}

fn msg(id: &str, due: i64) -> QueueMessage {
    QueueMessage {
        id: id.into(),
        execution_arn: "arn:aws:states:us-east-1:1:execution:M:q".into(),
        due,
        body: MessageBody::Event(Event::Stop {
            error: None,
            cause: None,
        }),
    }
}

async fn queue_due_order<Q: Queue>(q: &Q) {
    assert_eq!(
        ok(q.next_due().await, "next_due"),
        None,
        "contract: an empty queue has no next due"
    );
    ok(q.send(&msg("late", 3000)).await, "send");
    ok(q.send(&msg("early", 1000)).await, "send");
    ok(q.send(&msg("mid", 2000)).await, "send");
    ok(q.send(&msg("early2", 1000)).await, "send");
    assert_eq!(ok(q.next_due().await, "next_due"), Some(1000));
    assert!(
        ok(q.receive(999, 10, 100).await, "receive").is_empty(),
        "contract: nothing before it is due"
    );
    let got = ok(q.receive(2500, 10, 100_000).await, "receive");
    let ids: Vec<&str> = got.iter().map(|d| d.message.id.as_str()).collect();
    assert_eq!(
        ids,
        ["early", "early2", "mid"],
        "contract: due order, then send order"
    );
    assert_eq!(
        got[0].message,
        msg("early", 1000),
        "contract: messages come back as sent"
    );
}

/// A timer days ahead of the wall clock (a backend with bounded delays
/// keeps it apart, see [`Queue::sweep_timers`]): not delivered before it
/// is due, delivered once when due by the handle that sent it (its sweep
/// may wait for the caller's time to reach it: SQS counts delays in real
/// seconds), and a sweep after that sends nothing again.
async fn long_timers_are_delivered_when_due<Q: Queue>(q: &Q) {
    use flowstate_ports::Clock;
    let now = SystemClock.now();
    let due = now + 2 * 86_400_000;
    ok(q.send(&msg("two-days", due)).await, "send");
    ok(q.send(&msg("soon", now)).await, "send");
    ok(q.sweep_timers(now).await, "sweep_timers");
    let got = ok(q.receive(now, 10, 60_000).await, "receive");
    let ids: Vec<&str> = got.iter().map(|d| d.message.id.as_str()).collect();
    assert_eq!(
        ids,
        ["soon"],
        "contract: a long timer is not delivered early"
    );
    for d in &got {
        ok(q.ack(&d.receipt).await, "ack");
    }
    assert_eq!(
        ok(q.next_due().await, "next_due"),
        Some(due),
        "contract: the next due time counts a long timer sent here"
    );
    let got = ok(q.receive(due, 10, 60_000).await, "receive");
    let ids: Vec<&str> = got.iter().map(|d| d.message.id.as_str()).collect();
    assert_eq!(
        ids,
        ["two-days"],
        "contract: a long timer is delivered when due"
    );
    assert_eq!(got[0].message, msg("two-days", due));
    ok(q.ack(&got[0].receipt).await, "ack");
    ok(q.sweep_timers(due + 3_600_000).await, "sweep_timers");
    assert!(
        ok(q.receive(due + 3_600_000, 10, 60_000).await, "receive").is_empty(),
        "contract: a delivered long timer is not sent again by later sweeps"
    );
}

async fn queue_redelivery_and_ack<Q: Queue>(q: &Q) {
    ok(q.send(&msg("a", 1000)).await, "send");
    ok(q.send(&msg("b", 1000)).await, "send");
    let got = ok(q.receive(1000, 1, 500).await, "receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempts, 1);
    let second = ok(q.receive(1000, 10, 500).await, "receive");
    assert_eq!(
        second
            .iter()
            .map(|d| d.message.id.as_str())
            .collect::<Vec<_>>(),
        ["b"],
        "contract: in-flight is hidden"
    );
    ok(q.ack(&second[0].receipt).await, "ack");
    let again = ok(q.receive(1600, 10, 500).await, "receive");
    assert_eq!(
        again.len(),
        1,
        "contract: unacked messages come back after the visibility timeout, acked ones do not"
    );
    assert_eq!(again[0].message.id, "a");
    assert_eq!(again[0].attempts, 2, "contract: attempts count deliveries");
    ok(q.ack(&again[0].receipt).await, "ack");
    assert!(ok(q.receive(10_000, 10, 500).await, "receive").is_empty());
    assert_eq!(ok(q.next_due().await, "next_due"), None);
}

async fn queue_batches_and_retries<Q: Queue>(q: &Q) {
    ok(
        q.send_batch(&[msg("r1", 1000), msg("r2", 1000), msg("r1", 1000)])
            .await,
        "send_batch",
    );
    let got = ok(q.receive(1000, 10, 60_000).await, "receive");
    let mut ids: Vec<&str> = got.iter().map(|d| d.message.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["r1", "r2"],
        "contract: a batch is queued, each id once"
    );
    let (r1, r2) = if got[0].message.id == "r1" {
        (&got[0], &got[1])
    } else {
        (&got[1], &got[0])
    };
    ok(q.retry(&r1.receipt, 1000, 5_000).await, "retry");
    ok(q.ack(&r2.receipt).await, "ack");
    assert!(
        ok(q.receive(5_999, 10, 60_000).await, "receive").is_empty(),
        "contract: a retried message is not back before its delay"
    );
    let again = ok(q.receive(6_000, 10, 60_000).await, "receive");
    assert_eq!(
        again
            .iter()
            .map(|d| (d.message.id.as_str(), d.attempts))
            .collect::<Vec<_>>(),
        [("r1", 2)],
        "contract: a retried message is back after its delay, long before its visibility timeout"
    );
    ok(q.ack(&again[0].receipt).await, "ack");
}

async fn queue_dedup_and_release<Q: Queue>(q: &Q) {
    ok(q.send(&msg("d", 1000)).await, "send");
    ok(q.send(&msg("d", 1000)).await, "send twice");
    let got = ok(q.receive(1000, 10, 60_000).await, "receive");
    assert_eq!(got.len(), 1, "contract: a message id is queued once");
    assert!(ok(q.receive(1000, 10, 60_000).await, "receive").is_empty());
    ok(q.release_all().await, "release");
    let got = ok(q.receive(1000, 10, 60_000).await, "receive");
    assert_eq!(
        got.len(),
        1,
        "contract: release_all makes in-flight messages visible"
    );
}
