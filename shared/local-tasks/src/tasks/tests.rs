//! Local task handlers end to end: real processes in a temporary directory
//! and a tiny Lambda Invoke API served from a thread.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use serde_json::{json, Value};

use super::*;
use crate::load_config;

const CHARGE_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:charge";
const INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// A project directory with `flowstate.toml` and handler scripts.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(toml: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flowstate.toml"), toml).unwrap();
        std::fs::create_dir_all(dir.path().join("handlers")).unwrap();
        Project { dir }
    }

    /// Writes `handlers/NAME` with `body`.
    fn script(self, name: &str, body: &str) -> Project {
        std::fs::write(self.dir.path().join("handlers").join(name), body).unwrap();
        self
    }

    /// Handlers' stderr is discarded: the tests of the log pass their own.
    fn tasks(&self) -> LocalTasks {
        LocalTasks::new(load_config(self.dir.path().join("flowstate.toml")).unwrap())
            .with_log(HandlerLog::Discard)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn task(resource: &str, parameters: Value) -> TaskInvocation {
    TaskInvocation {
        resource: resource.to_string(),
        parameters,
        task_token: None,
        state_name: "Charge".to_string(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:orders:run-1".to_string(),
        timeout_seconds: None,
        heartbeat_seconds: None,
    }
}

fn succeeded(result: TaskResult) -> Value {
    match result {
        TaskResult::Succeeded(value) => value,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failed(result: TaskResult) -> Failure {
    match result {
        TaskResult::Failed(failure) => failure,
        other => panic!("expected failure, got {other:?}"),
    }
}

/// Echoes its input with `charged: true` added, using only sh and sed.
const ECHO_CHARGED: &str = r#"input=$(cat); printf '%s' "$input" | sed 's/}$/,"charged":true}/'"#;

#[test]
fn plain_arn_command_gets_the_parameters_and_returns_raw_output() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script("charge.sh", ECHO_CHARGED);
    let out = succeeded(
        project
            .tasks()
            .invoke(&task(CHARGE_ARN, json!({"amount": 3}))),
    );
    assert_eq!(out, json!({"amount": 3, "charged": true}));
}

#[test]
fn lambda_invoke_command_gets_the_payload_and_is_wrapped() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script("charge.sh", ECHO_CHARGED);
    let mut tasks = project.tasks();
    let out = succeeded(tasks.invoke(&task(
        INVOKE,
        json!({"FunctionName": "charge", "Payload": {"amount": 3}}),
    )));
    assert_eq!(out["Payload"], json!({"amount": 3, "charged": true}));
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert_eq!(
        out["SdkResponseMetadata"]["RequestId"],
        "00000000-0000-4000-8000-000000000001"
    );
    // Request ids count the calls, so reruns print the same output.
    let out = succeeded(tasks.invoke(&task(
        INVOKE,
        json!({"FunctionName": CHARGE_ARN, "Payload": {"a": 1}}),
    )));
    assert_eq!(
        out["SdkResponseMetadata"]["RequestId"],
        "00000000-0000-4000-8000-000000000002"
    );
}

#[test]
fn lambda_invoke_without_payload_sends_an_empty_object() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script("charge.sh", "cat");
    let out = succeeded(
        project
            .tasks()
            .invoke(&task(INVOKE, json!({"FunctionName": "charge"}))),
    );
    assert_eq!(out["Payload"], json!({}));
}

#[test]
fn error_object_with_exit_zero_is_a_function_error() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script(
            "charge.sh",
            r#"echo '{"errorType": "CardDeclined", "errorMessage": "no funds", "stackTrace": []}'"#,
        );
    let mut tasks = project.tasks();
    let expected = Failure::new(
        "CardDeclined",
        r#"{"errorType":"CardDeclined","errorMessage":"no funds","stackTrace":[]}"#,
    );
    assert_eq!(failed(tasks.invoke(&task(CHARGE_ARN, json!({})))), expected);
    assert_eq!(
        failed(tasks.invoke(&task(INVOKE, json!({"FunctionName": "charge"})))),
        expected
    );
}

#[test]
fn nonzero_exit_with_error_type_names_the_error() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script(
            "charge.sh",
            r#"echo '{"errorType": "Boom"}'; echo 'trace' >&2; exit 3"#,
        );
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert_eq!(failure, Failure::new("Boom", r#"{"errorType":"Boom"}"#));
}

#[test]
fn nonzero_exit_is_task_failed_with_stderr_as_cause() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script(
            "charge.sh",
            "echo 'Traceback: something broke' >&2\necho '  at line 3  ' >&2\nexit 2",
        );
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert_eq!(
        failure,
        Failure::new(
            "States.TaskFailed",
            "Traceback: something broke\n  at line 3"
        )
    );
}

#[test]
fn nonzero_exit_without_stderr_says_how_it_exited() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script("charge.sh", "exit 7");
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert_eq!(failure.error, "States.TaskFailed");
    assert_eq!(
        failure.cause.unwrap(),
        "`sh handlers/charge.sh` exited with status 7 and wrote nothing to stderr"
    );
}

#[test]
fn output_that_is_not_json_fails_clearly() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script("charge.sh", "echo 'charging card...'\necho 'done' >&2");
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert_eq!(failure.error, "States.TaskFailed");
    let cause = failure.cause.unwrap();
    assert!(cause.contains("stdout is not JSON"), "{cause}");
    assert!(cause.contains("charging card..."), "{cause}");
    assert!(cause.contains("stderr: done"), "{cause}");
}

#[test]
fn empty_output_is_null() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script("charge.sh", "cat >/dev/null");
    assert_eq!(
        succeeded(project.tasks().invoke(&task(CHARGE_ARN, json!({"a": 1})))),
        Value::Null
    );
}

#[test]
fn a_program_that_cannot_start_fails_the_task() {
    let project = Project::new("[tasks.charge]\ncommand = [\"./handlers/missing\"]\n");
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert_eq!(failure.error, "States.TaskFailed");
    let cause = failure.cause.unwrap();
    assert!(cause.starts_with("Could not start"), "{cause}");
    assert!(cause.contains("handlers/missing"), "{cause}");
}

#[test]
fn paths_env_and_context_reach_the_process() {
    let toml = r#"
[tasks.charge]
command = ["./handlers/charge.sh"]
cwd = "handlers"
env = { STAGE = "local" }
"#;
    let project = Project::new(toml).script(
        "charge.sh",
        r#"#!/bin/sh
printf '{"cwd":"%s","stage":"%s","state":"%s","function":"%s"}' "$(pwd)" "$STAGE" "$FLOWSTATE_STATE_NAME" "$FLOWSTATE_FUNCTION_NAME""#,
    );
    let script = project.path().join("handlers/charge.sh");
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();
    // Started from elsewhere, the relative program still resolves.
    let out = succeeded(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    let cwd = std::fs::canonicalize(project.path().join("handlers")).unwrap();
    assert_eq!(
        out,
        json!({"cwd": cwd.display().to_string(), "stage": "local", "state": "Charge", "function": "charge"})
    );
}

#[test]
fn the_most_specific_key_wins() {
    let toml = r#"
[tasks.charge]
command = ["sh", "-c", "echo '\"plain\"'"]
[tasks."charge:live"]
command = ["sh", "-c", "echo '\"live\"'"]
"#;
    let project = Project::new(toml);
    let mut tasks = project.tasks();
    assert_eq!(
        succeeded(tasks.invoke(&task(&format!("{CHARGE_ARN}:live"), json!({})))),
        json!("live")
    );
    assert_eq!(
        succeeded(tasks.invoke(&task(&format!("{CHARGE_ARN}:v3"), json!({})))),
        json!("plain")
    );
    let out = succeeded(tasks.invoke(&task(
        INVOKE,
        json!({"FunctionName": "charge", "Qualifier": "live"}),
    )));
    assert_eq!(out["Payload"], json!("live"));
}

#[test]
fn service_integrations_are_mapped_by_their_resource() {
    let toml = r#"
[tasks."arn:aws:states:::sqs:sendMessage"]
command = ["sh", "-c", "cat >/dev/null; echo '{\"MessageId\": \"m-1\"}'"]
"#;
    let project = Project::new(toml);
    let mut tasks = project.tasks();
    let sqs = "arn:aws:states:::sqs:sendMessage";
    assert_eq!(
        succeeded(tasks.invoke(&task(sqs, json!({"QueueUrl": "q"})))),
        json!({"MessageId": "m-1"})
    );
    // The suffix-less key also covers the .waitForTaskToken form.
    let out = tasks.invoke(&task(
        &format!("{sqs}.waitForTaskToken"),
        json!({"MessageBody": {"token": "t"}}),
    ));
    assert_eq!(succeeded(out), json!({"MessageId": "m-1"}));
}

#[test]
fn lambda_invoke_mapped_by_resource_gets_the_whole_parameters() {
    let toml = "[tasks.\"arn:aws:states:::lambda:invoke\"]\ncommand = [\"cat\"]\n";
    let project = Project::new(toml);
    let params = json!({"FunctionName": "anything", "Payload": {"a": 1}});
    assert_eq!(
        succeeded(project.tasks().invoke(&task(INVOKE, params.clone()))),
        params
    );
}

#[test]
fn wait_for_task_token_output_is_the_callback_output() {
    let project = Project::new("[tasks.approve]\ncommand = [\"sh\", \"handlers/approve.sh\"]\n").script(
        "approve.sh",
        r#"input=$(cat); printf '{"approved":true,"echo":%s,"token":"%s"}' "$input" "$FLOWSTATE_TASK_TOKEN""#,
    );
    let mut invocation = task(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({"FunctionName": "approve", "Payload": {"token": "tok-1"}}),
    );
    invocation.task_token = Some("tok-1".to_string());
    let out = succeeded(project.tasks().invoke(&invocation));
    // Not the lambda:invoke wrapper: the callback's output as it is.
    assert_eq!(
        out,
        json!({"approved": true, "echo": {"token": "tok-1"}, "token": "tok-1"})
    );
}

#[test]
fn wait_for_task_token_error_is_send_task_failure() {
    let project = Project::new("[tasks.approve]\ncommand = [\"sh\", \"handlers/approve.sh\"]\n")
        .script(
            "approve.sh",
            r#"echo '{"errorType":"Rejected","errorMessage":"no"}'"#,
        );
    let invocation = task(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({"FunctionName": "approve", "Payload": {}}),
    );
    assert_eq!(
        failed(project.tasks().invoke(&invocation)).error,
        "Rejected"
    );
}

#[test]
fn activities_are_mapped_by_their_arn() {
    let arn = "arn:aws:states:us-east-1:123456789012:activity:review";
    let project = Project::new(&format!("[tasks.\"{arn}\"]\ncommand = [\"cat\"]\n"));
    assert_eq!(
        succeeded(project.tasks().invoke(&task(arn, json!({"doc": 1})))),
        json!({"doc": 1})
    );
}

#[test]
fn handler_timeout_is_a_lambda_timeout_for_functions() {
    let toml =
        "[tasks.charge]\ncommand = [\"sh\", \"-c\", \"exec sleep 10\"]\ntimeout_seconds = 1\n";
    let project = Project::new(toml);
    let started = std::time::Instant::now();
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(failure.error, "Lambda.Unknown");
    let cause = failure.cause.unwrap();
    assert!(cause.starts_with("The cause could not be determined because Lambda did not return an error type. Returned payload: {\"errorMessage\":\""), "{cause}");
    assert!(
        cause.contains("Task timed out after 1.00 seconds"),
        "{cause}"
    );
}

#[test]
fn state_timeout_is_states_timeout() {
    let toml = "[tasks.\"arn:aws:states:::sqs:sendMessage\"]\ncommand = [\"sh\", \"-c\", \"exec sleep 10\"]\ntimeout_seconds = 5\n";
    let project = Project::new(toml);
    let mut invocation = task("arn:aws:states:::sqs:sendMessage", json!({}));
    invocation.timeout_seconds = Some(1);
    let failure = failed(project.tasks().invoke(&invocation));
    assert_eq!(
        failure,
        Failure {
            error: "States.Timeout".into(),
            cause: None
        }
    );
}

#[test]
fn unmapped_function_shows_the_lines_to_add() {
    let project = Project::new("[tasks.other]\ncommand = [\"cat\"]\n");
    let failure = failed(project.tasks().invoke(&task(CHARGE_ARN, json!({}))));
    assert_eq!(failure.error, "States.TaskFailed");
    let cause = failure.cause.unwrap();
    let path = project.path().join("flowstate.toml");
    assert!(cause.starts_with("No local handler for the Lambda function 'charge' (state 'Charge', resource 'arn:aws:lambda:us-east-1:123456789012:function:charge')"), "{cause}");
    assert!(
        cause.contains(&format!("{} has no entry for it", path.display())),
        "{cause}"
    );
    assert!(
        cause.contains("[tasks.charge]\ncommand = [\"python3\", \"handlers/charge.py\"]"),
        "{cause}"
    );
    assert!(
        cause.contains("[tasks.charge]\nurl = \"http://127.0.0.1:9000\""),
        "{cause}"
    );
    // The suggested lines really do map it.
    let suggestion = cause.split("\n\n").nth(1).unwrap();
    let config = TaskConfig::parse(suggestion, &path).unwrap();
    assert!(config.get("charge").is_some());
}

#[test]
fn unmapped_service_quotes_its_key() {
    let config = TaskConfig::empty("/project/flowstate.toml");
    let failure = failed(LocalTasks::new(config).invoke(&task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        json!({}),
    )));
    let cause = failure.cause.unwrap();
    assert!(
        cause.contains("there is no /project/flowstate.toml"),
        "{cause}"
    );
    assert!(
        cause.contains("[tasks.\"arn:aws:states:::sqs:sendMessage.waitForTaskToken\"]\ncommand = [\"python3\", \"handlers/sqs-sendMessage.py\"]   # reads the state's parameters"),
        "{cause}"
    );
    assert!(cause.contains("callback's output"), "{cause}");
    assert!(!cause.contains("url ="), "{cause}");
}

#[test]
fn perform_tells_an_unmapped_task_from_one_that_ran() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"-c\", \"exit 3\"]\n");
    let mut tasks = project.tasks();
    // A handler that fails is a task result; only a missing entry is Unmapped.
    assert!(matches!(
        tasks.perform(&task(CHARGE_ARN, json!({}))),
        Ok(TaskResult::Failed(_))
    ));
    let unmapped = tasks
        .perform(&task("arn:aws:states:::sqs:sendMessage", json!({})))
        .unwrap_err();
    assert!(unmapped
        .to_string()
        .starts_with("No local handler for the resource"));
    let failure = unmapped.into_failure();
    assert_eq!(failure.error, "States.TaskFailed");
}

#[test]
fn unrecognised_resources_can_still_be_mapped() {
    let failure = failed(
        LocalTasks::new(TaskConfig::empty("/p/flowstate.toml"))
            .invoke(&task("my-thing", json!({}))),
    );
    assert!(failure.cause.unwrap().contains("[tasks.my-thing]"));
}

#[test]
fn bad_lambda_invoke_parameters_fail_before_any_handler() {
    let project = Project::new("[tasks.charge]\ncommand = [\"cat\"]\n");
    let failure = failed(
        project
            .tasks()
            .invoke(&task(INVOKE, json!({"Payload": {}}))),
    );
    assert_eq!(failure.error, "States.Runtime");
}

#[test]
fn toml_keys_are_quoted_when_needed() {
    assert_eq!(toml_key("send-email_2"), "send-email_2");
    assert_eq!(toml_key("charge:live"), "\"charge:live\"");
    assert_eq!(toml_key("a\"b"), "\"a\\\"b\"");
}

/// A request as the test server saw it: request line, lower-cased headers, body.
type Seen = (String, Vec<(String, String)>, String);

/// One canned HTTP answer per connection; each request is sent back on the
/// channel as (request line, lower-cased headers, body).
fn serve(answers: Vec<String>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for answer in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            stream.write_all(answer.as_bytes()).unwrap();
            stream.flush().unwrap();
            sender
                .send((
                    request_line.trim_end().to_string(),
                    headers,
                    String::from_utf8(body).unwrap(),
                ))
                .unwrap();
        }
    });
    (url, receiver)
}

fn http_answer(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        answer.push_str(&format!("{name}: {value}\r\n"));
    }
    answer.push_str("\r\n");
    answer.push_str(body);
    answer
}

#[test]
fn http_handler_speaks_the_invoke_api() {
    let (url, requests) = serve(vec![
        http_answer(
            "200 OK",
            &[
                ("X-Amz-Executed-Version", "$LATEST"),
                ("x-amzn-RequestId", "req-9"),
            ],
            r#"{"sent":true}"#,
        ),
        http_answer("200 OK", &[], r#"{"receipt":"r-1"}"#),
    ]);
    let project = Project::new(&format!("[tasks.send-email]\nurl = \"{url}/\"\n"));
    let mut tasks = project.tasks();

    let out = tasks.invoke(&task(
        INVOKE,
        json!({"FunctionName": "send-email", "Payload": {"to": "a@b"}}),
    ));
    let out = succeeded(out);
    assert_eq!(out["Payload"], json!({"sent": true}));
    assert_eq!(out["SdkResponseMetadata"]["RequestId"], "req-9");
    let (line, headers, body) = requests.recv().unwrap();
    assert_eq!(
        line,
        "POST /2015-03-31/functions/send-email/invocations HTTP/1.1"
    );
    assert!(headers.contains(&("x-amz-invocation-type".into(), "RequestResponse".into())));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"to": "a@b"})
    );

    // A plain ARN with a qualifier passes it as the Invoke API does.
    let resource = "arn:aws:lambda:us-east-1:123456789012:function:send-email:live";
    assert_eq!(
        succeeded(tasks.invoke(&task(resource, json!({"x": 1})))),
        json!({"receipt": "r-1"})
    );
    let (line, _, _) = requests.recv().unwrap();
    assert_eq!(
        line,
        "POST /2015-03-31/functions/send-email/invocations?Qualifier=live HTTP/1.1"
    );
}

#[test]
fn http_function_error_header_is_a_function_error() {
    let error = r#"{"errorType":"SmtpError","errorMessage":"mailbox full"}"#;
    let (url, _requests) = serve(vec![
        http_answer("200 OK", &[("X-Amz-Function-Error", "Unhandled")], error),
        http_answer(
            "200 OK",
            &[("X-Amz-Function-Error", "Unhandled")],
            r#"{"errorMessage":"Task timed out after 3.00 seconds"}"#,
        ),
    ]);
    let project = Project::new(&format!("[tasks.send-email]\nurl = \"{url}\"\n"));
    let mut tasks = project.tasks();
    let invocation = task(INVOKE, json!({"FunctionName": "send-email"}));
    assert_eq!(
        failed(tasks.invoke(&invocation)),
        Failure::new("SmtpError", error)
    );
    assert_eq!(failed(tasks.invoke(&invocation)).error, "Lambda.Unknown");
}

#[test]
fn http_service_errors_and_unreachable_endpoints() {
    let (url, _requests) = serve(vec![http_answer(
        "404 Not Found",
        &[("x-amzn-ErrorType", "ResourceNotFoundException")],
        r#"{"Type":"User","message":"Function not found: send-email"}"#,
    )]);
    let project = Project::new(&format!(
        "[tasks.send-email]\nurl = \"{url}\"\nfunction = \"mailer\"\n"
    ));
    let failure = failed(
        project
            .tasks()
            .invoke(&task(INVOKE, json!({"FunctionName": "send-email"}))),
    );
    assert_eq!(failure.error, "Lambda.ResourceNotFoundException");
    assert!(failure
        .cause
        .unwrap()
        .starts_with("Function not found: send-email (Service: AWSLambda; Status Code: 404"));

    // Nothing listens on a port we just released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let project = Project::new(&format!(
        "[tasks.send-email]\nurl = \"http://127.0.0.1:{port}\"\n"
    ));
    let failure = failed(
        project
            .tasks()
            .invoke(&task(INVOKE, json!({"FunctionName": "send-email"}))),
    );
    assert_eq!(failure.error, "Lambda.SdkClientException");
    assert!(failure.cause.unwrap().contains("cargo lambda watch"));
}

#[test]
fn http_function_override_names_the_served_function() {
    let (url, requests) = serve(vec![http_answer("200 OK", &[], "{}")]);
    let toml = format!(
        "[tasks.\"arn:aws:states:::sqs:sendMessage\"]\nurl = \"{url}\"\nfunction = \"fake-sqs\"\n"
    );
    let project = Project::new(&toml);
    let out = project.tasks().invoke(&task(
        "arn:aws:states:::sqs:sendMessage",
        json!({"QueueUrl": "q"}),
    ));
    assert_eq!(succeeded(out), json!({}));
    let (line, _, body) = requests.recv().unwrap();
    assert_eq!(
        line,
        "POST /2015-03-31/functions/fake-sqs/invocations HTTP/1.1"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"QueueUrl": "q"})
    );
}

#[test]
fn function_keys_run_from_most_to_least_specific() {
    let resource = format!("{CHARGE_ARN}:live");
    let invocation = task(&resource, json!({}));
    let call = LambdaCall::from_task(&TaskResource::parse(&resource).unwrap(), &json!({}))
        .unwrap()
        .unwrap();
    assert_eq!(
        function_keys(&invocation, &call),
        [resource.as_str(), "charge:live", CHARGE_ARN, "charge"]
    );
    let invocation = task(INVOKE, json!({"FunctionName": "charge"}));
    let call = LambdaCall::from_task(
        &TaskResource::parse(INVOKE).unwrap(),
        &invocation.parameters,
    )
    .unwrap()
    .unwrap();
    assert_eq!(function_keys(&invocation, &call), ["charge"]);
}

/// The (state, line) pairs a recording log received.
type Recorded = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A log that records (state, line) pairs.
fn recording_log() -> (HandlerLog, Recorded) {
    let lines: Recorded = Default::default();
    let sink = std::sync::Arc::clone(&lines);
    let log = HandlerLog::Lines(std::sync::Arc::new(move |state: &str, line: &str| {
        sink.lock()
            .unwrap()
            .push((state.to_string(), line.to_string()));
    }));
    (log, lines)
}

#[test]
fn a_successful_handlers_stderr_is_passed_through_with_its_state_name() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script(
            "charge.sh",
            "cat > /dev/null; echo 'charging 42' >&2; printf 'no newline at the end' >&2; echo '{\"ok\": true}'",
        );
    let (log, lines) = recording_log();
    let out = succeeded(
        project
            .tasks()
            .with_log(log)
            .invoke(&task(CHARGE_ARN, json!({}))),
    );
    assert_eq!(out, json!({"ok": true}));
    assert_eq!(
        *lines.lock().unwrap(),
        [
            ("Charge".to_string(), "charging 42".to_string()),
            ("Charge".to_string(), "no newline at the end".to_string()),
        ]
    );
}

#[test]
fn a_failing_handlers_stderr_is_passed_through_and_kept_as_the_cause() {
    let project = Project::new("[tasks.charge]\ncommand = [\"sh\", \"handlers/charge.sh\"]\n")
        .script(
            "charge.sh",
            "echo 'step 1' >&2; echo 'card declined' >&2; exit 3",
        );
    let (log, lines) = recording_log();
    let failure = failed(
        project
            .tasks()
            .with_log(log)
            .invoke(&task(CHARGE_ARN, json!({}))),
    );
    assert_eq!(failure.error, "States.TaskFailed");
    assert_eq!(failure.cause.as_deref(), Some("step 1\ncard declined"));
    let logged: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    assert_eq!(logged, ["step 1", "card declined"]);
}
