//! [`AwsInvoker`]: the runtime's `Invoker` on AWS. It reads a Task's
//! resource with the engine's parser, checks it against the engine's list of
//! what Flowstate supports on AWS (`AWS_INTEGRATIONS`), and performs the
//! call with the service's SDK (`integrations::*`). `.waitForTaskToken`
//! resources make the call — the token is wherever the definition put
//! `$$.Task.Token` in the parameters — and report `AwaitingCallback`.

use crate::integrations::{dynamodb, events, lambda, sns, sqs};
use aws_config::{BehaviorVersion, SdkConfig};
use flowstate_asl::errors::{Failure, StatesError};
use flowstate_engine::integration::{
    aws_supported_summary, AwsSupport, IntegrationPattern, LambdaCall, TaskResource,
};
use flowstate_ports::{InvokeContext, Invoker, TaskInvocation, TaskResult};
use serde_json::Value;

/// Performs Task states against AWS services. Cheap to clone (the SDK
/// clients share their connections).
#[derive(Debug, Clone)]
pub struct AwsInvoker {
    lambda: aws_sdk_lambda::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    events: aws_sdk_eventbridge::Client,
}

impl AwsInvoker {
    /// Clients built from `config`. Each service honours its own endpoint
    /// override from the environment when `config` was loaded from it
    /// (`AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_SQS`, ...) unless
    /// `config` sets an endpoint in code.
    pub fn new(config: &SdkConfig) -> AwsInvoker {
        AwsInvoker::with_lambda_endpoint(config, None)
    }

    /// As [`AwsInvoker::new`], with Lambda's Invoke API served at
    /// `lambda_endpoint` (e.g. `cargo lambda watch`, or a test's own
    /// server) while the other services use `config`'s endpoint.
    pub fn with_lambda_endpoint(config: &SdkConfig, lambda_endpoint: Option<&str>) -> AwsInvoker {
        let lambda = match lambda_endpoint {
            Some(endpoint) => aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .endpoint_url(endpoint)
                    .build(),
            ),
            None => aws_sdk_lambda::Client::new(config),
        };
        AwsInvoker {
            lambda,
            sqs: aws_sdk_sqs::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
        }
    }

    /// Clients from the standard AWS configuration (region, credentials,
    /// `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_*`).
    pub async fn from_env() -> AwsInvoker {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        AwsInvoker::new(&config)
    }

    /// The call, without the pattern's waiting: the state's result, or
    /// `None` once a callback is awaited.
    async fn perform(&self, task: &TaskInvocation) -> Result<Option<Value>, Failure> {
        let resource = TaskResource::parse(&task.resource).map_err(|e| {
            Failure::states(
                StatesError::TaskFailed,
                format!("{e}. {}", aws_supported_summary()),
            )
        })?;
        match resource.aws_support() {
            AwsSupport::Invoker => {}
            AwsSupport::Unsupported(reason) => {
                // States.TaskFailed, as the local runner fails a resource it
                // has no handler for: a Retry or Catch on the state can still
                // handle it, and ValidateStateMachineDefinition warns first.
                return Err(Failure::states(
                    StatesError::TaskFailed,
                    format!(
                        "The resource '{}' cannot run on AWS: {reason}. {}",
                        task.resource,
                        aws_supported_summary()
                    ),
                ));
            }
            AwsSupport::Runtime => {
                // Not States.TaskFailed: a Catch on States.ALL must not hide
                // a runtime that routed a child execution to the invoker.
                return Err(Failure::states(
                    StatesError::Runtime,
                    format!(
                        "The resource '{}' is performed by the Flowstate runtime (a child execution, or an activity task for a worker), not by the AWS invoker; it reached the invoker by mistake",
                        task.resource
                    ),
                ));
            }
        }
        if let Some(call) = LambdaCall::from_task(&resource, &task.parameters)? {
            return lambda::invoke(&self.lambda, &resource, &call, &task.parameters).await;
        }
        let TaskResource::Service(service) = &resource else {
            return Err(unlisted(&task.resource));
        };
        let result = match (service.service.as_str(), service.action.as_str()) {
            ("sqs", "sendMessage") => sqs::send_message(&self.sqs, &task.parameters).await?,
            ("sns", "publish") => sns::publish(&self.sns, &task.parameters).await?,
            ("events", "putEvents") => {
                events::put_events(&self.events, &task.parameters, &task.execution_arn).await?
            }
            ("dynamodb", action) => {
                dynamodb::call(&self.dynamodb, action, &task.parameters).await?
            }
            _ => return Err(unlisted(&task.resource)),
        };
        Ok((service.pattern != IntegrationPattern::WaitForTaskToken).then_some(result))
    }
}

/// A resource in `AWS_INTEGRATIONS` that this invoker has no code for:
/// the list and the dispatch above disagree (a unit test keeps them equal).
fn unlisted(resource: &str) -> Failure {
    Failure::states(
        StatesError::Runtime,
        format!("The AWS invoker has no implementation for '{resource}' although Flowstate lists it as supported"),
    )
}

impl Invoker for AwsInvoker {
    async fn invoke(&self, _context: &InvokeContext, task: &TaskInvocation) -> TaskResult {
        match self.perform(task).await {
            Ok(Some(result)) => TaskResult::Succeeded(result),
            Ok(None) => TaskResult::AwaitingCallback,
            Err(failure) => TaskResult::Failed(failure),
        }
    }
}

/// The services this invoker dispatches on, for the test that keeps it in
/// step with the engine's list.
#[cfg(test)]
const IMPLEMENTED: &[(&str, &str)] = &[
    ("lambda", "invoke"),
    ("sqs", "sendMessage"),
    ("sns", "publish"),
    ("events", "putEvents"),
    ("dynamodb", "getItem"),
    ("dynamodb", "putItem"),
    ("dynamodb", "updateItem"),
    ("dynamodb", "deleteItem"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use flowstate_engine::integration::AWS_INTEGRATIONS;

    #[test]
    fn every_listed_integration_is_implemented_here_or_by_the_runtime() {
        for integration in AWS_INTEGRATIONS {
            let here = IMPLEMENTED.contains(&(integration.service, integration.action));
            assert_ne!(
                here, integration.by_runtime,
                "{}:{}",
                integration.service, integration.action
            );
        }
        assert_eq!(
            IMPLEMENTED.len(),
            AWS_INTEGRATIONS.iter().filter(|i| !i.by_runtime).count()
        );
    }
}
