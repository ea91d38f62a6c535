//! Mock configs: the file format and its errors, and executions driven end
//! to end with mocked and real handlers.

use std::path::Path;

use flowstate_engine::driver::{run_simulated, RunOptions, RunOutcome};
use flowstate_engine::Status;
use serde_json::{json, Value};

use super::*;
use crate::{HandlerLog, LocalTasks, TaskConfig};

const FILE: &str = "/project/MockConfigFile.json";

/// The shape of the example in AWS's "Using mocked service integrations"
/// guide: one state machine, a Lambda state and an SQS state, a happy path,
/// a retry path and a hybrid path that mocks only the Lambda state.
fn example() -> Value {
    json!({
        "StateMachines": {
            "LambdaSQSIntegration": {
                "TestCases": {
                    "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
                    "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
                    "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
                    "ExhaustedPath": {"LambdaState": "MockedLambdaAlwaysBusy"}
                }
            }
        },
        "MockedResponses": {
            "MockedLambdaSuccess": {
                "0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
            },
            "LambdaMockedResourceNotReady": {
                "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}
            },
            "MockedSQSSuccess": {
                "0": {"Return": {"MD5OfMessageBody": "3bcb6e8e", "MessageId": "7c1ab8f2"}}
            },
            "MockedLambdaRetry": {
                "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
                "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
                "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
            },
            "MockedLambdaAlwaysBusy": {
                "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException"}}
            }
        }
    })
}

/// Retries the Lambda state three times on any error, then sends the body
/// to SQS; a catcher on everything ends in `Caught`.
fn definition() -> StateMachine {
    StateMachine::from_value(&json!({
        "StartAt": "LambdaState",
        "States": {
            "LambdaState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "HelloWorldFunction", "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "ResultSelector": {"body.$": "$.Payload.body"},
                "Next": "SQSState"
            },
            "SQSState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q", "MessageBody.$": "$.body"},
                "End": true
            },
            "Caught": {"Type": "Pass", "End": true}
        }
    }))
    .unwrap()
}

fn config() -> MockConfig {
    MockConfig::parse(&example().to_string(), Path::new(FILE)).unwrap()
}

fn case(name: &str) -> TestCase {
    config()
        .for_execution("LambdaSQSIntegration", name)
        .unwrap()
}

fn run(tasks: &mut dyn TaskHandler) -> RunOutcome {
    let opts = RunOptions {
        state_machine_name: "LambdaSQSIntegration".into(),
        ..RunOptions::default()
    };
    run_simulated(&definition(), json!({"order": 7}), tasks, &opts)
}

/// A real handler that must not be called, or records what it was asked.
#[derive(Default)]
struct Recorder {
    seen: Vec<(String, Value)>,
}

impl TaskHandler for Recorder {
    fn invoke(&mut self, task: &TaskInvocation) -> TaskResult {
        self.seen
            .push((task.state_name.clone(), task.parameters.clone()));
        TaskResult::Succeeded(json!({"MessageId": "real"}))
    }
}

/// `(type, error)` of each failure event, in order.
fn failures(outcome: &RunOutcome) -> Vec<(String, String)> {
    outcome
        .history
        .iter()
        .filter(|e| e.type_name().ends_with("Failed"))
        .map(|e| {
            let doc = e.to_aws_json(false);
            let error = doc
                .as_object()
                .and_then(|m| m.values().find_map(|v| v.get("error")))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (e.type_name().to_string(), error)
        })
        .collect()
}

fn output(outcome: &RunOutcome) -> Value {
    outcome
        .execution
        .output
        .as_deref()
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn the_aws_guide_example_parses_into_its_test_cases() {
    let config = config();
    assert_eq!(
        config.test_cases("LambdaSQSIntegration"),
        ["ExhaustedPath", "HappyPath", "HybridPath", "RetryPath"]
    );
    let happy = config
        .for_execution("LambdaSQSIntegration", "HappyPath")
        .unwrap();
    assert_eq!(
        (happy.state_machine(), happy.name()),
        ("LambdaSQSIntegration", "HappyPath")
    );
    assert!(happy.mocks("LambdaState") && happy.mocks("SQSState"));
    assert!(!config
        .for_execution("LambdaSQSIntegration", "HybridPath")
        .unwrap()
        .mocks("SQSState"));
    assert_eq!(
        happy.answer("SQSState", 0),
        Some(TaskResult::Succeeded(
            json!({"MD5OfMessageBody": "3bcb6e8e", "MessageId": "7c1ab8f2"})
        ))
    );
    assert_eq!(happy.answer("Elsewhere", 0), None);
}

#[test]
fn return_is_the_states_result_exactly_as_written() {
    let mut tasks = MockedTasks::new(case("HappyPath"), Recorder::default());
    let outcome = run(&mut tasks);
    assert_eq!(outcome.execution.status, Status::Succeeded);
    // The lambda:invoke mock is the whole Invoke wrapper: ResultSelector
    // reads its Payload.
    assert_eq!(
        output(&outcome),
        json!({"MD5OfMessageBody": "3bcb6e8e", "MessageId": "7c1ab8f2"})
    );
    assert_eq!(tasks.invocations("LambdaState"), 1);
    assert!(tasks.fallback.seen.is_empty());
}

#[test]
fn throw_fails_the_task_and_retries_consume_the_invocation_ranges() {
    let mut tasks = MockedTasks::new(case("RetryPath"), Recorder::default());
    let outcome = run(&mut tasks);
    assert_eq!(
        outcome.execution.status,
        Status::Succeeded,
        "{:?}",
        outcome.execution
    );
    assert_eq!(
        failures(&outcome),
        [
            (
                "TaskFailed".to_string(),
                "Lambda.ResourceNotReadyException".to_string()
            ),
            (
                "TaskFailed".to_string(),
                "Lambda.TimeoutException".to_string()
            ),
            (
                "TaskFailed".to_string(),
                "Lambda.TimeoutException".to_string()
            ),
        ]
    );
    assert_eq!(tasks.invocations("LambdaState"), 4);
    assert_eq!(output(&outcome)["MessageId"], json!("7c1ab8f2"));
    let failed = outcome
        .history
        .iter()
        .find(|e| e.type_name() == "TaskFailed")
        .unwrap()
        .to_aws_json(false);
    assert_eq!(
        failed["taskFailedEventDetails"]["cause"],
        json!("Lambda resource is not ready.")
    );
}

#[test]
fn unmocked_states_fall_back_to_the_real_handler() {
    let mut tasks = MockedTasks::new(case("HybridPath"), Recorder::default());
    let outcome = run(&mut tasks);
    assert_eq!(outcome.execution.status, Status::Succeeded);
    assert_eq!(
        tasks.fallback.seen,
        [(
            "SQSState".to_string(),
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q", "MessageBody": "Hello from Lambda!"})
        )]
    );
    assert_eq!(output(&outcome), json!({"MessageId": "real"}));
}

#[test]
fn unmocked_states_fall_back_to_the_flowstate_toml_handler() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("flowstate.toml");
    std::fs::write(
        &toml,
        "[tasks.\"arn:aws:states:::sqs:sendMessage\"]\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo '{\\\"MessageId\\\": \\\"from-toml\\\"}'\"]\n",
    )
    .unwrap();
    let local = LocalTasks::new(crate::load_config(&toml).unwrap()).with_log(HandlerLog::Discard);
    let mut tasks = MockedTasks::new(case("HybridPath"), local);
    let outcome = run(&mut tasks);
    assert_eq!(output(&outcome), json!({"MessageId": "from-toml"}));
}

#[test]
fn an_invocation_without_a_response_is_a_runtime_error_no_catcher_hides() {
    let mut tasks = MockedTasks::new(case("ExhaustedPath"), Recorder::default());
    let outcome = run(&mut tasks);
    // Invocations 0 and 1 throw and are retried; invocation 2 has no entry.
    assert_eq!(outcome.execution.status, Status::Failed);
    assert_eq!(outcome.execution.error.as_deref(), Some("States.Runtime"));
    let cause = outcome.execution.cause.clone().unwrap_or_default();
    assert!(cause.contains("'MockedLambdaAlwaysBusy'"), "{cause}");
    assert!(cause.contains("invocation 2"), "{cause}");
    assert!(cause.contains("it defines: 0-1"), "{cause}");
    let throw = failures(&outcome);
    assert_eq!(throw[0].1, "Lambda.TooManyRequestsException");
}

#[test]
fn map_iterations_share_one_counter_per_state() {
    let sm = StateMachine::from_value(&json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "Call", "States": {"Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}],
                "End": true
            }}},
            "End": true
        }}
    }))
    .unwrap();
    let config = MockConfig::parse(
        &json!({
            "StateMachines": {"M": {"TestCases": {"T": {"Call": "Seq"}}}},
            "MockedResponses": {"Seq": {
                "0": {"Throw": {"Error": "Boom", "Cause": "attempt 0"}},
                "1": {"Return": "idx1"},
                "2": {"Return": "idx2"}
            }}
        })
        .to_string(),
        Path::new(FILE),
    )
    .unwrap();
    let mut tasks = MockedTasks::new(config.for_execution("M", "T").unwrap(), Recorder::default());
    let outcome = run_simulated(&sm, json!([1, 2]), &mut tasks, &RunOptions::default());
    assert_eq!(output(&outcome), json!(["idx1", "idx2"]));
}

#[test]
fn server_counters_are_per_execution_and_replays_keep_their_index() {
    let counters = InvocationCounters::new();
    assert_eq!(counters.next("exec-1", "Charge", "a"), 0);
    assert_eq!(counters.next("exec-1", "Charge", "b"), 1);
    assert_eq!(
        counters.next("exec-1", "Charge", "a"),
        0,
        "a replay answers as the first time"
    );
    assert_eq!(counters.next("exec-1", "Ship", "c"), 0);
    assert_eq!(counters.next("exec-2", "Charge", "d"), 0);
}

fn invalid(doc: Value) -> (String, MockProblem, String) {
    match MockConfig::parse(&doc.to_string(), Path::new(FILE)) {
        Err(e @ MockError::Invalid { .. }) => {
            let message = e.to_string();
            let MockError::Invalid { at, problem, .. } = e else {
                unreachable!()
            };
            (at, problem, message)
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

fn with_responses(responses: Value) -> Value {
    json!({"StateMachines": {}, "MockedResponses": {"R": responses}})
}

#[test]
fn bad_files_name_the_file_and_the_key() {
    let (at, problem, message) = invalid(json!({"StateMachines": {}, "MockedResponse": {}}));
    assert_eq!(
        (at.as_str(), problem),
        (
            "MockedResponse",
            MockProblem::UnknownKey("StateMachines or MockedResponses")
        )
    );
    assert!(
        message.starts_with("/project/MockConfigFile.json: MockedResponse: unknown key"),
        "{message}"
    );

    let (at, problem, message) = invalid(json!({
        "StateMachines": {"M": {"TestCases": {"Happy": {"Charge": "Missing"}}}},
        "MockedResponses": {}
    }));
    assert_eq!(at, "StateMachines.M.TestCases.Happy.Charge");
    assert_eq!(problem, MockProblem::UndefinedResponse("Missing".into()));
    assert!(
        message.contains("'Missing', which MockedResponses does not define"),
        "{message}"
    );

    let (at, problem, _) = invalid(json!({"StateMachines": {"M": {"Cases": {}}}}));
    assert_eq!(
        (at.as_str(), problem),
        (
            "StateMachines.M.Cases",
            MockProblem::UnknownKey("TestCases")
        )
    );
    let (at, problem, _) = invalid(json!({"StateMachines": {"M": {}}}));
    assert_eq!(
        (at.as_str(), problem),
        ("StateMachines.M", MockProblem::MissingKey("TestCases"))
    );
    let (at, _, _) = invalid(json!({"StateMachines": {"M": {"TestCases": {"T": {"Charge": 3}}}}}));
    assert_eq!(at, "StateMachines.M.TestCases.T.Charge");
    let (at, _, _) = invalid(json!({"StateMachines": []}));
    assert_eq!(at, "StateMachines");
    let (at, _, _) = invalid(json!([]));
    assert_eq!(at, "(top level)");
}

#[test]
fn bad_invocation_keys_and_entries_are_rejected() {
    let ret = json!({"Return": 1});
    for bad in [
        "", "-1", "1-", "a", "2-1", " 1", "1 - 2", "0x1", "1-2-3", "+1",
    ] {
        let (at, problem, _) = invalid(with_responses(json!({ bad: ret.clone() })));
        assert_eq!(problem, MockProblem::BadInvocationKey, "{bad:?}");
        assert_eq!(at, format!("MockedResponses.R.{}", key(bad)));
    }
    let (at, problem, message) = invalid(with_responses(json!({"0-2": ret, "2": ret})));
    assert_eq!(at, "MockedResponses.R.\"2\"");
    assert_eq!(
        problem,
        MockProblem::Overlap {
            other: "0-2".into(),
            invocation: 2
        }
    );
    assert!(
        message.contains("invocation 2 is also covered by \"0-2\""),
        "{message}"
    );

    let (_, problem, _) = invalid(with_responses(
        json!({"0": {"Return": 1, "Throw": {"Error": "E"}}}),
    ));
    assert_eq!(problem, MockProblem::ReturnAndThrow);
    let (_, problem, _) = invalid(with_responses(json!({"0": {}})));
    assert_eq!(problem, MockProblem::NeitherReturnNorThrow);
    let (at, problem, _) = invalid(with_responses(json!({"0": {"Returns": 1}})));
    assert_eq!(
        (at.as_str(), problem),
        (
            "MockedResponses.R.\"0\".Returns",
            MockProblem::UnknownKey("Return or Throw")
        )
    );
    let (at, problem, _) = invalid(with_responses(json!({"0": {"Throw": {"Cause": "c"}}})));
    assert_eq!(
        (at.as_str(), problem),
        (
            "MockedResponses.R.\"0\".Throw",
            MockProblem::MissingKey("Error")
        )
    );
    let (at, _, _) = invalid(with_responses(
        json!({"0": {"Throw": {"Error": "E", "Cause": 5}}}),
    ));
    assert_eq!(at, "MockedResponses.R.\"0\".Throw.Cause");
    let (at, _, _) = invalid(with_responses(
        json!({"0": {"Throw": {"Error": "E", "Message": "m"}}}),
    ));
    assert_eq!(at, "MockedResponses.R.\"0\".Throw.Message");
    let (at, _, _) = invalid(with_responses(json!({"0": {"Throw": "E"}})));
    assert_eq!(at, "MockedResponses.R.\"0\".Throw");
}

#[test]
fn gaps_and_empty_responses_load_and_fail_only_when_reached() {
    let config = MockConfig::parse(
        &json!({
            "StateMachines": {"M": {"TestCases": {"T": {"A": "Gap", "B": "Empty"}}}},
            "MockedResponses": {"Gap": {"1": {"Return": null}}, "Empty": {}}
        })
        .to_string(),
        Path::new(FILE),
    )
    .unwrap();
    let case = config.for_execution("M", "T").unwrap();
    assert_eq!(
        case.answer("A", 1),
        Some(TaskResult::Succeeded(Value::Null))
    );
    let Some(TaskResult::Failed(failure)) = case.answer("A", 0) else {
        panic!("expected a failure")
    };
    assert_eq!(failure.error, "States.Runtime");
    assert!(matches!(case.answer("B", 0), Some(TaskResult::Failed(_))));
}

#[test]
fn unknown_state_machines_and_test_cases_list_the_known_ones() {
    let config = config();
    let err = config.for_execution("Orders", "HappyPath").unwrap_err();
    assert!(matches!(err, MockError::UnknownStateMachine { .. }));
    assert_eq!(
        err.to_string(),
        "/project/MockConfigFile.json: StateMachines has no state machine 'Orders' (its state machines: LambdaSQSIntegration)"
    );
    let err = config
        .for_execution("LambdaSQSIntegration", "Sad")
        .unwrap_err();
    assert!(err.to_string().contains(
        "StateMachines.LambdaSQSIntegration.TestCases has no test case 'Sad' (its test cases: ExhaustedPath, HappyPath, HybridPath, RetryPath)"
    ), "{err}");
}

#[test]
fn mocked_states_must_be_task_states_of_the_definition() {
    assert!(case("HappyPath").check_against(&definition()).is_ok());
    let config = MockConfig::parse(
        &json!({
            "StateMachines": {"M": {"TestCases": {
                "Typo": {"LambdaStat": "R"},
                "Pass": {"Caught": "R"}
            }}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}
        })
        .to_string(),
        Path::new(FILE),
    )
    .unwrap();
    let err = config
        .for_execution("M", "Typo")
        .unwrap()
        .check_against(&definition())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "/project/MockConfigFile.json: StateMachines.M.TestCases.Typo.LambdaStat: the definition has no state 'LambdaStat' (its Task states: LambdaState, SQSState)"
    );
    let err = config
        .for_execution("M", "Pass")
        .unwrap()
        .check_against(&definition())
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("'Caught' is a Pass state; only Task states can be mocked"),
        "{err}"
    );
}

#[test]
fn for_run_needs_both_a_config_and_a_test_case() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("MockConfigFile.json");
    std::fs::write(&file, example().to_string()).unwrap();
    let sm = definition();
    let case = for_run(Some(&file), Some("HappyPath"), "LambdaSQSIntegration", &sm).unwrap();
    assert_eq!(
        case.map(|c| c.name().to_string()),
        Some("HappyPath".to_string())
    );
    let err = for_run(Some(&file), None, "LambdaSQSIntegration", &sm).unwrap_err();
    assert!(matches!(err, MockError::TestCaseNeeded { .. }));
    assert!(
        err.to_string()
            .contains("its test cases: ExhaustedPath, HappyPath"),
        "{err}"
    );
    let err = for_run(
        Some(&dir.path().join("nope.json")),
        Some("HappyPath"),
        "LambdaSQSIntegration",
        &sm,
    )
    .unwrap_err();
    assert!(matches!(err, MockError::Read { .. }));
    assert!(err.to_string().contains("nope.json"), "{err}");
    std::fs::write(&file, "{\"StateMachines\": ").unwrap();
    let err = for_run(Some(&file), Some("HappyPath"), "LambdaSQSIntegration", &sm).unwrap_err();
    assert!(matches!(err, MockError::Syntax { .. }), "{err}");
}

#[test]
fn the_mock_config_path_comes_from_sfn_then_localstack_variable() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    assert_eq!(mock_config_path_from(env(&[])), None);
    assert_eq!(
        mock_config_path_from(env(&[("LOCALSTACK_SFN_MOCK_CONFIG", "/l.json")])),
        Some(PathBuf::from("/l.json"))
    );
    assert_eq!(
        mock_config_path_from(env(&[
            ("LOCALSTACK_SFN_MOCK_CONFIG", "/l.json"),
            ("SFN_MOCK_CONFIG", "/s.json")
        ])),
        Some(PathBuf::from("/s.json"))
    );
    // An empty variable counts as unset.
    assert_eq!(
        mock_config_path_from(env(&[
            ("SFN_MOCK_CONFIG", ""),
            ("LOCALSTACK_SFN_MOCK_CONFIG", "/l.json")
        ])),
        Some(PathBuf::from("/l.json"))
    );
}

#[test]
fn a_run_without_the_flags_or_the_variable_is_not_mocked() {
    // The variable is read from the environment, so this case only holds
    // where it is unset (CI); the flag cases above do not depend on it.
    if std::env::var_os(MOCK_CONFIG_ENV).is_none() {
        assert!(for_run(None, None, "M", &definition()).unwrap().is_none());
        assert!(matches!(
            for_run(None, Some("T"), "M", &definition()),
            Err(MockError::NoMockConfig)
        ));
    }
}

#[test]
fn unused_config_for_unmocked_paths_is_fine_with_task_config() {
    // A TaskConfig that does not exist is still a valid fallback.
    let local = LocalTasks::new(TaskConfig::empty("/p/flowstate.toml"));
    let mut tasks = MockedTasks::new(case("HappyPath"), local);
    assert_eq!(run(&mut tasks).execution.status, Status::Succeeded);
}
