//! Steps larger than a backend's transaction: they commit, and what a
//! step that lost the race wrote ahead of its commit never shows.

use super::{ok, started, write};
use flowstate_asl::definition::StateMachine;
use flowstate_engine::{advance, Effect, Env, Event, FrameId, Status, Step, Timer};
use flowstate_ports::{Claim, ExecutionRecord, HistoryQuery, OutboxEntry, Store, StoreError};
use serde_json::json;

/// A Parallel of `n` branches, each one Task.
fn tasks_in_parallel(n: usize) -> String {
    let branches: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let name = format!("T{i}");
            json!({"StartAt": name, "States": {name: {"Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": true}}})
        })
        .collect();
    json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": branches}}})
    .to_string()
}

/// Answers the tasks of `frames` one event after the other, as one step
/// (what the runtime commits when their results arrive together).
fn answer(
    rec: &mut ExecutionRecord,
    sm: &StateMachine,
    frames: impl IntoIterator<Item = FrameId>,
) -> Step {
    let mut steps = Vec::new();
    for frame in frames {
        let seq = rec.execution.frames.get(&frame).map_or(0, |f| f.seq);
        let event = Event::TaskSucceeded {
            frame,
            seq,
            output: json!({"branch": frame}),
        };
        let env = Env {
            now: 2_000,
            token_key: b"k",
        };
        steps.push(ok(advance(&mut rec.execution, sm, event, &env), "answer"));
    }
    Step::merge(steps, &rec.execution)
}

/// `n` timer entries (the last a `Finished` when `finished`), with ids
/// of their own, as if a step had them.
fn entries(rec: &ExecutionRecord, tag: &str, n: usize, finished: bool) -> Vec<OutboxEntry> {
    (0..n)
        .map(|i| OutboxEntry {
            id: format!("{}#{tag}#{i}", rec.execution.info.arn),
            execution_arn: rec.execution.info.arn.clone(),
            created: 2_000,
            effect: if finished && i + 1 == n {
                Effect::Finished {
                    status: Status::Succeeded,
                }
            } else {
                Effect::ScheduleTimer {
                    frame: 0,
                    seq: 0,
                    timer: Timer::WaitState,
                    at: 5_000 + i as i64,
                }
            },
            test_case: None,
            claim: Claim::default(),
        })
        .collect()
}

async fn history<B: Store>(b: &B, arn: &str) -> Vec<flowstate_engine::history::HistoryEvent> {
    let all = HistoryQuery {
        after: None,
        limit: 100_000,
        reverse: false,
    };
    ok(b.history(arn, &all).await, "history")
}

/// 150 branches: a start that creates 151 frames, then one step changing
/// 149 of them and one that ends the execution — each far beyond what
/// one DynamoDB transaction holds.
pub(super) async fn a_step_of_any_size_commits<B: Store>(b: &B) {
    let (mut rec, step, outbox, sm) = started(&tasks_in_parallel(150), "wide", 1000);
    ok(
        b.create_execution(&rec, &write(&step, &outbox)).await,
        "create a large first step",
    );
    let arn = rec.execution.info.arn.clone();
    let mut expected_history = step.history.clone();
    let v = rec.execution.version;
    let big = answer(&mut rec, &sm, 1..=149);
    assert!(big.frames_changed.len() >= 149);
    let out = entries(&rec, "big", 120, false);
    ok(
        b.commit_step(&rec, v, &write(&big, &out)).await,
        "contract: a step changing 149 existing frames commits",
    );
    expected_history.extend(big.history.iter().cloned());
    let loaded = ok(b.load_execution(&arn, true).await, "load");
    assert_eq!(
        loaded.map(|r| r.execution).as_ref(),
        Some(&rec.execution),
        "contract: a large step loads back as committed"
    );
    for entry in &out {
        let claim = Claim {
            owner: "sweeper".into(),
            until: 10_000,
        };
        assert!(
            ok(
                b.claim_outbox(&entry.id, None, 3_000, &claim).await,
                "claim"
            )
            .is_some(),
            "contract: every outbox entry of a large step commits with it"
        );
    }
    let v = rec.execution.version;
    let last = answer(&mut rec, &sm, [150]);
    ok(
        b.commit_step(&rec, v, &write(&last, &[])).await,
        "contract: the step ending a 150-branch Parallel commits",
    );
    expected_history.extend(last.history.iter().cloned());
    let loaded = ok(b.load_execution(&arn, false).await, "load");
    let loaded = loaded.unwrap_or_else(|| panic!("contract: the execution loads"));
    assert_eq!(loaded.execution.status, Status::Succeeded);
    assert_eq!(
        loaded
            .execution
            .output
            .as_deref()
            .and_then(|o| o.as_array())
            .map(Vec::len),
        Some(150)
    );
    assert!(
        history(b, &arn).await == expected_history,
        "contract: every history event of large steps reads back, in order"
    );
}

/// Two large steps from the same version: the first commits, the second
/// (written after it, with outbox entries of its own including a
/// `Finished`) loses. Nothing of the loser's is visible or claimable, and
/// the winner's execution goes on to its end untouched.
pub(super) async fn what_a_losing_step_wrote_is_never_visible<B: Store>(b: &B) {
    let (base, step, outbox, sm) = started(&tasks_in_parallel(150), "race", 1000);
    ok(
        b.create_execution(&base, &write(&step, &outbox)).await,
        "create",
    );
    let arn = base.execution.info.arn.clone();
    let v = base.execution.version;
    let mut winner = base.clone();
    let won = answer(&mut winner, &sm, 1..=149);
    let won_entries = entries(&winner, "won", 120, false);
    let mut loser = base.clone();
    let lost = answer(&mut loser, &sm, 2..=150);
    let lost_entries = entries(&loser, "lost", 120, true);
    ok(
        b.commit_step(&winner, v, &write(&won, &won_entries)).await,
        "the winner commits",
    );
    assert_eq!(
        b.commit_step(&loser, v, &write(&lost, &lost_entries)).await,
        Err(StoreError::Conflict),
        "contract: a large step on a stale version is a Conflict"
    );
    let loaded = ok(b.load_execution(&arn, true).await, "load");
    assert_eq!(
        loaded.map(|r| r.execution).as_ref(),
        Some(&winner.execution),
        "contract: the loser's frames are never visible"
    );
    let mut expected_history = step.history.clone();
    expected_history.extend(won.history.iter().cloned());
    assert!(
        history(b, &arn).await == expected_history,
        "contract: the loser's history events are never visible"
    );
    let claim = Claim {
        owner: "sweeper".into(),
        until: i64::MAX,
    };
    for entry in &lost_entries {
        assert_eq!(
            ok(
                b.claim_outbox(&entry.id, None, i64::MAX - 1, &claim).await,
                "claim"
            ),
            None,
            "contract: the loser's outbox entries (a Finished too) are never performed"
        );
    }
    for entry in &won_entries {
        assert!(
            ok(
                b.claim_outbox(&entry.id, None, i64::MAX - 1, &claim).await,
                "claim"
            )
            .is_some(),
            "contract: the winner's outbox entries are intact"
        );
    }
    // The winner's execution goes on as if the loser never wrote.
    let v = winner.execution.version;
    let last = answer(&mut winner, &sm, [150]);
    ok(
        b.commit_step(&winner, v, &write(&last, &[])).await,
        "the winner's next step",
    );
    expected_history.extend(last.history.iter().cloned());
    let loaded = ok(b.load_execution(&arn, false).await, "load");
    assert_eq!(
        loaded.map(|r| (r.execution.status, r.execution.output)),
        Some((winner.execution.status, winner.execution.output.clone()))
    );
    assert!(
        history(b, &arn).await == expected_history,
        "contract: the winner's history is whole after the loser wrote ahead"
    );
}
