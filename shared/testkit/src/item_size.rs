//! DynamoDB's write units by its item size rule, for the metering proxy:
//! an item's size is the UTF-8 length of its attribute names plus the size
//! of its values (strings by UTF-8 length, numbers by about one byte per
//! two digits plus one, booleans and nulls one byte, maps and lists three
//! bytes plus one per element), not the length of the request's JSON
//! (which adds the type wrappers, escaping and the request's own fields).
//! A write is billed one unit per started KB of the larger of the item
//! before and after it (a delete: the item deleted; a write of no item
//! still costs one), twice in a transaction. The item before is known from
//! the writes the proxy saw ([`Items`]), keyed by `PK`/`SK`.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Attribute sizes (name + value) of the items written so far, by table
/// and key.
#[derive(Debug, Default)]
pub(crate) struct Items {
    items: HashMap<(String, String), HashMap<String, u64>>,
}

/// The size of one attribute value in DynamoDB's JSON (`{"S": "…"}`).
pub(crate) fn value_size(v: &Value) -> u64 {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let text = |v: &Value| v.as_str().map(|s| s.len() as u64).unwrap_or(0);
    let number = |v: &Value| {
        let digits = v
            .as_str()
            .map(|s| s.chars().filter(char::is_ascii_digit).count() as u64)
            .unwrap_or(1);
        digits.div_ceil(2) + 1
    };
    let binary = |v: &Value| text(v) * 3 / 4;
    let elements = |v: &Value| v.as_array().cloned().unwrap_or_default();
    match kind.as_str() {
        "S" => text(inner),
        "N" => number(inner),
        "B" => binary(inner),
        "SS" => elements(inner).iter().map(text).sum(),
        "NS" => elements(inner).iter().map(number).sum(),
        "BS" => elements(inner).iter().map(binary).sum(),
        "BOOL" | "NULL" => 1,
        "L" => {
            3 + elements(inner)
                .iter()
                .map(|e| value_size(e) + 1)
                .sum::<u64>()
        }
        "M" => {
            3 + inner
                .as_object()
                .map(|m| attribute_sizes(m).values().map(|s| s + 1).sum())
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn attribute_sizes(item: &Map<String, Value>) -> HashMap<String, u64> {
    item.iter()
        .map(|(name, v)| (name.clone(), name.len() as u64 + value_size(v)))
        .collect()
}

/// The size of an item (`{"PK": {"S": …}, …}`).
pub(crate) fn item_size(item: &Value) -> u64 {
    item.as_object()
        .map(|m| attribute_sizes(m).values().sum())
        .unwrap_or(0)
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(1024).max(1)
}

fn key_of(table: &str, item: &Value) -> Option<(String, String)> {
    let pk = item.get("PK")?;
    Some((table.to_string(), format!("{pk}{}", item.get("SK")?)))
}

impl Items {
    fn size(&self, key: &Option<(String, String)>) -> u64 {
        key.as_ref()
            .and_then(|k| self.items.get(k))
            .map(|a| a.values().sum())
            .unwrap_or(0)
    }

    /// Write units of one write (`Put`, `Update`, `Delete` or
    /// `ConditionCheck`, in the shape of its request or transaction item),
    /// remembering the item after it when `apply`.
    pub(crate) fn write(&mut self, op: &str, request: &Value, apply: bool) -> u64 {
        let table = request["TableName"].as_str().unwrap_or_default();
        match op {
            "Put" => {
                let item = &request["Item"];
                let key = key_of(table, item);
                let after = item_size(item);
                let before = self.size(&key);
                if let (true, Some(key), Some(m)) = (apply, key, item.as_object()) {
                    self.items.insert(key, attribute_sizes(m));
                }
                units(before.max(after))
            }
            "Delete" => {
                let key = key_of(table, &request["Key"]);
                let before = self.size(&key);
                if let (true, Some(key)) = (apply, key) {
                    self.items.remove(&key);
                }
                units(before)
            }
            "Update" => {
                let key = key_of(table, &request["Key"]);
                let before = self.size(&key);
                let mut attrs = key
                    .as_ref()
                    .and_then(|k| self.items.get(k))
                    .cloned()
                    .unwrap_or_else(|| {
                        request["Key"]
                            .as_object()
                            .map(attribute_sizes)
                            .unwrap_or_default()
                    });
                apply_update(&mut attrs, request);
                let after = attrs.values().sum::<u64>();
                if let (true, Some(key)) = (apply, key) {
                    self.items.insert(key, attrs);
                }
                units(before.max(after))
            }
            // Checked, not written: billed by the item's size.
            _ => units(self.size(&key_of(table, &request["Key"]))),
        }
    }
}

/// Applies an `UpdateExpression`'s `SET`, `REMOVE` and `ADD` clauses to
/// attribute sizes: a path's new size is that of the first `:value` its
/// expression names (`if_not_exists(a, :v)`, `:v`), enough for the
/// updates the backends send.
fn apply_update(attrs: &mut HashMap<String, u64>, request: &Value) {
    let expression = request["UpdateExpression"].as_str().unwrap_or_default();
    let names = &request["ExpressionAttributeNames"];
    let values = &request["ExpressionAttributeValues"];
    let name = |path: &str| -> String {
        let path = path.trim();
        names[path].as_str().unwrap_or(path).to_string()
    };
    let mut clause = "";
    let mut rest = expression;
    while !rest.trim().is_empty() {
        let trimmed = rest.trim_start();
        if let Some(k) = ["SET ", "REMOVE ", "ADD ", "DELETE "]
            .iter()
            .find(|k| trimmed.to_ascii_uppercase().starts_with(**k))
        {
            clause = k.trim();
            rest = &trimmed[k.len()..];
            continue;
        }
        // One action, up to a comma outside parentheses or the next clause.
        let mut depth = 0;
        let mut end = trimmed.len();
        for (i, c) in trimmed.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
            let upper = trimmed[i..].to_ascii_uppercase();
            if i > 0
                && depth == 0
                && ["SET ", "REMOVE ", "ADD ", "DELETE "]
                    .iter()
                    .any(|k| upper.starts_with(k) && trimmed[..i].ends_with(' '))
            {
                end = i;
                break;
            }
        }
        let action = &trimmed[..end];
        rest = trimmed[end..].strip_prefix(',').unwrap_or(&trimmed[end..]);
        let value_size_in = |expr: &str| {
            expr.split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '_'))
                .find(|w| w.starts_with(':'))
                .map(|v| value_size(&values[v]))
                .unwrap_or(0)
        };
        match clause {
            "SET" => {
                if let Some((path, expr)) = action.split_once('=') {
                    let path = name(path);
                    let size = path.len() as u64 + value_size_in(expr);
                    attrs.insert(path, size);
                }
            }
            "REMOVE" => {
                attrs.remove(&name(action));
            }
            "ADD" => {
                if let Some((path, expr)) = action.trim().split_once(' ') {
                    let path = name(path);
                    let size = path.len() as u64 + value_size_in(expr);
                    attrs.insert(path, size);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_count_names_and_values_not_the_json() {
        // "PK" 2 + 3, "d" 1 + 9 (`{"a":"b"}`, unescaped), "n" 1 + 2.
        let item = json!({"PK": {"S": "X#1"}, "d": {"S": "{\"a\":\"b\"}"}, "n": {"N": "12"}});
        assert_eq!(item_size(&item), 5 + 10 + 3);
        assert_eq!(value_size(&json!({"BOOL": true})), 1);
        assert_eq!(value_size(&json!({"L": [{"S": "ab"}]})), 3 + 2 + 1);
    }

    #[test]
    fn writes_are_billed_by_the_larger_item_before_or_after() {
        let mut items = Items::default();
        let big = "x".repeat(1500);
        let put = json!({"TableName": "t", "Item": {"PK": {"S": "a"}, "SK": {"S": "b"}, "d": {"S": big}}});
        assert_eq!(items.write("Put", &put, true), 2);
        // Setting a small attribute: the whole item is billed.
        let update = json!({
            "TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "b"}},
            "UpdateExpression": "SET #o = :o, lu = if_not_exists(lu, :v) REMOVE d",
            "ExpressionAttributeNames": {"#o": "own"},
            "ExpressionAttributeValues": {":o": {"S": "w"}, ":v": {"N": "1"}}
        });
        assert_eq!(items.write("Update", &update, true), 2);
        // `d` removed: the item is small now.
        assert_eq!(items.write("Update", &update, true), 1);
        let delete = json!({"TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "b"}}});
        assert_eq!(items.write("Delete", &delete, true), 1);
        assert_eq!(items.write("Delete", &delete, true), 1);
    }
}
