//! The contract of [`ActivityStore`]: activity records, and waiting tasks
//! each handed to exactly one claimer.

use super::ok;
use flowstate_ports::{ActivityRecord, ActivityStore, ActivityTask, PageRequest, StoreError};
use std::collections::HashSet;

const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:approve";

fn activity(name: &str) -> ActivityRecord {
    ActivityRecord {
        arn: format!("arn:aws:states:us-east-1:123456789012:activity:{name}"),
        name: name.into(),
        creation_date: 1_000,
        tags: vec![("team".into(), "ops".into())],
        encryption_configuration: None,
    }
}

fn task(id: usize, created: i64, expires: i64) -> ActivityTask {
    ActivityTask {
        id: format!("arn:aws:states:us-east-1:123456789012:execution:m:e{id}#0#1"),
        activity_arn: ACTIVITY.into(),
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:m:e{id}"),
        frame: 0,
        seq: 1,
        task_token: format!("token-{id}"),
        input: format!("{{\"n\":{id}}}"),
        created,
        expires,
    }
}

/// Create, describe, list (paginated, by ARN), delete.
pub(super) async fn activity_records<B: ActivityStore>(b: &B) {
    let rule = "activities are created once, listed by ARN and deleted";
    for name in ["c", "a", "b"] {
        ok(b.create_activity(&activity(name)).await, rule);
    }
    assert!(
        matches!(
            b.create_activity(&activity("a")).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "contract: {rule}: a second create of one ARN is AlreadyExists"
    );
    let got = ok(b.get_activity(&activity("a").arn).await, rule);
    assert_eq!(
        got,
        Some(activity("a")),
        "contract: {rule}: the record reads back"
    );
    let mut names = Vec::new();
    let mut next_token = None;
    loop {
        let page = ok(
            b.list_activities(&PageRequest {
                max_results: 2,
                next_token,
            })
            .await,
            rule,
        );
        assert!(
            page.items.len() <= 2,
            "contract: {rule}: a page holds at most max_results"
        );
        names.extend(page.items.into_iter().map(|a| a.name));
        next_token = page.next_token;
        if next_token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        ["a", "b", "c"],
        "contract: {rule}: listed by ARN, each once"
    );
    assert!(ok(b.delete_activity(&activity("b").arn).await, rule));
    assert!(!ok(b.delete_activity(&activity("b").arn).await, rule));
    assert_eq!(ok(b.get_activity(&activity("b").arn).await, rule), None);
}

/// Tasks: written twice is one task; claimed oldest first; expired ones
/// are never handed out; a claim removes the task.
pub(super) async fn activity_tasks<B: ActivityStore>(b: &B) {
    let rule = "activity tasks are claimed oldest first, once";
    assert_eq!(ok(b.claim_activity_task(ACTIVITY, 0).await, rule), None);
    ok(b.put_activity_task(&task(2, 200, 10_000)).await, rule);
    ok(b.put_activity_task(&task(1, 100, 10_000)).await, rule);
    ok(b.put_activity_task(&task(1, 100, 10_000)).await, rule);
    ok(b.put_activity_task(&task(3, 50, 500)).await, rule);
    let other = ActivityTask {
        activity_arn: format!("{ACTIVITY}-other"),
        ..task(4, 10, 10_000)
    };
    ok(b.put_activity_task(&other).await, rule);
    let now = 1_000;
    let first = ok(b.claim_activity_task(ACTIVITY, now).await, rule);
    assert_eq!(
        first,
        Some(task(1, 100, 10_000)),
        "contract: {rule}: the oldest live task first"
    );
    let second = ok(b.claim_activity_task(ACTIVITY, now).await, rule);
    assert_eq!(second.map(|t| t.id), Some(task(2, 0, 0).id));
    assert_eq!(
        ok(b.claim_activity_task(ACTIVITY, now).await, rule),
        None,
        "contract: {rule}: an expired task is never handed out, a claimed one never again"
    );
    let theirs = ok(b.claim_activity_task(&other.activity_arn, now).await, rule);
    assert_eq!(
        theirs,
        Some(other),
        "contract: {rule}: tasks belong to their activity"
    );
}

/// Several claimers at once, on clones of one backend: every task goes
/// to exactly one of them.
pub(super) async fn concurrent_claims_deliver_each_task_once<B: ActivityStore + Clone>(b: &B) {
    let rule = "concurrent claims hand each task to exactly one claimer";
    const TASKS: usize = 24;
    const CLAIMERS: usize = 6;
    for i in 0..TASKS {
        ok(
            b.put_activity_task(&task(i, i as i64, 1_000_000)).await,
            rule,
        );
    }
    let mut handles = Vec::new();
    for _ in 0..CLAIMERS {
        let b = b.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(t) = ok(b.claim_activity_task(ACTIVITY, 10).await, rule) {
                got.push(t.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("a claimer panicked"));
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(
        all.len(),
        TASKS,
        "contract: {rule}: no task given twice or lost"
    );
    assert_eq!(
        distinct.len(),
        TASKS,
        "contract: {rule}: no task given twice"
    );
}
