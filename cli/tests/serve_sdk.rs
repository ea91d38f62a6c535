//! `flowstate serve` driven by the Rust AWS SDK (`aws-sdk-sfn`), the client
//! Rust users have. Kept to this one file: the SDK compiles slowly.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{Server, ROLE};
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sfn::error::BoxError;
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType, SyncExecutionStatus};

/// The Rust SDK always sends StartSyncExecution to `sync-<host>` and has no
/// switch to turn that off; against a local endpoint, strip the prefix
/// again before the request is signed. (Or make `sync-localhost` resolve.)
#[derive(Debug)]
struct NoSyncPrefix;

impl Intercept for NoSyncPrefix {
    fn name(&self) -> &'static str {
        "NoSyncPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().replacen("://sync-", "://", 1);
        request.set_uri(uri)?;
        Ok(())
    }
}

fn client(url: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "flowstate-tests",
        ))
        .endpoint_url(url)
        .interceptor(NoSyncPrefix)
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_drives_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&["--data-dir", dir.path().to_str().unwrap()]);
    let sfn = client(&s.url);

    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"F"},"F":{"Type":"Fail","Error":"Oops","Cause":"on purpose"}}}"#;
    let sm = sfn
        .create_state_machine()
        .name("sdk")
        .definition(def)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let started = sfn
        .start_execution()
        .state_machine_arn(sm.state_machine_arn())
        .name("s1")
        .input(r#"{"k": "v"}"#)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn().to_string();
    let done = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
        if d.status() != &ExecutionStatus::Running {
            break d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(
        (done.error(), done.cause()),
        (Some("Oops"), Some("on purpose"))
    );
    assert!(done.stop_date().unwrap().secs() >= done.start_date().secs());
    assert_eq!(done.input(), Some(r#"{"k":"v"}"#));

    let history = sfn
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(2)
        .into_paginator()
        .items()
        .send();
    let events: Vec<_> = history.collect::<Result<Vec<_>, _>>().await.unwrap();
    let types: Vec<String> = events
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("ExecutionStarted"));
    assert_eq!(types.last().map(String::as_str), Some("ExecutionFailed"));
    assert_eq!(
        events.iter().map(|e| e.id()).collect::<Vec<_>>(),
        (1..=events.len() as i64).collect::<Vec<_>>()
    );

    let listed = sfn
        .list_executions()
        .state_machine_arn(sm.state_machine_arn())
        .status_filter(ExecutionStatus::Failed)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1);

    // Modelled errors arrive as the SDK's typed variants.
    let err = sfn
        .describe_execution()
        .execution_arn(format!("{arn}-missing"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_execution_does_not_exist());
    let err = sfn
        .start_execution()
        .state_machine_arn(sm.state_machine_arn())
        .name("s1")
        .input("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_execution_already_exists());
    let err = sfn
        .send_task_success()
        .task_token("nope")
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_token());

    let express = sfn
        .create_state_machine()
        .name("sdk-express")
        .r#type(StateMachineType::Express)
        .definition(
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}"#,
        )
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let sync = sfn
        .start_sync_execution()
        .state_machine_arn(express.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status(), &SyncExecutionStatus::Succeeded);
    assert_eq!(sync.output(), Some(r#"{"ok":true}"#));

    let v = sfn
        .validate_state_machine_definition()
        .definition(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(v.result().as_str(), "FAIL");
    assert_eq!(v.diagnostics()[0].location(), Some("/States/A/Next"));
}
