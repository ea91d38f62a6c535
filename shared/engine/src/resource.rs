//! How a Task's `Resource` appears in history events.
//!
//! The resource is read by [`TaskResource::parse`], the one parser every
//! shell uses to decide what a Task calls, so the history and the invoker
//! can never disagree about what a resource is.

use crate::integration::{IntegrationKind, TaskResource};

/// `resourceType`/`resource` of Task history events, or the legacy
/// `LambdaFunction*` events of a plain function ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    pub resource_type: String,
    pub resource: String,
    pub lambda_legacy: bool,
}

/// - `arn:aws:states:::lambda:invoke[.waitForTaskToken]` → `lambda`,
///   `invoke[.waitForTaskToken]`; any `arn:aws:states:::SERVICE:ACTION[.PATTERN]`
///   → `SERVICE`, `ACTION[.PATTERN]`; `aws-sdk:SERVICE:ACTION` → `aws-sdk`,
///   `SERVICE:ACTION`.
/// - A plain Lambda function ARN → the legacy `LambdaFunction*` events.
/// - An activity ARN → `activity`, the ARN.
/// - Anything the parser rejects (Step Functions refuses such a definition
///   at creation) → `unknown`, the resource as written.
pub fn integration_kind(resource: &str) -> ResourceKind {
    let kind = |resource_type: &str, name: String, lambda_legacy: bool| ResourceKind {
        resource_type: resource_type.to_string(),
        resource: name,
        lambda_legacy,
    };
    match TaskResource::parse(resource) {
        Ok(TaskResource::LambdaFunction(_)) => kind("lambda", resource.to_string(), true),
        Ok(TaskResource::LambdaInvoke(pattern)) => {
            kind("lambda", format!("invoke{}", pattern.suffix()), false)
        }
        Ok(TaskResource::Service(service)) => {
            let suffix = service.pattern.suffix();
            match service.kind {
                IntegrationKind::Optimized => kind(
                    &service.service,
                    format!("{}{suffix}", service.action),
                    false,
                ),
                IntegrationKind::AwsSdk => kind(
                    "aws-sdk",
                    format!("{}:{}{suffix}", service.service, service.action),
                    false,
                ),
            }
        }
        Ok(TaskResource::Activity(_)) => kind("activity", resource.to_string(), false),
        Err(_) => kind("unknown", resource.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(resource: &str) -> (String, String, bool) {
        let k = integration_kind(resource);
        (k.resource_type, k.resource, k.lambda_legacy)
    }

    fn expect(resource_type: &str, resource: &str, legacy: bool) -> (String, String, bool) {
        (resource_type.to_string(), resource.to_string(), legacy)
    }

    #[test]
    fn service_integrations_split_into_service_and_action() {
        assert_eq!(
            kind("arn:aws:states:::lambda:invoke"),
            expect("lambda", "invoke", false)
        );
        assert_eq!(
            kind("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            expect("lambda", "invoke.waitForTaskToken", false)
        );
        assert_eq!(
            kind("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            expect("sqs", "sendMessage.waitForTaskToken", false)
        );
        assert_eq!(
            kind("arn:aws:states:::states:startExecution.sync:2"),
            expect("states", "startExecution.sync:2", false)
        );
        assert_eq!(
            kind("arn:aws:states:::ecs:runTask.sync"),
            expect("ecs", "runTask.sync", false)
        );
        assert_eq!(
            kind("arn:aws:states:::aws-sdk:s3:getObject"),
            expect("aws-sdk", "s3:getObject", false)
        );
        assert_eq!(
            kind("arn:aws-cn:states:::dynamodb:putItem"),
            expect("dynamodb", "putItem", false)
        );
    }

    #[test]
    fn plain_function_arns_use_the_legacy_lambda_events() {
        for arn in [
            "arn:aws:lambda:us-east-1:123456789012:function:charge",
            "arn:aws:lambda:us-east-1:123456789012:function:charge:live",
            "arn:aws:lambda:us-east-1:123456789012:function:charge:$LATEST",
        ] {
            assert_eq!(kind(arn), expect("lambda", arn, true));
        }
    }

    #[test]
    fn activities_keep_their_arn() {
        let arn = "arn:aws:states:us-east-1:123456789012:activity:approve";
        assert_eq!(kind(arn), expect("activity", arn, false));
    }

    #[test]
    fn resources_the_parser_rejects_are_unknown() {
        for resource in [
            "arn:aws:states:::sqs",
            "arn:aws:s3:::bucket",
            "arn:aws:states:::lambda:invoke.sync",
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            "not-an-arn",
        ] {
            assert_eq!(
                kind(resource),
                expect("unknown", resource, false),
                "{resource}"
            );
        }
    }
}
