//! TestState: one state run alone, through the engine's own `advance`.
//!
//! The state under test (the `definition` itself, or `stateName` within a
//! whole state machine) is put in a state machine of its own, where every
//! state it can go to (`Next`, `Default`, a Choice rule's or a catcher's
//! `Next`) is a `Succeed` placeholder; the root frame is made to stand at
//! it with the given input, variables and context, and the engine enters
//! it. [`flowstate_engine::advance_inspected`] records what each data-flow
//! step produced and what Retry and Catch decided, which is what the
//! answer reports:
//!
//! - `SUCCEEDED` with the output and `nextState` (none for an end);
//! - `CAUGHT_ERROR` when a catcher took the error: the catcher's output
//!   and `Next`;
//! - `RETRIABLE` when a retrier would try again (with its index and the
//!   back-off in `errorDetails`): the state is not run again;
//! - `FAILED` otherwise, and for a Fail state.
//!
//! A Task is answered by `mock` (`result` or `errorOutput`) or, without
//! one, by the caller's invoker, as an execution's task would be. A Wait
//! does not wait. Parallel and Map run only with a mock, which stands for
//! the whole state's result (as on AWS): the state is tested as a Task
//! with the same input and output processing, Retry and Catch. Activities
//! and the `.sync` and `.waitForTaskToken` patterns also need a mock.
//!
//! Nothing here touches a store, so every backend answers alike.

use crate::error::{ApiError, ErrorCode};
use crate::shapes::*;
use flowstate_asl::definition::StateMachine;
use flowstate_asl::errors::{error_matches, Failure, StatesError};
use flowstate_asl::validate::{validate, Severity};
use flowstate_engine::inspect::Inspection;
use flowstate_engine::limits::failures_tolerated;
use flowstate_engine::{
    advance_inspected, Effect, Env, Event, Execution, ExecutionInfo, Frame, Limits, Step,
    TaskInvocation, TaskResult, Timer, Waiting, ROOT,
};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

/// The name the state gets when the definition is the state alone.
const LONE_STATE_NAME: &str = "TestState";

/// The resource a mocked Parallel or Map is tested as: any Task resource
/// does, since the mock answers it.
const MOCKED_FAN_OUT_RESOURCE: &str = "arn:aws:states:::lambda:invoke";

/// Where the test runs, for the ARNs of the context object.
#[derive(Debug, Clone)]
pub struct TestStateEnv {
    pub region: String,
    pub account: String,
    /// Now, in milliseconds since the Unix epoch.
    pub now: i64,
}

/// Runs one TestState request. A Task without a mock is performed by
/// `invoke`; everything else is decided here.
pub async fn test_state<F, Fut>(
    input: TestStateInput,
    env: TestStateEnv,
    invoke: F,
) -> Result<TestStateOutput, ApiError>
where
    F: FnOnce(TaskInvocation) -> Fut,
    Fut: Future<Output = TaskResult>,
{
    let prepared = Prepared::new(&input, &env)?;
    let mut invoke = Some(invoke);
    let inspection = RefCell::new(Inspection::default());
    let engine_env = Env {
        now: env.now,
        token_key: b"flowstate-test-state",
    };
    let Prepared {
        machine: sm,
        execution: mut exec,
        input: state_input,
        mut mock,
        retrier_retry_count,
        map_probe,
        map_iteration_failure_count,
    } = prepared;
    // A mocked Map's own data flow (ItemsPath, ItemSelector, its limits)
    // runs for real, up to where its iterations would start.
    let mut map_seen = None;
    if let Some((probe_sm, mut probe_exec)) = map_probe {
        let probe = RefCell::new(Inspection::default());
        let _ = advance_inspected(
            &mut probe_exec,
            &probe_sm,
            continue_event(),
            &engine_env,
            &probe,
        );
        let probe = probe.into_inner();
        if probe.after_item_selector.is_none() {
            // It failed before its iterations: that is the answer.
            return Ok(answer(&input, &state_input, &probe_exec, probe, None));
        }
        if let (Some(failures), Some(TaskResult::Succeeded(_))) =
            (map_iteration_failure_count, &mock)
        {
            let total = probe
                .after_item_selector
                .as_ref()
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if failures > 0
                && !failures_tolerated(
                    failures,
                    total,
                    probe.tolerated_failure_count,
                    probe.tolerated_failure_percentage,
                )
            {
                mock = Some(TaskResult::Failed(Failure::states(
                    StatesError::ExceedToleratedFailureThreshold,
                    "The specified tolerated failure threshold was exceeded",
                )));
            }
        }
        map_seen = Some(probe);
    }
    let mut event = continue_event();
    let mut invocation_seen = None;
    // Each round answers what the state waits for: its task, or its Wait's
    // timer (at once). A Retry's timer is not fired: the answer is
    // RETRIABLE. Two rounds suffice; the bound only guards the loop.
    for _ in 0..4 {
        let step = advance_inspected(&mut exec, &sm, event, &engine_env, &inspection)
            .map_err(|e| ApiError::internal(format!("the state could not be run: {e}")))?;
        let Some(next) = next_event(&step) else {
            break;
        };
        event = match next {
            Waited::Timer(e) => e,
            Waited::Task { seq, invocation } => {
                let result = match &mock {
                    Some(mock) => mock.clone(),
                    None => match invoke.take() {
                        Some(f) => f(invocation.clone()).await,
                        None => break,
                    },
                };
                if let TaskResult::Failed(failure) = &result {
                    set_retry_count(retrier_retry_count, &mut exec, &sm, failure);
                }
                invocation_seen = Some((invocation.clone(), result.clone()));
                match result.into_event(ROOT, seq, &invocation) {
                    Some(e) => e,
                    None => {
                        return Err(ApiError::validation(
                            "the task waits for a callback: give TestState a mock for .waitForTaskToken tasks",
                        ))
                    }
                }
            }
        };
    }
    let mut inspection = inspection.into_inner();
    if let Some(map) = map_seen {
        inspection.after_items_path = map.after_items_path;
        inspection.after_item_selector = map.after_item_selector;
        inspection.max_concurrency = map.max_concurrency;
        inspection.tolerated_failure_count = map.tolerated_failure_count;
        inspection.tolerated_failure_percentage = map.tolerated_failure_percentage;
    }
    Ok(answer(
        &input,
        &state_input,
        &exec,
        inspection,
        invocation_seen,
    ))
}

/// The event that makes the root frame enter its state.
fn continue_event() -> Event {
    Event::TimerFired {
        frame: ROOT,
        seq: 0,
        timer: Timer::Continue,
    }
}

/// What the state waits for after a step.
enum Waited {
    Timer(Event),
    Task {
        seq: u64,
        invocation: TaskInvocation,
    },
}

fn next_event(step: &Step) -> Option<Waited> {
    step.effects.iter().find_map(|e| match e {
        Effect::InvokeTask {
            frame: ROOT,
            seq,
            invocation,
        } => Some(Waited::Task {
            seq: *seq,
            invocation: invocation.clone(),
        }),
        Effect::ScheduleTimer {
            frame: ROOT,
            seq,
            timer: Timer::WaitState,
            ..
        } => Some(Waited::Timer(Event::TimerFired {
            frame: ROOT,
            seq: *seq,
            timer: Timer::WaitState,
        })),
        _ => None,
    })
}

/// The request turned into something the engine can run.
struct Prepared {
    machine: StateMachine,
    execution: Execution,
    input: Value,
    mock: Option<TaskResult>,
    retrier_retry_count: Option<u32>,
    /// A mocked Map as it is written, to run its data flow up to its
    /// iterations.
    map_probe: Option<(StateMachine, Execution)>,
    map_iteration_failure_count: Option<usize>,
}

impl Prepared {
    fn new(req: &TestStateInput, env: &TestStateEnv) -> Result<Prepared, ApiError> {
        let definition: Value = serde_json::from_str(&req.definition)
            .map_err(|e| invalid_definition(format!("the definition is not valid JSON: {e}")))?;
        let (name, state, top_language) = pick_state(&definition, req.state_name.as_deref())?;
        let kind = state.get("Type").and_then(Value::as_str).unwrap_or("");
        let mock = mock_result(req, kind, state)?;
        if mock.is_none() {
            needs_no_mock(kind, state)?;
        }
        if let Some(cfg) = &req.state_configuration {
            check_configuration(cfg, kind, state)?;
        }
        let tested = match (kind, &mock) {
            ("Parallel" | "Map", Some(_)) => as_mocked_task(state),
            _ => state.clone(),
        };
        let machine = parse_machine(&alone(&name, tested, top_language.clone()))?;
        let probe_machine = match kind {
            "Map" => Some(parse_machine(&alone(&name, state.clone(), top_language))?),
            _ => None,
        };
        let input = parse_json("input", req.input.as_deref().unwrap_or("{}"))
            .map_err(|m| ApiError::new(ErrorCode::InvalidExecutionInput, m))?;
        let variables = match req.variables.as_deref() {
            None => Map::new(),
            Some(text) => match parse_json("variables", text).map_err(ApiError::validation)? {
                Value::Object(m) => m,
                _ => return Err(ApiError::validation("variables must be a JSON object")),
            },
        };
        let context = match req.context.as_deref() {
            None => Value::Object(Map::new()),
            Some(text) => parse_json("context", text).map_err(ApiError::validation)?,
        };
        let map_probe = probe_machine.map(|m| {
            let e = execution(
                &m,
                &name,
                input.clone(),
                variables.clone(),
                &context,
                req,
                env,
            );
            (m, e)
        });
        let execution = execution(
            &machine,
            &name,
            input.clone(),
            variables,
            &context,
            req,
            env,
        );
        Ok(Prepared {
            map_probe,
            map_iteration_failure_count: req
                .state_configuration
                .as_ref()
                .and_then(|c| c.map_iteration_failure_count)
                .map(|n| n.max(0) as usize),
            machine,
            execution,
            input,
            mock,
            retrier_retry_count: req
                .state_configuration
                .as_ref()
                .and_then(|c| c.retrier_retry_count)
                .map(|n| n.clamp(0, i64::from(u32::MAX)) as u32),
        })
    }
}

/// `stateConfiguration.retrierRetryCount`: the attempts the retrier that
/// matches `failure` has used already.
fn set_retry_count(count: Option<u32>, exec: &mut Execution, sm: &StateMachine, failure: &Failure) {
    let (Some(count), Some(frame)) = (count, exec.frames.get_mut(&ROOT)) else {
        return;
    };
    let state = sm.state(frame.state);
    if let Some(i) = state
        .retry
        .iter()
        .position(|r| error_matches(&r.error_equals, &failure.error))
    {
        if frame.retry_counts.len() <= i {
            frame.retry_counts.resize(i + 1, 0);
        }
        frame.retry_counts[i] = count;
    }
}

fn invalid_definition(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidDefinition, message)
}

fn parse_json(member: &str, text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("{member} is not valid JSON: {e}"))
}

/// The state under test, its name, and the query language of the state
/// machine around it.
fn pick_state<'d>(
    definition: &'d Value,
    state_name: Option<&str>,
) -> Result<(String, &'d Value, Option<Value>), ApiError> {
    let Some(object) = definition.as_object() else {
        return Err(invalid_definition("the definition must be a JSON object"));
    };
    let whole = object.contains_key("States");
    match state_name {
        Some(name) => {
            if !whole {
                return Err(invalid_definition(
                    "with stateName, the definition must be a whole state machine (StartAt and States)",
                ));
            }
            let state = find_state(definition, name).ok_or_else(|| {
                ApiError::validation(format!(
                    "stateName '{name}' names no state of the definition"
                ))
            })?;
            Ok((
                name.to_string(),
                state,
                object.get("QueryLanguage").cloned(),
            ))
        }
        None if whole => Err(invalid_definition(
            "the definition is a whole state machine: name the state to test with stateName",
        )),
        None if !object.contains_key("Type") => Err(invalid_definition(
            "the definition must be one state (an object with a Type) or, with stateName, a whole state machine",
        )),
        None => Ok((LONE_STATE_NAME.to_string(), definition, None)),
    }
}

/// A state by name in any scope: the top level, Parallel branches, Map
/// processors.
fn find_state<'d>(scope: &'d Value, name: &str) -> Option<&'d Value> {
    let states = scope.get("States")?.as_object()?;
    if let Some(s) = states.get(name) {
        return Some(s);
    }
    states.values().find_map(|s| find_inner_state(s, name))
}

/// The names a state may go to next.
fn targets(state: &Value) -> Vec<String> {
    let name = |v: &Value| v.get("Next").and_then(Value::as_str).map(str::to_string);
    let mut out: Vec<String> = name(state).into_iter().collect();
    out.extend(
        state
            .get("Default")
            .and_then(Value::as_str)
            .map(str::to_string),
    );
    for list in ["Choices", "Catch"] {
        if let Some(items) = state.get(list).and_then(Value::as_array) {
            out.extend(items.iter().filter_map(name));
        }
    }
    out
}

/// A state machine of the tested state and a `Succeed` for each state it
/// can go to.
fn alone(name: &str, state: Value, query_language: Option<Value>) -> Value {
    let mut states = Map::new();
    for target in targets(&state) {
        if target != name {
            states.insert(target, json!({"Type": "Succeed"}));
        }
    }
    states.insert(name.to_string(), state);
    let mut machine = Map::new();
    if let Some(q) = query_language {
        machine.insert("QueryLanguage".into(), q);
    }
    machine.insert("StartAt".into(), json!(name));
    machine.insert("States".into(), Value::Object(states));
    Value::Object(machine)
}

/// A mocked Parallel or Map as a Task with the same input and output
/// processing, Retry and Catch: the mock is its result.
fn as_mocked_task(state: &Value) -> Value {
    const KEPT: [&str; 14] = [
        "Comment",
        "QueryLanguage",
        "InputPath",
        "OutputPath",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
        "Next",
        "End",
        "Assign",
        "Output",
        "Parameters",
        "Arguments",
    ];
    let is_map = state.get("Type").and_then(Value::as_str) == Some("Map");
    let mut task = Map::new();
    task.insert("Type".into(), json!("Task"));
    task.insert("Resource".into(), json!(MOCKED_FAN_OUT_RESOURCE));
    if let Some(o) = state.as_object() {
        for (k, v) in o {
            // A Map's Parameters are its legacy ItemSelector, applied per
            // item: not the state's effective input.
            let per_item = is_map && k == "Parameters";
            if KEPT.contains(&k.as_str()) && !per_item {
                task.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(task)
}

fn parse_machine(machine: &Value) -> Result<StateMachine, ApiError> {
    let errors: Vec<String> = validate(machine)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| match d.location.is_empty() {
            true => d.message,
            false => format!("{} at {}", d.message, d.location),
        })
        .collect();
    if !errors.is_empty() {
        return Err(invalid_definition(errors.join("\n")));
    }
    StateMachine::from_value(machine).map_err(|errs| {
        invalid_definition(
            errs.into_iter()
                .map(|e| format!("{} at {}", e.message, e.pointer))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// The mock as the task's answer, checked as `fieldValidationMode` says.
fn mock_result(
    req: &TestStateInput,
    kind: &str,
    state: &Value,
) -> Result<Option<TaskResult>, ApiError> {
    let Some(mock) = &req.mock else {
        return Ok(None);
    };
    if !matches!(kind, "Task" | "Parallel" | "Map") {
        return Err(ApiError::validation(format!(
            "a mock applies only to Task, Parallel and Map states, not to a {kind} state"
        )));
    }
    match (&mock.result, &mock.error_output) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "mock takes either result or errorOutput, not both",
        )),
        (None, None) => Err(ApiError::validation("mock needs result or errorOutput")),
        (None, Some(e)) => match &e.error {
            Some(error) => Ok(Some(TaskResult::Failed(Failure {
                error: error.clone(),
                cause: e.cause.clone(),
            }))),
            None => Err(ApiError::validation("mock.errorOutput needs an error")),
        },
        (Some(text), None) => {
            let result = parse_json("mock.result", text).map_err(ApiError::validation)?;
            let mode = mock.field_validation_mode.unwrap_or_default();
            check_mocked_result(&result, mode, kind, state)?;
            Ok(Some(TaskResult::Succeeded(result)))
        }
    }
}

/// `fieldValidationMode`: STRICT checks that the members the API's model
/// requires are there and that those present have the model's types;
/// PRESENT only the latter; NONE nothing. The models Flowstate knows are
/// a Parallel's and a Map's results (arrays; a Parallel's has one element
/// per branch) and the Lambda Invoke integration's response; other
/// resources' mocks are taken as they are.
fn check_mocked_result(
    result: &Value,
    mode: MockResponseValidationMode,
    kind: &str,
    state: &Value,
) -> Result<(), ApiError> {
    if mode == MockResponseValidationMode::None {
        return Ok(());
    }
    let strict = mode == MockResponseValidationMode::Strict;
    let refuse = |m: String| Err(ApiError::validation(format!("mock.result: {m}")));
    match kind {
        "Parallel" | "Map" => {
            let Value::Array(items) = result else {
                return refuse(format!("the result of a {kind} state must be a JSON array"));
            };
            let branches = state
                .get("Branches")
                .and_then(Value::as_array)
                .map(Vec::len);
            match branches {
                Some(n) if kind == "Parallel" && strict && items.len() != n => refuse(format!(
                    "the Parallel state has {n} branches; the result has {} elements",
                    items.len()
                )),
                _ => Ok(()),
            }
        }
        "Task" => {
            let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
            let base = resource
                .strip_suffix(".waitForTaskToken")
                .unwrap_or(resource);
            if base != "arn:aws:states:::lambda:invoke" {
                return Ok(());
            }
            let Value::Object(members) = result else {
                return refuse("Lambda Invoke answers a JSON object".into());
            };
            for (member, value) in members {
                let fits = match member.as_str() {
                    "StatusCode" => value.is_i64() || value.is_u64(),
                    "FunctionError" | "LogResult" | "ExecutedVersion" => value.is_string(),
                    "Payload" | "SdkHttpMetadata" | "SdkResponseMetadata" => true,
                    _ => {
                        return refuse(format!(
                            "'{member}' is not a member of Lambda Invoke's response"
                        ))
                    }
                };
                if !fits {
                    return refuse(format!(
                        "'{member}' does not have the type Lambda Invoke's response gives it"
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What TestState runs only with a mock, as AWS documents: Parallel, Map,
/// activities, and the `.sync` and `.waitForTaskToken` patterns.
fn needs_no_mock(kind: &str, state: &Value) -> Result<(), ApiError> {
    let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
    let why = match kind {
        "Parallel" | "Map" => Some(format!("a {kind} state")),
        "Task" if resource.contains(":activity:") => Some("an activity task".into()),
        "Task" if resource.ends_with(".waitForTaskToken") => {
            Some("a .waitForTaskToken task".into())
        }
        "Task" if resource.ends_with(".sync") || resource.contains(".sync:") => {
            Some("a .sync task".into())
        }
        _ => None,
    };
    match why {
        Some(what) => Err(ApiError::validation(format!(
            "TestState runs {what} only with a mock"
        ))),
        None => Ok(()),
    }
}

fn check_configuration(
    cfg: &TestStateConfiguration,
    kind: &str,
    state: &Value,
) -> Result<(), ApiError> {
    let fan_out = matches!(kind, "Parallel" | "Map");
    if let Some(name) = &cfg.error_caused_by_state {
        if !fan_out {
            return Err(ApiError::validation(
                "stateConfiguration.errorCausedByState applies only to Parallel and Map states",
            ));
        }
        if find_inner_state(state, name).is_none() {
            return Err(ApiError::validation(format!(
                "stateConfiguration.errorCausedByState names '{name}', which is not a state inside the tested state"
            )));
        }
    }
    if (cfg.map_iteration_failure_count.is_some() || cfg.map_item_reader_data.is_some())
        && kind != "Map"
    {
        return Err(ApiError::validation(
            "mapIterationFailureCount and mapItemReaderData apply only to Map states",
        ));
    }
    Ok(())
}

/// A state inside a Parallel's branches or a Map's processor.
fn find_inner_state<'d>(state: &'d Value, name: &str) -> Option<&'d Value> {
    let branches = state.get("Branches").and_then(Value::as_array);
    let processors = ["ItemProcessor", "Iterator"]
        .into_iter()
        .filter_map(|f| state.get(f));
    branches
        .into_iter()
        .flatten()
        .chain(processors)
        .find_map(|b| find_state(b, name))
}

/// An execution whose root frame is about to enter the tested state, with
/// the context object's members taken from `context` where it gives them.
fn execution(
    sm: &StateMachine,
    name: &str,
    input: Value,
    variables: Map<String, Value>,
    context: &Value,
    req: &TestStateInput,
    env: &TestStateEnv,
) -> Execution {
    let text = |path: &[&str]| {
        path.iter()
            .try_fold(context, |v, k| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let time =
        |path: &[&str]| text(path).and_then(|t| flowstate_engine::dataflow::parse_timestamp(&t));
    let machine_name = text(&["StateMachine", "Name"]).unwrap_or_else(|| "TestStateMachine".into());
    let execution_name =
        text(&["Execution", "Name"]).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let arn_prefix = format!("arn:aws:states:{}:{}", env.region, env.account);
    let execution_input = context
        .get("Execution")
        .and_then(|e| e.get("Input"))
        .cloned()
        .unwrap_or_else(|| input.clone());
    let info = ExecutionInfo {
        arn: text(&["Execution", "Id"])
            .unwrap_or_else(|| format!("{arn_prefix}:execution:{machine_name}:{execution_name}")),
        name: execution_name,
        state_machine_arn: text(&["StateMachine", "Id"])
            .unwrap_or_else(|| format!("{arn_prefix}:stateMachine:{machine_name}")),
        state_machine_name: machine_name,
        role_arn: text(&["Execution", "RoleArn"])
            .or_else(|| req.role_arn.clone())
            .unwrap_or_default(),
        region: env.region.clone(),
        start_time: time(&["Execution", "StartTime"]).unwrap_or(env.now),
        input: Arc::new(execution_input),
        limits: Limits::STANDARD,
        timeout_seconds: None,
    };
    let block = sm.blocks.first().map(|b| (0, b.names.get(name).copied()));
    let state = block.and_then(|(_, s)| s).unwrap_or(0);
    let mut frame = Frame::new(ROOT, 0, state, Arc::new(input));
    frame.variables = variables;
    frame.waiting = Waiting::Continue;
    Execution::from_parts(info, [frame])
}

/// The answer, from what the engine recorded.
fn answer(
    req: &TestStateInput,
    input: &Value,
    exec: &Execution,
    insp: Inspection,
    task: Option<(TaskInvocation, TaskResult)>,
) -> TestStateOutput {
    let text = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let level = req.inspection_level.unwrap_or_default();
    let (status, output, next_state, error, cause) = match (&insp.retry, &insp.catch_index) {
        (Some(_), _) => (
            TestExecutionStatus::Retriable,
            None,
            None,
            insp.failure.as_ref().map(|f| f.error.clone()),
            insp.failure.as_ref().and_then(|f| f.cause.clone()),
        ),
        (None, Some(_)) => (
            TestExecutionStatus::CaughtError,
            insp.exited.as_ref().map(|e| text(&e.output)),
            insp.exited.as_ref().and_then(|e| e.next.clone()),
            insp.failure.as_ref().map(|f| f.error.clone()),
            insp.failure.as_ref().and_then(|f| f.cause.clone()),
        ),
        (None, None) => match &insp.exited {
            Some(e) => (
                TestExecutionStatus::Succeeded,
                Some(text(&e.output)),
                e.next.clone(),
                None,
                None,
            ),
            None => (
                TestExecutionStatus::Failed,
                None,
                None,
                exec.error.clone(),
                exec.cause.clone(),
            ),
        },
    };
    let error_details = match (&insp.retry, insp.catch_index) {
        (Some(r), _) => Some(InspectionErrorDetails {
            catch_index: None,
            retry_index: Some(r.index as i64),
            retry_backoff_interval_seconds: Some((r.delay_millis + 500) / 1000),
        }),
        (None, Some(i)) => Some(InspectionErrorDetails {
            catch_index: Some(i as i64),
            retry_index: None,
            retry_backoff_interval_seconds: None,
        }),
        (None, None) => None,
    };
    let inspection_data = match level {
        InspectionLevel::Info => error_details.map(|d| InspectionData {
            error_details: Some(d),
            ..Default::default()
        }),
        InspectionLevel::Debug | InspectionLevel::Trace => {
            let (request, response) = match (level, &task) {
                (InspectionLevel::Trace, Some((invocation, result))) => {
                    http_exchange(invocation, result)
                }
                _ => (None, None),
            };
            Some(InspectionData {
                input: Some(text(input)),
                after_arguments: insp.after_arguments.as_ref().map(text),
                after_input_path: insp.after_input_path.as_ref().map(text),
                after_parameters: insp.after_parameters.as_ref().map(text),
                result: insp.result.as_ref().map(text),
                after_result_selector: insp.after_result_selector.as_ref().map(text),
                after_result_path: insp.after_result_path.as_ref().map(text),
                variables: insp
                    .exited
                    .as_ref()
                    .map(|e| text(&Value::Object(e.variables.clone()))),
                error_details,
                after_items_path: insp.after_items_path.as_ref().map(text),
                after_item_selector: insp.after_item_selector.as_ref().map(text),
                max_concurrency: insp.max_concurrency.map(|n| n as i64),
                tolerated_failure_count: insp.tolerated_failure_count.map(|n| n as i64),
                tolerated_failure_percentage: insp.tolerated_failure_percentage,
                request,
                response,
                ..Default::default()
            })
        }
    };
    TestStateOutput {
        output,
        error,
        cause,
        inspection_data,
        next_state,
        status,
    }
}

/// TRACE: the HTTP Task's request, as its evaluated arguments describe it,
/// and its response, as the task's result (`StatusCode`, `StatusText`,
/// `Headers`, `ResponseBody`) gives it. Only HTTP Tasks have them.
fn http_exchange(
    invocation: &TaskInvocation,
    result: &TaskResult,
) -> (
    Option<InspectionDataRequest>,
    Option<InspectionDataResponse>,
) {
    if !invocation
        .resource
        .starts_with("arn:aws:states:::http:invoke")
    {
        return (None, None);
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    let p = &invocation.parameters;
    let mut url = p.get("ApiEndpoint").map(text).unwrap_or_default();
    if let Some(Value::Object(query)) = p.get("QueryParameters") {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect();
        if !pairs.is_empty() {
            url = format!("{url}?{}", pairs.join("&"));
        }
    }
    let request = InspectionDataRequest {
        protocol: Some("https".into()),
        method: p.get("Method").map(text),
        url: Some(url),
        headers: p.get("Headers").map(text),
        body: p.get("RequestBody").map(text),
    };
    let response = match result {
        TaskResult::Succeeded(r) => Some(InspectionDataResponse {
            protocol: Some("https".into()),
            status_code: r.get("StatusCode").map(text),
            status_message: r.get("StatusText").map(text),
            headers: r.get("Headers").map(text),
            body: r.get("ResponseBody").map(text),
        }),
        _ => None,
    };
    (Some(request), response)
}

/// The invoker of an implementation that performs no tasks: a Task without
/// a mock fails with `States.TaskFailed`, saying why.
pub fn no_invoker(invocation: TaskInvocation) -> std::future::Ready<TaskResult> {
    std::future::ready(TaskResult::Failed(Failure::states(
        StatesError::TaskFailed,
        format!(
            "this server performs no tasks: give TestState a mock for {}",
            invocation.resource
        ),
    )))
}

#[cfg(test)]
mod tests;
