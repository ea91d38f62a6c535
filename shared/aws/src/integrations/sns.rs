//! `arn:aws:states:::sns:publish[.waitForTaskToken]` (SNS Publish). A
//! `Message` that is not a string is sent as JSON text, as Step Functions
//! does. The result is Publish's answer (`MessageId`, ...) with the SDK
//! metadata.

use super::{
    add_sdk_metadata, message_attributes, runtime, sdk_failure, sorted, Params, ServiceNames,
};
use aws_sdk_sns::operation::RequestId;
use aws_sdk_sns::primitives::Blob;
use aws_sdk_sns::types::MessageAttributeValue;
use flowstate_asl::errors::Failure;
use serde_json::{Map, Value};

pub(crate) const NAMES: ServiceNames = ServiceNames {
    prefix: "SNS",
    service: "AmazonSNS",
    generic: "AmazonSNSException",
    declared: DECLARED,
};

/// The error shapes of the service's API model (`types::error`).
const DECLARED: &[&str] = &[
    "AuthorizationErrorException",
    "BatchEntryIdsNotDistinctException",
    "BatchRequestTooLongException",
    "ConcurrentAccessException",
    "EmptyBatchRequestException",
    "EndpointDisabledException",
    "FilterPolicyLimitExceededException",
    "InternalErrorException",
    "InvalidBatchEntryIdException",
    "InvalidParameterException",
    "InvalidParameterValueException",
    "InvalidSecurityException",
    "InvalidStateException",
    "KmsAccessDeniedException",
    "KmsDisabledException",
    "KmsInvalidStateException",
    "KmsNotFoundException",
    "KmsOptInRequired",
    "KmsThrottlingException",
    "NotFoundException",
    "OptedOutException",
    "PlatformApplicationDisabledException",
    "ReplayLimitExceededException",
    "ResourceNotFoundException",
    "StaleTagException",
    "SubscriptionLimitExceededException",
    "TagLimitExceededException",
    "TagPolicyException",
    "ThrottledException",
    "TooManyEntriesInBatchRequestException",
    "TopicLimitExceededException",
    "UserErrorException",
    "ValidationException",
    "VerificationException",
];

/// The parameters Step Functions accepts for sns:publish.
const FIELDS: &[&str] = &[
    "Message",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
    "MessageStructure",
    "PhoneNumber",
    "Subject",
    "TargetArn",
    "TopicArn",
];

pub(crate) async fn publish(
    client: &aws_sdk_sns::Client,
    parameters: &Value,
) -> Result<Value, Failure> {
    let params = Params::new("sns:publish", parameters, FIELDS)?;
    let mut request = client
        .publish()
        .message(
            params
                .text("Message")
                .ok_or_else(|| params.missing("Message"))?,
        )
        .set_topic_arn(params.string("TopicArn")?)
        .set_target_arn(params.string("TargetArn")?)
        .set_phone_number(params.string("PhoneNumber")?)
        .set_subject(params.string("Subject")?)
        .set_message_structure(params.string("MessageStructure")?)
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
    if let Some(id) = output.message_id() {
        out.insert("MessageId".into(), Value::from(id));
    }
    if let Some(sequence) = output.sequence_number() {
        out.insert("SequenceNumber".into(), Value::from(sequence));
    }
    add_sdk_metadata(
        &mut out,
        "text/xml",
        output.request_id().unwrap_or_default(),
    );
    Ok(sorted(out))
}
