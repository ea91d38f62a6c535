//! `arn:aws:states:::events:putEvents[.waitForTaskToken]` (EventBridge
//! PutEvents), with the optimized integration's two differences from the
//! SDK call (Step Functions developer guide, connect-eventbridge): the
//! execution ARN and the state machine ARN are appended to each entry's
//! `Resources`, and a non-zero `FailedEntryCount` fails the task with
//! `EventBridge.FailedEntry`. A `Detail` that is not a string is sent as
//! JSON text. The result is `{"Entries": [...], "FailedEntryCount": 0}`.

use super::{runtime, sdk_failure, type_name, Params, ServiceNames};
use aws_sdk_eventbridge::primitives::{DateTime, DateTimeFormat};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use flowstate_asl::errors::Failure;
use serde_json::{json, Map, Value};

pub(crate) const NAMES: ServiceNames = ServiceNames {
    prefix: "EventBridge",
    service: "AmazonEventBridge",
    generic: "AmazonEventBridgeException",
    declared: DECLARED,
};

/// The error shapes of the service's API model (`types::error`).
const DECLARED: &[&str] = &[
    "AccessDeniedException",
    "ConcurrentModificationException",
    "IllegalStatusException",
    "InternalException",
    "InvalidEventPatternException",
    "InvalidStateException",
    "LimitExceededException",
    "ManagedRuleException",
    "OperationDisabledException",
    "PolicyLengthExceededException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "ThrottlingException",
];

const FIELDS: &[&str] = &["Entries"];
const ENTRY_FIELDS: &[&str] = &[
    "Detail",
    "DetailType",
    "EventBusName",
    "Resources",
    "Source",
    "Time",
    "TraceHeader",
];

pub(crate) async fn put_events(
    client: &aws_sdk_eventbridge::Client,
    parameters: &Value,
    execution_arn: &str,
) -> Result<Value, Failure> {
    let params = Params::new("events:putEvents", parameters, FIELDS)?;
    let entries = match params.get("Entries") {
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(params.wrong_type("Entries", "an array", other)),
        None => return Err(params.missing("Entries")),
    };
    let added = added_resources(execution_arn);
    let mut request = client.put_events();
    for (i, entry) in entries.iter().enumerate() {
        request = request.entries(entry_of(i, entry, &added)?);
    }
    let output = request.send().await.map_err(|e| sdk_failure(NAMES, &e))?;
    let results: Vec<Value> = output
        .entries()
        .iter()
        .map(|e| {
            let mut o = Map::new();
            if let Some(code) = e.error_code() {
                o.insert("ErrorCode".into(), Value::from(code));
            }
            if let Some(message) = e.error_message() {
                o.insert("ErrorMessage".into(), Value::from(message));
            }
            if let Some(id) = e.event_id() {
                o.insert("EventId".into(), Value::from(id));
            }
            Value::Object(o)
        })
        .collect();
    let result = json!({"Entries": results, "FailedEntryCount": output.failed_entry_count()});
    if output.failed_entry_count() > 0 {
        return Err(Failure::new("EventBridge.FailedEntry", result.to_string()));
    }
    Ok(result)
}

fn entry_of(i: usize, entry: &Value, added: &[String]) -> Result<PutEventsRequestEntry, Failure> {
    let at = |field: &str| format!("Entries[{i}].{field}");
    let Value::Object(fields) = entry else {
        return Err(runtime(format!(
            "The field 'Entries[{i}]' of arn:aws:states:::events:putEvents must be an object, not {}",
            type_name(entry)
        )));
    };
    if let Some(unknown) = fields.keys().find(|k| !ENTRY_FIELDS.contains(&k.as_str())) {
        return Err(runtime(format!(
            "The field '{}' is not supported by arn:aws:states:::events:putEvents (supported: {})",
            at(unknown),
            ENTRY_FIELDS.join(", ")
        )));
    }
    let string = |field: &str| -> Result<Option<String>, Failure> {
        match fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(runtime(format!(
                "The field '{}' of arn:aws:states:::events:putEvents must be a string, not {}",
                at(field),
                type_name(other)
            ))),
        }
    };
    let detail = match fields.get("Detail") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let mut resources = match fields.get("Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| match r {
                Value::String(s) => Ok(s.clone()),
                other => Err(runtime(format!(
                    "The field '{}' of arn:aws:states:::events:putEvents must hold strings, not {}",
                    at("Resources"),
                    type_name(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(runtime(format!(
                "The field '{}' of arn:aws:states:::events:putEvents must be an array, not {}",
                at("Resources"),
                type_name(other)
            )))
        }
    };
    resources.extend(added.iter().cloned());
    let time = match fields.get("Time") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(DateTime::from_str(s, DateTimeFormat::DateTime).map_err(
            |e| {
                runtime(format!(
                "The field '{}' of arn:aws:states:::events:putEvents is not an ISO 8601 time: {e}",
                at("Time")
            ))
            },
        )?),
        Some(Value::Number(n)) => n.as_f64().map(DateTime::from_secs_f64),
        Some(other) => {
            return Err(runtime(format!(
                "The field '{}' of arn:aws:states:::events:putEvents must be a time, not {}",
                at("Time"),
                type_name(other)
            )))
        }
    };
    Ok(PutEventsRequestEntry::builder()
        .set_detail(detail)
        .set_detail_type(string("DetailType")?)
        .set_event_bus_name(string("EventBusName")?)
        .set_source(string("Source")?)
        .set_trace_header(string("TraceHeader")?)
        .set_time(time)
        .set_resources(Some(resources))
        .build())
}

/// The execution ARN and its state machine's ARN
/// (`arn:aws:states:R:A:execution:SM:NAME` → `arn:aws:states:R:A:stateMachine:SM`).
fn added_resources(execution_arn: &str) -> Vec<String> {
    let fields: Vec<&str> = execution_arn.split(':').collect();
    match fields.as_slice() {
        ["arn", partition, "states", region, account, "execution" | "express", machine, ..] => {
            vec![
                execution_arn.to_string(),
                format!("arn:{partition}:states:{region}:{account}:stateMachine:{machine}"),
            ]
        }
        _ => vec![execution_arn.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_and_state_machine_arns_are_added() {
        assert_eq!(
            added_resources("arn:aws:states:us-east-1:123456789012:execution:orders:run-1"),
            [
                "arn:aws:states:us-east-1:123456789012:execution:orders:run-1",
                "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
            ]
        );
        assert_eq!(added_resources("local"), ["local"]);
    }

    #[test]
    fn entries_are_checked_and_detail_becomes_text() {
        let entry = entry_of(
            0,
            &json!({"Detail": {"a": 1}, "DetailType": "t", "Source": "s", "Resources": ["r"]}),
            &["x".to_string()],
        )
        .unwrap();
        assert_eq!(entry.detail(), Some(r#"{"a":1}"#));
        assert_eq!(entry.resources(), ["r", "x"]);
        let f = entry_of(1, &json!({"Detail": {}, "Sauce": "s"}), &[]).unwrap_err();
        assert!(f.cause.unwrap().contains("'Entries[1].Sauce'"));
        assert!(entry_of(0, &json!({"Time": "yesterday"}), &[]).is_err());
    }
}
