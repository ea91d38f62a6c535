//! `flowstate serve`: the Step Functions API on a local port, over the
//! durable runtime and the embedded store (or, with `--backend aws`,
//! DynamoDB + SQS).
//!
//! Wiring only: the protocol is `flowstate_api::router`, the operations are
//! `flowstate_runtime::Service`, the store and timers are
//! `flowstate_embedded::Embedded` or `flowstate_aws::AwsBackend`, the Task
//! invoker is `flowstate_local_tasks::LocalInvoker` (`flowstate.toml`
//! handlers, mocked responses). What this module adds is `--load` and the
//! process lifecycle (recover, worker, graceful shutdown). With `--backend
//! aws --no-worker` the service is the API function's
//! (`flowstate_lambda::Wiring`) and `flowstate worker` processes advance
//! the executions.

use crate::serve_clock::{self, ServeClock};
use anyhow::Context;
use clap::Args;
use flowstate_embedded::{load_or_create_token_key, Embedded};
use flowstate_local_tasks::{LocalInvoker, MockConfig};
use flowstate_ports::{Invoker, Queue, Store};
use flowstate_runtime::{Config, CreateStateMachine, Service, ServiceError};
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
    /// Default: $SFN_MOCK_CONFIG, else $LOCALSTACK_SFN_MOCK_CONFIG, if set.
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
    /// Serve the API only, as the stack's API function does (`--backend
    /// aws`): no worker in this process and the functions' runtime
    /// configuration — Task states performed on AWS by `flowstate worker`
    /// processes (Lambda through `AWS_ENDPOINT_URL_LAMBDA` when set), the
    /// stack's task token key (--kms-key). Handlers of --config do not
    /// apply.
    #[arg(long, conflicts_with_all = ["config", "mock_config"])]
    pub no_worker: bool,
    /// Scales the time executions wait for timers (Wait states, retry
    /// back-offs, timeouts), like `flowstate run`'s: `0.01` a hundred times
    /// faster, `0` not at all; `1` (the default) in real time. Time runs
    /// faster for every execution, only while none has a task being
    /// performed. Embedded store only; `POST /_flowstate/clock/next-timer`
    /// moves time to the next timer at any scale.
    #[arg(long, default_value_t = 1.0)]
    pub wait_scale: f64,
    /// The region of the ARNs this server creates when a request does not
    /// name one in its SigV4 credential scope. Default: $AWS_REGION, else
    /// $AWS_DEFAULT_REGION, else us-east-1.
    #[arg(long)]
    pub region: Option<String>,
    /// The account of the ARNs this server creates when a request does not
    /// name one (a 12-digit access key id does).
    #[arg(long, default_value = "123456789012")]
    pub account_id: String,
    #[command(flatten)]
    pub stack: crate::worker::StackArgs,
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
    if !(args.wait_scale >= 0.0 && args.wait_scale.is_finite()) {
        anyhow::bail!("--wait-scale must be a number >= 0");
    }
    if args.wait_scale != 1.0 && args.backend == BackendKind::Aws {
        // SQS delays messages in real time: a local clock cannot hurry them.
        anyhow::bail!(
            "--wait-scale needs the embedded store; on --backend aws, move time with FLOWSTATE_TEST_CLOCK_FILE"
        );
    }
    if args.no_worker {
        return serve_api_only(args);
    }
    let tasks = crate::task_config(args.config.as_deref())?;
    // The flag first, then SFN_MOCK_CONFIG, then LOCALSTACK_SFN_MOCK_CONFIG.
    let mocks = match &args.mock_config {
        Some(p) => Some(MockConfig::load(p)?),
        None => MockConfig::from_env()?,
    };
    let invoker = LocalInvoker::new(tasks, mocks).with_log(crate::handler_log());
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
/// The task token key is the stack's with --kms-key (shared with the
/// stack's functions and `flowstate worker` processes), else the one in
/// --data-dir.
fn serve_aws(args: ServeArgs, invoker: LocalInvoker) -> anyhow::Result<ExitCode> {
    let (table, queue) = aws_names(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let backend = aws_backend(&args, &table, &queue).await?;
        let token_key = match args.stack.kms_key.as_deref().filter(|k| !k.is_empty()) {
            Some(kms_key) => {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                flowstate_aws::token_key::load_or_create_task_token_key(&sdk, &table, kms_key)
                    .await
                    .context("cannot load the stack's task token key")?
            }
            None => load_or_create_token_key(&args.data_dir).with_context(|| {
                format!(
                    "cannot read or create the token key in {}",
                    args.data_dir.display()
                )
            })?,
        };
        let where_ = format!("DynamoDB table {table}, SQS queue {queue}");
        serve(args, backend.clone(), backend, token_key, invoker, where_).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The region the standard environment names: `AWS_REGION`, else
/// `AWS_DEFAULT_REGION` (empty counts as unset).
fn region_from_env(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .filter_map(lookup)
        .find(|r| !r.is_empty())
}

/// `--table` and `--queue`, which `--backend aws` needs.
fn aws_names(args: &ServeArgs) -> anyhow::Result<(String, String)> {
    match (&args.table, &args.queue) {
        (Some(table), Some(queue)) if args.backend == BackendKind::Aws => {
            Ok((table.clone(), queue.clone()))
        }
        _ => anyhow::bail!("--backend aws needs --table and --queue"),
    }
}

/// The backend of `--backend aws`, its resources created first with
/// --create-resources.
async fn aws_backend(
    args: &ServeArgs,
    table: &str,
    queue: &str,
) -> anyhow::Result<flowstate_aws::AwsBackend> {
    let settings = flowstate_aws::Settings::new(table, queue);
    let backend = flowstate_aws::AwsBackend::from_env(settings).await;
    if args.create_resources {
        backend
            .create_resources()
            .await
            .context("cannot create the AWS resources")?;
    }
    Ok(backend)
}

/// `--backend aws --no-worker`: the API function's service (its wiring,
/// `flowstate_lambda::Wiring`), served without authentication and without
/// a worker; `flowstate worker` processes advance the executions.
fn serve_api_only(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.backend != BackendKind::Aws {
        anyhow::bail!(
            "--no-worker needs --backend aws (the embedded store's worker is this process)"
        );
    }
    let (table, queue) = aws_names(&args)?;
    let settings = args.stack.settings(&table, &queue)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Only to create the resources; the service has the wiring's own.
        aws_backend(&args, &table, &queue).await?;
        let wiring = flowstate_lambda::Wiring::for_process(settings).await?;
        let service = wiring
            .service()
            .await
            .context("cannot load the stack's task token key")?;
        let where_ = format!(
            "DynamoDB table {table}, SQS queue {queue}; no worker: `flowstate worker` processes advance executions"
        );
        listen(args, service, None, where_, None).await
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
    let region = args
        .region
        .clone()
        .or_else(|| region_from_env(|name| std::env::var(name).ok()))
        .unwrap_or_else(|| "us-east-1".into());
    let config = Config {
        region,
        account: args.account_id.clone(),
        token_key,
        // DynamoDB + SQS may be shared with other processes (the stack's
        // functions): cached executions are not the last word there.
        sole_writer: args.backend == BackendKind::Embedded,
        ..Config::default()
    };
    let clock = ServeClock::new(args.wait_scale);
    let service = Service::new(store, queue, invoker, clock, config);
    // Effects committed before a crash but not performed are performed now;
    // timers already due fire as soon as the worker starts.
    let recovered = service
        .recover()
        .await
        .context("cannot recover pending work from the store")?;
    // Only the embedded queue's timers follow this process's clock.
    let clock_routes = (args.backend == BackendKind::Embedded).then(|| {
        tokio::spawn(serve_clock::pace(
            service.clone(),
            std::future::pending::<()>(),
        ));
        serve_clock::router(service.clone())
    });
    listen(args, service, Some(recovered), where_, clock_routes).await
}

/// Serves the API over `service`; with `recovered` (the effects recovery
/// performed) also runs its worker.
async fn listen<S, Q, I, C>(
    args: ServeArgs,
    service: Service<S, Q, I, C>,
    recovered: Option<usize>,
    where_: String,
    clock_routes: Option<axum::Router>,
) -> anyhow::Result<()>
where
    S: Store,
    Q: Queue,
    I: Invoker,
    C: flowstate_ports::Clock,
{
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
    let worker = recovered.is_some().then(|| {
        tokio::spawn({
            let service = service.clone();
            let stopped = stopped();
            async move { service.run_worker(stopped).await }
        })
    });

    // Signal handlers are registered before the server says it is ready:
    // a SIGTERM sent right after the "listening" line must stop it
    // cleanly, not kill it with the default action.
    let shutdown = shutdown_signal()?;
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    // Tests and scripts read this line for the port (`--port 0`). A
    // closed stdout does not stop the server.
    let _ = crate::output::stdout(|w| {
        writeln!(w, "flowstate serve: listening on http://{addr} ({where_})")?;
        writeln!(
            w,
            "flowstate serve: open http://{addr}/ to design, run and inspect workflows"
        )?;
        if let Some(recovered) = recovered.filter(|r| *r > 0) {
            writeln!(w, "flowstate serve: resumed {recovered} pending effects")?;
        }
        Ok(())
    });

    // The API answers POST on every path; the web app only GETs.
    let mut app = flowstate_api::router(Arc::new(service)).merge(flowstate_web::router());
    if let Some(routes) = clock_routes {
        app = app.merge(routes);
    }
    let server = axum::serve(listener, app).with_graceful_shutdown(stopped());
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        r = &mut server => r.context("the server failed")?,
        _ = async { stopped().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            errln!("flowstate serve: requests still open after {}s; exiting", SHUTDOWN_GRACE.as_secs());
        }
    }
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    errln!("flowstate serve: stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `docker stop`, systemd and test harnesses
/// send). The handlers are installed when this is called, not when the
/// future is first polled.
pub(crate) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
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
                errln!("flowstate serve: skipped {}: {m}", file.display());
                continue;
            }
        };
        let loaded = service
            .create_or_update_state_machine(CreateStateMachine {
                name,
                definition,
                role_arn: "arn:aws:iam::123456789012:role/flowstate".into(),
                kind: flowstate_ports::WorkflowType::Standard,
                description: None,
            })
            .await;
        match loaded {
            Ok(sm) => {
                let _ = outln!("flowstate serve: loaded {} as {}", file.display(), sm.arn);
            }
            Err(ServiceError::InvalidDefinition(_)) => errln!(
                "flowstate serve: skipped {}: not a valid definition (`flowstate validate {}` lists why)",
                file.display(),
                file.display()
            ),
            Err(e) => errln!("flowstate serve: skipped {}: {e}", file.display()),
        }
    }
    Ok(())
}
