//! Write units per Map iteration on DynamoDB + SQS (moto, through the
//! cost meter's counting proxy): an inline Map of Lambda tasks, started as
//! the API function starts it and advanced by a warm stepper. What each
//! iteration writes — its frame, the Map frame's small state, the header,
//! its history events — must not grow with the number of items (the
//! items are written once, with the Map's start).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::stepper_on_moto::{create, show, world_with};
use flowstate_engine::Status;
use flowstate_lambda_stepper::event_source::process_cpu_ms as cpu_ms;
use flowstate_runtime::{Config, StartExecution};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn map_of_lambda_tasks() -> Value {
    json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
        "ItemSelector": {"n.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Double", "States": {
            "Double": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                "End": true}}}}}})
}

/// What one Map run cost.
struct MapRun {
    items: usize,
    calls: BTreeMap<String, u64>,
    start_ms: f64,
    run_ms: f64,
}

impl MapRun {
    fn per_item(&self, key: &str) -> f64 {
        *self.calls.get(key).unwrap_or(&0) as f64 / self.items as f64
    }
}

async fn map_run(moto: &flowstate_testkit::Moto, items: usize) -> MapRun {
    let config = Config {
        spawn_tasks: false,
        defer_tasks: true,
        sole_writer: false,
        ..Config::default()
    };
    let w = world_with(moto, &format!("map{items}-{}", std::process::id()), config).await;
    let machine = create(&w, "map", map_of_lambda_tasks()).await;
    w.take_counts();
    let input: Vec<usize> = (0..items).collect();
    let started = Instant::now();
    let arn = w
        .stepper
        .service()
        .start_execution(StartExecution {
            state_machine_arn: machine,
            name: Some("m".into()),
            input: Some(json!(input).to_string()),
            ..Default::default()
        })
        .await
        .unwrap()
        .execution_arn;
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    w.drive_for(&arn, Duration::from_secs(900)).await;
    let run_ms = started.elapsed().as_secs_f64() * 1000.0;
    let d = w.stepper.service().describe_execution(&arn).await.unwrap();
    assert_eq!(d.status, Status::Succeeded, "{d:?}");
    let doubled: Vec<Value> = input.iter().map(|n| json!({"n": n * 2})).collect();
    assert_eq!(d.output.as_deref(), Some(&json!(doubled)));
    MapRun {
        items,
        calls: w.take_counts(),
        start_ms,
        run_ms,
    }
}

/// 100 and 400 items in the suite; `MAP_WRITES_ITEMS=100,1000` measures
/// other sizes (the numbers in the README).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_units_per_map_iteration_do_not_grow_with_the_number_of_items() {
    let sizes: Vec<usize> = std::env::var("MAP_WRITES_ITEMS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| v.len() >= 2)
        .unwrap_or_else(|| vec![100, 400]);
    let moto = flowstate_testkit::Moto::start();
    let mut runs = Vec::new();
    for items in sizes {
        runs.push(map_run(&moto, items).await);
    }
    println!("| items | write units per item | transactions per item | BatchWriteItem per item | reads per item | StartExecution ms | run s |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &runs {
        let reads = r.per_item("dynamodb:GetItem")
            + r.per_item("dynamodb:BatchGetItem")
            + r.per_item("dynamodb:Query");
        println!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.1} | {:.0} | {:.1} |",
            r.items,
            r.per_item("dynamodb WRU"),
            r.per_item("dynamodb:TransactWriteItems"),
            r.per_item("dynamodb:BatchWriteItem"),
            reads,
            r.start_ms,
            r.run_ms / 1000.0
        );
        println!("calls for {} items: {}", r.items, show(&r.calls));
    }
    let small = runs[0].per_item("dynamodb WRU");
    let large = runs[runs.len() - 1].per_item("dynamodb WRU");
    assert!(
        large <= small * 1.1,
        "write units per iteration grew with the items: {small:.1} at {} items, {large:.1} at {}",
        runs[0].items,
        runs[runs.len() - 1].items
    );
}

/// StartExecution of a Map over 10,000 items writes the items once and
/// starts 40 iterations: a bounded number of calls, whatever the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_execution_of_a_10000_item_map_writes_the_items_once() {
    let moto = flowstate_testkit::Moto::start();
    let config = Config {
        spawn_tasks: false,
        defer_tasks: true,
        sole_writer: false,
        ..Config::default()
    };
    let w = world_with(&moto, &format!("start10k-{}", std::process::id()), config).await;
    let machine = create(&w, "map", map_of_lambda_tasks()).await;
    let input: Vec<usize> = (0..10_000).collect();
    let mut times = Vec::new();
    for run in 0..5 {
        w.take_counts();
        let (wall, cpu) = (Instant::now(), cpu_ms());
        let started = w
            .stepper
            .service()
            .start_execution(StartExecution {
                state_machine_arn: machine.clone(),
                name: Some(format!("big-{run}")),
                input: Some(json!(input).to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
        times.push((wall.elapsed().as_secs_f64() * 1000.0, cpu_ms() - cpu));
        let calls = w.take_counts();
        let dynamodb: u64 = calls
            .iter()
            .filter(|(k, _)| k.starts_with("dynamodb:"))
            .map(|(_, v)| v)
            .sum();
        let sqs: u64 = calls
            .iter()
            .filter(|(k, _)| k.starts_with("sqs:"))
            .map(|(_, v)| v)
            .sum();
        if run == 0 {
            println!("StartExecution of a 10,000-item Map: {}", show(&calls));
        }
        assert!(dynamodb <= 20, "DynamoDB calls: {calls:?}");
        assert!(sqs <= 5, "40 Perform messages in batches of 10: {calls:?}");
        let d = w
            .stepper
            .service()
            .describe_execution(&started.execution_arn)
            .await
            .unwrap();
        assert_eq!(d.status, Status::Running);
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (wall, _) = times[times.len() / 2];
    let mut cpu: Vec<f64> = times.iter().map(|t| t.1).collect();
    cpu.sort_by(f64::total_cmp);
    println!(
        "StartExecution of a 10,000-item Map on moto: median {wall:.0} ms wall, {:.0} ms CPU in this process (5 runs)",
        cpu[cpu.len() / 2]
    );
}
