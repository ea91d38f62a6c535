//! The corpus against any endpoint that speaks the Step Functions API
//! (`flowstate serve`, Step Functions Local, AWS itself), through the Rust
//! AWS SDK.
//!
//! Per case: CreateStateMachine (a STANDARD machine with a unique name),
//! StartExecution, DescribeExecution until the execution leaves `RUNNING`
//! (StopExecution and a failure after the per-case timeout),
//! GetExecutionHistory (every page) when the case lists history event
//! types, [`Case::check`](super::Case::check), then DeleteStateMachine.
//! Several cases run at once.
//!
//! Credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN`, else `test`/`test`; nothing else of the AWS
//! configuration (profiles, `AWS_ENDPOINT_URL`) is read, so the runner only
//! ever talks to the endpoint it is given.

use super::json::{cut, Numbers};
use super::{Case, Observed, Output};
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::timeout::TimeoutConfig;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::Client;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The role every state machine is created with.
pub const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/flowstate";

/// How to run the corpus against an endpoint.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The API's URL, e.g. `http://127.0.0.1:8083`.
    pub endpoint: String,
    /// Cases run at once.
    pub jobs: usize,
    /// How long an execution may run before the case fails.
    pub timeout: Duration,
    pub region: String,
    pub role_arn: String,
    /// Whether to fetch and compare history event types.
    pub history: bool,
    pub numbers: Numbers,
    /// Keep the state machines instead of deleting them.
    pub keep: bool,
}

impl RunOptions {
    /// Four cases at once, 60 s per execution, `us-east-1`, history
    /// compared, numbers by value, state machines deleted.
    pub fn new(endpoint: impl Into<String>) -> RunOptions {
        RunOptions {
            endpoint: endpoint.into(),
            jobs: 4,
            timeout: Duration::from_secs(60),
            region: "us-east-1".into(),
            role_arn: DEFAULT_ROLE_ARN.into(),
            history: true,
            numbers: Numbers::ByValue,
            keep: false,
        }
    }
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// With every difference found, or the call that failed.
    Fail(String),
    /// With the case's `skip` reason.
    Skip(String),
}

/// One case's verdict and how long it took.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub id: String,
    pub category: String,
    pub verdict: Verdict,
    pub duration: Duration,
}

/// Every case's result, in the order they finished.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub results: Vec<CaseResult>,
    pub wall: Duration,
}

impl Report {
    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.verdict)).count()
    }

    pub fn passed(&self) -> usize {
        self.count(|v| *v == Verdict::Pass)
    }

    pub fn failed(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Fail(_)))
    }

    pub fn skipped(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Skip(_)))
    }

    /// `N passed, M failed` (`, K skipped` when some were).
    pub fn summary(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            line.push_str(&format!(", {} skipped", self.skipped()));
        }
        line
    }

    /// `FAIL <id>: <reason>` for each failed case, by id.
    pub fn failure_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .results
            .iter()
            .filter_map(|r| match &r.verdict {
                Verdict::Fail(why) => Some(format!("FAIL {}: {why}", r.id)),
                _ => None,
            })
            .collect();
        lines.sort();
        lines
    }
}

/// A client for `options.endpoint` only (see the module docs).
pub fn client(options: &RunOptions) -> Client {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = Credentials::new(
        env("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        env("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        env("AWS_SESSION_TOKEN"),
        None,
        "flowstate-conformance",
    );
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(options.region.clone()))
        .credentials_provider(credentials)
        .endpoint_url(&options.endpoint)
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(options.timeout.max(Duration::from_secs(30)))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Runs `cases`, `options.jobs` at a time (those that wait in real time
/// first), calling `on_result` as each one ends (e.g. to print failures as
/// they come).
pub async fn run(
    cases: Vec<Case>,
    options: &RunOptions,
    mut on_result: impl FnMut(&CaseResult),
) -> Report {
    let started = Instant::now();
    let client = client(options);
    let mut cases = cases;
    // Cases that wait in real time (Retry back-offs of up to ~7 s, Wait
    // states) start first, so that they do not finish last, alone.
    cases.sort_by_key(|c| !c.features.iter().any(|f| f == "retry" || f == "wait"));
    let cases = Arc::new(cases);
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..options.jobs.clamp(1, cases.len().max(1)) {
        let (cases, next, tx) = (cases.clone(), next.clone(), tx.clone());
        let (client, options) = (client.clone(), options.clone());
        tokio::spawn(async move {
            while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                let t = Instant::now();
                let verdict = run_case(&client, case, &options).await;
                let result = CaseResult {
                    id: case.id.clone(),
                    category: case.category.clone(),
                    verdict,
                    duration: t.elapsed(),
                };
                if tx.send(result).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut report = Report::default();
    while let Some(result) = rx.recv().await {
        on_result(&result);
        report.results.push(result);
    }
    report.wall = started.elapsed();
    report
}

/// One case, from CreateStateMachine to DeleteStateMachine.
pub async fn run_case(client: &Client, case: &Case, options: &RunOptions) -> Verdict {
    if let Some(reason) = case.skip_reason() {
        return Verdict::Skip(reason);
    }
    let created = client
        .create_state_machine()
        .name(unique_name(&case.id))
        .definition(case.definition_text())
        .role_arn(&options.role_arn)
        .send()
        .await;
    let arn = match created {
        Ok(out) => out.state_machine_arn().to_string(),
        Err(e) => return Verdict::Fail(call_failed("CreateStateMachine", &e)),
    };
    let verdict = match execute(client, case, &arn, options).await {
        Ok(()) => Verdict::Pass,
        Err(why) => Verdict::Fail(why),
    };
    if !options.keep {
        // A state machine left behind changes no verdict.
        let _ = client
            .delete_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await;
    }
    verdict
}

/// Starts the case's execution, waits for its end and compares.
async fn execute(
    client: &Client,
    case: &Case,
    state_machine_arn: &str,
    options: &RunOptions,
) -> Result<(), String> {
    let started = client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .input(case.input.to_string())
        .send()
        .await
        .map_err(|e| call_failed("StartExecution", &e))?;
    let arn = started.execution_arn();
    let deadline = Instant::now() + options.timeout;
    // Short first polls (most cases end within milliseconds), then
    // backing off so that slow cases do not load the endpoint.
    let mut interval = Duration::from_millis(50);
    let described = loop {
        let d = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| call_failed("DescribeExecution", &e))?;
        let status = d.status().as_str();
        if !matches!(status, "RUNNING" | "PENDING_REDRIVE") {
            break d;
        }
        if Instant::now() > deadline {
            // Only to tidy up: the case has failed either way.
            let _ = client.stop_execution().execution_arn(arn).send().await;
            return Err(format!(
                "timeout: still {status} after {}s",
                options.timeout.as_secs_f64()
            ));
        }
        tokio::time::sleep(interval).await;
        interval = (interval.mul_f64(1.5)).min(Duration::from_millis(500));
    };
    let observed = Observed {
        status: described.status().as_str().to_string(),
        output: described.output().map(Output::from_text),
        error: described.error().map(String::from),
        cause: described.cause().map(String::from),
    };
    case.check_result(&observed, options.numbers)
        .map_err(|m| m.0)?;
    if options.history && case.checks_history() {
        let types = history_types(client, arn).await?;
        case.check_history(&types).map_err(|m| m.0)?;
    }
    Ok(())
}

/// Every history event's type, following `nextToken`.
async fn history_types(client: &Client, execution_arn: &str) -> Result<Vec<String>, String> {
    let mut types = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| call_failed("GetExecutionHistory", &e))?;
        types.extend(
            page.events()
                .iter()
                .map(|e| e.r#type().as_str().to_string()),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(types),
        }
    }
}

/// A state machine name from the case id: only the characters names
/// allow, cut to 60, and a random suffix so that runs never collide.
fn unique_name(id: &str) -> String {
    let base: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{base}-{}", &suffix[..12])
}

fn call_failed(action: &str, e: &impl std::error::Error) -> String {
    format!(
        "{action} failed: {}",
        cut(&DisplayErrorContext(e).to_string(), 300)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_allowed_characters_and_are_unique() {
        let a = unique_name("base.state_fail-x y");
        assert!(a.starts_with("base_state_fail-x_y-"), "{a}");
        assert_eq!(a.len(), "base_state_fail-x_y-".len() + 12);
        assert_ne!(a, unique_name("base.state_fail-x y"));
        assert_eq!(unique_name(&"x".repeat(100)).len(), 60 + 1 + 12);
    }

    #[test]
    fn summary_counts_skips_only_when_there_are_some() {
        let result = |id: &str, verdict| CaseResult {
            id: id.into(),
            category: String::new(),
            verdict,
            duration: Duration::ZERO,
        };
        let mut report = Report {
            results: vec![
                result("b", Verdict::Fail("why".into())),
                result("a", Verdict::Pass),
            ],
            wall: Duration::ZERO,
        };
        assert_eq!(report.summary(), "1 passed, 1 failed");
        assert_eq!(report.failure_lines(), vec!["FAIL b: why".to_string()]);
        report.results.push(result("c", Verdict::Skip("s".into())));
        assert_eq!(report.summary(), "1 passed, 1 failed, 1 skipped");
    }
}
