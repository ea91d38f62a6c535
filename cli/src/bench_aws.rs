//! `flowstate bench-aws`: the deployed shape measured on moto — `flowstate
//! serve --backend aws --no-worker` as the API function and `--workers`
//! `flowstate worker` processes as stepper instances, every AWS call
//! metered by the test kit's proxy, Lambda tasks served in-process.
//!
//! Reports: the wall time of an inline Map of `--map-items` Lambda tasks
//! and its commits, conflicts, write units and write bytes per iteration;
//! StartExecution's rate; the cost table (calls and dollars per million
//! transitions, beside Step Functions Standard's $25); with `--scenario`,
//! issue 11's full-size run (20 executions × 200-item Maps with retries).
//! Not a test: nothing is asserted, numbers are printed.

use anyhow::{bail, Context};
use clap::Args;
use flowstate_testkit::{
    cost, process_env, task_chain, Answer, Behaviour, Calls, FaultProxy, Invocation,
    LambdaEndpoint, Moto, Stack, WorkerCommand, Workers,
};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BenchAwsArgs {
    /// Worker processes (stepper instances).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Items of the measured inline Map.
    #[arg(long, default_value_t = 1000)]
    pub map_items: usize,
    /// Executions started to measure StartExecution's rate.
    #[arg(long, default_value_t = 300)]
    pub starts: usize,
    /// Also run issue 11's full-size scenario: 20 executions × 200-item
    /// Maps of Lambda tasks with retries.
    #[arg(long)]
    pub scenario: bool,
    /// How long one workload may run before it is reported unfinished.
    #[arg(long, default_value_t = 30)]
    pub timeout_minutes: u64,
}

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// The functions: `double` doubles `n`; `work` fails once (a retried
/// error) for every seventh Map index, as in the scenario tests.
fn behaviour() -> Behaviour {
    Arc::new(|i: &Invocation| {
        let p = &i.payload;
        match i.function.as_str() {
            "work" if p["index"].as_u64().unwrap_or(0) % 7 == 3 && p["attempt"] == json!(0) => {
                Answer::error("Flaky", "try again")
            }
            _ => Answer::ok(json!({"n": p["n"].as_i64().unwrap_or(0) * 2})),
        }
    })
}

fn map(function: &str, retry: bool) -> Value {
    let mut task = json!({"Type": "Task", "Resource": format!("{LAMBDA}{function}"),
        "Parameters": {"execution.$": "$$.Execution.Id", "index.$": "$.index", "n.$": "$.n",
            "attempt.$": "$$.State.RetryCount"},
        "End": true});
    if retry {
        task["Retry"] = json!([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 2}]);
    }
    json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "ItemsPath": "$.items",
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "n.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T", "States": {"T": task}},
        "End": true}}})
}

/// The Step Functions API of `serve --no-worker`.
struct Api {
    url: String,
    agent: ureq::Agent,
}

impl Api {
    fn call(&self, action: &str, body: &Value) -> anyhow::Result<Value> {
        let answer = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/x-amz-json-1.0")
            .set("X-Amz-Target", &format!("AWSStepFunctions.{action}"))
            .send_string(&body.to_string());
        match answer {
            Ok(r) => Ok(serde_json::from_str(&r.into_string()?)?),
            Err(ureq::Error::Status(code, r)) => {
                bail!(
                    "{action}: HTTP {code}: {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => bail!("{action}: {e}"),
        }
    }

    fn create(&self, name: &str, definition: &Value) -> anyhow::Result<String> {
        let v = self.call(
            "CreateStateMachine",
            &json!({"name": name, "definition": definition.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/flowstate"}),
        )?;
        Ok(v["stateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    fn start(&self, machine: &str, name: &str, input: &Value) -> anyhow::Result<String> {
        let v = self.call(
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": name, "input": input.to_string()}),
        )?;
        Ok(v["executionArn"].as_str().unwrap_or_default().to_string())
    }

    fn status(&self, arn: &str) -> anyhow::Result<String> {
        let d = self.call("DescribeExecution", &json!({"executionArn": arn}))?;
        Ok(d["status"].as_str().unwrap_or_default().to_string())
    }

    /// Waits until every execution left RUNNING, or `timeout`; how many
    /// are still running. Says how far it got every minute, on stderr.
    fn wait(&self, arns: &[String], timeout: Duration) -> anyhow::Result<usize> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut said = started;
        let mut running: Vec<String> = arns.to_vec();
        while !running.is_empty() && Instant::now() < deadline {
            if said.elapsed() >= Duration::from_secs(60) {
                said = Instant::now();
                errln!(
                    "flowstate bench-aws: {} of {} executions running after {:.0} s",
                    running.len(),
                    arns.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            let mut still = Vec::new();
            for arn in running {
                if self.status(&arn)? == "RUNNING" {
                    still.push(arn);
                }
            }
            running = still;
            if !running.is_empty() {
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Ok(running.len())
    }

    /// States entered (transitions, as Step Functions bills them).
    fn transitions(&self, arn: &str) -> anyhow::Result<u64> {
        let mut n = 0;
        let mut token: Option<String> = None;
        loop {
            let mut req = json!({"executionArn": arn, "maxResults": 1000});
            if let Some(t) = &token {
                req["nextToken"] = json!(t);
            }
            let page = self.call("GetExecutionHistory", &req)?;
            n += page["events"]
                .as_array()
                .map(|events| {
                    events
                        .iter()
                        .filter(|e| {
                            e["type"]
                                .as_str()
                                .is_some_and(|t| t.ends_with("StateEntered"))
                        })
                        .count() as u64
                })
                .unwrap_or(0);
            match page["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(n),
            }
        }
    }
}

/// moto, the proxy, the Lambda functions, the API; workers per workload.
struct Deployment {
    runtime: tokio::runtime::Runtime,
    api: Api,
    // Dropped in this order: processes first, moto last.
    _api_process: Workers,
    lambda: LambdaEndpoint,
    proxy: FaultProxy,
    worker_command: WorkerCommand,
    workers: usize,
    _stack: Stack,
    _moto: Moto,
}

/// What one workload's workers did (summed from their exit lines).
#[derive(Debug, Default, Clone, Copy)]
struct WorkerTotals {
    batches: u64,
    records: u64,
    failed: u64,
    handler_ms: f64,
    /// The workers' CPU time in the handler: what the stepper would use
    /// on Lambda, without moto's slowness.
    handler_cpu_ms: f64,
}

fn parse_totals(outputs: &[(String, String)]) -> WorkerTotals {
    let mut t = WorkerTotals::default();
    for (_, text) in outputs {
        let Some(line) = text
            .lines()
            .find_map(|l| l.strip_prefix("flowstate worker: stopped after "))
        else {
            continue;
        };
        let numbers: Vec<f64> = line
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter_map(|w| w.parse().ok())
            .collect();
        // "N batches (R records, F failed, I failed invocations, S sweeps, M ms ..., C ms of CPU)"
        if let [batches, records, failed, _, _, ms, cpu, ..] = numbers[..] {
            t.batches += batches as u64;
            t.records += records as u64;
            t.failed += failed as u64;
            t.handler_ms += ms;
            t.handler_cpu_ms += cpu;
        }
    }
    t
}

impl Deployment {
    fn start(workers: usize) -> anyhow::Result<Deployment> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let moto = Moto::start();
        let stack = runtime.block_on(moto.stack());
        let proxy = runtime.block_on(FaultProxy::start(&moto.endpoint));
        let lambda = runtime.block_on(LambdaEndpoint::start(behaviour()));
        let program = std::env::current_exe().context("cannot find the flowstate binary")?;
        let queue = stack
            .queue_url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let env = process_env(proxy.url(), lambda.url(), "error");
        let stack_args: Vec<String> = [
            "--table",
            &stack.table,
            "--queue",
            &queue,
            "--kms-key",
            &stack.kms_key_arn,
            "--topic-arn",
            &stack.topic_arn,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut api_args: Vec<String> = ["serve", "--port", "0", "--backend", "aws", "--no-worker"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        api_args.extend(stack_args.clone());
        let api_process = Workers::start(
            WorkerCommand {
                program: program.clone(),
                args: api_args,
                env: env.clone(),
                ready: "flowstate serve: listening on ".into(),
            },
            1,
        );
        let url = api_process
            .ready_line(0)
            .and_then(|l| {
                l.strip_prefix("flowstate serve: listening on ")
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_string)
            })
            .context("serve did not print its URL")?;
        let mut worker_args: Vec<String> =
            ["worker", "--backend", "aws", "--poll-wait-seconds", "0"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        worker_args.extend(stack_args);
        Ok(Deployment {
            runtime,
            api: Api {
                url,
                agent: ureq::AgentBuilder::new().max_idle_connections(32).build(),
            },
            _api_process: api_process,
            lambda,
            proxy,
            worker_command: WorkerCommand {
                program,
                args: worker_args,
                env,
                ready: "flowstate worker: polling".into(),
            },
            workers,
            _stack: stack,
            _moto: moto,
        })
    }

    /// Runs `work` with the workers up (started before, stopped after);
    /// its result, the calls it made and what the workers did.
    fn with_workers<T>(
        &self,
        work: impl FnOnce(&Api) -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, Calls, WorkerTotals)> {
        let mut workers = Workers::start(self.worker_command.clone(), self.workers);
        self.proxy.take_calls();
        let result = work(&self.api);
        let outputs = workers.stop(Duration::from_secs(30));
        let calls = self.proxy.take_calls();
        Ok((result?, calls, parse_totals(&outputs)))
    }
}

pub fn run(args: BenchAwsArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_secs(args.timeout_minutes * 60);
    let d = Deployment::start(args.workers)?;
    let _guard = d.runtime.enter();
    outln!(
        "flowstate bench-aws: moto, serve --no-worker and {} worker processes; every AWS call metered",
        args.workers
    )?;

    // ---- the large inline Map.
    let machine = d.api.create("map-large", &map("double", false))?;
    let items: Vec<Value> = (0..args.map_items).map(|i| json!(i)).collect();
    let input = json!({ "items": items });
    let ((wall, start_ms, unfinished), calls, totals) = d.with_workers(|api| {
        let started = Instant::now();
        let arn = api.start(&machine, "map-large", &input)?;
        let start_ms = started.elapsed().as_secs_f64() * 1000.0;
        let unfinished = api.wait(std::slice::from_ref(&arn), timeout)?;
        Ok((started.elapsed(), start_ms, unfinished))
    })?;
    let per = |n: u64| n as f64 / args.map_items.max(1) as f64;
    outln!()?;
    outln!(
        "## Inline Map of {} Lambda tasks, {} workers",
        args.map_items,
        args.workers
    )?;
    if unfinished > 0 {
        outln!(
            "- did NOT finish within {} min ({} of {} tasks invoked)",
            args.timeout_minutes,
            d.lambda.count(),
            args.map_items
        )?;
    }
    outln!(
        "- wall time {:.1} s (StartExecution answered in {:.0} ms)",
        wall.as_secs_f64(),
        start_ms
    )?;
    outln!(
        "- per iteration: {:.2} commits, {:.2} conflicts, {:.1} write units, {:.0} write bytes, {:.1} AWS calls",
        per(calls.commits),
        per(calls.conflicts),
        per(calls.write_units),
        per(calls.write_bytes),
        per(calls.total())
    )?;
    outln!(
        "- workers: {} batches, {} records, {} failed records; {:.0} ms in the handler",
        totals.batches,
        totals.records,
        totals.failed,
        totals.handler_ms
    )?;
    let duplicates = d.lambda.duplicates().len();
    outln!("- duplicate task invocations: {duplicates}")?;

    // ---- StartExecution's rate.
    let pass = d.api.create(
        "pass",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )?;
    let clients = 8;
    let started = Instant::now();
    let failures: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (api, pass) = (&d.api, &pass);
                s.spawn(move || {
                    (0..args.starts)
                        .filter(|i| i % clients == c)
                        .filter(|i| {
                            api.start(pass, &format!("s-{i}"), &json!({"i": i}))
                                .is_err()
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let rate = args.starts as f64 / started.elapsed().as_secs_f64();
    outln!()?;
    outln!(
        "## StartExecution: {rate:.0} starts/s ({} starts of a one-Pass machine by {clients} clients through serve --no-worker; {failures} failed)",
        args.starts
    )?;

    // ---- the cost table.
    outln!()?;
    outln!(
        "## Cost per million transitions (Step Functions Standard: ${:.0})",
        cost::prices::STEP_FUNCTIONS_TRANSITION
    )?;
    outln!()?;
    outln!("| execution | transitions | AWS calls per transition | stepper invocations | $ per million transitions |")?;
    outln!("| --- | --- | --- | --- | --- |")?;
    let chain_sm = d
        .api
        .create("chain10", &task_chain(&format!("{LAMBDA}double"), 10))?;
    let map_sm = d.api.create("map100", &map("double", false))?;
    let hundred: Vec<Value> = (0..100).map(|i| json!(i)).collect();
    let rows: [(&str, &str, &String, Value); 2] = [
        ("10 Lambda Tasks", "chain", &chain_sm, json!({"n": 1})),
        (
            "Map of 100 Lambda Tasks",
            "map",
            &map_sm,
            json!({"items": hundred}),
        ),
    ];
    for (label, slug, machine, input) in rows {
        // A warm-up first: each worker has parsed the definition.
        d.with_workers(|api| {
            let arns: Vec<String> = (0..args.workers)
                .map(|i| api.start(machine, &format!("{slug}-warm-{i}"), &input))
                .collect::<anyhow::Result<_>>()?;
            api.wait(&arns, timeout)
        })?;
        let runs = 5;
        let ((arns, unfinished), calls, totals) = d.with_workers(|api| {
            let arns: Vec<String> = (0..runs)
                .map(|i| api.start(machine, &format!("{slug}-{i}"), &input))
                .collect::<anyhow::Result<_>>()?;
            let unfinished = api.wait(&arns, timeout)?;
            Ok((arns, unfinished))
        })?;
        let mut transitions = 0;
        for arn in &arns {
            transitions += d.api.transitions(arn)?;
        }
        let dollars = cost::per_million_transitions(
            &calls,
            totals.batches,
            totals.handler_cpu_ms,
            transitions,
        );
        outln!(
            "| {label}{} | {} | {:.1} | {} | ${dollars:.2} |",
            if unfinished > 0 { " (unfinished)" } else { "" },
            transitions / runs,
            calls.total() as f64 / transitions.max(1) as f64,
            totals.batches / runs
        )?;
    }
    // A day cannot pass here: the stepper's tests measure it with the test
    // clock (`stepper_on_moto`, README "What it costs").
    outln!("| one-day Wait | 2 | not run here: measured by `stepper_on_moto` in simulated time | — | — |")?;

    if args.scenario {
        let machine = d.api.create("scenario", &map("work", true))?;
        let before = d.lambda.count();
        let duplicates = d.lambda.duplicates().len();
        let ((wall, unfinished), calls, totals) = d.with_workers(|api| {
            let started = Instant::now();
            let arns: Vec<String> = (0..20)
                .map(|e| {
                    let items: Vec<Value> = (0..200).map(|i| json!(e * 1000 + i)).collect();
                    api.start(
                        &machine,
                        &format!("scenario-{e}"),
                        &json!({ "items": items }),
                    )
                })
                .collect::<anyhow::Result<_>>()?;
            let unfinished = api.wait(&arns, timeout)?;
            Ok((started.elapsed(), unfinished))
        })?;
        outln!()?;
        outln!(
            "## Issue 11's scenario: 20 executions × 200-item Map of Lambda tasks with retries"
        )?;
        outln!(
            "- wall time {:.1} s; {unfinished} of 20 unfinished; {} task invocations; {} duplicate invocations in all",
            wall.as_secs_f64(),
            d.lambda.count() - before,
            d.lambda.duplicates().len() - duplicates
        )?;
        outln!(
            "- {} commits, {} conflicts, {} AWS calls; workers: {} batches, {} failed records",
            calls.commits,
            calls.conflicts,
            calls.total(),
            totals.batches,
            totals.failed
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
