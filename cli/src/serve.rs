//! `flowstate serve`: the Step Functions API on a local port, over the
//! durable runtime and the embedded store (or, with `--backend aws`,
//! DynamoDB + SQS).
//!
//! Wiring only: the protocol is `flowstate_api::router`, the operations are
//! `flowstate_runtime::Service`, the store and timers are
//! `flowstate_embedded::Embedded` or `flowstate_aws::Backend`. What this
//! module adds is the Task invoker ([`LocalInvoker`]: `flowstate.toml`
//! handlers, mocked responses) and the process lifecycle (recover, worker,
//! graceful shutdown).

use crate::tasks::mock::{InvocationCounters, MockConfig};
use crate::tasks::{load_config, LocalTasks, TaskConfig};
use anyhow::Context;
use clap::Args;
use flowstate_asl::errors::{Failure, StatesError};
use flowstate_embedded::{load_or_create_token_key, Embedded};
use flowstate_engine::driver::TaskHandler;
use flowstate_engine::{TaskInvocation, TaskResult};
use flowstate_ports::{InvokeContext, Invoker, Queue, Store, SystemClock};
use flowstate_runtime::{Config, Service};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on. Requests are not authenticated (SigV4
    /// signatures are accepted unchecked): keep it on loopback.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (the URL printed names it).
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// Where state machines, executions and timers are kept.
    #[arg(long, default_value = ".flowstate", conflicts_with = "memory")]
    pub data_dir: PathBuf,
    /// Keep everything in memory: nothing survives the process.
    #[arg(long)]
    pub memory: bool,
    /// Task handlers (default: ./flowstate.toml when it exists).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Mocked Task responses (Step Functions Local's MockConfigFile
    /// format), used by executions started on `STATE_MACHINE_ARN#TestCase`.
    #[arg(long)]
    pub mock_config: Option<PathBuf>,
    /// Create (or update) a state machine from every `*.asl.json`,
    /// `*.asl.yaml` and `*.asl.yml` file under this folder at start, named
    /// after the file (`order.asl.json` → `order`). Repeatable.
    #[arg(long = "load", value_name = "DIR")]
    pub load: Vec<PathBuf>,
    /// Where executions and timers are kept: `embedded` (SQLite in
    /// --data-dir, or --memory) or `aws` (a DynamoDB table and an SQS
    /// queue, reached through the standard AWS configuration:
    /// AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE, credentials). With `aws`,
    /// --data-dir still holds the task token key.
    #[arg(long, value_enum, default_value_t = BackendKind::Embedded)]
    pub backend: BackendKind,
    /// The DynamoDB table (`--backend aws`).
    #[arg(long, required_if_eq("backend", "aws"))]
    pub table: Option<String>,
    /// The SQS queue of steps (`--backend aws`); its dead-letter queue is
    /// QUEUE-dlq.
    #[arg(long, required_if_eq("backend", "aws"))]
    pub queue: Option<String>,
    /// Create the table and the queues when missing (`--backend aws`).
    #[arg(long)]
    pub create_resources: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    Embedded,
    Aws,
}

/// How long in-flight requests may take to finish after a shutdown signal
/// (a StartSyncExecution may be waiting for a callback that never comes).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let tasks = match &args.config {
        Some(p) => load_config(p)?,
        None if std::path::Path::new("flowstate.toml").exists() => load_config("flowstate.toml")?,
        None => TaskConfig::empty("flowstate.toml"),
    };
    let mocks = match &args.mock_config {
        Some(p) => Some(Arc::new((MockConfig::load(p)?, InvocationCounters::new()))),
        None => None,
    };
    let invoker = LocalInvoker { tasks, mocks };
    if args.backend == BackendKind::Aws {
        return serve_aws(args, invoker);
    }
    let (db, token_key) = if args.memory {
        // A fresh key per process: tokens cannot outlive a memory store anyway.
        let key = [
            uuid::Uuid::new_v4().into_bytes(),
            uuid::Uuid::new_v4().into_bytes(),
        ]
        .concat();
        (Embedded::memory()?, key)
    } else {
        let db = Embedded::open(&args.data_dir)?;
        let key = load_or_create_token_key(&args.data_dir).with_context(|| {
            format!(
                "cannot read or create the token key in {}",
                args.data_dir.display()
            )
        })?;
        (db, key)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let where_ = if args.memory {
        "in memory".to_string()
    } else {
        format!("data in {}", args.data_dir.display())
    };
    runtime.block_on(serve(args, db.clone(), db, token_key, invoker, where_))?;
    Ok(ExitCode::SUCCESS)
}

/// `--backend aws`: DynamoDB + SQS from the standard AWS configuration.
fn serve_aws(args: ServeArgs, invoker: LocalInvoker) -> anyhow::Result<ExitCode> {
    let (Some(table), Some(queue)) = (args.table.clone(), args.queue.clone()) else {
        anyhow::bail!("--backend aws needs --table and --queue");
    };
    let token_key = load_or_create_token_key(&args.data_dir).with_context(|| {
        format!(
            "cannot read or create the token key in {}",
            args.data_dir.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let settings = flowstate_aws::Settings::new(&table, &queue);
        let backend = flowstate_aws::Backend::from_env(settings).await;
        if args.create_resources {
            backend
                .create_resources()
                .await
                .context("cannot create the AWS resources")?;
        }
        let where_ = format!("DynamoDB table {table}, SQS queue {queue}");
        serve(args, backend.clone(), backend, token_key, invoker, where_).await
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn serve<S: Store, Q: Queue>(
    args: ServeArgs,
    store: S,
    queue: Q,
    token_key: Vec<u8>,
    invoker: LocalInvoker,
    where_: String,
) -> anyhow::Result<()> {
    let config = Config {
        token_key,
        // DynamoDB + SQS may be shared with other processes (the stack's
        // functions): cached executions are not the last word there.
        sole_writer: args.backend == BackendKind::Embedded,
        ..Config::default()
    };
    let service = Service::new(store, queue, invoker, SystemClock, config);
    // Effects committed before a crash but not performed are performed now;
    // timers already due fire as soon as the worker starts.
    let recovered = service
        .recover()
        .await
        .context("cannot recover pending work from the store")?;

    for dir in &args.load {
        load_state_machines(&service, dir).await?;
    }

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let worker = tokio::spawn({
        let service = service.clone();
        let stopped = stopped();
        async move { service.run_worker(stopped).await }
    });

    // Tests and scripts read this line for the port (`--port 0`).
    println!("flowstate serve: listening on http://{addr} ({where_})");
    println!("flowstate serve: open http://{addr}/ to design, run and inspect workflows");
    if recovered > 0 {
        println!("flowstate serve: resumed {recovered} pending effects");
    }
    let _ = std::io::stdout().flush();

    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    // The API answers POST on every path; the web app only GETs.
    let app = flowstate_api::router(Arc::new(service)).merge(flowstate_web::router());
    let server = axum::serve(listener, app).with_graceful_shutdown(stopped());
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        r = &mut server => r.context("the server failed")?,
        _ = async { stopped().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            eprintln!("flowstate serve: requests still open after {}s; exiting", SHUTDOWN_GRACE.as_secs());
        }
    }
    let _ = worker.await;
    eprintln!("flowstate serve: stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `docker stop`, systemd and test harnesses send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Performs Task states for the server: a mocked response when the
/// execution runs a test case that mocks the state, else the
/// `flowstate.toml` handler (on a blocking thread: handlers run processes
/// and make blocking HTTP calls).
struct LocalInvoker {
    tasks: TaskConfig,
    /// The mock config and, per execution and state, how many times each
    /// was invoked (which mocked response answers).
    mocks: Option<Arc<(MockConfig, InvocationCounters)>>,
}

impl LocalInvoker {
    /// The mocked answer, or `None` when the real handler performs the task.
    fn mocked(&self, context: &InvokeContext, task: &TaskInvocation) -> Option<TaskResult> {
        let case = context.test_case.as_deref()?;
        let Some(mocks) = &self.mocks else {
            return Some(TaskResult::Failed(Failure::states(
                StatesError::Runtime,
                format!("the execution runs test case '{case}' but flowstate serve was started without --mock-config"),
            )));
        };
        let (config, counters) = &**mocks;
        // arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME
        let machine = context.execution_arn.split(':').nth(6).unwrap_or_default();
        match config.for_execution(machine, case) {
            Ok(case) if case.mocks(&task.state_name) => {
                let n = counters.next(
                    &context.execution_arn,
                    &task.state_name,
                    &context.invocation_id,
                );
                case.answer(&task.state_name, n)
            }
            Ok(_) => None,
            Err(e) => Some(TaskResult::Failed(Failure::states(
                StatesError::Runtime,
                e.to_string(),
            ))),
        }
    }
}

/// How `LocalTasks` begins the cause of a task whose resource has no
/// handler. Keyed on so that an unmapped `.waitForTaskToken` task waits for
/// SendTaskSuccess instead of failing; the serve tests pin the behaviour.
const UNMAPPED_CAUSE_PREFIX: &str = "No local handler for the ";

impl Invoker for LocalInvoker {
    fn invoke(
        &self,
        context: &InvokeContext,
        task: &TaskInvocation,
    ) -> impl Future<Output = TaskResult> + Send {
        let mocked = self.mocked(context, task);
        let tasks = self.tasks.clone();
        let task = task.clone();
        async move {
            if let Some(r) = mocked {
                return r;
            }
            let waits = task.task_token.is_some();
            let result =
                tokio::task::spawn_blocking(move || LocalTasks::new(tasks).invoke(&task)).await;
            match result {
                // Unlike `flowstate run`, the server has callers who can
                // answer: a `.waitForTaskToken` task nobody handles locally
                // waits for SendTaskSuccess/Failure with its token (which the
                // definition passes in its parameters, visible in the
                // history). A mapped handler still answers for the callback,
                // as with `flowstate run`.
                Ok(TaskResult::Failed(f))
                    if waits
                        && f.error == StatesError::TaskFailed.name()
                        && f.cause
                            .as_deref()
                            .is_some_and(|c| c.starts_with(UNMAPPED_CAUSE_PREFIX)) =>
                {
                    TaskResult::AwaitingCallback
                }
                Ok(r) => r,
                Err(e) => TaskResult::Failed(Failure::states(
                    StatesError::TaskFailed,
                    format!("the task handler stopped unexpectedly: {e}"),
                )),
            }
        }
    }
}

/// Definition files under `dir`, recursively, in name order.
fn definition_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            definition_files(&p, out)?;
        } else if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
            if [".asl.json", ".asl.yaml", ".asl.yml"]
                .iter()
                .any(|x| name.ends_with(x))
            {
                out.push(p);
            }
        }
    }
    Ok(())
}

/// `--load DIR`: creates or updates a state machine per definition file.
/// A file that is not a valid definition is reported and skipped, so one
/// broken example does not keep the server from starting.
async fn load_state_machines<S, Q, I, C>(
    service: &Service<S, Q, I, C>,
    dir: &std::path::Path,
) -> anyhow::Result<()>
where
    S: flowstate_ports::Store,
    Q: flowstate_ports::Queue,
    I: Invoker,
    C: flowstate_ports::Clock,
{
    let mut files = Vec::new();
    definition_files(dir, &mut files).with_context(|| format!("cannot read {}", dir.display()))?;
    for file in files {
        let file_name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let name = file_name
            .split(".asl.")
            .next()
            .unwrap_or(file_name)
            .to_string();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let definition = match flowstate_asl::definition::parse_document(&text) {
            Ok(v) => v.to_string(),
            Err(m) => {
                eprintln!("flowstate serve: skipped {}: {m}", file.display());
                continue;
            }
        };
        let created = service
            .create_state_machine(flowstate_runtime::CreateStateMachine {
                name: name.clone(),
                definition: definition.clone(),
                role_arn: "arn:aws:iam::123456789012:role/flowstate".into(),
                kind: flowstate_ports::WorkflowType::Standard,
                description: None,
            })
            .await;
        let outcome = match created {
            Ok(sm) => Ok(sm.arn),
            Err(e) if e.code() == "StateMachineAlreadyExists" => {
                let arn = e.to_string();
                let arn = service
                    .list_state_machines(flowstate_ports::PageRequest::default())
                    .await
                    .ok()
                    .and_then(|page| {
                        page.items
                            .into_iter()
                            .find(|sm| sm.name == name)
                            .map(|sm| sm.arn)
                    })
                    .unwrap_or(arn);
                service
                    .update_state_machine(
                        &arn,
                        flowstate_runtime::UpdateStateMachine {
                            definition: Some(definition),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|sm| sm.arn)
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(arn) => println!("flowstate serve: loaded {} as {arn}", file.display()),
            Err(e) if e.code() == "InvalidDefinition" => eprintln!(
                "flowstate serve: skipped {}: not a valid definition (`flowstate validate {}` lists why)",
                file.display(),
                file.display()
            ),
            Err(e) => eprintln!("flowstate serve: skipped {}: {e}", file.display()),
        }
    }
    Ok(())
}
