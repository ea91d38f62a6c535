//! The crash and duplicate-delivery scenarios of `durable_crash.rs` and
//! `durable_duplicates.rs` on the AWS backends (DynamoDB + SQS on moto):
//! the same workflow ends with the same output and the same history as a
//! run without faults. There is no process restart on AWS: after a crash,
//! a fresh backend (a new process's view) performs the committed but
//! unperformed effects with `Service::sweep_outbox`, and the crashed
//! process's in-flight messages come back as after their visibility
//! timeout.

use crate::durable_support::aws::{fresh, Moto};
use crate::durable_support::*;
use flowstate_ports::WorkflowType;
use serde_json::json;
use std::time::{Duration, Instant};

/// How long one run may take (they take 2–5 s on moto).
const RUN_LIMIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn every_message_delivered_twice_changes_nothing_on_dynamodb_and_sqs() {
    let moto = Moto::start();
    let inputs = [json!({"k": 1}), json!({"k": 2})];
    let t = Instant::now();
    let clean = run_on(
        fresh(&moto).await,
        Recovery::Sweep,
        WORKFLOW,
        &inputs,
        None,
        false,
        WorkflowType::Standard,
    )
    .await;
    eprintln!(
        "clean run: {} I/O calls in {:.1?}",
        clean.calls,
        t.elapsed()
    );
    let t = Instant::now();
    let dup = run_on(
        fresh(&moto).await,
        Recovery::Sweep,
        WORKFLOW,
        &inputs,
        None,
        true,
        WorkflowType::Standard,
    )
    .await;
    eprintln!("duplicates: {:.1?}", t.elapsed());
    assert_eq!(dup.outcomes, clean.outcomes);
}

/// The kinds of call a crash point is chosen among: every call that
/// writes (a failed read is a crash before the next write, and the
/// embedded backend's test crashes at every call of every kind).
const WRITES: [&str; 6] = [
    "create_execution",
    "commit_step",
    "send",
    "complete_outbox",
    "receive", // makes the message invisible: a crash leaves it in flight
    "ack",
];

/// The crash points: the first call of each kind in [`WRITES`], and the
/// commit of the step that fans out (Parallel: a callback task, its
/// heartbeat and timeout timers and a Wait's timer committed at once)
/// with the first and last of the sends that follow it. Each is crashed
/// before and after the call, so the "after" of a commit or a send is a
/// crash between a commit and its effects.
fn crash_points(log: &[&'static str]) -> Vec<usize> {
    let mut points = Vec::new();
    for kind in WRITES {
        if let Some(i) = log.iter().position(|n| *n == kind) {
            points.push(i + 1);
        }
    }
    // The first commit followed by several sends before the next receive.
    let sends_after = |i: usize| -> Vec<usize> {
        (i + 1..log.len())
            .take_while(|&j| log[j] != "receive")
            .filter(|&j| log[j] == "send")
            .collect()
    };
    let fan_out = (0..log.len()).find(|&i| log[i] == "commit_step" && sends_after(i).len() >= 2);
    if let Some(i) = fan_out {
        let sends = sends_after(i);
        points.push(i + 1);
        points.extend(sends.first().map(|j| j + 1));
        points.extend(sends.last().map(|j| j + 1));
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// [`WORKFLOW`] with a Map over three items instead of four (still more
/// than its MaxConcurrency of 2): every crash point lies before the Map,
/// and each item costs a dozen requests to moto after it.
fn crash_workflow() -> String {
    let workflow = WORKFLOW.replace("[1, 2, 3, 4]", "[1, 2, 3]");
    assert_ne!(workflow, WORKFLOW, "the Map's items are in WORKFLOW");
    workflow
}

/// moto servers, each running one crashed run at a time (each run has its
/// own table and queue): moto serves one request at a time and is the
/// bottleneck (~10 ms a request), so runs overlap only across servers.
const SERVERS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_kind_of_io_point_changes_nothing_on_dynamodb_and_sqs() {
    let motos: Vec<Moto> = (0..SERVERS).map(|_| Moto::start()).collect();
    let moto = &motos[0];
    let inputs = vec![json!({"k": 1})];
    let started = Instant::now();
    let clean = run_on(
        fresh(moto).await,
        Recovery::Sweep,
        &crash_workflow(),
        &inputs,
        None,
        false,
        WorkflowType::Standard,
    )
    .await;
    let clean_time = started.elapsed();
    let points = crash_points(&clean.log);
    assert_eq!(
        points.len(),
        WRITES.len() + 3,
        "a point per kind of write and three at the fan-out: {points:?} in {:?}",
        clean.log
    );
    let names: Vec<String> = points
        .iter()
        .map(|&n| format!("{n}:{}", clean.log[n - 1]))
        .collect();
    eprintln!(
        "clean run: {} I/O calls in {clean_time:.1?}; crash points: {}",
        clean.calls,
        names.join(" ")
    );
    let cases: Vec<(usize, CrashMode)> = points
        .iter()
        .flat_map(|&n| [(n, CrashMode::Before), (n, CrashMode::After)])
        .collect();
    let mut runs = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    let mut free: Vec<usize> = (0..SERVERS).collect();
    for (n, mode) in cases.iter().copied() {
        let server = match free.pop() {
            Some(server) => server,
            None => {
                let (server, done) = runs.join_next().await.unwrap().unwrap();
                results.push(done);
                server
            }
        };
        let open = fresh(&motos[server]).await;
        let inputs = inputs.clone();
        runs.spawn(async move {
            let workflow = crash_workflow();
            let run = run_on(
                open,
                Recovery::Sweep,
                &workflow,
                &inputs,
                Some((n, mode)),
                false,
                WorkflowType::Standard,
            );
            // A run that waits for SQS's own delays (a due time it
            // cannot see) would take minutes: fail it instead.
            let run = tokio::time::timeout(RUN_LIMIT, run)
                .await
                .unwrap_or_else(|_| panic!("crash at {n} {mode:?}: not done in {RUN_LIMIT:?}"));
            (server, (n, mode, run))
        });
    }
    while let Some(done) = runs.join_next().await {
        results.push(done.unwrap().1);
    }
    eprintln!(
        "{} crashed runs in {:.1?} in all",
        results.len(),
        started.elapsed()
    );
    assert_eq!(results.len(), cases.len());
    for (n, mode, run) in &results {
        let at = format!("crash at {n} ({}) {mode:?}", clean.log[n - 1]);
        assert!(run.crashed, "{at}: the call happens in the crashed run too");
        assert_eq!(run.outcomes.len(), clean.outcomes.len(), "{at}");
        for (o, c) in run.outcomes.iter().zip(&clean.outcomes) {
            assert_eq!(o.status, c.status, "{at}");
            assert_eq!(o.output, c.output, "{at}");
            if o.history != c.history {
                let first = o.history.iter().zip(&c.history).position(|(a, b)| a != b);
                panic!(
                    "{at}: histories differ at {first:?}: {:#?} vs {:#?}",
                    first.map(|i| &o.history[i]),
                    first.map(|i| &c.history[i])
                );
            }
        }
    }
}
