//! Mocked service integrations in Step Functions Local's format: a
//! `MockConfigFile.json` that answers Task states with canned results, per
//! test case, so a workflow's paths (retries, catches, fallbacks) can be
//! tested without calling anything.
//!
//! ```json
//! {
//!   "StateMachines": {
//!     "Orders": {
//!       "TestCases": {
//!         "HappyPath": { "Charge": "ChargeOk", "Notify": "SendOk" }
//!       }
//!     }
//!   },
//!   "MockedResponses": {
//!     "ChargeOk": { "0": { "Return": { "StatusCode": 200, "Payload": { "paid": true } } } },
//!     "SendOk": {
//!       "0": { "Throw": { "Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded" } },
//!       "1-2": { "Return": { "MessageId": "m-1" } }
//!     }
//!   }
//! }
//! ```
//!
//! - [`MockConfig`]: the file, parsed and checked ([`MockConfig::load`],
//!   [`MockConfig::from_env`] for `SFN_MOCK_CONFIG`). Every problem is a
//!   [`MockError`] naming the file and the key that is wrong.
//! - [`TestCase`]: one test case of one state machine
//!   ([`MockConfig::for_execution`]), the mocks an execution started as
//!   `<stateMachineArn>#<TestCase>` uses. [`TestCase::answer`] is the pure
//!   lookup: state name and invocation index in, result out.
//! - [`MockedTasks`]: a [`TaskHandler`] for one execution. It counts each
//!   state's invocations (retries and Map iterations included, as Step
//!   Functions Local does), answers mocked states from the test case and
//!   hands every other state to the real handler.
//! - [`InvocationCounters`]: the same counting for a server that performs
//!   the tasks of many executions at once, safe to share between threads.
//!
//! A `Return` is the state's result exactly as written: for
//! `arn:aws:states:::lambda:invoke` it is the whole Invoke wrapper
//! (`{"StatusCode": 200, "Payload": ...}`), for a plain function ARN the
//! function's output. A `Throw` fails the task with its `Error` and `Cause`.
//! An invocation the mocked response has no entry for fails the execution
//! with `States.Runtime`, which no `Retry` or `Catch` on `States.ALL` hides.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flowstate_asl::definition::{Kind, StateMachine};
use flowstate_asl::errors::{Failure, StatesError};
use flowstate_engine::driver::TaskHandler;
use flowstate_engine::{TaskInvocation, TaskResult};
use serde_json::{Map, Value};

/// The environment variable Step Functions Local reads the mock config's
/// path from.
pub const MOCK_CONFIG_ENV: &str = "SFN_MOCK_CONFIG";

/// The variables the mock config's path is read from, first set (and not
/// empty) first: Step Functions Local's, then LocalStack's.
pub const MOCK_CONFIG_ENVS: [&str; 2] = [MOCK_CONFIG_ENV, "LOCALSTACK_SFN_MOCK_CONFIG"];

/// The mock config's path from the first of [`MOCK_CONFIG_ENVS`] that
/// `lookup` finds set and not empty.
pub fn mock_config_path_from(
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    MOCK_CONFIG_ENVS
        .iter()
        .filter_map(|name| lookup(name))
        .find(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// Why a mock config could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    #[error("cannot read the mock config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the mock config {} is not valid JSON: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// `at` is the key, e.g. `MockedResponses.ChargeRetry."1-2".Throw`.
    #[error("{}: {at}: {problem}", path.display())]
    Invalid {
        path: PathBuf,
        at: String,
        problem: MockProblem,
    },
    #[error("{}: StateMachines has no state machine '{name}' ({})", path.display(), known_list("state machines", known))]
    UnknownStateMachine {
        path: PathBuf,
        name: String,
        known: Vec<String>,
    },
    #[error("{}: StateMachines.{}.TestCases has no test case '{test_case}' ({})", path.display(), key(state_machine), known_list("test cases", known))]
    UnknownTestCase {
        path: PathBuf,
        state_machine: String,
        test_case: String,
        known: Vec<String>,
    },
    /// A test case mocks a state the definition does not have as a Task.
    #[error("{}: StateMachines.{}.TestCases.{}.{}: {problem}", path.display(), key(state_machine), key(test_case), key(state))]
    NotATask {
        path: PathBuf,
        state_machine: String,
        test_case: String,
        state: String,
        problem: String,
    },
    #[error("a test case needs a mock config: pass --mock-config FILE or set {MOCK_CONFIG_ENV} (or LOCALSTACK_SFN_MOCK_CONFIG)")]
    NoMockConfig,
    #[error("--mock-config needs --test-case NAME: the test case of state machine '{state_machine}' to run ({})", known_list("test cases", known))]
    TestCaseNeeded {
        state_machine: String,
        known: Vec<String>,
    },
}

/// What is wrong at one key of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockProblem {
    /// The value has the wrong JSON type; says what it should be.
    Expected(&'static str),
    /// A key the format does not have; says which keys it has.
    UnknownKey(&'static str),
    MissingKey(&'static str),
    /// A test case names a mocked response that `MockedResponses` lacks.
    UndefinedResponse(String),
    /// An invocation key that is neither `N` nor `N-M` with `N <= M`.
    BadInvocationKey,
    /// Two invocation keys cover the same invocation.
    Overlap {
        other: String,
        invocation: u64,
    },
    ReturnAndThrow,
    NeitherReturnNorThrow,
}

impl fmt::Display for MockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MockProblem::Expected(what) => write!(f, "expected {what}"),
            MockProblem::UnknownKey(known) => write!(f, "unknown key (expected {known})"),
            MockProblem::MissingKey(missing) => write!(f, "missing `{missing}`"),
            MockProblem::UndefinedResponse(name) => write!(
                f,
                "names the mocked response '{name}', which MockedResponses does not define"
            ),
            MockProblem::BadInvocationKey => f.write_str(
                "an invocation key is a zero-based invocation number (\"0\") or an inclusive range of them (\"1-2\")",
            ),
            MockProblem::Overlap { other, invocation } => write!(
                f,
                "invocation {invocation} is also covered by \"{other}\": each invocation has one response"
            ),
            MockProblem::ReturnAndThrow => {
                f.write_str("has both `Return` and `Throw`; a response is one or the other")
            }
            MockProblem::NeitherReturnNorThrow => f.write_str(
                "needs `Return` (the result) or `Throw` (`{\"Error\": ..., \"Cause\": ...}`)",
            ),
        }
    }
}

/// One entry of a mocked response.
#[derive(Debug, Clone, PartialEq)]
pub enum MockedAnswer {
    /// The state's result, exactly as written.
    Return(Value),
    /// A task failure.
    Throw {
        error: String,
        cause: Option<String>,
    },
}

/// One named entry of `MockedResponses`: answers by invocation index.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    name: String,
    /// Sorted by start, not overlapping; the key as written is kept for
    /// messages.
    entries: Vec<(RangeInclusive<u64>, String, MockedAnswer)>,
}

impl MockedResponse {
    /// The name in `MockedResponses`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The answer to the zero-based `invocation`, if an entry covers it.
    pub fn answer(&self, invocation: u64) -> Option<&MockedAnswer> {
        self.entries
            .iter()
            .find(|(range, _, _)| range.contains(&invocation))
            .map(|(_, _, answer)| answer)
    }

    /// The invocation keys as written, in order: `0, 1-2, 3`.
    fn keys(&self) -> String {
        let keys: Vec<&str> = self.entries.iter().map(|(_, k, _)| k.as_str()).collect();
        if keys.is_empty() {
            "none".to_string()
        } else {
            keys.join(", ")
        }
    }
}

/// A loaded mock config file.
#[derive(Debug, Clone)]
pub struct MockConfig {
    path: PathBuf,
    /// State machine → test case → state → mocked response name.
    state_machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    responses: BTreeMap<String, Arc<MockedResponse>>,
}

impl MockConfig {
    /// Reads and checks the mock config at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<MockConfig, MockError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| MockError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        MockConfig::parse(&text, path)
    }

    /// The mock config `SFN_MOCK_CONFIG` (or else
    /// `LOCALSTACK_SFN_MOCK_CONFIG`) names, if one is set (and not empty).
    pub fn from_env() -> Result<Option<MockConfig>, MockError> {
        match mock_config_path_from(|name| std::env::var_os(name)) {
            Some(path) => MockConfig::load(path).map(Some),
            None => Ok(None),
        }
    }

    /// Parses `text` as the contents of the file at `path` (which names the
    /// file in errors).
    pub fn parse(text: &str, path: &Path) -> Result<MockConfig, MockError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| MockError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |at: String, problem: MockProblem| MockError::Invalid {
            path: path.to_path_buf(),
            at,
            problem,
        };
        let top = doc.as_object().ok_or_else(|| {
            invalid(
                "(top level)".into(),
                MockProblem::Expected("an object with StateMachines and MockedResponses"),
            )
        })?;
        for name in top.keys() {
            if name != "StateMachines" && name != "MockedResponses" {
                return Err(invalid(
                    key(name),
                    MockProblem::UnknownKey("StateMachines or MockedResponses"),
                ));
            }
        }

        let mut responses = BTreeMap::new();
        if let Some(value) = top.get("MockedResponses") {
            let entries = object(
                value,
                "MockedResponses",
                "an object of mocked responses by name",
            )
            .map_err(|(at, p)| invalid(at, p))?;
            for (name, value) in entries {
                let at = format!("MockedResponses.{}", key(name));
                let response =
                    mocked_response(name, value, &at).map_err(|(at, p)| invalid(at, p))?;
                responses.insert(name.clone(), Arc::new(response));
            }
        }

        let mut state_machines = BTreeMap::new();
        if let Some(value) = top.get("StateMachines") {
            let machines = object(
                value,
                "StateMachines",
                "an object of state machines by name",
            )
            .map_err(|(at, p)| invalid(at, p))?;
            for (machine, value) in machines {
                let at = format!("StateMachines.{}", key(machine));
                let cases = test_cases(value, &at, &responses).map_err(|(at, p)| invalid(at, p))?;
                state_machines.insert(machine.clone(), cases);
            }
        }
        Ok(MockConfig {
            path: path.to_path_buf(),
            state_machines,
            responses,
        })
    }

    /// The file this config came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The test case an execution started as
    /// `<stateMachineArn>#<test_case>` uses.
    pub fn for_execution(
        &self,
        state_machine_name: &str,
        test_case: &str,
    ) -> Result<TestCase, MockError> {
        let cases = self.state_machines.get(state_machine_name).ok_or_else(|| {
            MockError::UnknownStateMachine {
                path: self.path.clone(),
                name: state_machine_name.to_string(),
                known: self.state_machines.keys().cloned().collect(),
            }
        })?;
        let states = cases
            .get(test_case)
            .ok_or_else(|| MockError::UnknownTestCase {
                path: self.path.clone(),
                state_machine: state_machine_name.to_string(),
                test_case: test_case.to_string(),
                known: cases.keys().cloned().collect(),
            })?;
        let states = states
            .iter()
            .filter_map(|(state, response)| {
                // Parsing checked that every named response exists.
                self.responses
                    .get(response)
                    .map(|r| (state.clone(), Arc::clone(r)))
            })
            .collect();
        Ok(TestCase {
            path: self.path.clone(),
            state_machine: state_machine_name.to_string(),
            name: test_case.to_string(),
            states,
        })
    }

    /// The test cases of one state machine (empty when it has none).
    pub fn test_cases(&self, state_machine_name: &str) -> Vec<String> {
        self.state_machines
            .get(state_machine_name)
            .map(|cases| cases.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// What `flowstate run` mocks: the test case `--test-case` names in the
/// config `--mock-config` (or `SFN_MOCK_CONFIG`) names, checked against the
/// definition. `None` when nothing is to be mocked.
pub fn for_run(
    mock_config: Option<&Path>,
    test_case: Option<&str>,
    state_machine_name: &str,
    definition: &StateMachine,
) -> Result<Option<TestCase>, MockError> {
    let config = match mock_config {
        Some(path) => Some(MockConfig::load(path)?),
        None => MockConfig::from_env()?,
    };
    match (config, test_case) {
        (Some(config), Some(test_case)) => {
            let case = config.for_execution(state_machine_name, test_case)?;
            case.check_against(definition)?;
            Ok(Some(case))
        }
        (None, Some(_)) => Err(MockError::NoMockConfig),
        // As in Step Functions Local, an execution started without a test
        // case is not mocked; but a config given on the command line for
        // this very run without one is a mistake worth saying so.
        (Some(config), None) if mock_config.is_some() => Err(MockError::TestCaseNeeded {
            state_machine: state_machine_name.to_string(),
            known: config.test_cases(state_machine_name),
        }),
        (_, None) => Ok(None),
    }
}

/// One test case: the mocked response of each mocked state.
#[derive(Debug, Clone)]
pub struct TestCase {
    path: PathBuf,
    state_machine: String,
    name: String,
    states: BTreeMap<String, Arc<MockedResponse>>,
}

impl TestCase {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn state_machine(&self) -> &str {
        &self.state_machine
    }

    /// Whether the test case mocks this state.
    pub fn mocks(&self, state_name: &str) -> bool {
        self.states.contains_key(state_name)
    }

    /// The result of the zero-based `invocation` of `state_name`; `None`
    /// when the test case does not mock the state (the real handler
    /// performs it).
    pub fn answer(&self, state_name: &str, invocation: u64) -> Option<TaskResult> {
        let response = self.states.get(state_name)?;
        Some(match response.answer(invocation) {
            Some(MockedAnswer::Return(value)) => TaskResult::Succeeded(value.clone()),
            Some(MockedAnswer::Throw { error, cause }) => TaskResult::Failed(Failure {
                error: error.clone(),
                cause: cause.clone(),
            }),
            None => TaskResult::Failed(Failure::states(
                StatesError::Runtime,
                format!(
                    "Test case '{}' of {} mocks state '{}' with '{}', which has no response for invocation {invocation} (invocations count from 0, retries included; it defines: {})",
                    self.name,
                    self.path.display(),
                    state_name,
                    response.name(),
                    response.keys()
                ),
            )),
        })
    }

    /// Checks that every mocked state is a Task state of `definition`, so
    /// that a misspelt state name is an error instead of a silent call to
    /// the real handler.
    pub fn check_against(&self, definition: &StateMachine) -> Result<(), MockError> {
        for state in self.states.keys() {
            let problem = match definition.states.iter().find(|s| &s.name == state) {
                Some(s) if matches!(s.kind, Kind::Task(_)) => continue,
                Some(s) => format!(
                    "'{state}' is a {} state; only Task states can be mocked",
                    s.type_name()
                ),
                None => {
                    let tasks: Vec<&str> = definition
                        .states
                        .iter()
                        .filter(|s| matches!(s.kind, Kind::Task(_)))
                        .map(|s| s.name.as_str())
                        .collect();
                    format!(
                        "the definition has no state '{state}' (its Task states: {})",
                        if tasks.is_empty() {
                            "none".to_string()
                        } else {
                            tasks.join(", ")
                        }
                    )
                }
            };
            return Err(MockError::NotATask {
                path: self.path.clone(),
                state_machine: self.state_machine.clone(),
                test_case: self.name.clone(),
                state: state.clone(),
                problem,
            });
        }
        Ok(())
    }
}

/// Performs one execution's tasks: mocked states from the test case, the
/// others with `fallback`.
#[derive(Debug)]
pub struct MockedTasks<H> {
    case: TestCase,
    /// Invocations so far, per mocked state.
    counts: HashMap<String, u64>,
    fallback: H,
}

impl<H: TaskHandler> MockedTasks<H> {
    pub fn new(case: TestCase, fallback: H) -> MockedTasks<H> {
        MockedTasks {
            case,
            counts: HashMap::new(),
            fallback,
        }
    }

    /// How many times the mocked state `state_name` was invoked so far.
    pub fn invocations(&self, state_name: &str) -> u64 {
        self.counts.get(state_name).copied().unwrap_or(0)
    }
}

impl<H: TaskHandler> TaskHandler for MockedTasks<H> {
    fn invoke(&mut self, task: &TaskInvocation) -> TaskResult {
        if !self.case.mocks(&task.state_name) {
            return self.fallback.invoke(task);
        }
        let count = self.counts.entry(task.state_name.clone()).or_insert(0);
        let invocation = *count;
        *count += 1;
        self.case
            .answer(&task.state_name, invocation)
            .unwrap_or_else(|| self.fallback.invoke(task))
    }
}

/// Invocation counting for a server that performs many executions' tasks:
/// per execution, per state, zero-based. Repeating an invocation (the same
/// `invocation_id`, as an outbox does after a crash) gets the same index,
/// so a replay answers as the first attempt did. Counts live as long as
/// the counters do: an invoker is not told when an execution ends.
#[derive(Debug, Default)]
pub struct InvocationCounters {
    executions: Mutex<HashMap<String, ExecutionCounts>>,
}

#[derive(Debug, Default)]
struct ExecutionCounts {
    next: HashMap<String, u64>,
    seen: HashMap<String, u64>,
}

impl InvocationCounters {
    pub fn new() -> InvocationCounters {
        InvocationCounters::default()
    }

    /// The index of this invocation of `state_name` in `execution_arn`.
    pub fn next(&self, execution_arn: &str, state_name: &str, invocation_id: &str) -> u64 {
        // A poisoned lock only means another thread panicked mid-update of
        // a counter map, which stays usable.
        let mut executions = self
            .executions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let counts = executions.entry(execution_arn.to_string()).or_default();
        if let Some(index) = counts.seen.get(invocation_id) {
            return *index;
        }
        let next = counts.next.entry(state_name.to_string()).or_insert(0);
        let index = *next;
        *next += 1;
        counts.seen.insert(invocation_id.to_string(), index);
        index
    }
}

type Problem = (String, MockProblem);

fn object<'a>(
    value: &'a Value,
    at: &str,
    what: &'static str,
) -> Result<&'a Map<String, Value>, Problem> {
    value
        .as_object()
        .ok_or_else(|| (at.to_string(), MockProblem::Expected(what)))
}

/// `StateMachines.NAME`: `{"TestCases": {CASE: {STATE: RESPONSE}}}`.
fn test_cases(
    value: &Value,
    at: &str,
    responses: &BTreeMap<String, Arc<MockedResponse>>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, Problem> {
    let machine = object(value, at, "an object with TestCases")?;
    for name in machine.keys() {
        if name != "TestCases" {
            return Err((
                format!("{at}.{}", key(name)),
                MockProblem::UnknownKey("TestCases"),
            ));
        }
    }
    let cases_at = format!("{at}.TestCases");
    let cases = machine
        .get("TestCases")
        .ok_or_else(|| (at.to_string(), MockProblem::MissingKey("TestCases")))?;
    let cases = object(cases, &cases_at, "an object of test cases by name")?;
    let mut out = BTreeMap::new();
    for (case, states) in cases {
        let case_at = format!("{cases_at}.{}", key(case));
        let states = object(
            states,
            &case_at,
            "an object mapping state names to mocked response names",
        )?;
        let mut mocked = BTreeMap::new();
        for (state, response) in states {
            let state_at = format!("{case_at}.{}", key(state));
            let Some(response) = response.as_str() else {
                return Err((
                    state_at,
                    MockProblem::Expected("the name of a mocked response (a string)"),
                ));
            };
            if !responses.contains_key(response) {
                return Err((
                    state_at,
                    MockProblem::UndefinedResponse(response.to_string()),
                ));
            }
            mocked.insert(state.clone(), response.to_string());
        }
        out.insert(case.clone(), mocked);
    }
    Ok(out)
}

/// `MockedResponses.NAME`: `{"0": {"Return": ...}, "1-2": {"Throw": ...}}`.
fn mocked_response(name: &str, value: &Value, at: &str) -> Result<MockedResponse, Problem> {
    let entries = object(
        value,
        at,
        "an object of responses by invocation (\"0\", \"1-2\", ...)",
    )?;
    let mut out: Vec<(RangeInclusive<u64>, String, MockedAnswer)> = Vec::new();
    for (invocations, entry) in entries {
        let entry_at = format!("{at}.{}", key(invocations));
        let range = invocation_range(invocations)
            .ok_or_else(|| (entry_at.clone(), MockProblem::BadInvocationKey))?;
        if let Some((other_range, other, _)) = out
            .iter()
            .find(|(r, _, _)| r.start() <= range.end() && range.start() <= r.end())
        {
            let invocation = *range.start().max(other_range.start());
            return Err((
                entry_at,
                MockProblem::Overlap {
                    other: other.clone(),
                    invocation,
                },
            ));
        }
        let answer = mocked_answer(entry, &entry_at)?;
        out.push((range, invocations.clone(), answer));
    }
    out.sort_by_key(|(range, _, _)| *range.start());
    Ok(MockedResponse {
        name: name.to_string(),
        entries: out,
    })
}

/// `"3"` → 3..=3, `"1-2"` → 1..=2: digits only, start <= end.
fn invocation_range(text: &str) -> Option<RangeInclusive<u64>> {
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse::<u64>().ok()
        }
    };
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (number(start)?, number(end)?);
            (start <= end).then_some(start..=end)
        }
        None => number(text).map(|n| n..=n),
    }
}

fn mocked_answer(value: &Value, at: &str) -> Result<MockedAnswer, Problem> {
    let entry = object(value, at, "an object with Return or Throw")?;
    for name in entry.keys() {
        if name != "Return" && name != "Throw" {
            return Err((
                format!("{at}.{}", key(name)),
                MockProblem::UnknownKey("Return or Throw"),
            ));
        }
    }
    match (entry.get("Return"), entry.get("Throw")) {
        (Some(_), Some(_)) => Err((at.to_string(), MockProblem::ReturnAndThrow)),
        (None, None) => Err((at.to_string(), MockProblem::NeitherReturnNorThrow)),
        (Some(value), None) => Ok(MockedAnswer::Return(value.clone())),
        (None, Some(throw)) => {
            let throw_at = format!("{at}.Throw");
            let fields = object(throw, &throw_at, "an object with Error and Cause")?;
            for name in fields.keys() {
                if name != "Error" && name != "Cause" {
                    return Err((
                        format!("{throw_at}.{}", key(name)),
                        MockProblem::UnknownKey("Error or Cause"),
                    ));
                }
            }
            let error = match fields.get("Error") {
                Some(Value::String(error)) if !error.is_empty() => error.clone(),
                Some(_) => {
                    return Err((
                        format!("{throw_at}.Error"),
                        MockProblem::Expected("a non-empty error name (a string)"),
                    ))
                }
                None => return Err((throw_at, MockProblem::MissingKey("Error"))),
            };
            let cause = match fields.get("Cause") {
                Some(Value::String(cause)) => Some(cause.clone()),
                Some(_) => {
                    return Err((
                        format!("{throw_at}.Cause"),
                        MockProblem::Expected("a string"),
                    ))
                }
                None => None,
            };
            Ok(MockedAnswer::Throw { error, cause })
        }
    }
}

/// A key as it is written in a dotted location: bare when it is a plain
/// name, quoted otherwise (`"1-2"`, `"Charge card"`).
fn key(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn known_list(what: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!("it has no {what}")
    } else {
        format!("its {what}: {}", known.join(", "))
    }
}

#[cfg(test)]
mod tests;
