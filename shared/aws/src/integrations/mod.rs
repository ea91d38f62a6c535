//! The service integrations the AWS invoker performs, one module per
//! service, and what they share: reading the evaluated `Parameters`
//! (PascalCase, as in the service API), the `SdkHttpMetadata` part of
//! results, and naming SDK failures as Step Functions names them.
//!
//! Error names follow Step Functions (developer guide, "Learning to use AWS
//! service SDK integrations": `ServiceName.ErrorName`, with an `Exception`
//! suffix added when the service's error name lacks one). Step Functions'
//! optimized integrations run on the AWS SDK for Java v1, whose names this
//! module reproduces:
//!
//! - an error the service's API model declares for the operation:
//!   `<Prefix>.<Name>Exception` (`SQS.QueueDoesNotExistException`,
//!   `DynamoDB.ConditionalCheckFailedException`);
//! - any other service answer — throttling the model does not declare,
//!   5xx, validation: the SDK's generic service exception,
//!   `<Prefix>.Amazon<Service>Exception` (`SQS.AmazonSQSException`);
//! - no usable answer (connection refused, timeout, unreadable response):
//!   `<Prefix>.SdkClientException`, as the Java SDK's client-side failure.
//!
//! The cause is the Java SDK's text: `message (Service: AmazonSQS; Status
//! Code: 400; Error Code: ...; Request ID: ...; Proxy: null)`. Lambda keeps
//! the engine's own mapping (`LambdaServiceError`), shared with the local
//! runner. The SDK retries throttling and transient errors itself (its
//! standard retry policy) before any of these is reported.

pub(crate) mod dynamodb;
pub(crate) mod events;
pub(crate) mod lambda;
pub(crate) mod sns;
pub(crate) mod sqs;

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use flowstate_asl::errors::{Failure, StatesError};
use serde_json::{Map, Value};

/// How one service's failures are named.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceNames {
    /// The error prefix Step Functions uses: `SQS`, `SNS`, `DynamoDB`, ...
    pub prefix: &'static str,
    /// The Java SDK's service name in causes: `AmazonSQS`, `AmazonDynamoDBv2`.
    pub service: &'static str,
    /// The Java SDK's generic service exception: `AmazonSQSException`.
    pub generic: &'static str,
    /// Every error shape the service's API model declares (the Rust SDK's
    /// `types::error` module). The Java SDK recognises these service-wide,
    /// also from operations that do not declare them.
    pub declared: &'static [&'static str],
}

/// An SDK failure as the task's [`Failure`] (see the module docs).
pub(crate) fn sdk_failure<E>(names: ServiceNames, err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + std::fmt::Debug + 'static,
{
    let SdkError::ServiceError(context) = err else {
        return Failure::new(
            format!("{}.SdkClientException", names.prefix),
            format!(
                "Unable to execute HTTP request: {}",
                DisplayErrorContext(err)
            ),
        );
    };
    let error = context.err();
    let raw = context.raw();
    let code = error.code().unwrap_or("Unknown").to_string();
    let name = match modeled_name(error).or_else(|| declared_name(names, &code)) {
        Some(name) => format!("{}.{}", names.prefix, with_exception_suffix(&name)),
        None => format!("{}.{}", names.prefix, names.generic),
    };
    let request_id = raw
        .headers()
        .get("x-amzn-RequestId")
        .or_else(|| raw.headers().get("x-amz-request-id"))
        .unwrap_or("null");
    Failure::new(
        name,
        format!(
            "{} (Service: {}; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
            error.message().unwrap_or(""),
            names.service,
            raw.status().as_u16(),
            code,
            request_id
        ),
    )
}

/// The error shape's name when the operation's model declares it, `None`
/// for the SDK's `Unhandled` catch-all. The SDK's operation errors are
/// `#[derive(Debug)]` enums with one variant per modeled error, named as
/// the shape: the variant's name is the one stable, generic handle (the
/// `Unhandled` variant is deprecated for matching, and `code()` gives the
/// wire code, which for SQS's query-compatible errors is the legacy
/// `AWS.SimpleQueueService.NonExistentQueue`). Tests pin the outcome.
fn modeled_name(error: &impl std::fmt::Debug) -> Option<String> {
    let debug = format!("{error:?}");
    let variant = debug.split(['(', ' ', '{']).next().unwrap_or("");
    if variant.is_empty()
        || variant == "Unhandled"
        || !variant.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some(variant.to_string())
}

/// The shape a wire code names, among those the service declares: codes
/// are the shape names, or (query protocol) the name without `Exception`
/// (SNS's `NotFound` is `NotFoundException`), in any case.
fn declared_name(names: ServiceNames, code: &str) -> Option<String> {
    let wanted = with_exception_suffix(code);
    names
        .declared
        .iter()
        .find(|shape| with_exception_suffix(shape).eq_ignore_ascii_case(&wanted))
        .map(|shape| shape.to_string())
}

fn with_exception_suffix(name: &str) -> String {
    if name.ends_with("Exception") {
        name.to_string()
    } else {
        format!("{name}Exception")
    }
}

/// Step Functions' `SdkHttpMetadata` and `SdkResponseMetadata`, added to a
/// result object. The Java SDK shows every response header; the Rust SDK
/// does not hand them to the caller, so this shows the two that identify
/// the call (`Content-Type`, `x-amzn-RequestId`) — a documented subset.
pub(crate) fn add_sdk_metadata(out: &mut Map<String, Value>, content_type: &str, request_id: &str) {
    let headers = [
        ("Content-Type", content_type),
        ("x-amzn-RequestId", request_id),
    ];
    let all: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::Array(vec![Value::from(*v)])))
        .collect();
    let single: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let mut http = Map::new();
    http.insert("AllHttpHeaders".into(), Value::Object(all));
    http.insert("HttpHeaders".into(), Value::Object(single));
    http.insert("HttpStatusCode".into(), Value::from(200));
    out.insert("SdkHttpMetadata".into(), Value::Object(http));
    let mut response = Map::new();
    response.insert("RequestId".into(), Value::from(request_id));
    out.insert("SdkResponseMetadata".into(), Value::Object(response));
}

/// Sorts a result's keys: Step Functions shows the Java SDK's result
/// objects with their fields in alphabetical order.
pub(crate) fn sorted(out: Map<String, Value>) -> Value {
    let mut entries: Vec<(String, Value)> = out.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// The evaluated parameters of one integration, checked against the fields
/// it accepts. Problems are `States.Runtime` failures naming the field, as
/// the engine reports bad `lambda:invoke` parameters.
pub(crate) struct Params<'a> {
    integration: &'static str,
    fields: &'a Map<String, Value>,
}

pub(crate) fn runtime(cause: String) -> Failure {
    Failure::states(StatesError::Runtime, cause)
}

impl<'a> Params<'a> {
    /// `integration` names the resource in messages (`sqs:sendMessage`).
    pub fn new(
        integration: &'static str,
        parameters: &'a Value,
        accepted: &[&str],
    ) -> Result<Params<'a>, Failure> {
        let Value::Object(fields) = parameters else {
            return Err(runtime(format!(
                "The parameters of arn:aws:states:::{integration} must be a JSON object, not {}",
                type_name(parameters)
            )));
        };
        if let Some(unknown) = fields.keys().find(|k| !accepted.contains(&k.as_str())) {
            return Err(runtime(format!(
                "The field '{unknown}' is not supported by arn:aws:states:::{integration} (supported: {})",
                accepted.join(", ")
            )));
        }
        Ok(Params {
            integration,
            fields,
        })
    }

    /// A field, absent when missing or null.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    pub fn missing(&self, name: &str) -> Failure {
        runtime(format!(
            "The field '{name}' is required by arn:aws:states:::{} but was missing",
            self.integration
        ))
    }

    pub fn wrong_type(&self, name: &str, expected: &str, found: &Value) -> Failure {
        runtime(format!(
            "The field '{name}' of arn:aws:states:::{} must be {expected}, not {}",
            self.integration,
            type_name(found)
        ))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(name, "a string", other)),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, Failure> {
        self.string(name)?.ok_or_else(|| self.missing(name))
    }

    /// A text field that Step Functions also accepts as JSON and sends as
    /// JSON text (`MessageBody`, `Message`, `Detail`).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    pub fn int(&self, name: &str) -> Result<Option<i32>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong_type(name, "an integer", v)),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(name, "a boolean", other)),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(other) => Err(self.wrong_type(name, "an object", other)),
        }
    }

    /// A map of strings (`ExpressionAttributeNames`).
    pub fn string_map(
        &self,
        name: &str,
    ) -> Result<Option<std::collections::HashMap<String, String>>, Failure> {
        let Some(object) = self.object(name)? else {
            return Ok(None);
        };
        object
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(self.wrong_type(&format!("{name}.{k}"), "a string", other)),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

/// Message attributes as SQS and SNS take them:
/// `{"name": {"DataType": "String", "StringValue": "..."}}` or with a
/// base64 `BinaryValue`. Returns (name, data type, string value, bytes).
pub(crate) type Attribute = (String, String, Option<String>, Option<Vec<u8>>);

pub(crate) fn message_attributes(params: &Params<'_>) -> Result<Vec<Attribute>, Failure> {
    use base64::Engine as _;
    let Some(object) = params.object("MessageAttributes")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, value) in object {
        let at = format!("MessageAttributes.{name}");
        let Value::Object(fields) = value else {
            return Err(params.wrong_type(&at, "an object", value));
        };
        let text = |field: &str| -> Result<Option<String>, Failure> {
            match fields.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(params.wrong_type(&format!("{at}.{field}"), "a string", other)),
            }
        };
        let data_type =
            text("DataType")?.ok_or_else(|| params.missing(&format!("{at}.DataType")))?;
        let binary = match text("BinaryValue")? {
            None => None,
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| {
                        runtime(format!(
                            "The field '{at}.BinaryValue' is not valid base64: {e}"
                        ))
                    })?,
            ),
        };
        out.push((name.clone(), data_type, text("StringValue")?, binary));
    }
    Ok(out)
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug)]
    #[allow(dead_code)]
    enum OpError {
        QueueDoesNotExist(String),
        ConditionalCheckFailedException { message: String },
        Unhandled(String),
    }

    #[test]
    fn modeled_errors_are_named_by_their_shape() {
        let name = |e: OpError| modeled_name(&e).map(|n| with_exception_suffix(&n));
        assert_eq!(
            name(OpError::QueueDoesNotExist("x".into())).as_deref(),
            Some("QueueDoesNotExistException")
        );
        assert_eq!(
            name(OpError::ConditionalCheckFailedException {
                message: "m".into()
            })
            .as_deref(),
            Some("ConditionalCheckFailedException")
        );
        assert_eq!(name(OpError::Unhandled("x".into())), None);
    }

    #[test]
    fn undeclared_codes_of_the_service_are_still_named() {
        let names = ServiceNames {
            prefix: "SNS",
            service: "AmazonSNS",
            generic: "AmazonSNSException",
            declared: &["NotFoundException", "KmsAccessDeniedException"],
        };
        assert_eq!(
            declared_name(names, "NotFound").as_deref(),
            Some("NotFoundException")
        );
        assert_eq!(
            declared_name(names, "KMSAccessDenied").as_deref(),
            Some("KmsAccessDeniedException")
        );
        assert_eq!(declared_name(names, "ValidationError"), None);
    }

    #[test]
    fn params_check_fields_and_types() {
        let p = json!({"QueueUrl": "q", "DelaySeconds": "5"});
        let params = Params::new("sqs:sendMessage", &p, &["QueueUrl", "DelaySeconds"]).unwrap();
        assert_eq!(params.required_string("QueueUrl").unwrap(), "q");
        let f = params.int("DelaySeconds").unwrap_err();
        assert_eq!(f.error, "States.Runtime");
        assert!(f.cause.unwrap().contains("'DelaySeconds'"));
        let f = params.required_string("MessageBody").unwrap_err();
        assert!(f.cause.unwrap().contains("'MessageBody' is required"));
        let f = Params::new("sqs:sendMessage", &json!({"Queue": 1}), &["QueueUrl"])
            .err()
            .unwrap();
        assert!(f.cause.unwrap().contains("'Queue' is not supported"));
        assert!(Params::new("sqs:sendMessage", &json!([1]), &[]).is_err());
    }

    #[test]
    fn text_fields_send_json_as_json_text() {
        let p = json!({"MessageBody": {"a": 1}, "Subject": "s"});
        let params = Params::new("sns:publish", &p, &["MessageBody", "Subject"]).unwrap();
        assert_eq!(params.text("MessageBody").unwrap(), r#"{"a":1}"#);
        assert_eq!(params.text("Subject").unwrap(), "s");
    }

    #[test]
    fn results_are_sorted_with_metadata() {
        let mut out = Map::new();
        out.insert("MessageId".into(), json!("m"));
        out.insert("MD5OfMessageBody".into(), json!("d"));
        add_sdk_metadata(&mut out, "text/xml", "r-1");
        let v = sorted(out);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "MD5OfMessageBody",
                "MessageId",
                "SdkHttpMetadata",
                "SdkResponseMetadata"
            ]
        );
        assert_eq!(v["SdkResponseMetadata"]["RequestId"], "r-1");
        assert_eq!(v["SdkHttpMetadata"]["HttpStatusCode"], 200);
    }
}
