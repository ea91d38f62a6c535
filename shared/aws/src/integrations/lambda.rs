//! Lambda: plain function ARNs and `arn:aws:states:::lambda:invoke[.waitForTaskToken]`
//! through the Invoke API. The engine's [`LambdaCall`] reads the parameters
//! and shapes the answer, exactly as for the local runner; this module
//! only performs the call.

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use flowstate_asl::errors::Failure;
use flowstate_engine::integration::{
    FunctionRef, LambdaCall, LambdaResponse, LambdaServiceError, ResultShape, TaskResource,
};
use serde_json::Value;

/// What became of a Lambda call: the state's result, or `None` when it
/// waits for a callback (`.waitForTaskToken`, the function accepted the call).
pub(crate) async fn invoke(
    client: &aws_sdk_lambda::Client,
    resource: &TaskResource,
    call: &LambdaCall,
    parameters: &Value,
) -> Result<Option<Value>, Failure> {
    let mut request = client
        .invoke()
        .function_name(function_name(&call.function))
        .set_qualifier(call.function.qualifier.clone())
        .invocation_type(InvocationType::from(call.invocation_type.name()))
        .payload(Blob::new(call.payload.to_string()));
    // lambda:invoke passes the Invoke API's ClientContext and LogType on;
    // for a plain function ARN the parameters are the payload.
    if matches!(resource, TaskResource::LambdaInvoke(_)) {
        if let Some(Value::String(context)) = parameters.get("ClientContext") {
            request = request.client_context(context);
        }
        if let Some(Value::String(log_type)) = parameters.get("LogType") {
            request = request.log_type(LogType::from(log_type.as_str()));
        }
    }
    let output = match request.send().await {
        Ok(output) => output,
        Err(SdkError::ServiceError(context)) => {
            let raw = context.raw();
            let body = raw
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            return Err(LambdaServiceError::from_http(
                raw.status().as_u16(),
                raw.headers().get("x-amzn-ErrorType"),
                &body,
                raw.headers().get("x-amzn-RequestId").map(str::to_string),
            )
            .to_failure());
        }
        // What the local runner reports for an endpoint it cannot reach.
        Err(other) => {
            return Err(Failure::new(
                "Lambda.SdkClientException",
                format!(
                    "Unable to execute HTTP request: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(&other)
                ),
            ))
        }
    };
    let response = LambdaResponse {
        status_code: u16::try_from(output.status_code()).unwrap_or(200),
        payload: output
            .payload()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default(),
        function_error: output.function_error().map(str::to_string),
        executed_version: output.executed_version().map(str::to_string),
        request_id: output.request_id().unwrap_or_default().to_string(),
        date: None,
    };
    let mut result = call.result(&response)?;
    if call.shape == ResultShape::Callback {
        return Ok(None);
    }
    // `LogType: Tail` adds the last 4 KB of the log, base64, as the Invoke
    // API's LogResult (kept in the wrapper's alphabetical key order).
    if let (Some(log), Value::Object(fields)) = (output.log_result(), &mut result) {
        let mut entries: Vec<(String, Value)> = std::mem::take(fields).into_iter().collect();
        entries.push(("LogResult".to_string(), Value::from(log)));
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        *fields = entries.into_iter().collect();
    }
    Ok(Some(result))
}

/// The `FunctionName` to send: the ARN, partial ARN or name as the
/// definition gave it (without the qualifier, which travels as `Qualifier`).
fn function_name(function: &FunctionRef) -> String {
    match (&function.partition, &function.region, &function.account) {
        (Some(partition), Some(region), Some(account)) => format!(
            "arn:{partition}:lambda:{region}:{account}:function:{}",
            function.name
        ),
        (_, _, Some(account)) => format!("{account}:function:{}", function.name),
        _ => function.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_keep_the_form_they_were_given() {
        let arn = FunctionRef::parse("arn:aws:lambda:us-east-1:123456789012:function:charge:live")
            .unwrap();
        assert_eq!(
            function_name(&arn),
            "arn:aws:lambda:us-east-1:123456789012:function:charge"
        );
        let partial = FunctionRef::parse("123456789012:function:charge").unwrap();
        assert_eq!(function_name(&partial), "123456789012:function:charge");
        assert_eq!(
            function_name(&FunctionRef::parse("charge:7").unwrap()),
            "charge"
        );
    }
}
