//! Fuzzing of what a user can hand Flowstate: the definition reader (JSON
//! and YAML), the validator, JSONPath, intrinsic functions, JSONata and the
//! Step Functions API.
//!
//! One [`Target`] per part. [`generate`] makes a [`Case`] for a target from
//! a seeded [`fastrand::Rng`] and the [`corpus::Corpus`] (recorded cases
//! and the JSONata suite, mutated, plus the grammar generators of [`gen`]);
//! [`check`] runs it and checks the target's properties: that it returns
//! (a panic is caught by the caller), within the step bound, with outputs
//! within the README's bounds and errors of the documented kinds. The
//! bounded property tests (`tests/properties.rs`) and the long run
//! (`src/main.rs`) share both.
//!
//! ```
//! use flowstate_fuzz::{check, corpus::Corpus, generate, Runner, Target};
//! let corpus = Corpus::load(&flowstate_fuzz::corpus::default_data_dir()).unwrap();
//! let mut rng = fastrand::Rng::with_seed(7);
//! let mut runner = Runner::default();
//! let case = generate(Target::Jsonata, &mut rng, &corpus);
//! check(Target::Jsonata, &case, &mut runner).unwrap();
//! ```

pub mod corpus;
pub mod gen;

use corpus::Corpus;
use fastrand::Rng;
use flowstate_asl::definition::{parse_document, StateMachine};
use flowstate_asl::intrinsics::Intrinsic;
use flowstate_asl::jsonpath::JsonPath;
use flowstate_asl::StaticScope;
use serde_json::{json, Value};

/// The value bound of the README's Limits: what a JSONata expression may
/// build, and so what any evaluation may return.
pub const MAX_VALUE_BYTES: usize = flowstate_jsonata::MAX_VALUE_BYTES;

/// serde_json's recursion limit: the deepest value that can be read back.
pub const MAX_VALUE_DEPTH: usize = 128;

/// The parts fuzzed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// JSON and YAML text to a definition ([`StateMachine::from_text`]).
    Reader,
    /// Definitions (mostly mutated recorded ones) to diagnostics, as
    /// ValidateStateMachineDefinition and CreateStateMachine check them.
    Validator,
    /// JSONPath paths selected from and assigned into values.
    JsonPath,
    /// `States.*` intrinsic-function calls.
    Intrinsics,
    /// JSONata expressions evaluated against inputs.
    Jsonata,
    /// Requests to the API router over the runtime on the embedded store.
    Api,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Reader,
        Target::Validator,
        Target::JsonPath,
        Target::Intrinsics,
        Target::Jsonata,
        Target::Api,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Reader => "reader",
            Target::Validator => "validator",
            Target::JsonPath => "jsonpath",
            Target::Intrinsics => "intrinsics",
            Target::Jsonata => "jsonata",
            Target::Api => "api",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One input: a text (document, path, expression, request body) and a
/// value (the data it reads, or the request's target and headers).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub text: String,
    pub data: Value,
}

impl Case {
    /// As saved in a crash file.
    pub fn to_json(&self, target: Target) -> Value {
        json!({"target": target.name(), "text": self.text, "data": self.data})
    }

    pub fn from_json(v: &Value) -> Option<(Target, Case)> {
        let target = Target::from_name(v.get("target")?.as_str()?)?;
        let text = v.get("text")?.as_str()?.to_string();
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        Some((target, Case { text, data }))
    }
}

/// A property that did not hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Violation(pub String);

fn violation(msg: impl Into<String>) -> Result<(), Violation> {
    Err(Violation(msg.into()))
}

/// A case for `target`.
pub fn generate(target: Target, rng: &mut Rng, corpus: &Corpus) -> Case {
    match target {
        Target::Reader => reader_case(rng, corpus),
        Target::Validator => Case {
            text: mutated_definition(rng, corpus).to_string(),
            data: Value::Null,
        },
        Target::JsonPath => Case {
            text: from_seed_or(rng, &corpus.paths, gen::jsonpath),
            data: document(rng, corpus),
        },
        Target::Intrinsics => Case {
            text: match rng.u8(0..8) {
                0 => gen::intrinsic_tower(rng),
                _ => from_seed_or(rng, &corpus.intrinsics, |r| gen::intrinsic(r, 3)),
            },
            data: document(rng, corpus),
        },
        Target::Jsonata => Case {
            text: match rng.u8(0..10) {
                0 => gen::jsonata_chain(rng),
                1..=4 => from_seed_or(rng, &corpus.jsonata, |r| gen::jsonata(r, 4)),
                _ => gen::jsonata(rng, 5),
            },
            data: document(rng, corpus),
        },
        Target::Api => api_case(rng, corpus),
    }
}

/// A seed, mutated a few times, or a fresh one from `fresh`.
fn from_seed_or(rng: &mut Rng, seeds: &[String], fresh: impl Fn(&mut Rng) -> String) -> String {
    if seeds.is_empty() || rng.u8(0..3) == 0 {
        return fresh(rng);
    }
    let mut s = seeds[rng.usize(0..seeds.len())].clone();
    for _ in 0..rng.usize(0..4) {
        if rng.u8(0..3) == 0 {
            // Splice a fresh fragment in: deeper structure than bytes reach.
            let i = (0..=s.len())
                .filter(|i| s.is_char_boundary(*i))
                .nth(rng.usize(0..=s.len()) / 2)
                .unwrap_or(0);
            s.insert_str(i, &fresh(rng));
        } else {
            gen::mutate_text(rng, &mut s);
        }
    }
    s
}

fn document(rng: &mut Rng, corpus: &Corpus) -> Value {
    match rng.u8(0..4) {
        0 | 1 if !corpus.documents.is_empty() => {
            let mut d = corpus.documents[rng.usize(0..corpus.documents.len())].clone();
            if rng.bool() {
                gen::mutate_value(rng, &mut d, &[]);
            }
            d
        }
        2 => {
            let levels = rng.usize(0..130);
            gen::nested(rng, levels)
        }
        _ => gen::value(rng, 4),
    }
}

fn mutated_definition(rng: &mut Rng, corpus: &Corpus) -> Value {
    let mut d = corpus.definitions[rng.usize(0..corpus.definitions.len())].clone();
    let mut names = Vec::new();
    gen::state_names(&d, &mut names);
    for _ in 0..rng.usize(0..5) {
        gen::mutate_value(rng, &mut d, &names);
    }
    d
}

fn reader_case(rng: &mut Rng, corpus: &Corpus) -> Case {
    let d = mutated_definition(rng, corpus);
    let mut text = match rng.u8(0..4) {
        0 => serde_yaml::to_string(&d).unwrap_or_default(),
        1 => serde_json::to_string_pretty(&d).unwrap_or_default(),
        2 => yaml_bomb(rng),
        _ => d.to_string(),
    };
    for _ in 0..rng.usize(0..6) {
        gen::mutate_text(rng, &mut text);
    }
    Case {
        text,
        data: Value::Null,
    }
}

/// Anchors that repeat the one before, and deep flow nesting: what the
/// YAML bounds are for.
fn yaml_bomb(rng: &mut Rng) -> String {
    if rng.bool() {
        let levels = rng.usize(1..12);
        let mut s = String::from("a: &a0 [\"lol\",\"lol\"]\n");
        for i in 1..levels {
            let refs = vec![format!("*a{}", i - 1); rng.usize(2..10)].join(",");
            s.push_str(&format!("b{i}: &a{i} [{refs}]\n"));
        }
        s.push_str(&format!("StartAt: *a{}\n", levels - 1));
        s
    } else {
        let n = rng.usize(100..3000);
        format!("StartAt: {}x{}", "[".repeat(n), "]".repeat(rng.usize(0..n)))
    }
}

const ACTIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ListStateMachines",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "DescribeStateMachineForExecution",
    "ValidateStateMachineDefinition",
    "CreateActivity",
    "DescribeActivity",
    "DeleteActivity",
    "ListActivities",
    "GetActivityTask",
];

const MEMBERS: &[&str] = &[
    "name",
    "definition",
    "roleArn",
    "type",
    "stateMachineArn",
    "executionArn",
    "input",
    "maxResults",
    "nextToken",
    "statusFilter",
    "includedData",
    "taskToken",
    "output",
    "error",
    "cause",
    "reverseOrder",
    "includeExecutionData",
    "loggingConfiguration",
    "tracingConfiguration",
    "publish",
    "versionDescription",
    "severity",
    "revisionId",
    "traceHeader",
    "tags",
    "description",
    "encryptionConfiguration",
    "activityArn",
    "workerName",
];

/// Machines the API target creates first, so that later requests of a
/// run can name them (an ARN is the account's and region's, then the name).
pub const API_MACHINES: &[&str] = &["fuzz-standard", "fuzz-express"];
const ARN_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:";

fn member_value(rng: &mut Rng, member: &str, corpus: &Corpus) -> Value {
    if rng.u8(0..5) == 0 {
        return gen::value(rng, 3);
    }
    match member {
        "definition" => {
            let d = mutated_definition(rng, corpus);
            Value::String(if rng.u8(0..4) == 0 {
                serde_yaml::to_string(&d).unwrap_or_default()
            } else {
                d.to_string()
            })
        }
        "input" | "output" => Value::String(match rng.u8(0..4) {
            0 => {
                let levels = rng.usize(90..140);
                gen::nested(rng, levels).to_string()
            }
            1 => gen::string(rng),
            _ => document(rng, corpus).to_string(),
        }),
        "stateMachineArn" => Value::String(match rng.u8(0..4) {
            0 => gen::string(rng),
            _ => format!("{ARN_PREFIX}stateMachine:{}", gen::pick(rng, API_MACHINES)),
        }),
        "executionArn" => Value::String(format!(
            "{ARN_PREFIX}execution:{}:{}",
            gen::pick(rng, API_MACHINES),
            gen::pick(rng, &["e1", "e2", "", "x:y"])
        )),
        "name" => Value::String(match rng.u8(0..3) {
            0 => gen::string(rng),
            1 => gen::pick(rng, API_MACHINES).to_string(),
            _ => gen::pick(rng, &["e1", "e2"]).to_string(),
        }),
        // Never an activity CreateActivity made (names are `e1`, `e2`, the
        // machines' or random): GetActivityTask on one would wait 60 s.
        "activityArn" => Value::String(match rng.u8(0..3) {
            0 => gen::string(rng),
            _ => format!("{ARN_PREFIX}activity:no-such-{}", gen::string(rng)),
        }),
        "roleArn" => Value::String("arn:aws:iam::123456789012:role/r".into()),
        "type" => Value::String(gen::pick(rng, &["STANDARD", "EXPRESS", "express", ""]).into()),
        "maxResults" => json!(gen::pick(rng, &[-1i64, 0, 1, 2, 100, 1000, 1001, i64::MAX])),
        "statusFilter" => Value::String(
            gen::pick(
                rng,
                &[
                    "RUNNING",
                    "SUCCEEDED",
                    "FAILED",
                    "TIMED_OUT",
                    "ABORTED",
                    "x",
                ],
            )
            .into(),
        ),
        "includedData" => {
            Value::String(gen::pick(rng, &["ALL_DATA", "METADATA_ONLY", "NONE"]).into())
        }
        "severity" => Value::String(gen::pick(rng, &["ERROR", "WARNING", "x"]).into()),
        "nextToken" | "taskToken" => Value::String(gen::string(rng).repeat(rng.usize(1..50))),
        _ => gen::value(rng, 2),
    }
}

fn api_case(rng: &mut Rng, corpus: &Corpus) -> Case {
    let action = if rng.u8(0..20) == 0 {
        gen::string(rng)
    } else {
        gen::pick(rng, ACTIONS).to_string()
    };
    let target = match rng.u8(0..20) {
        0 => Value::Null,
        1 => Value::String(action),
        2 => Value::String(format!("AWSStepFunctions.{}", gen::string(rng))),
        _ => Value::String(format!("AWSStepFunctions.{action}")),
    };
    let mut body = serde_json::Map::new();
    for _ in 0..rng.usize(0..6) {
        let m = gen::pick(rng, MEMBERS);
        body.insert(m.to_string(), member_value(rng, m, corpus));
    }
    let mut text = Value::Object(body).to_string();
    if rng.u8(0..8) == 0 {
        gen::mutate_text(rng, &mut text);
    }
    let content_type = gen::pick(
        rng,
        &[
            "application/x-amz-json-1.0",
            "application/json",
            "text/plain",
            "",
        ],
    );
    Case {
        text,
        data: json!({"target": target, "content-type": content_type}),
    }
}

/// What [`check`] keeps between cases: the API's service and runtime,
/// made on first use and made anew every [`Runner::API_RESET`] cases so
/// that the store (in memory) stays small over a long run.
#[derive(Default)]
pub struct Runner {
    api: Option<ApiHarness>,
}

struct ApiHarness {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    used: usize,
}

impl Runner {
    pub const API_RESET: usize = 2_000;
}

/// Runs `case` against `target` and checks its properties. A panic
/// propagates: the caller catches it (the long run) or fails (the tests).
pub fn check(target: Target, case: &Case, runner: &mut Runner) -> Result<(), Violation> {
    match target {
        Target::Reader => check_reader(&case.text),
        Target::Validator => check_validator(&case.text),
        Target::JsonPath => check_jsonpath(&case.text, &case.data),
        Target::Intrinsics => check_intrinsic(&case.text, &case.data),
        Target::Jsonata => check_jsonata(&case.text, &case.data),
        Target::Api => check_api(case, runner),
    }
}

/// Levels of arrays and objects.
pub fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Size in memory as the value bounds count it: strings by their bytes
/// (as JSON text, escapes can make them up to six times longer), numbers
/// as 8 bytes.
pub fn memory_size(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => a.iter().map(|x| memory_size(x) + 1).sum::<usize>() + 2,
        Value::Object(m) => {
            m.iter()
                .map(|(k, x)| k.len() + 4 + memory_size(x))
                .sum::<usize>()
                + 2
        }
    }
}

/// Size as compact JSON text.
pub fn size(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

fn check_reader(text: &str) -> Result<(), Violation> {
    if let Ok(v) = parse_document(text) {
        if depth(&v) > MAX_VALUE_DEPTH {
            return violation(format!("read a document {} levels deep", depth(&v)));
        }
        // YAML aliases may expand a document up to 4 MiB; JSON is as long
        // as its text.
        let bound = (4 << 20).max(2 * text.len());
        if size(&v) > bound {
            return violation(format!("read a document of {} bytes", size(&v)));
        }
        let _ = StateMachine::from_value(&v);
    }
    let _ = StateMachine::from_text(text);
    Ok(())
}

fn check_validator(text: &str) -> Result<(), Violation> {
    let diagnostics = flowstate_api::diagnostics(text);
    if let Some(d) = diagnostics
        .iter()
        .find(|d| d.code.is_empty() || d.message.is_empty())
    {
        return violation(format!("a diagnostic without code or message: {d:?}"));
    }
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let _ = StateMachine::from_value(&v);
    }
    Ok(())
}

fn scope(data: &Value) -> StaticScope {
    let mut variables = serde_json::Map::new();
    variables.insert("v".into(), data.clone());
    variables.insert("x".into(), json!([1, "two", {"three": 3}]));
    StaticScope {
        context: json!({
            "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Input": data, "Name": "e"},
            "State": {"Name": "S", "EnteredTime": "2024-01-01T00:00:00Z", "RetryCount": 0},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "Name": "m"},
        }),
        variables,
    }
}

fn check_jsonpath(text: &str, data: &Value) -> Result<(), Violation> {
    let Ok(path) = JsonPath::parse(text) else {
        return Ok(());
    };
    let scope = scope(data);
    let context = json!([data, scope.context]);
    // A selection holds parts of what it reads (the data, the context or a
    // variable): never deeper than they are, and never more than the
    // selection bound (4 MiB as JSON with numbers counted as 8 bytes; as
    // text a number takes up to 24, hence the factor). Each `..` may
    // select every descendant once per ancestor, so the size is not
    // bounded by the input's.
    let depth_bound = depth(&context) + 1;
    if let Some(v) = path.select(data, &scope) {
        if depth(&v) > depth_bound || size(&v) > 3 * MAX_VALUE_BYTES {
            return violation(format!(
                "selected {} bytes, {} levels, from {} bytes",
                size(&v),
                depth(&v),
                size(data)
            ));
        }
    }
    let mut target = data.clone();
    let marker = json!({"assigned": true});
    if path.assign(&mut target, marker.clone()).is_ok() {
        // An assignment adds the value and the path's fields, never more.
        let bound = size(data) + size(&marker) + 16 * text.len() + 16;
        if size(&target) > bound {
            return violation(format!(
                "assigning grew {} bytes into {}",
                size(data),
                size(&target)
            ));
        }
    }
    Ok(())
}

fn check_intrinsic(text: &str, data: &Value) -> Result<(), Violation> {
    let Ok(call) = Intrinsic::parse(text) else {
        return Ok(());
    };
    match call.evaluate(data, &scope(data), 7) {
        Ok(v) => {
            // Each of the at most 32 nested calls may wrap what it read
            // (the input, or what `States.StringToJson` parsed, at most
            // serde_json's 128 levels) in one more array; the engine bounds
            // what a state keeps at 100 levels after that.
            let depth_bound = depth(data).max(MAX_VALUE_DEPTH) + 33;
            if depth(&v) > depth_bound || memory_size(&v) > MAX_VALUE_BYTES {
                return violation(format!("returned {} bytes, {} levels", size(&v), depth(&v)));
            }
        }
        Err(f) => {
            if f.error != "States.IntrinsicFailure" && f.error != "States.Runtime" {
                return violation(format!("failed with {}: {:?}", f.error, f.cause));
            }
        }
    }
    Ok(())
}

/// The step bound of the long run and the tests: a tenth of the default,
/// so that a runaway costs milliseconds; the default's own bounds on
/// value size and depth are kept.
pub fn jsonata_limits() -> flowstate_jsonata::Limits {
    flowstate_jsonata::Limits {
        max_steps: 1_000_000,
        ..Default::default()
    }
}

fn check_jsonata(text: &str, data: &Value) -> Result<(), Violation> {
    let expr = match flowstate_jsonata::Expression::parse(text) {
        Ok(e) => e,
        Err(e) => return error_code(&e),
    };
    let bindings = serde_json::Map::new();
    let env = flowstate_jsonata::Environment {
        bindings: &bindings,
        now_millis: 1_700_000_000_000,
        seed: 7,
    };
    let limits = jsonata_limits();
    let (result, steps) = expr.evaluate_metered(Some(data), &env, limits);
    // A step is counted before the bound is checked, so one past it.
    if steps > limits.max_steps + 1 {
        return violation(format!("took {steps} steps, bound {}", limits.max_steps));
    }
    match result {
        Ok(Some(v)) => {
            // The evaluator counts numbers as 8 bytes; as text they take
            // up to 24, hence the factor.
            if depth(&v) > MAX_VALUE_DEPTH || size(&v) > 3 * MAX_VALUE_BYTES {
                return violation(format!("returned {} bytes, {} levels", size(&v), depth(&v)));
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => error_code(&e),
    }
}

/// JSONata's errors are a letter and four digits (`T2001`, `D3001`).
fn error_code(e: &flowstate_jsonata::Error) -> Result<(), Violation> {
    let c = e.code.as_bytes();
    if c.len() == 5 && c[0].is_ascii_uppercase() && c[1..].iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        violation(format!("an error without a JSONata code: {e:?}"))
    }
}

struct FailingInvoker;

impl flowstate_ports::Invoker for FailingInvoker {
    async fn invoke(
        &self,
        _: &flowstate_ports::InvokeContext,
        _: &flowstate_ports::TaskInvocation,
    ) -> flowstate_ports::TaskResult {
        flowstate_ports::TaskResult::Failed(flowstate_asl::errors::Failure::new(
            "Fuzz.NoTasks",
            "tasks are not performed by the fuzzer",
        ))
    }
}

impl ApiHarness {
    fn new() -> Result<ApiHarness, Violation> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| Violation(format!("cannot start a runtime: {e}")))?;
        let db = flowstate_embedded::Embedded::memory()
            .map_err(|e| Violation(format!("cannot open the store: {e}")))?;
        let config = flowstate_runtime::Config {
            spawn_tasks: false,
            ..Default::default()
        };
        let clock = flowstate_ports::SimulatedClock::new(1_700_000_000_000);
        let service =
            flowstate_runtime::Service::new(db.clone(), db, FailingInvoker, clock, config);
        let app = flowstate_api::router(std::sync::Arc::new(service));
        let mut h = ApiHarness { rt, app, used: 0 };
        for (name, kind) in API_MACHINES.iter().zip(["STANDARD", "EXPRESS"]) {
            let def = r#"{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}"#;
            let body = json!({"name": name, "definition": def, "roleArn": "arn:aws:iam::123456789012:role/r", "type": kind});
            let (status, _) = h.send(
                Some("AWSStepFunctions.CreateStateMachine"),
                "application/x-amz-json-1.0",
                body.to_string(),
            )?;
            if status != 200 {
                return Err(Violation(format!("cannot create {name}: {status}")));
            }
        }
        Ok(h)
    }

    fn send(
        &mut self,
        target: Option<&str>,
        content_type: &str,
        body: String,
    ) -> Result<(u16, Vec<u8>), Violation> {
        use tower::ServiceExt;
        let mut req = axum::http::Request::builder().method("POST").uri("/");
        if let Some(t) = target {
            req = req.header("x-amz-target", t);
        }
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let req = req
            .body(axum::body::Body::from(body))
            .map_err(|e| Violation(format!("cannot build the request: {e}")))?;
        let app = self.app.clone();
        self.rt.block_on(async move {
            let res = app
                .oneshot(req)
                .await
                .map_err(|e| Violation(format!("the router failed: {e}")))?;
            let status = res.status().as_u16();
            let body = axum::body::to_bytes(res.into_body(), 64 << 20)
                .await
                .map_err(|e| Violation(format!("cannot read the response: {e}")))?;
            Ok((status, body.to_vec()))
        })
    }
}

fn check_api(case: &Case, runner: &mut Runner) -> Result<(), Violation> {
    if runner
        .api
        .as_ref()
        .is_none_or(|h| h.used >= Runner::API_RESET)
    {
        runner.api = Some(ApiHarness::new()?);
    }
    let Some(h) = runner.api.as_mut() else {
        return violation("no API harness");
    };
    h.used += 1;
    let target = case.data.get("target").and_then(Value::as_str);
    let content_type = case
        .data
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("");
    // Header values cannot hold every character; such a request never
    // reaches a server, so it is sent without the header.
    let target = target.filter(|t| axum::http::HeaderValue::from_str(t).is_ok());
    let (status, body) = h.send(target, content_type, case.text.clone())?;
    match status {
        200..=299 => {
            if serde_json::from_slice::<Value>(&body).is_err() {
                return violation(format!("{status} with a body that is not JSON"));
            }
            Ok(())
        }
        400..=499 => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let shaped = v.get("__type").is_some_and(Value::is_string)
                && v.get("message").is_some_and(Value::is_string);
            if shaped {
                Ok(())
            } else {
                violation(format!(
                    "{status} without AWS's error shape: {}",
                    String::from_utf8_lossy(&body)
                ))
            }
        }
        _ => violation(format!(
            "answered {status}: {}",
            String::from_utf8_lossy(&body)
        )),
    }
}
