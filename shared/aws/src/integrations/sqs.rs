//! `arn:aws:states:::sqs:sendMessage[.waitForTaskToken]` (SQS SendMessage).
//! A `MessageBody` that is not a string is sent as JSON text, as Step
//! Functions does. The result is SendMessage's answer (`MD5OfMessageBody`,
//! `MessageId`, ...) with the SDK metadata.

use super::{
    add_sdk_metadata, message_attributes, runtime, sdk_failure, sorted, Params, ServiceNames,
};
use aws_sdk_sqs::operation::RequestId;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use flowstate_asl::errors::Failure;
use serde_json::{Map, Value};

pub(crate) const NAMES: ServiceNames = ServiceNames {
    prefix: "SQS",
    service: "AmazonSQS",
    generic: "AmazonSQSException",
    declared: DECLARED,
};

/// The error shapes of the service's API model (`types::error`).
const DECLARED: &[&str] = &[
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidAddress",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidIdFormat",
    "InvalidMessageContents",
    "InvalidSecurity",
    "KmsAccessDenied",
    "KmsDisabled",
    "KmsInvalidKeyUsage",
    "KmsInvalidState",
    "KmsNotFound",
    "KmsOptInRequired",
    "KmsThrottled",
    "MessageNotInflight",
    "OverLimit",
    "PurgeQueueInProgress",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "QueueNameExists",
    "ReceiptHandleIsInvalid",
    "RequestThrottled",
    "ResourceNotFoundException",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
];

/// The parameters Step Functions accepts for sqs:sendMessage.
const FIELDS: &[&str] = &[
    "QueueUrl",
    "MessageBody",
    "DelaySeconds",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
];

pub(crate) async fn send_message(
    client: &aws_sdk_sqs::Client,
    parameters: &Value,
) -> Result<Value, Failure> {
    let params = Params::new("sqs:sendMessage", parameters, FIELDS)?;
    let mut request = client
        .send_message()
        .queue_url(params.required_string("QueueUrl")?)
        .message_body(
            params
                .text("MessageBody")
                .ok_or_else(|| params.missing("MessageBody"))?,
        )
        .set_delay_seconds(params.int("DelaySeconds")?)
        .set_message_deduplication_id(params.string("MessageDeduplicationId")?)
        .set_message_group_id(params.string("MessageGroupId")?);
    for (name, data_type, string, binary) in message_attributes(&params)? {
        let value = MessageAttributeValue::builder()
            .data_type(data_type)
            .set_string_value(string)
            .set_binary_value(binary.map(Blob::new))
            .build()
            .map_err(|e| runtime(format!("The message attribute '{name}' is invalid: {e}")))?;
        request = request.message_attributes(name, value);
    }
    let output = request.send().await.map_err(|e| sdk_failure(NAMES, &e))?;
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            out.insert(key.to_string(), Value::from(value));
        }
    };
    put("MD5OfMessageAttributes", output.md5_of_message_attributes());
    put("MD5OfMessageBody", output.md5_of_message_body());
    put("MessageId", output.message_id());
    put("SequenceNumber", output.sequence_number());
    add_sdk_metadata(
        &mut out,
        "application/x-amz-json-1.0",
        output.request_id().unwrap_or_default(),
    );
    Ok(sorted(out))
}
