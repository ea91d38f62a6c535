//! Service integrations as Step Functions shapes them: which resource ARNs
//! name a Lambda function, how `arn:aws:states:::lambda:invoke` wraps the
//! result, how function errors become task failures. Pure. (OWNER: helper "local-tasks")
//!
//! The main types:
//!
//! - [`TaskResource`]: a Task state's `Resource`, parsed. A plain Lambda
//!   function ARN, the optimized `lambda:invoke` integration, any other
//!   service integration (`SERVICE:ACTION` or `aws-sdk:SERVICE:ACTION`, with
//!   its [`IntegrationPattern`]) or an activity.
//! - [`LambdaCall`]: what a Task asks of Lambda once its parameters are
//!   evaluated: which function ([`FunctionRef`]), with which payload, and how
//!   the answer is shown to the state ([`LambdaCall::result`]).
//! - [`LambdaResponse`] and [`LambdaServiceError`]: the two answers the
//!   Lambda Invoke API gives, transport-neutral, so the local runner and the
//!   AWS invoker share one mapping to results and [`Failure`]s.
//! - [`AWS_INTEGRATIONS`], [`TaskResource::aws_support`] and
//!   [`aws_supported_summary`]: what Flowstate performs on AWS — the one list
//!   the AWS invoker dispatches on and definition validation warns against.
//!
//! ```
//! use flowstate_engine::integration::{LambdaCall, LambdaResponse, TaskResource};
//! use serde_json::json;
//!
//! let resource = TaskResource::parse("arn:aws:states:::lambda:invoke").unwrap();
//! let params = json!({"FunctionName": "charge", "Payload": {"amount": 3}});
//! let call = LambdaCall::from_task(&resource, &params).unwrap().unwrap();
//! assert_eq!(call.function.name, "charge");
//! let out = call.result(&LambdaResponse::ok(r#"{"paid":true}"#, "req-1")).unwrap();
//! assert_eq!(out["Payload"], json!({"paid": true}));
//! assert_eq!(out["StatusCode"], json!(200));
//! ```
//!
//! Nothing here does I/O or reads the clock: request ids and dates arrive in
//! the [`LambdaResponse`] from whoever performed the call.

use std::fmt;
use std::str::FromStr;

use flowstate_asl::errors::{Failure, StatesError};
use serde_json::{Map, Value};

/// A Task state's `Resource`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskResource {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`: the
    /// parameters are the payload and the function's raw output is the result.
    LambdaFunction(FunctionRef),
    /// `arn:aws:states:::lambda:invoke[.waitForTaskToken]`: the parameters
    /// hold `FunctionName` and `Payload`; the result is the Invoke response
    /// wrapper (`Payload`, `StatusCode`, ...).
    LambdaInvoke(IntegrationPattern),
    /// Any other `arn:aws:states:::...` service integration.
    Service(ServiceIntegration),
    /// `arn:aws:states:REGION:ACCOUNT:activity:NAME`.
    Activity(ActivityRef),
}

/// How Step Functions waits for a service integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationPattern {
    /// No suffix: call the service and move on with its HTTP response.
    RequestResponse,
    /// `.sync`: run a job and wait for it to finish.
    Sync,
    /// `.sync:2`: as `.sync`, with the output parsed as JSON (Step Functions
    /// `startExecution`).
    Sync2,
    /// `.waitForTaskToken`: call, then wait for `SendTaskSuccess`/`Failure`.
    WaitForTaskToken,
}

impl IntegrationPattern {
    /// The resource suffix naming this pattern (empty for request-response).
    pub fn suffix(self) -> &'static str {
        match self {
            IntegrationPattern::RequestResponse => "",
            IntegrationPattern::Sync => ".sync",
            IntegrationPattern::Sync2 => ".sync:2",
            IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }

    /// Splits a pattern suffix off `resource`. `.sync:2` is checked before
    /// `.sync` because it contains a `:` that would otherwise split the ARN.
    fn split(resource: &str) -> (&str, IntegrationPattern) {
        for pattern in [
            IntegrationPattern::Sync2,
            IntegrationPattern::Sync,
            IntegrationPattern::WaitForTaskToken,
        ] {
            if let Some(base) = resource.strip_suffix(pattern.suffix()) {
                return (base, pattern);
            }
        }
        (resource, IntegrationPattern::RequestResponse)
    }
}

/// Whether a service integration is one of the optimized ones or goes
/// through the generic AWS SDK integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationKind {
    /// `arn:aws:states:::SERVICE:ACTION` (e.g. `sqs:sendMessage`).
    Optimized,
    /// `arn:aws:states:::aws-sdk:SERVICE:ACTION` (e.g. `aws-sdk:s3:getObject`).
    AwsSdk,
}

/// A service integration other than `lambda:invoke`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceIntegration {
    pub kind: IntegrationKind,
    /// As written in the ARN: `sqs`, `states`, `ecs`, `dynamodb`, ...
    pub service: String,
    /// As written in the ARN: `sendMessage`, `startExecution`, ...
    pub action: String,
    pub pattern: IntegrationPattern,
}

/// An activity named by its ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActivityRef {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

/// A Lambda function as the Invoke API's `FunctionName` (plus `Qualifier`)
/// names it: a bare name, a partial ARN or a full ARN, each with an optional
/// version or alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionRef {
    /// The function's name, e.g. `charge`.
    pub name: String,
    /// A version (`1`, `$LATEST`) or alias (`live`), if one was given.
    pub qualifier: Option<String>,
    /// Present when a full ARN was given.
    pub partition: Option<String>,
    /// Present when a full ARN was given.
    pub region: Option<String>,
    /// Present when a full or partial ARN was given.
    pub account: Option<String>,
}

/// Why a `Resource` or `FunctionName` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    #[error("'{0}' is not an ARN (expected 'arn:PARTITION:SERVICE:...')")]
    NotAnArn(String),
    #[error("'{resource}' is not a Lambda function ARN or a Step Functions integration: {reason}")]
    Unsupported { resource: String, reason: String },
    #[error("'{resource}': {pattern} is not supported by {integration}")]
    UnsupportedPattern {
        resource: String,
        pattern: &'static str,
        integration: &'static str,
    },
    #[error("'{value}' is not a valid Lambda function name, partial ARN or ARN: {reason}")]
    InvalidFunctionName { value: String, reason: String },
}

impl TaskResource {
    /// Parses a Task state's `Resource`.
    pub fn parse(resource: &str) -> Result<TaskResource, ResourceError> {
        let arn = Arn::parse(resource)?;
        let unsupported = |reason: &str| ResourceError::Unsupported {
            resource: resource.to_string(),
            reason: reason.to_string(),
        };
        match arn.service {
            "lambda" => {
                let Some(rest) = arn.resource.strip_prefix("function:") else {
                    return Err(unsupported(
                        "a Lambda ARN must name a function ('...:function:NAME')",
                    ));
                };
                if arn.region.is_empty() || arn.account.is_empty() {
                    return Err(unsupported(
                        "a Lambda function ARN needs a region and an account",
                    ));
                }
                let (name, qualifier) = split_qualifier(rest);
                let function = FunctionRef {
                    name: name.to_string(),
                    qualifier: qualifier.map(str::to_string),
                    partition: Some(arn.partition.to_string()),
                    region: Some(arn.region.to_string()),
                    account: Some(arn.account.to_string()),
                };
                function.validate(resource)?;
                Ok(TaskResource::LambdaFunction(function))
            }
            "states" if arn.region.is_empty() && arn.account.is_empty() => {
                let (base, pattern) = IntegrationPattern::split(arn.resource);
                let parts: Vec<&str> = base.split(':').collect();
                let (kind, service, action) = match parts.as_slice() {
                    ["aws-sdk", service, action] => (IntegrationKind::AwsSdk, *service, *action),
                    [service, action] if *service != "aws-sdk" => {
                        (IntegrationKind::Optimized, *service, *action)
                    }
                    _ => {
                        return Err(unsupported(
                            "expected 'arn:aws:states:::SERVICE:ACTION' or 'arn:aws:states:::aws-sdk:SERVICE:ACTION', with an optional .sync, .sync:2 or .waitForTaskToken",
                        ))
                    }
                };
                if service.is_empty() || action.is_empty() {
                    return Err(unsupported("the service and the action must not be empty"));
                }
                if kind == IntegrationKind::Optimized && service == "lambda" && action == "invoke" {
                    return match pattern {
                        IntegrationPattern::RequestResponse
                        | IntegrationPattern::WaitForTaskToken => {
                            Ok(TaskResource::LambdaInvoke(pattern))
                        }
                        IntegrationPattern::Sync | IntegrationPattern::Sync2 => {
                            Err(ResourceError::UnsupportedPattern {
                                resource: resource.to_string(),
                                pattern: pattern.suffix(),
                                integration: "lambda:invoke",
                            })
                        }
                    };
                }
                Ok(TaskResource::Service(ServiceIntegration {
                    kind,
                    service: service.to_string(),
                    action: action.to_string(),
                    pattern,
                }))
            }
            "states" => {
                let Some(name) = arn.resource.strip_prefix("activity:") else {
                    return Err(unsupported(
                        "a Step Functions ARN with a region and an account must name an activity ('...:activity:NAME')",
                    ));
                };
                if name.is_empty() || arn.region.is_empty() || arn.account.is_empty() {
                    return Err(unsupported(
                        "an activity ARN needs a region, an account and a name",
                    ));
                }
                Ok(TaskResource::Activity(ActivityRef {
                    partition: arn.partition.to_string(),
                    region: arn.region.to_string(),
                    account: arn.account.to_string(),
                    name: name.to_string(),
                }))
            }
            _ => Err(unsupported(
                "only 'lambda' and 'states' ARNs can be a Task's Resource",
            )),
        }
    }

    /// The integration pattern; plain function ARNs and activities are
    /// request-response as far as the caller is concerned.
    pub fn pattern(&self) -> IntegrationPattern {
        match self {
            TaskResource::LambdaInvoke(pattern) => *pattern,
            TaskResource::Service(service) => service.pattern,
            TaskResource::LambdaFunction(_) | TaskResource::Activity(_) => {
                IntegrationPattern::RequestResponse
            }
        }
    }
}

impl FromStr for TaskResource {
    type Err = ResourceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskResource::parse(s)
    }
}

/// One service integration Flowstate performs on AWS, and the patterns it
/// performs it with there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsIntegration {
    /// As written in the resource ARN: `sqs`, `dynamodb`, ...
    pub service: &'static str,
    /// As written in the resource ARN: `sendMessage`, `getItem`, ...
    pub action: &'static str,
    pub patterns: &'static [IntegrationPattern],
    /// Performed by the runtime (it starts a child execution) rather than
    /// by the AWS invoker.
    pub by_runtime: bool,
}

const CALL_OR_CALLBACK: &[IntegrationPattern] = &[
    IntegrationPattern::RequestResponse,
    IntegrationPattern::WaitForTaskToken,
];
/// Step Functions' optimized DynamoDB integration has no callback pattern
/// ("The Wait for a Callback with the Task Token integration pattern is not
/// supported", Step Functions developer guide, connect-ddb).
const CALL_ONLY: &[IntegrationPattern] = &[IntegrationPattern::RequestResponse];
const EVERY_PATTERN: &[IntegrationPattern] = &[
    IntegrationPattern::RequestResponse,
    IntegrationPattern::Sync,
    IntegrationPattern::Sync2,
    IntegrationPattern::WaitForTaskToken,
];

/// What Flowstate supports on AWS besides plain Lambda function ARNs: the
/// one list the AWS invoker dispatches on and validation warns against.
pub const AWS_INTEGRATIONS: &[AwsIntegration] = &[
    AwsIntegration::invoker("lambda", "invoke", CALL_OR_CALLBACK),
    AwsIntegration::invoker("sqs", "sendMessage", CALL_OR_CALLBACK),
    AwsIntegration::invoker("sns", "publish", CALL_OR_CALLBACK),
    AwsIntegration::invoker("events", "putEvents", CALL_OR_CALLBACK),
    AwsIntegration::invoker("dynamodb", "getItem", CALL_ONLY),
    AwsIntegration::invoker("dynamodb", "putItem", CALL_ONLY),
    AwsIntegration::invoker("dynamodb", "updateItem", CALL_ONLY),
    AwsIntegration::invoker("dynamodb", "deleteItem", CALL_ONLY),
    AwsIntegration {
        service: "states",
        action: "startExecution",
        patterns: EVERY_PATTERN,
        by_runtime: true,
    },
];

impl AwsIntegration {
    const fn invoker(
        service: &'static str,
        action: &'static str,
        patterns: &'static [IntegrationPattern],
    ) -> AwsIntegration {
        AwsIntegration {
            service,
            action,
            patterns,
            by_runtime: false,
        }
    }

    /// `arn:aws:states:::sqs:sendMessage[.waitForTaskToken]`.
    fn describe(&self) -> String {
        let suffixes: Vec<&str> = self
            .patterns
            .iter()
            .map(|p| p.suffix())
            .filter(|s| !s.is_empty())
            .collect();
        let base = format!("arn:aws:states:::{}:{}", self.service, self.action);
        if suffixes.is_empty() {
            base
        } else {
            format!("{base}[{}]", suffixes.join("|"))
        }
    }
}

/// Who performs a Task resource when Flowstate runs on AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsSupport {
    /// The AWS invoker calls the service.
    Invoker,
    /// The runtime does (`states:startExecution` starts a child execution;
    /// an activity's task waits for a worker).
    Runtime,
    /// Nobody: the reason says what is not supported, for task failures and
    /// validation warnings.
    Unsupported(String),
}

impl TaskResource {
    /// Who performs this resource on AWS, or why nobody does.
    pub fn aws_support(&self) -> AwsSupport {
        match self {
            TaskResource::LambdaFunction(_) => AwsSupport::Invoker,
            // The parser only accepts request-response and callback here.
            TaskResource::LambdaInvoke(_) => AwsSupport::Invoker,
            // Its task waits in the store for a worker's GetActivityTask.
            TaskResource::Activity(_) => AwsSupport::Runtime,
            TaskResource::Service(service) if service.kind == IntegrationKind::AwsSdk => {
                AwsSupport::Unsupported(format!(
                    "AWS SDK integrations (aws-sdk:{}:{}) are not supported on AWS",
                    service.service, service.action
                ))
            }
            TaskResource::Service(service) => {
                let Some(known) = AWS_INTEGRATIONS
                    .iter()
                    .find(|i| i.service == service.service && i.action == service.action)
                else {
                    return AwsSupport::Unsupported(format!(
                        "the integration {}:{} is not supported on AWS",
                        service.service, service.action
                    ));
                };
                if !known.patterns.contains(&service.pattern) {
                    return AwsSupport::Unsupported(format!(
                        "{}:{} does not support the {} pattern",
                        service.service,
                        service.action,
                        match service.pattern {
                            IntegrationPattern::RequestResponse => "request-response",
                            other => other.suffix(),
                        }
                    ));
                }
                if known.by_runtime {
                    AwsSupport::Runtime
                } else {
                    AwsSupport::Invoker
                }
            }
        }
    }

    /// Whether Flowstate performs this resource on AWS (invoker or runtime).
    pub fn supported_on_aws(&self) -> bool {
        !matches!(self.aws_support(), AwsSupport::Unsupported(_))
    }
}

/// What Flowstate supports on AWS, as one sentence for error causes and
/// validation messages.
pub fn aws_supported_summary() -> String {
    let integrations: Vec<String> = AWS_INTEGRATIONS.iter().map(|i| i.describe()).collect();
    format!(
        "Flowstate on AWS supports Lambda function ARNs and {}",
        integrations.join(", ")
    )
}

/// The six colon-separated fields of an ARN; the last one keeps its colons.
struct Arn<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    fn parse(text: &'a str) -> Result<Arn<'a>, ResourceError> {
        let mut fields = text.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(ResourceError::NotAnArn(text.to_string()));
        };
        // `aws`, `aws-cn`, `aws-us-gov`, ...: accept every partition rather
        // than keep a list that goes stale.
        if !partition.starts_with("aws") || service.is_empty() {
            return Err(ResourceError::NotAnArn(text.to_string()));
        }
        Ok(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// `name:qualifier` → (`name`, `Some(qualifier)`).
fn split_qualifier(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (text, None),
    }
}

impl FunctionRef {
    /// Reads a `FunctionName` as the Lambda Invoke API accepts it:
    /// `my-function`, `my-function:v1`, `123456789012:function:my-function`,
    /// `arn:aws:lambda:us-west-2:123456789012:function:my-function[:v1]`.
    pub fn parse(function_name: &str) -> Result<FunctionRef, ResourceError> {
        let function =
            if function_name.starts_with("arn:") {
                match TaskResource::parse(function_name) {
                    Ok(TaskResource::LambdaFunction(function)) => function,
                    _ => return Err(ResourceError::InvalidFunctionName {
                        value: function_name.to_string(),
                        reason:
                            "an ARN must have the form arn:aws:lambda:REGION:ACCOUNT:function:NAME"
                                .to_string(),
                    }),
                }
            } else if let Some((account, rest)) =
                function_name
                    .split_once(":function:")
                    .filter(|(account, _)| {
                        !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit())
                    })
            {
                let (name, qualifier) = split_qualifier(rest);
                FunctionRef {
                    name: name.to_string(),
                    qualifier: qualifier.map(str::to_string),
                    partition: None,
                    region: None,
                    account: Some(account.to_string()),
                }
            } else {
                let (name, qualifier) = split_qualifier(function_name);
                FunctionRef {
                    name: name.to_string(),
                    qualifier: qualifier.map(str::to_string),
                    partition: None,
                    region: None,
                    account: None,
                }
            };
        function.validate(function_name)?;
        Ok(function)
    }

    /// The name as Lambda constrains it (`[a-zA-Z0-9-_]{1,64}`) and the
    /// qualifier (`[a-zA-Z0-9$_-]{1,128}`), so a typo fails here with a
    /// readable message instead of as a confusing lookup miss.
    fn validate(&self, original: &str) -> Result<(), ResourceError> {
        let invalid = |reason: String| ResourceError::InvalidFunctionName {
            value: original.to_string(),
            reason,
        };
        if self.name.is_empty() || self.name.len() > 64 {
            return Err(invalid(
                "a function name has 1 to 64 characters".to_string(),
            ));
        }
        if let Some(bad) = self
            .name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(invalid(format!(
                "'{bad}' is not allowed in a function name (letters, digits, '-' and '_' are)"
            )));
        }
        if let Some(qualifier) = &self.qualifier {
            if qualifier.is_empty() || qualifier.len() > 128 {
                return Err(invalid(
                    "a version or alias has 1 to 128 characters".to_string(),
                ));
            }
            if let Some(bad) = qualifier
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$')))
            {
                return Err(invalid(format!(
                    "'{bad}' is not allowed in a version or alias"
                )));
            }
        }
        Ok(())
    }

    /// The version the function runs as when nothing else is known:
    /// the qualifier if it is a version, `$LATEST` otherwise.
    fn default_executed_version(&self) -> String {
        match &self.qualifier {
            Some(q) if q.bytes().all(|b| b.is_ascii_digit()) => q.clone(),
            _ => "$LATEST".to_string(),
        }
    }
}

impl fmt::Display for FunctionRef {
    /// `name` or `name:qualifier`: the short form the Invoke API accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{}:{}", self.name, q),
            None => f.write_str(&self.name),
        }
    }
}

/// The Invoke API's `InvocationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InvocationType {
    #[default]
    RequestResponse,
    /// Asynchronous: Lambda queues the event and answers 202 with no payload.
    Event,
    /// Validates the call without running the function: 204.
    DryRun,
}

impl InvocationType {
    pub fn name(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }

    /// The status code Lambda answers a successful call with.
    pub fn status_code(self) -> u16 {
        match self {
            InvocationType::RequestResponse => 200,
            InvocationType::Event => 202,
            InvocationType::DryRun => 204,
        }
    }
}

/// How a Lambda call's answer becomes the state's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultShape {
    /// Plain function ARN: the function's output as it is.
    Raw,
    /// `lambda:invoke`: the Invoke response wrapper with the output in `Payload`.
    InvokeWrapper,
    /// `lambda:invoke.waitForTaskToken`: the function's output is not the
    /// result; the state's result is the output given to `SendTaskSuccess`.
    Callback,
}

/// A Task's request to Lambda, with its parameters evaluated and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaCall {
    pub function: FunctionRef,
    /// The event the function receives.
    pub payload: Value,
    pub invocation_type: InvocationType,
    pub shape: ResultShape,
}

/// The parameters `arn:aws:states:::lambda:invoke` accepts: the Invoke API's
/// request fields.
const LAMBDA_INVOKE_FIELDS: [&str; 6] = [
    "FunctionName",
    "Payload",
    "Qualifier",
    "InvocationType",
    "ClientContext",
    "LogType",
];

impl LambdaCall {
    /// The Lambda call a Task makes, or `None` when the resource is not a
    /// Lambda one. Bad `lambda:invoke` parameters are a [`Failure`] of the
    /// task, as Step Functions reports them when a path produced them.
    pub fn from_task(
        resource: &TaskResource,
        parameters: &Value,
    ) -> Result<Option<LambdaCall>, Failure> {
        match resource {
            TaskResource::LambdaFunction(function) => Ok(Some(LambdaCall {
                function: function.clone(),
                payload: parameters.clone(),
                invocation_type: InvocationType::RequestResponse,
                shape: ResultShape::Raw,
            })),
            TaskResource::LambdaInvoke(pattern) => {
                let shape = match pattern {
                    IntegrationPattern::WaitForTaskToken => ResultShape::Callback,
                    _ => ResultShape::InvokeWrapper,
                };
                Self::from_invoke_parameters(parameters, shape).map(Some)
            }
            TaskResource::Service(_) | TaskResource::Activity(_) => Ok(None),
        }
    }

    fn from_invoke_parameters(
        parameters: &Value,
        shape: ResultShape,
    ) -> Result<LambdaCall, Failure> {
        let runtime = |cause: String| Failure::states(StatesError::Runtime, cause);
        let Value::Object(fields) = parameters else {
            return Err(runtime(format!(
                "The parameters of arn:aws:states:::lambda:invoke must be a JSON object, not {}",
                type_name(parameters)
            )));
        };
        if let Some(unknown) = fields
            .keys()
            .find(|k| !LAMBDA_INVOKE_FIELDS.contains(&k.as_str()))
        {
            return Err(runtime(format!(
                "The field '{unknown}' is not supported by arn:aws:states:::lambda:invoke (supported: {})",
                LAMBDA_INVOKE_FIELDS.join(", ")
            )));
        }
        let function_name = match fields.get("FunctionName") {
            Some(Value::String(name)) => name,
            Some(other) => {
                return Err(runtime(format!(
                    "The field 'FunctionName' must be a string, not {}",
                    type_name(other)
                )))
            }
            None => {
                return Err(runtime(
                    "The field 'FunctionName' is required but was missing".to_string(),
                ))
            }
        };
        let mut function = FunctionRef::parse(function_name)
            .map_err(|e| validation_failure("functionName", &e.to_string()))?;
        match fields.get("Qualifier") {
            None | Some(Value::Null) => {}
            Some(Value::String(qualifier)) => match &function.qualifier {
                // Lambda's own rule: a qualifier in the name and a different
                // one in Qualifier is an error, not a precedence question.
                Some(derived) if derived != qualifier => {
                    return Err(LambdaServiceError {
                        status_code: 400,
                        error_code: "InvalidParameterValueException".to_string(),
                        message: "The derived qualifier from the function name does not match the specified qualifier."
                            .to_string(),
                        request_id: None,
                    }
                    .to_failure())
                }
                _ => {
                    function.qualifier = Some(qualifier.clone());
                    function.validate(qualifier).map_err(|e| validation_failure("qualifier", &e.to_string()))?;
                }
            },
            Some(other) => {
                return Err(runtime(format!("The field 'Qualifier' must be a string, not {}", type_name(other))))
            }
        }
        let invocation_type = match fields.get("InvocationType") {
            None | Some(Value::Null) => InvocationType::RequestResponse,
            Some(Value::String(t)) if t == "RequestResponse" => InvocationType::RequestResponse,
            Some(Value::String(t)) if t == "Event" => InvocationType::Event,
            Some(Value::String(t)) if t == "DryRun" => InvocationType::DryRun,
            Some(other) => {
                return Err(validation_failure(
                    "invocationType",
                    &format!("Value {other} failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"),
                ))
            }
        };
        // An Invoke without a payload delivers `{}` to the function: that is
        // what the Lambda service hands the runtime for an empty request body.
        let payload = match fields.get("Payload") {
            None => Value::Object(Map::new()),
            Some(payload) => payload.clone(),
        };
        Ok(LambdaCall {
            function,
            payload,
            invocation_type,
            shape,
        })
    }

    /// The state's result for a Lambda answer without a function error, or
    /// the failure a function error becomes.
    ///
    /// For [`ResultShape::Callback`] this returns the wrapper, which the
    /// caller discards: the state's result comes from the callback.
    pub fn result(&self, response: &LambdaResponse) -> Result<Value, Failure> {
        if response.function_error.is_some() {
            return Err(function_error(&response.payload));
        }
        match self.shape {
            ResultShape::Raw => parse_output(&response.payload),
            ResultShape::InvokeWrapper | ResultShape::Callback => Ok(self.wrap(response)),
        }
    }

    /// The Invoke response as Step Functions' Lambda integration shows it. A
    /// documented subset of what the service returns: the HTTP headers that
    /// describe the call, without `X-Amzn-Trace-Id`, and `Date` only when the
    /// caller supplied one (this module has no clock).
    fn wrap(&self, response: &LambdaResponse) -> Value {
        // An empty body (Event, DryRun) is the empty string, like the service's;
        // a body that is not JSON is kept as text rather than lost.
        let payload = if response.payload.trim().is_empty() {
            Value::String(String::new())
        } else {
            serde_json::from_str(&response.payload)
                .unwrap_or_else(|_| Value::String(response.payload.clone()))
        };
        let executed_version = match self.invocation_type {
            InvocationType::RequestResponse => Some(
                response
                    .executed_version
                    .clone()
                    .unwrap_or_else(|| self.function.default_executed_version()),
            ),
            InvocationType::Event | InvocationType::DryRun => None,
        };
        let status = response.status_code;
        let content_length = response.payload.len().to_string();

        let mut headers: Vec<(&str, String)> = vec![("Connection", "keep-alive".to_string())];
        headers.push(("Content-Length", content_length));
        headers.push(("Content-Type", "application/json".to_string()));
        if let Some(date) = &response.date {
            headers.push(("Date", date.clone()));
        }
        if let Some(version) = &executed_version {
            headers.push(("X-Amz-Executed-Version", version.clone()));
        }
        headers.push(("x-amzn-Remapped-Content-Length", "0".to_string()));
        headers.push(("x-amzn-RequestId", response.request_id.clone()));

        let all: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Array(vec![Value::String(v.clone())])))
            .collect();
        let single: Map<String, Value> = headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();

        let mut sdk_http = Map::new();
        sdk_http.insert("AllHttpHeaders".into(), Value::Object(all));
        sdk_http.insert("HttpHeaders".into(), Value::Object(single));
        sdk_http.insert("HttpStatusCode".into(), Value::from(status));
        let mut sdk_response = Map::new();
        sdk_response.insert(
            "RequestId".into(),
            Value::String(response.request_id.clone()),
        );

        let mut out = Map::new();
        if let Some(version) = executed_version {
            out.insert("ExecutedVersion".into(), Value::String(version));
        }
        out.insert("Payload".into(), payload);
        out.insert("SdkHttpMetadata".into(), Value::Object(sdk_http));
        out.insert("SdkResponseMetadata".into(), Value::Object(sdk_response));
        out.insert("StatusCode".into(), Value::from(status));
        Value::Object(out)
    }
}

/// A successful Invoke API answer (2xx), transport-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaResponse {
    /// 200, 202 or 204.
    pub status_code: u16,
    /// The response body exactly as received: the function's output, or its
    /// error object when `function_error` is set.
    pub payload: String,
    /// The `X-Amz-Function-Error` header (`Unhandled`, `Handled`): set when
    /// the function failed and `payload` is its error object.
    pub function_error: Option<String>,
    /// The `X-Amz-Executed-Version` header.
    pub executed_version: Option<String>,
    /// The `x-amzn-RequestId` header.
    pub request_id: String,
    /// The `Date` header, if the caller wants it shown.
    pub date: Option<String>,
}

impl LambdaResponse {
    /// A 200 answer with `payload` and nothing else known.
    pub fn ok(payload: impl Into<String>, request_id: impl Into<String>) -> LambdaResponse {
        LambdaResponse {
            status_code: 200,
            payload: payload.into(),
            function_error: None,
            executed_version: None,
            request_id: request_id.into(),
            date: None,
        }
    }

    /// A 200 answer carrying the function's error object.
    pub fn function_error(
        payload: impl Into<String>,
        request_id: impl Into<String>,
    ) -> LambdaResponse {
        LambdaResponse {
            function_error: Some("Unhandled".to_string()),
            ..LambdaResponse::ok(payload, request_id)
        }
    }
}

/// The output of a plain function ARN: its JSON, or a failure naming what
/// the function returned instead.
fn parse_output(payload: &str) -> Result<Value, Failure> {
    serde_json::from_str(payload).map_err(|e| {
        Failure::states(
            StatesError::TaskFailed,
            format!(
                "The Lambda function returned output that is not JSON ({e}): {}",
                excerpt(payload, 200)
            ),
        )
    })
}

/// The failure a Lambda function error becomes: its `errorType` is the
/// error name and its error object, compact, is the cause. Without an
/// `errorType` (a timeout, running out of memory, a crashed runtime) the
/// error is `Lambda.Unknown` with the cause Step Functions gives.
pub fn function_error(payload: &str) -> Failure {
    let parsed: Option<Map<String, Value>> = match serde_json::from_str(payload) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    if let Some(object) = parsed {
        if let Some(Value::String(error_type)) = object.get("errorType") {
            if !error_type.is_empty() {
                let cause = Value::Object(object.clone()).to_string();
                return Failure::new(error_type.clone(), cause);
            }
        }
    }
    Failure::new(
        "Lambda.Unknown",
        format!(
            "The cause could not be determined because Lambda did not return an error type. Returned payload: {}",
            payload.trim()
        ),
    )
}

/// If a JSON value is a Lambda error object (`errorType` and `errorMessage`),
/// which is what a handler that throws produces. Used to recognise errors
/// from handlers that cannot set `X-Amz-Function-Error` (local commands).
pub fn is_error_object(value: &Value) -> bool {
    matches!(value, Value::Object(o)
        if matches!(o.get("errorType"), Some(Value::String(t)) if !t.is_empty())
            && o.contains_key("errorMessage"))
}

/// A failed Invoke API call (non-2xx): the service refused or broke, the
/// function did not run. Step Functions names these `Lambda.<ErrorCode>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaServiceError {
    pub status_code: u16,
    /// The exception name, e.g. `ResourceNotFoundException`.
    pub error_code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl LambdaServiceError {
    /// Reads an Invoke API error answer: the `x-amzn-ErrorType` header if
    /// present (its part before any `:`), else the body's `Type`/`__type`,
    /// else a name from the status code.
    pub fn from_http(
        status_code: u16,
        error_type_header: Option<&str>,
        body: &str,
        request_id: Option<String>,
    ) -> LambdaServiceError {
        let body_json: Option<Map<String, Value>> = match serde_json::from_str(body) {
            Ok(Value::Object(o)) => Some(o),
            _ => None,
        };
        let from_body = |key: &str| {
            body_json
                .as_ref()
                .and_then(|o| o.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let error_code = error_type_header
            .map(|h| h.split(':').next().unwrap_or(h).trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| from_body("__type").map(|t| t.rsplit('#').next().unwrap_or(&t).to_string()))
            .unwrap_or_else(|| Self::code_for_status(status_code).to_string());
        let message = from_body("message")
            .or_else(|| from_body("Message"))
            .unwrap_or_else(|| excerpt(body.trim(), 500));
        LambdaServiceError {
            status_code,
            error_code,
            message,
            request_id,
        }
    }

    /// The exception Lambda answers a status with when it names none.
    fn code_for_status(status: u16) -> &'static str {
        match status {
            404 => "ResourceNotFoundException",
            429 => "TooManyRequestsException",
            413 => "RequestTooLargeException",
            400..=499 => "InvalidRequestContentException",
            _ => "ServiceException",
        }
    }

    /// `Lambda.<ErrorCode>` with the cause text of the AWS SDK Step Functions
    /// uses, so existing `Catch` rules and log searches keep working.
    pub fn to_failure(&self) -> Failure {
        let request_id = self.request_id.as_deref().unwrap_or("null");
        Failure::new(
            format!("Lambda.{}", self.error_code),
            format!(
                "{} (Service: AWSLambda; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
                self.message, self.status_code, self.error_code, request_id
            ),
        )
    }
}

/// A request Lambda rejects before running anything: Step Functions reports
/// the SDK's unmodelled `ValidationException` as `Lambda.AWSLambdaException`.
fn validation_failure(field: &str, detail: &str) -> Failure {
    Failure::new(
        "Lambda.AWSLambdaException",
        format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: {detail} (Service: AWSLambda; Status Code: 400; Error Code: ValidationException; Request ID: null; Proxy: null)"
        ),
    )
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most `max` characters of `text`, marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn function(name: &str, qualifier: Option<&str>) -> FunctionRef {
        FunctionRef {
            name: name.into(),
            qualifier: qualifier.map(Into::into),
            partition: Some("aws".into()),
            region: Some("us-east-1".into()),
            account: Some("123456789012".into()),
        }
    }

    #[test]
    fn plain_function_arn() {
        let r =
            TaskResource::parse("arn:aws:lambda:us-east-1:123456789012:function:charge").unwrap();
        assert_eq!(r, TaskResource::LambdaFunction(function("charge", None)));
        assert_eq!(r.pattern(), IntegrationPattern::RequestResponse);
    }

    #[test]
    fn plain_function_arn_with_alias_and_version() {
        let r = TaskResource::parse("arn:aws:lambda:us-east-1:123456789012:function:charge:live")
            .unwrap();
        assert_eq!(
            r,
            TaskResource::LambdaFunction(function("charge", Some("live")))
        );
        let r =
            TaskResource::parse("arn:aws:lambda:us-east-1:123456789012:function:charge:$LATEST")
                .unwrap();
        assert_eq!(
            r,
            TaskResource::LambdaFunction(function("charge", Some("$LATEST")))
        );
    }

    #[test]
    fn other_partitions_are_accepted() {
        let r =
            TaskResource::parse("arn:aws-cn:lambda:cn-north-1:123456789012:function:f").unwrap();
        let TaskResource::LambdaFunction(f) = r else {
            panic!("not a function")
        };
        assert_eq!(f.partition.as_deref(), Some("aws-cn"));
        assert!(matches!(
            TaskResource::parse("arn:aws-us-gov:states:::sqs:sendMessage"),
            Ok(TaskResource::Service(_))
        ));
    }

    #[test]
    fn bad_lambda_arns_are_errors() {
        for bad in [
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            "arn:aws:lambda:::function:x",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:has space",
            "arn:aws:lambda:us-east-1:123456789012:function:f:bad/alias",
        ] {
            assert!(TaskResource::parse(bad).is_err(), "{bad} should not parse");
        }
        assert!(matches!(
            TaskResource::parse("charge"),
            Err(ResourceError::NotAnArn(_))
        ));
        assert!(matches!(
            TaskResource::parse("arn:aws:s3:::bucket"),
            Err(ResourceError::Unsupported { .. })
        ));
    }

    #[test]
    fn lambda_invoke_and_its_patterns() {
        assert_eq!(
            TaskResource::parse("arn:aws:states:::lambda:invoke").unwrap(),
            TaskResource::LambdaInvoke(IntegrationPattern::RequestResponse)
        );
        assert_eq!(
            TaskResource::parse("arn:aws:states:::lambda:invoke.waitForTaskToken").unwrap(),
            TaskResource::LambdaInvoke(IntegrationPattern::WaitForTaskToken)
        );
        assert!(matches!(
            TaskResource::parse("arn:aws:states:::lambda:invoke.sync"),
            Err(ResourceError::UnsupportedPattern { .. })
        ));
    }

    #[test]
    fn service_integrations_with_every_pattern() {
        let cases = [
            (
                "arn:aws:states:::sqs:sendMessage",
                "sqs",
                "sendMessage",
                IntegrationPattern::RequestResponse,
            ),
            (
                "arn:aws:states:::ecs:runTask.sync",
                "ecs",
                "runTask",
                IntegrationPattern::Sync,
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                "states",
                "startExecution",
                IntegrationPattern::Sync2,
            ),
            (
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "sqs",
                "sendMessage",
                IntegrationPattern::WaitForTaskToken,
            ),
            (
                "arn:aws:states:::emr-containers:startJobRun.sync",
                "emr-containers",
                "startJobRun",
                IntegrationPattern::Sync,
            ),
        ];
        for (arn, service, action, pattern) in cases {
            let r = TaskResource::parse(arn).unwrap();
            assert_eq!(
                r,
                TaskResource::Service(ServiceIntegration {
                    kind: IntegrationKind::Optimized,
                    service: service.into(),
                    action: action.into(),
                    pattern,
                }),
                "{arn}"
            );
            assert_eq!(r.pattern(), pattern);
        }
    }

    #[test]
    fn aws_sdk_integrations() {
        let r = TaskResource::parse("arn:aws:states:::aws-sdk:s3:getObject").unwrap();
        assert_eq!(
            r,
            TaskResource::Service(ServiceIntegration {
                kind: IntegrationKind::AwsSdk,
                service: "s3".into(),
                action: "getObject".into(),
                pattern: IntegrationPattern::RequestResponse,
            })
        );
        // aws-sdk:lambda:invoke is the SDK integration, not the optimized one.
        assert!(matches!(
            TaskResource::parse("arn:aws:states:::aws-sdk:lambda:invoke"),
            Ok(TaskResource::Service(ServiceIntegration {
                kind: IntegrationKind::AwsSdk,
                ..
            }))
        ));
        for bad in [
            "arn:aws:states:::aws-sdk:s3",
            "arn:aws:states:::sqs",
            "arn:aws:states:::a:b:c",
            "arn:aws:states:::sqs:",
        ] {
            assert!(TaskResource::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn activities() {
        let r =
            TaskResource::parse("arn:aws:states:us-east-1:123456789012:activity:approve").unwrap();
        assert_eq!(
            r,
            TaskResource::Activity(ActivityRef {
                partition: "aws".into(),
                region: "us-east-1".into(),
                account: "123456789012".into(),
                name: "approve".into(),
            })
        );
        assert!(
            TaskResource::parse("arn:aws:states:us-east-1:123456789012:stateMachine:x").is_err()
        );
        assert!(TaskResource::parse("arn:aws:states:us-east-1:123456789012:activity:").is_err());
    }

    #[test]
    fn function_name_forms() {
        let f = FunctionRef::parse("charge").unwrap();
        assert_eq!(
            (f.name.as_str(), f.qualifier, f.account),
            ("charge", None, None)
        );
        let f = FunctionRef::parse("charge:v2").unwrap();
        assert_eq!(
            (f.name.as_str(), f.qualifier.as_deref()),
            ("charge", Some("v2"))
        );
        let f = FunctionRef::parse("123456789012:function:charge").unwrap();
        assert_eq!(
            (f.name.as_str(), f.account.as_deref()),
            ("charge", Some("123456789012"))
        );
        let f = FunctionRef::parse("123456789012:function:charge:7").unwrap();
        assert_eq!(f.qualifier.as_deref(), Some("7"));
        let f = FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:charge:live")
            .unwrap();
        assert_eq!(f.region.as_deref(), Some("eu-west-1"));
        assert_eq!(f.to_string(), "charge:live");
        for bad in [
            "",
            "a b",
            "arn:aws:states:::sqs:sendMessage",
            "charge:",
            &"x".repeat(65),
        ] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    fn invoke_call(params: Value) -> Result<LambdaCall, Failure> {
        let resource = TaskResource::parse("arn:aws:states:::lambda:invoke").unwrap();
        LambdaCall::from_task(&resource, &params).map(|c| c.unwrap())
    }

    #[test]
    fn plain_arn_call_sends_the_parameters_and_returns_raw_output() {
        let resource =
            TaskResource::parse("arn:aws:lambda:us-east-1:123456789012:function:charge").unwrap();
        let call = LambdaCall::from_task(&resource, &json!({"a": 1}))
            .unwrap()
            .unwrap();
        assert_eq!(call.payload, json!({"a": 1}));
        assert_eq!(call.shape, ResultShape::Raw);
        assert_eq!(
            call.result(&LambdaResponse::ok(r#"{"ok": true}"#, "r"))
                .unwrap(),
            json!({"ok": true})
        );
        assert_eq!(
            call.result(&LambdaResponse::ok("null", "r")).unwrap(),
            Value::Null
        );
        let f = call
            .result(&LambdaResponse::ok("not json", "r"))
            .unwrap_err();
        assert_eq!(f.error, "States.TaskFailed");
        assert!(f.cause.unwrap().contains("not json"));
    }

    #[test]
    fn service_and_activity_are_not_lambda_calls() {
        for r in [
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:us-east-1:1:activity:a",
        ] {
            let resource = TaskResource::parse(r).unwrap();
            assert_eq!(LambdaCall::from_task(&resource, &json!({})).unwrap(), None);
        }
    }

    #[test]
    fn lambda_invoke_reads_function_name_and_payload() {
        let call = invoke_call(json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:charge:live", "Payload": {"x": 1}})).unwrap();
        assert_eq!(call.function.name, "charge");
        assert_eq!(call.function.qualifier.as_deref(), Some("live"));
        assert_eq!(call.payload, json!({"x": 1}));
        assert_eq!(call.shape, ResultShape::InvokeWrapper);
        assert_eq!(call.invocation_type, InvocationType::RequestResponse);
    }

    #[test]
    fn lambda_invoke_without_payload_sends_an_empty_object() {
        let call = invoke_call(json!({"FunctionName": "charge"})).unwrap();
        assert_eq!(call.payload, json!({}));
        // An explicit null is sent as null.
        let call = invoke_call(json!({"FunctionName": "charge", "Payload": null})).unwrap();
        assert_eq!(call.payload, Value::Null);
    }

    #[test]
    fn lambda_invoke_qualifier_rules() {
        let call = invoke_call(json!({"FunctionName": "charge", "Qualifier": "live"})).unwrap();
        assert_eq!(call.function.qualifier.as_deref(), Some("live"));
        let call =
            invoke_call(json!({"FunctionName": "charge:live", "Qualifier": "live"})).unwrap();
        assert_eq!(call.function.qualifier.as_deref(), Some("live"));
        let f = invoke_call(json!({"FunctionName": "charge:live", "Qualifier": "v1"})).unwrap_err();
        assert_eq!(f.error, "Lambda.InvalidParameterValueException");
    }

    #[test]
    fn lambda_invoke_bad_parameters_fail() {
        let f = invoke_call(json!({"Payload": {}})).unwrap_err();
        assert_eq!(f.error, "States.Runtime");
        assert!(f.cause.unwrap().contains("FunctionName"));
        assert_eq!(
            invoke_call(json!({"FunctionName": 3})).unwrap_err().error,
            "States.Runtime"
        );
        assert_eq!(
            invoke_call(json!("charge")).unwrap_err().error,
            "States.Runtime"
        );
        let f = invoke_call(json!({"FunctionName": "f", "Paylod": {}})).unwrap_err();
        assert!(f.cause.unwrap().contains("'Paylod'"));
        let f = invoke_call(json!({"FunctionName": "no spaces"})).unwrap_err();
        assert_eq!(f.error, "Lambda.AWSLambdaException");
        let f = invoke_call(json!({"FunctionName": "f", "InvocationType": "Later"})).unwrap_err();
        assert_eq!(f.error, "Lambda.AWSLambdaException");
    }

    #[test]
    fn lambda_invoke_wraps_the_output_as_step_functions_does() {
        let call = invoke_call(json!({"FunctionName": "charge", "Payload": {}})).unwrap();
        let body = r#"{"paid": true}"#;
        let response = LambdaResponse {
            date: Some("Wed, 14 Dec 2022 09:14:42 GMT".into()),
            ..LambdaResponse::ok(body, "req-1")
        };
        let out = call.result(&response).unwrap();
        let headers = json!({
            "Connection": "keep-alive",
            "Content-Length": body.len().to_string(),
            "Content-Type": "application/json",
            "Date": "Wed, 14 Dec 2022 09:14:42 GMT",
            "X-Amz-Executed-Version": "$LATEST",
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": "req-1",
        });
        let all: Map<String, Value> = headers
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), json!([v])))
            .collect();
        assert_eq!(
            out,
            json!({
                "ExecutedVersion": "$LATEST",
                "Payload": {"paid": true},
                "SdkHttpMetadata": {"AllHttpHeaders": all, "HttpHeaders": headers, "HttpStatusCode": 200},
                "SdkResponseMetadata": {"RequestId": "req-1"},
                "StatusCode": 200,
            })
        );
        // Key order matches the service's, which matters for output shown to users.
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "ExecutedVersion",
                "Payload",
                "SdkHttpMetadata",
                "SdkResponseMetadata",
                "StatusCode"
            ]
        );
    }

    #[test]
    fn wrapper_details() {
        // Without a Date nothing invents one; a numeric qualifier is the executed version.
        let call = invoke_call(json!({"FunctionName": "charge:7"})).unwrap();
        let out = call.result(&LambdaResponse::ok("\"text\"", "r")).unwrap();
        assert_eq!(out["ExecutedVersion"], "7");
        assert_eq!(out["Payload"], "text");
        assert!(out["SdkHttpMetadata"]["HttpHeaders"].get("Date").is_none());
        // The version the service reports wins.
        let response = LambdaResponse {
            executed_version: Some("12".into()),
            ..LambdaResponse::ok("1", "r")
        };
        let call = invoke_call(json!({"FunctionName": "charge:live"})).unwrap();
        assert_eq!(call.result(&response).unwrap()["ExecutedVersion"], "12");
        // Event: 202, empty payload, no executed version.
        let call =
            invoke_call(json!({"FunctionName": "charge", "InvocationType": "Event"})).unwrap();
        let response = LambdaResponse {
            status_code: 202,
            ..LambdaResponse::ok("", "r")
        };
        let out = call.result(&response).unwrap();
        assert_eq!(out["StatusCode"], 202);
        assert_eq!(out["Payload"], "");
        assert!(out.get("ExecutedVersion").is_none());
        // A body that is not JSON is kept as text.
        let call = invoke_call(json!({"FunctionName": "charge"})).unwrap();
        assert_eq!(
            call.result(&LambdaResponse::ok("plain", "r")).unwrap()["Payload"],
            "plain"
        );
    }

    #[test]
    fn wait_for_task_token_is_a_callback_shape() {
        let resource =
            TaskResource::parse("arn:aws:states:::lambda:invoke.waitForTaskToken").unwrap();
        let call = LambdaCall::from_task(
            &resource,
            &json!({"FunctionName": "f", "Payload": {"token": "t"}}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(call.shape, ResultShape::Callback);
        assert_eq!(call.payload, json!({"token": "t"}));
    }

    #[test]
    fn function_errors_become_failures_for_both_forms() {
        let error =
            r#"{"errorType": "CardDeclined", "errorMessage": "no funds", "trace": ["at x"]}"#;
        let expected = Failure::new(
            "CardDeclined",
            r#"{"errorType":"CardDeclined","errorMessage":"no funds","trace":["at x"]}"#,
        );
        let plain =
            TaskResource::parse("arn:aws:lambda:us-east-1:123456789012:function:charge").unwrap();
        let plain = LambdaCall::from_task(&plain, &json!({})).unwrap().unwrap();
        let invoke = invoke_call(json!({"FunctionName": "charge"})).unwrap();
        for call in [plain, invoke] {
            assert_eq!(
                call.result(&LambdaResponse::function_error(error, "r"))
                    .unwrap_err(),
                expected
            );
        }
    }

    #[test]
    fn function_error_without_error_type_is_lambda_unknown() {
        let payload =
            r#"{"errorMessage":"2024-11-26T00:36:39.604Z 5b1c Task timed out after 3.00 seconds"}"#;
        let f = function_error(payload);
        assert_eq!(f.error, "Lambda.Unknown");
        assert_eq!(
            f.cause.unwrap(),
            format!("The cause could not be determined because Lambda did not return an error type. Returned payload: {payload}")
        );
        assert_eq!(function_error("garbage").error, "Lambda.Unknown");
        assert_eq!(
            function_error(r#"{"errorType": ""}"#).error,
            "Lambda.Unknown"
        );
        assert_eq!(
            function_error(r#"{"errorType": 3}"#).error,
            "Lambda.Unknown"
        );
    }

    #[test]
    fn error_objects_are_recognised() {
        assert!(is_error_object(
            &json!({"errorType": "E", "errorMessage": "m"})
        ));
        assert!(is_error_object(
            &json!({"errorType": "E", "errorMessage": "m", "stackTrace": []})
        ));
        assert!(!is_error_object(&json!({"errorType": "E"})));
        assert!(!is_error_object(&json!({"errorMessage": "m"})));
        assert!(!is_error_object(&json!(["errorType"])));
    }

    #[test]
    fn service_errors_are_named_as_step_functions_names_them() {
        let e = LambdaServiceError::from_http(
            404,
            Some(
                "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/",
            ),
            r#"{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:1:function:x"}"#,
            Some("abc".into()),
        );
        let f = e.to_failure();
        assert_eq!(f.error, "Lambda.ResourceNotFoundException");
        assert_eq!(
            f.cause.unwrap(),
            "Function not found: arn:aws:lambda:us-east-1:1:function:x (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: abc; Proxy: null)"
        );
        assert_eq!(
            LambdaServiceError::from_http(404, None, "", None)
                .to_failure()
                .error,
            "Lambda.ResourceNotFoundException"
        );
        assert_eq!(
            LambdaServiceError::from_http(500, None, "oops", None)
                .to_failure()
                .error,
            "Lambda.ServiceException"
        );
        assert_eq!(
            LambdaServiceError::from_http(429, None, "", None)
                .to_failure()
                .error,
            "Lambda.TooManyRequestsException"
        );
        let e = LambdaServiceError::from_http(
            400,
            None,
            r#"{"__type":"com.amazon#KMSAccessDeniedException","Message":"m"}"#,
            None,
        );
        assert_eq!(
            (e.error_code.as_str(), e.message.as_str()),
            ("KMSAccessDeniedException", "m")
        );
    }

    fn aws(resource: &str) -> AwsSupport {
        TaskResource::parse(resource).unwrap().aws_support()
    }

    #[test]
    fn aws_support_covers_lambda_and_the_listed_integrations() {
        for supported in [
            "arn:aws:lambda:us-east-1:123456789012:function:charge",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::sns:publish.waitForTaskToken",
            "arn:aws:states:::events:putEvents",
            "arn:aws:states:::events:putEvents.waitForTaskToken",
            "arn:aws:states:::dynamodb:getItem",
            "arn:aws:states:::dynamodb:putItem",
            "arn:aws:states:::dynamodb:updateItem",
            "arn:aws-cn:states:::dynamodb:deleteItem",
        ] {
            assert_eq!(aws(supported), AwsSupport::Invoker, "{supported}");
        }
        for child in [
            "arn:aws:states:::states:startExecution",
            "arn:aws:states:::states:startExecution.sync",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::states:startExecution.waitForTaskToken",
        ] {
            assert_eq!(aws(child), AwsSupport::Runtime, "{child}");
        }
        // An activity's task waits in the store for a worker.
        assert_eq!(
            aws("arn:aws:states:us-east-1:123456789012:activity:approve"),
            AwsSupport::Runtime
        );
    }

    #[test]
    fn aws_support_names_what_is_missing() {
        let reason = |r: &str| match aws(r) {
            AwsSupport::Unsupported(reason) => reason,
            other => panic!("{r} should be unsupported, got {other:?}"),
        };
        assert_eq!(
            reason("arn:aws:states:::ecs:runTask.sync"),
            "the integration ecs:runTask is not supported on AWS"
        );
        assert_eq!(
            reason("arn:aws:states:::sqs:sendMessage.sync"),
            "sqs:sendMessage does not support the .sync pattern"
        );
        // Step Functions has no callback pattern for DynamoDB either.
        assert_eq!(
            reason("arn:aws:states:::dynamodb:putItem.waitForTaskToken"),
            "dynamodb:putItem does not support the .waitForTaskToken pattern"
        );
        assert!(reason("arn:aws:states:::aws-sdk:s3:getObject").contains("aws-sdk:s3:getObject"));
        assert!(!TaskResource::parse("arn:aws:states:::sns:getTopic")
            .unwrap()
            .supported_on_aws());
    }

    #[test]
    fn aws_summary_lists_every_integration_with_its_patterns() {
        let summary = aws_supported_summary();
        assert!(summary.starts_with("Flowstate on AWS supports Lambda function ARNs and "));
        assert!(summary.contains("arn:aws:states:::sqs:sendMessage[.waitForTaskToken]"));
        assert!(summary.contains("arn:aws:states:::dynamodb:getItem,"));
        assert!(summary
            .contains("arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]"));
        assert_eq!(
            summary.matches("arn:aws:states:::").count(),
            AWS_INTEGRATIONS.len()
        );
    }

    #[test]
    fn excerpt_cuts_on_characters() {
        assert_eq!(excerpt("héllo", 2), "hé...");
        assert_eq!(excerpt("hi", 2), "hi");
    }
}
