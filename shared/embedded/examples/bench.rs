//! Benchmark of the durable runtime on the embedded store (issue #3).
//!
//! `cargo run --release -p flowstate-embedded --example bench [ROUNDS]`
//!
//! 1. Durable committed steps per second: Pass → Wait(0) → Pass runs to
//!    its end in one step, so each execution is one durable commit.
//! 2. Executions started per second through the Service on a machine that
//!    waits a year (commit + timer message + outbox completion).
//! 3. With the argument `rss`, alone: peak RSS (VmHWM) after 10,000
//!    executions wait on that year-long Wait.
//!
//! Prints each round and the medians.

use flowstate_embedded::Embedded;
use flowstate_ports::{
    InvokeContext, Invoker, SystemClock, TaskInvocation, TaskResult, WorkflowType,
};
use flowstate_runtime::{Config, CreateStateMachine, Service, StartExecution};
use std::time::Instant;

struct NoTasks;

impl Invoker for NoTasks {
    async fn invoke(&self, _: &InvokeContext, _: &TaskInvocation) -> TaskResult {
        TaskResult::Succeeded(serde_json::Value::Null)
    }
}

type Svc = Service<Embedded, Embedded, NoTasks, SystemClock>;

const QUICK: &str = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"W"},"W":{"Type":"Wait","Seconds":0,"Next":"B"},"B":{"Type":"Pass","End":true}}}"#;
const YEAR: &str =
    r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":31536000,"End":true}}}"#;

async fn machine(svc: &Svc, name: &str, definition: &str) -> String {
    let sm = svc
        .create_state_machine(CreateStateMachine {
            name: name.into(),
            definition: definition.into(),
            role_arn: "arn:aws:iam::123456789012:role/bench".into(),
            kind: WorkflowType::Standard,
            description: None,
        })
        .await
        .expect("create state machine");
    sm.arn
}

/// Starts `n` executions from `workers` concurrent tasks; returns per second.
async fn start_many(svc: &Svc, arn: &str, prefix: &str, n: usize, workers: usize) -> f64 {
    let t = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let svc = svc.clone();
        let arn = arn.to_string();
        let prefix = prefix.to_string();
        handles.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                svc.start_execution(StartExecution {
                    state_machine_arn: arn.clone(),
                    name: Some(format!("{prefix}-{i}")),
                    input: Some(r#"{"order":42,"items":[1,2,3]}"#.into()),
                    ..Default::default()
                })
                .await
                .expect("start");
                i += workers;
            }
        }));
    }
    for h in handles {
        h.await.expect("worker");
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("rss") {
        // Alone in its process, so the peak is this workload's only.
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Embedded::open(dir.path()).expect("open");
        let svc: Svc = Service::new(db.clone(), db, NoTasks, SystemClock, Config::default());
        let year = machine(&svc, "year", YEAR).await;
        let rate = start_many(&svc, &year, "w", 10_000, 256).await;
        println!("started 10,000 year-long executions at {rate:.0}/s");
        println!(
            "peak RSS (VmHWM) with 10,000 waiting executions: {:.1} MiB",
            peak_rss_mib()
        );
        return;
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Embedded::open(dir.path()).expect("open");
    let svc: Svc = Service::new(db.clone(), db, NoTasks, SystemClock, Config::default());
    let quick = machine(&svc, "quick", QUICK).await;
    let year = machine(&svc, "year", YEAR).await;

    let mut steps = Vec::new();
    for r in 0..rounds {
        let rate = start_many(&svc, &quick, &format!("q{r}"), 20_000, 256).await;
        println!("round {r}: {rate:.0} durable steps/s (executions started and finished)");
        steps.push(rate);
    }
    let mut starts = Vec::new();
    for r in 0..rounds {
        let rate = start_many(&svc, &year, &format!("y{r}"), 2_000, 256).await;
        println!("round {r}: {rate:.0} executions started/s (waiting a year)");
        starts.push(rate);
    }

    println!(
        "median durable steps/s (Pass→Wait(0)→Pass, one commit each): {:.0}",
        median(steps)
    );
    println!(
        "median executions started/s (year-long Wait): {:.0}",
        median(starts)
    );
}
