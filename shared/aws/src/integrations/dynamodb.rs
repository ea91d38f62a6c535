//! `arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`.
//! Keys, items and expression values are DynamoDB JSON
//! (`{"S": "..."}`, `{"N": "1"}`, `{"M": {...}}`, ...) in the parameters and
//! in the result, as Step Functions passes them. Step Functions has no
//! callback pattern for DynamoDB (developer guide, connect-ddb), so neither
//! has Flowstate. The legacy parameters (`AttributesToGet`, `Expected`,
//! `ConditionalOperator`, `AttributeUpdates`) are refused with a message:
//! expressions do the same.

use super::{add_sdk_metadata, runtime, sdk_failure, sorted, type_name, Params, ServiceNames};
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, ItemCollectionMetrics, ReturnConsumedCapacity, ReturnValue,
    ReturnValuesOnConditionCheckFailure,
};
use base64::Engine as _;
use flowstate_asl::errors::Failure;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub(crate) const NAMES: ServiceNames = ServiceNames {
    prefix: "DynamoDB",
    service: "AmazonDynamoDBv2",
    generic: "AmazonDynamoDBException",
    declared: DECLARED,
};

/// The error shapes of the service's API model (`types::error`).
const DECLARED: &[&str] = &[
    "BackupInUseException",
    "BackupNotFoundException",
    "ConditionalCheckFailedException",
    "ContinuousBackupsUnavailableException",
    "DuplicateItemException",
    "ExportConflictException",
    "ExportNotFoundException",
    "GlobalTableAlreadyExistsException",
    "GlobalTableNotFoundException",
    "IdempotentParameterMismatchException",
    "ImportConflictException",
    "ImportNotFoundException",
    "IndexNotFoundException",
    "InternalServerError",
    "InvalidEndpointException",
    "InvalidExportTimeException",
    "InvalidRestoreTimeException",
    "ItemCollectionSizeLimitExceededException",
    "LimitExceededException",
    "PointInTimeRecoveryUnavailableException",
    "PolicyNotFoundException",
    "ProvisionedThroughputExceededException",
    "ReplicaAlreadyExistsException",
    "ReplicaNotFoundException",
    "ReplicatedWriteConflictException",
    "RequestLimitExceeded",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "TableAlreadyExistsException",
    "TableInUseException",
    "TableNotFoundException",
    "ThrottlingException",
    "TransactionCanceledException",
    "TransactionConflictException",
    "TransactionInProgressException",
];

const LEGACY: &[&str] = &[
    "AttributesToGet",
    "Expected",
    "ConditionalOperator",
    "AttributeUpdates",
];

const GET: &[&str] = &[
    "TableName",
    "Key",
    "ConsistentRead",
    "ExpressionAttributeNames",
    "ProjectionExpression",
    "ReturnConsumedCapacity",
];
const PUT: &[&str] = &[
    "TableName",
    "Item",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
];
const UPDATE: &[&str] = &[
    "TableName",
    "Key",
    "UpdateExpression",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
];
const DELETE: &[&str] = &[
    "TableName",
    "Key",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnConsumedCapacity",
    "ReturnItemCollectionMetrics",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
];

type Item = HashMap<String, AttributeValue>;

/// Performs one of the four actions; `action` is as written in the ARN.
pub(crate) async fn call(
    client: &aws_sdk_dynamodb::Client,
    action: &str,
    parameters: &Value,
) -> Result<Value, Failure> {
    if let Some(legacy) = LEGACY
        .iter()
        .find(|f| parameters.get(**f).is_some_and(|v| !v.is_null()))
    {
        return Err(runtime(format!(
            "The legacy DynamoDB parameter '{legacy}' of arn:aws:states:::dynamodb:{action} is not supported by Flowstate; use ProjectionExpression, ConditionExpression or UpdateExpression instead"
        )));
    }
    let mut out = Map::new();
    let request_id = match action {
        "getItem" => {
            let p = Params::new("dynamodb:getItem", parameters, GET)?;
            let output = client
                .get_item()
                .table_name(p.required_string("TableName")?)
                .set_key(Some(item(&p, "Key")?.ok_or_else(|| p.missing("Key"))?))
                .set_consistent_read(p.bool("ConsistentRead")?)
                .set_expression_attribute_names(p.string_map("ExpressionAttributeNames")?)
                .set_projection_expression(p.string("ProjectionExpression")?)
                .set_return_consumed_capacity(
                    p.string("ReturnConsumedCapacity")?
                        .map(|s| ReturnConsumedCapacity::from(s.as_str())),
                )
                .send()
                .await
                .map_err(|e| sdk_failure(NAMES, &e))?;
            put_item(&mut out, "Item", output.item());
            put_capacity(&mut out, output.consumed_capacity());
            output.request_id().unwrap_or_default().to_string()
        }
        "putItem" => {
            let p = Params::new("dynamodb:putItem", parameters, PUT)?;
            let output = client
                .put_item()
                .table_name(p.required_string("TableName")?)
                .set_item(Some(item(&p, "Item")?.ok_or_else(|| p.missing("Item"))?))
                .set_condition_expression(p.string("ConditionExpression")?)
                .set_expression_attribute_names(p.string_map("ExpressionAttributeNames")?)
                .set_expression_attribute_values(item(&p, "ExpressionAttributeValues")?)
                .set_return_consumed_capacity(enum_of(&p, "ReturnConsumedCapacity")?)
                .set_return_item_collection_metrics(enum_of(&p, "ReturnItemCollectionMetrics")?)
                .set_return_values(enum_of::<ReturnValue>(&p, "ReturnValues")?)
                .set_return_values_on_condition_check_failure(enum_of::<
                    ReturnValuesOnConditionCheckFailure,
                >(
                    &p,
                    "ReturnValuesOnConditionCheckFailure",
                )?)
                .send()
                .await
                .map_err(|e| sdk_failure(NAMES, &e))?;
            put_item(&mut out, "Attributes", output.attributes());
            put_capacity(&mut out, output.consumed_capacity());
            put_metrics(&mut out, output.item_collection_metrics());
            output.request_id().unwrap_or_default().to_string()
        }
        "updateItem" => {
            let p = Params::new("dynamodb:updateItem", parameters, UPDATE)?;
            let output = client
                .update_item()
                .table_name(p.required_string("TableName")?)
                .set_key(Some(item(&p, "Key")?.ok_or_else(|| p.missing("Key"))?))
                .set_update_expression(p.string("UpdateExpression")?)
                .set_condition_expression(p.string("ConditionExpression")?)
                .set_expression_attribute_names(p.string_map("ExpressionAttributeNames")?)
                .set_expression_attribute_values(item(&p, "ExpressionAttributeValues")?)
                .set_return_consumed_capacity(enum_of(&p, "ReturnConsumedCapacity")?)
                .set_return_item_collection_metrics(enum_of(&p, "ReturnItemCollectionMetrics")?)
                .set_return_values(enum_of::<ReturnValue>(&p, "ReturnValues")?)
                .set_return_values_on_condition_check_failure(enum_of::<
                    ReturnValuesOnConditionCheckFailure,
                >(
                    &p,
                    "ReturnValuesOnConditionCheckFailure",
                )?)
                .send()
                .await
                .map_err(|e| sdk_failure(NAMES, &e))?;
            put_item(&mut out, "Attributes", output.attributes());
            put_capacity(&mut out, output.consumed_capacity());
            put_metrics(&mut out, output.item_collection_metrics());
            output.request_id().unwrap_or_default().to_string()
        }
        "deleteItem" => {
            let p = Params::new("dynamodb:deleteItem", parameters, DELETE)?;
            let output = client
                .delete_item()
                .table_name(p.required_string("TableName")?)
                .set_key(Some(item(&p, "Key")?.ok_or_else(|| p.missing("Key"))?))
                .set_condition_expression(p.string("ConditionExpression")?)
                .set_expression_attribute_names(p.string_map("ExpressionAttributeNames")?)
                .set_expression_attribute_values(item(&p, "ExpressionAttributeValues")?)
                .set_return_consumed_capacity(enum_of(&p, "ReturnConsumedCapacity")?)
                .set_return_item_collection_metrics(enum_of(&p, "ReturnItemCollectionMetrics")?)
                .set_return_values(enum_of::<ReturnValue>(&p, "ReturnValues")?)
                .set_return_values_on_condition_check_failure(enum_of::<
                    ReturnValuesOnConditionCheckFailure,
                >(
                    &p,
                    "ReturnValuesOnConditionCheckFailure",
                )?)
                .send()
                .await
                .map_err(|e| sdk_failure(NAMES, &e))?;
            put_item(&mut out, "Attributes", output.attributes());
            put_capacity(&mut out, output.consumed_capacity());
            put_metrics(&mut out, output.item_collection_metrics());
            output.request_id().unwrap_or_default().to_string()
        }
        other => {
            return Err(runtime(format!(
                "dynamodb:{other} is not an action Flowstate performs"
            )))
        }
    };
    add_sdk_metadata(&mut out, "application/x-amz-json-1.0", &request_id);
    Ok(sorted(out))
}

/// An SDK enum from its wire name; the service rejects unknown names.
fn enum_of<T: for<'s> From<&'s str>>(p: &Params<'_>, name: &str) -> Result<Option<T>, Failure> {
    Ok(p.string(name)?.map(|s| T::from(s.as_str())))
}

/// A map of attribute values (`Key`, `Item`, `ExpressionAttributeValues`).
fn item(p: &Params<'_>, name: &str) -> Result<Option<Item>, Failure> {
    let Some(object) = p.object(name)? else {
        return Ok(None);
    };
    object
        .iter()
        .map(|(k, v)| Ok((k.clone(), to_attribute(v, &format!("{name}.{k}"))?)))
        .collect::<Result<Item, Failure>>()
        .map(Some)
}

/// DynamoDB JSON → an attribute value. `N` also accepts a JSON number
/// (written as its text), which is what a path to a number yields.
pub(crate) fn to_attribute(value: &Value, at: &str) -> Result<AttributeValue, Failure> {
    let bad = |why: String| {
        runtime(format!(
            "The DynamoDB attribute value at '{at}' is invalid: {why}"
        ))
    };
    let Value::Object(fields) = value else {
        return Err(bad(format!(
            "expected an object such as {{\"S\": \"text\"}}, found {}",
            type_name(value)
        )));
    };
    let mut iter = fields.iter();
    let (Some((tag, inner)), None) = (iter.next(), iter.next()) else {
        return Err(bad(format!(
            "expected exactly one type key (S, N, B, BOOL, NULL, M, L, SS, NS, BS), found {}",
            fields.len()
        )));
    };
    let text = |v: &Value| -> Result<String, Failure> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(bad(format!(
                "{tag} needs a string, found {}",
                type_name(other)
            ))),
        }
    };
    let number = |v: &Value| -> Result<String, Failure> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(bad(format!(
                "{tag} needs a number, found {}",
                type_name(other)
            ))),
        }
    };
    let bytes = |v: &Value| -> Result<Blob, Failure> {
        base64::engine::general_purpose::STANDARD
            .decode(text(v)?.as_bytes())
            .map(Blob::new)
            .map_err(|e| bad(format!("{tag} needs base64: {e}")))
    };
    let list = |v: &Value| -> Result<Vec<Value>, Failure> {
        match v {
            Value::Array(items) => Ok(items.clone()),
            other => Err(bad(format!(
                "{tag} needs an array, found {}",
                type_name(other)
            ))),
        }
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(text(inner)?),
        "N" => AttributeValue::N(number(inner)?),
        "B" => AttributeValue::B(bytes(inner)?),
        "BOOL" => match inner {
            Value::Bool(b) => AttributeValue::Bool(*b),
            other => {
                return Err(bad(format!(
                    "BOOL needs a boolean, found {}",
                    type_name(other)
                )))
            }
        },
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list(inner)?.iter().map(number).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(list(inner)?.iter().map(bytes).collect::<Result<_, _>>()?),
        "L" => AttributeValue::L(
            list(inner)?
                .iter()
                .enumerate()
                .map(|(i, v)| to_attribute(v, &format!("{at}.L[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        "M" => match inner {
            Value::Object(members) => AttributeValue::M(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), to_attribute(v, &format!("{at}.M.{k}"))?)))
                    .collect::<Result<_, Failure>>()?,
            ),
            other => {
                return Err(bad(format!(
                    "M needs an object, found {}",
                    type_name(other)
                )))
            }
        },
        other => return Err(bad(format!("'{other}' is not a DynamoDB type"))),
    })
}

/// An attribute value → DynamoDB JSON, as Step Functions shows results.
pub(crate) fn from_attribute(value: &AttributeValue) -> Value {
    let b64 = |b: &Blob| Value::from(base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
    let tagged = |tag: &str, v: Value| {
        let mut o = Map::new();
        o.insert(tag.to_string(), v);
        Value::Object(o)
    };
    match value {
        AttributeValue::S(s) => tagged("S", Value::from(s.as_str())),
        AttributeValue::N(n) => tagged("N", Value::from(n.as_str())),
        AttributeValue::B(b) => tagged("B", b64(b)),
        AttributeValue::Bool(b) => tagged("BOOL", Value::Bool(*b)),
        AttributeValue::Null(b) => tagged("NULL", Value::Bool(*b)),
        AttributeValue::Ss(items) => tagged(
            "SS",
            items.iter().map(|s| Value::from(s.as_str())).collect(),
        ),
        AttributeValue::Ns(items) => tagged(
            "NS",
            items.iter().map(|s| Value::from(s.as_str())).collect(),
        ),
        AttributeValue::Bs(items) => tagged("BS", items.iter().map(b64).collect()),
        AttributeValue::L(items) => tagged("L", items.iter().map(from_attribute).collect()),
        AttributeValue::M(members) => tagged("M", Value::Object(map_of(members))),
        // A type newer than this SDK: shown rather than lost.
        _ => tagged("UNKNOWN", Value::from(format!("{value:?}"))),
    }
}

/// Attributes sorted by name: DynamoDB's maps have no order, a stable one
/// makes results comparable.
fn map_of(item: &Item) -> Map<String, Value> {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|k| (k.clone(), from_attribute(&item[k])))
        .collect()
}

fn put_item(out: &mut Map<String, Value>, key: &str, item: Option<&Item>) {
    if let Some(item) = item {
        out.insert(key.to_string(), Value::Object(map_of(item)));
    }
}

fn put_capacity(out: &mut Map<String, Value>, capacity: Option<&ConsumedCapacity>) {
    let Some(c) = capacity else { return };
    let mut o = Map::new();
    if let Some(units) = c.capacity_units() {
        o.insert("CapacityUnits".into(), Value::from(units));
    }
    if let Some(units) = c.read_capacity_units() {
        o.insert("ReadCapacityUnits".into(), Value::from(units));
    }
    if let Some(table) = c.table_name() {
        o.insert("TableName".into(), Value::from(table));
    }
    if let Some(units) = c.write_capacity_units() {
        o.insert("WriteCapacityUnits".into(), Value::from(units));
    }
    out.insert("ConsumedCapacity".into(), Value::Object(o));
}

fn put_metrics(out: &mut Map<String, Value>, metrics: Option<&ItemCollectionMetrics>) {
    let Some(m) = metrics else { return };
    let mut o = Map::new();
    if let Some(key) = m.item_collection_key() {
        o.insert("ItemCollectionKey".into(), Value::Object(map_of(key)));
    }
    o.insert(
        "SizeEstimateRangeGB".into(),
        m.size_estimate_range_gb()
            .iter()
            .copied()
            .map(Value::from)
            .collect(),
    );
    out.insert("ItemCollectionMetrics".into(), Value::Object(o));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dynamodb_json_round_trips() {
        let value = json!({"M": {
            "b": {"B": "aGk="}, "bool": {"BOOL": true}, "l": {"L": [{"S": "x"}, {"N": "1.5"}]},
            "n": {"N": "7"}, "ns": {"NS": ["1", "2"]}, "null": {"NULL": true},
            "s": {"S": "text"}, "ss": {"SS": ["a", "b"]}, "bs": {"BS": ["aGk="]}
        }});
        let attribute = to_attribute(&value, "Item").unwrap();
        let back = from_attribute(&attribute);
        let mut expected = value.clone();
        // Members come back sorted by name.
        let sorted: Map<String, Value> = {
            let m = expected["M"].as_object().unwrap();
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            keys.into_iter()
                .map(|k| (k.clone(), m[k].clone()))
                .collect()
        };
        expected["M"] = Value::Object(sorted);
        assert_eq!(back, expected);
    }

    #[test]
    fn numbers_may_be_json_numbers() {
        assert_eq!(
            to_attribute(&json!({"N": 42}), "Key.id").unwrap(),
            AttributeValue::N("42".into())
        );
    }

    #[test]
    fn bad_attribute_values_name_their_place() {
        for (bad, part) in [
            (json!("plain"), "found a string"),
            (json!({"S": "a", "N": "1"}), "exactly one type key"),
            (json!({"X": "a"}), "'X' is not a DynamoDB type"),
            (json!({"S": 3}), "S needs a string"),
            (json!({"B": "%%"}), "B needs base64"),
        ] {
            let f = to_attribute(&bad, "Item.pk").unwrap_err();
            assert_eq!(f.error, "States.Runtime");
            let cause = f.cause.unwrap();
            assert!(
                cause.contains("'Item.pk'") && cause.contains(part),
                "{cause}"
            );
        }
        let f = to_attribute(&json!({"L": [{"S": 1}]}), "Item.l").unwrap_err();
        assert!(f.cause.unwrap().contains("'Item.l.L[0]'"));
    }
}
