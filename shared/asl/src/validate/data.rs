//! Data-flow fields: JSONPath syntax, payload templates (with their pointers
//! merged into the definition's), intrinsic functions, JSONata `{% %}`
//! expressions, variable assignments, Retry and Catch.

use super::states::{At, MAX_SECONDS};
use super::{child, type_name, Mode, Transition, Validator};
use crate::errors::StatesError;
use crate::intrinsics::{looks_like_intrinsic, Intrinsic};
use crate::jsonpath::JsonPath;
use crate::template::PayloadTemplate;
use serde_json::Value;

/// Whether a string is a JSONata expression: exactly `{%` ... `%}`.
pub(super) fn is_jsonata(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// A JSONPath (any root, definite or not).
pub(super) fn path(v: &mut Validator, p: &str, what: &str, value: &Value) {
    let Some(s) = value.as_str() else {
        v.error(
            p,
            format!(
                "{what} must be a JSONPath string, found {}",
                type_name(value)
            ),
        );
        return;
    };
    if let Err(e) = JsonPath::parse(s) {
        v.error(p, format!("{what}: {e}"));
    }
}

/// `InputPath`/`OutputPath` (`reference == false`) or `ResultPath`: a path or null.
pub(super) fn path_or_null(v: &mut Validator, p: &str, what: &str, value: &Value, reference: bool) {
    let Some(s) = value.as_str() else {
        if !value.is_null() {
            v.error(
                p,
                format!(
                    "{what} must be a JSONPath string or null, found {}",
                    type_name(value)
                ),
            );
        }
        return;
    };
    match JsonPath::parse(s) {
        Err(e) => v.error(p, format!("{what}: {e}")),
        Ok(path) if reference && !path.is_reference() => v.error(
            p,
            format!("{what} '{s}' must be a reference path: '$' followed only by .name, ['name'] or [index] steps"),
        ),
        Ok(_) => {}
    }
}

/// `ErrorPath`/`CausePath`: a path, or an intrinsic function.
pub(super) fn path_or_intrinsic(v: &mut Validator, p: &str, what: &str, value: &Value) {
    match value.as_str() {
        Some(s) if looks_like_intrinsic(s) => {
            if let Err(e) = Intrinsic::parse(s) {
                v.error(p, format!("{what}: {e}"));
            }
        }
        _ => path(v, p, what, value),
    }
}

/// A payload template (`Parameters`, `ResultSelector`, `ItemSelector`, ...):
/// every `.$` value, at any depth, is checked by the template compiler.
pub(super) fn template(v: &mut Validator, p: &str, what: &str, value: &Value) {
    if let Err(errors) = PayloadTemplate::parse(value) {
        for e in errors {
            v.error(
                &format!("{p}{}", e.pointer),
                format!("{what}: {}", e.message),
            );
        }
    }
}

/// A JSONata-mode value: any JSON whose strings of the form `{% ... %}` are
/// expressions. With `expression_required`, the value itself must be one.
pub(super) fn jsonata_value(
    v: &mut Validator,
    at: &At<'_>,
    key: &str,
    p: &str,
    value: &Value,
    expression_required: bool,
) {
    let what = format!("state '{}': {key}", at.name);
    if expression_required && !value.as_str().is_some_and(is_jsonata) {
        v.error(
            p,
            format!(
                "{what} must be a {{% %}} expression here, found {}",
                short(value)
            ),
        );
        return;
    }
    walk_jsonata(v, &what, p, value);
}

fn walk_jsonata(v: &mut Validator, what: &str, p: &str, value: &Value) {
    match value {
        Value::String(s) if is_jsonata(s) => {
            if let Err(e) = flowstate_jsonata::Expression::parse(&s[2..s.len() - 2]) {
                v.error(
                    p,
                    format!(
                        "{what}: invalid JSONata expression {}: {e}",
                        crate::jsonata::excerpt(s)
                    ),
                );
            }
        }
        Value::String(s) if s.trim_start().starts_with("{%") => {
            v.error(
                p,
                format!(
                    "{what}: '{}' starts like a JSONata expression but does not end with %}}",
                    s.trim()
                ),
            );
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_jsonata(v, what, &child(p, &i.to_string()), item);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                walk_jsonata(v, what, &child(p, k), item);
            }
        }
        _ => {}
    }
}

/// A value as it appears in messages, cut short.
fn short(value: &Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// `Assign`: variable names, then a template (JSONPath) or JSONata values.
pub(super) fn assign(v: &mut Validator, at: &At<'_>, p: &str, value: &Value) {
    let what = format!("state '{}': Assign", at.name);
    let Some(map) = value.as_object() else {
        v.error(
            p,
            format!("{what} must be an object, found {}", type_name(value)),
        );
        return;
    };
    for key in map.keys() {
        let var = match at.mode {
            Mode::JsonPath => key.strip_suffix(".$").unwrap_or(key),
            Mode::Jsonata => key.as_str(),
        };
        if !is_variable_name(var) {
            v.error(
                &child(p, key),
                format!("{what}: '{var}' is not a valid variable name (a letter or '_' then letters, digits or '_', at most 80 characters)"),
            );
        }
    }
    match at.mode {
        Mode::JsonPath => template(v, p, &what, value),
        Mode::Jsonata => walk_jsonata(v, &what, p, value),
    }
}

fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && s.chars().count() <= 80
}

/// `Resource`: an ARN-shaped string (`arn:partition:service:region:account:resource`).
pub(super) fn resource(v: &mut Validator, p: &str, what: &str, value: &Value) {
    let Some(s) = value.as_str() else {
        v.error(
            p,
            format!("{what} must be an ARN string, found {}", type_name(value)),
        );
        return;
    };
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let arn_shaped = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty();
    if !arn_shaped {
        v.error(
            p,
            format!("{what} '{s}' is not an ARN (arn:partition:service:region:account:resource)"),
        );
    }
}

/// `Error` names starting with `States.` are the service's; a Fail state or a
/// matcher naming one that does not exist is almost certainly a typo.
pub(super) fn warn_reserved_error_name(v: &mut Validator, p: &str, what: &str, name: &str) {
    if name.starts_with("States.")
        && StatesError::from_name(name).is_none()
        && !name.starts_with("States.Http.")
    {
        v.warning(
            p,
            format!("{what}: '{name}' is not one of Step Functions' predefined States.* errors"),
        );
    }
}

/// `Credentials` of a Task: an object naming the role to assume, as
/// `RoleArn` (a string, or a `{% %}` expression in JSONata) or, in JSONPath
/// mode, `RoleArn.$` (a path or an intrinsic function).
pub(super) fn credentials(v: &mut Validator, at: &At<'_>, p: &str, value: &Value) {
    let what = format!("state '{}': Credentials", at.name);
    let Some(obj) = value.as_object() else {
        v.error(
            p,
            format!(
                "{what} must be an object with a RoleArn, found {}",
                type_name(value)
            ),
        );
        return;
    };
    let dynamic = at.mode == Mode::JsonPath && obj.contains_key("RoleArn.$");
    match (obj.get("RoleArn"), dynamic) {
        (Some(_), true) => v.error(
            p,
            format!("{what}: RoleArn and RoleArn.$ cannot be used together; use only one"),
        ),
        (None, false) => {
            let accepted = match at.mode {
                Mode::JsonPath => "RoleArn or RoleArn.$",
                Mode::Jsonata => "RoleArn",
            };
            v.error(
                p,
                format!("{what} must name the role to assume with {accepted}"),
            );
        }
        (Some(arn), false) if !arn.is_string() => v.error(
            &child(p, "RoleArn"),
            format!("{what}.RoleArn must be a string, found {}", type_name(arn)),
        ),
        _ => {}
    }
    match at.mode {
        Mode::JsonPath => template(v, p, &what, value),
        Mode::Jsonata => walk_jsonata(v, &what, p, value),
    }
}

/// Fields of a Map's `ItemReader.ReaderConfig` and `ItemBatcher` that come
/// as a value or as a path to one, never both.
const EXCLUSIVE_PAIRS: &[(&str, &str)] = &[
    ("MaxItems", "MaxItemsPath"),
    ("MaxItemsPerBatch", "MaxItemsPerBatchPath"),
    ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"),
];

/// The most items a Distributed Map reads (`ReaderConfig.MaxItems`).
const MAX_ITEMS: i64 = 100_000_000;
/// The most bytes one batch may hold: Step Functions' 256 KiB payload limit.
const MAX_BATCH_BYTES: i64 = 256 * 1024;

/// The numeric fields of `ReaderConfig` and `ItemBatcher`: a value in
/// range (or a `{% %}` expression in JSONata), or a `...Path` in JSONPath
/// mode; a value and its path exclude each other.
fn count_fields(
    v: &mut Validator,
    at: &At<'_>,
    what: &str,
    p: &str,
    obj: &serde_json::Map<String, Value>,
) {
    for (k, val) in obj {
        let kp = child(p, k);
        let field = format!("{what}.{k}");
        let range = match k.as_str() {
            "MaxItems" => Some((0, MAX_ITEMS)),
            "MaxItemsPerBatch" => Some((1, i64::from(i32::MAX))),
            "MaxInputBytesPerBatch" => Some((1, MAX_BATCH_BYTES)),
            _ => None,
        };
        match (range, at.mode) {
            (Some(_), Mode::Jsonata) if val.as_str().is_some_and(is_jsonata) => {
                walk_jsonata(v, &field, &kp, val)
            }
            (Some((min, max)), _) => {
                v.integer_in(&kp, &field, val, min, max);
            }
            (None, _) if !EXCLUSIVE_PAIRS.iter().any(|(_, path)| path == k) => {}
            (None, Mode::JsonPath) => path(v, &kp, &field, val),
            (None, Mode::Jsonata) => v.error(
                &kp,
                format!(
                    "{field} is not supported in JSONata mode (use {} with a {{% %}} expression)",
                    k.trim_end_matches("Path")
                ),
            ),
        }
    }
    for (value, path) in EXCLUSIVE_PAIRS {
        if obj.contains_key(*value) && obj.contains_key(*path) {
            v.error(
                &child(p, path),
                format!("{what}: {value} and {path} cannot be used together; use only one"),
            );
        }
    }
}

/// `ItemReader`, `ResultWriter`, `ItemBatcher` of a Map state: their data fields.
pub(super) fn map_io(v: &mut Validator, at: &At<'_>, key: &str, p: &str, value: &Value) {
    let what = format!("state '{}': {key}", at.name);
    let Some(obj) = value.as_object() else {
        v.error(
            p,
            format!("{what} must be an object, found {}", type_name(value)),
        );
        return;
    };
    if key == "ItemReader" && !obj.contains_key("Resource") {
        v.error(p, format!("{what} needs a Resource"));
    }
    if key == "ItemBatcher" {
        count_fields(v, at, &what, p, obj);
        let limits = ["MaxItemsPerBatch", "MaxInputBytesPerBatch"];
        if !limits
            .iter()
            .any(|l| obj.contains_key(*l) || obj.contains_key(&format!("{l}Path")))
        {
            v.error(p, format!("{what} needs at least one of MaxItemsPerBatch, MaxItemsPerBatchPath, MaxInputBytesPerBatch or MaxInputBytesPerBatchPath"));
        }
    }
    for (k, val) in obj {
        let kp = child(p, k);
        let field = format!("{what}.{k}");
        match (k.as_str(), at.mode) {
            ("ReaderConfig", _) if key == "ItemReader" => match val.as_object() {
                Some(config) => count_fields(v, at, &field, &kp, config),
                None => v.error(
                    &kp,
                    format!("{field} must be an object, found {}", type_name(val)),
                ),
            },
            (_, _) if key == "ItemBatcher" && k != "BatchInput" => {}
            ("BatchInput", Mode::JsonPath) => template(v, &kp, &field, val),
            ("BatchInput", Mode::Jsonata) => walk_jsonata(v, &field, &kp, val),
            ("Resource", _) => resource(v, &kp, &field, val),
            ("Parameters", Mode::JsonPath) => template(v, &kp, &field, val),
            ("Arguments", Mode::Jsonata) => walk_jsonata(v, &field, &kp, val),
            ("Parameters", Mode::Jsonata) | ("Arguments", Mode::JsonPath) => v.error(
                &kp,
                format!("{field} is not supported in {} mode", at.mode.name()),
            ),
            (k2, Mode::JsonPath) if k2.ends_with("Path") => path(v, &kp, &field, val),
            _ => {}
        }
    }
}

const RETRIER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];

/// `Retry`: an array of retriers.
pub(super) fn retry(v: &mut Validator, at: &At<'_>, p: &str, value: &Value) {
    let name = at.name;
    let Some(list) = value.as_array() else {
        v.error(
            p,
            format!(
                "state '{name}': Retry must be an array, found {}",
                type_name(value)
            ),
        );
        return;
    };
    for (i, r) in list.iter().enumerate() {
        let rp = child(p, &i.to_string());
        let label = format!("state '{name}': Retry[{i}]");
        let Some(obj) = r.as_object() else {
            v.error(
                &rp,
                format!("{label} must be an object, found {}", type_name(r)),
            );
            continue;
        };
        for (k, val) in obj {
            let kp = child(&rp, k);
            let what = format!("{label}.{k}");
            match k.as_str() {
                "IntervalSeconds" => {
                    v.integer_in(&kp, &what, val, 1, MAX_SECONDS);
                }
                "MaxAttempts" => {
                    v.integer_in(&kp, &what, val, 0, MAX_SECONDS);
                }
                "MaxDelaySeconds" => {
                    v.integer_in(&kp, &what, val, 1, 31_622_400);
                }
                "BackoffRate" => match val.as_f64() {
                    Some(f) if f >= 1.0 => {}
                    Some(f) => v.error(&kp, format!("{what} must be at least 1.0, found {f}")),
                    None => v.error(
                        &kp,
                        format!("{what} must be a number, found {}", type_name(val)),
                    ),
                },
                "JitterStrategy" => {
                    if !matches!(val.as_str(), Some("FULL" | "NONE")) {
                        v.error(&kp, format!("{what} must be FULL or NONE, found {val}"));
                    }
                }
                "ErrorEquals" | "Comment" => {}
                _ => v.error(
                    &kp,
                    format!(
                        "{label} has an unknown field '{k}' (allowed: {})",
                        RETRIER_FIELDS.join(", ")
                    ),
                ),
            }
        }
        error_equals(
            v,
            &rp,
            &label,
            obj.get("ErrorEquals"),
            i + 1 == list.len(),
            "retrier",
        );
    }
}

/// `Catch`: an array of catchers, whose `Next`s are transitions of the scope.
pub(super) fn catch(
    v: &mut Validator,
    at: &At<'_>,
    p: &str,
    value: &Value,
    out: &mut Vec<Transition>,
) {
    let name = at.name;
    let Some(list) = value.as_array() else {
        v.error(
            p,
            format!(
                "state '{name}': Catch must be an array, found {}",
                type_name(value)
            ),
        );
        return;
    };
    for (i, c) in list.iter().enumerate() {
        let cp = child(p, &i.to_string());
        let label = format!("state '{name}': Catch[{i}]");
        let Some(obj) = c.as_object() else {
            v.error(
                &cp,
                format!("{label} must be an object, found {}", type_name(c)),
            );
            continue;
        };
        for (k, val) in obj {
            let kp = child(&cp, k);
            let what = format!("{label}.{k}");
            match (k.as_str(), at.mode) {
                ("ErrorEquals" | "Comment", _) => {}
                ("Next", _) => match val.as_str() {
                    Some(target) => out.push(Transition {
                        from: Some(name.into()),
                        field: format!("Catch[{i}].Next"),
                        target: target.into(),
                        pointer: kp,
                    }),
                    None => v.error(
                        &kp,
                        format!("{what} must be a state name, found {}", type_name(val)),
                    ),
                },
                ("ResultPath", Mode::JsonPath) => path_or_null(v, &kp, &what, val, true),
                ("Output", Mode::Jsonata) => walk_jsonata(v, &what, &kp, val),
                ("Assign", _) => assign(v, at, &kp, val),
                ("ResultPath", Mode::Jsonata) | ("Output", Mode::JsonPath) => v.error(
                    &kp,
                    format!("{what} is not supported in {} mode", at.mode.name()),
                ),
                _ => v.error(&kp, format!("{label} has an unknown field '{k}'")),
            }
        }
        if !obj.contains_key("Next") {
            v.error(&cp, format!("{label} needs a Next"));
        }
        error_equals(
            v,
            &cp,
            &label,
            obj.get("ErrorEquals"),
            i + 1 == list.len(),
            "catcher",
        );
    }
}

/// `ErrorEquals`: a non-empty array of names; `States.ALL` alone and only in
/// the last retrier/catcher (it would shadow every later one).
fn error_equals(
    v: &mut Validator,
    p: &str,
    label: &str,
    value: Option<&Value>,
    last: bool,
    kind: &str,
) {
    let ep = child(p, "ErrorEquals");
    let Some(value) = value else {
        v.error(p, format!("{label} needs ErrorEquals"));
        return;
    };
    let Some(names) = value.as_array() else {
        v.error(
            &ep,
            format!(
                "{label}.ErrorEquals must be an array of error names, found {}",
                type_name(value)
            ),
        );
        return;
    };
    if names.is_empty() {
        v.error(
            &ep,
            format!("{label}.ErrorEquals must name at least one error"),
        );
    }
    for (j, n) in names.iter().enumerate() {
        let np = child(&ep, &j.to_string());
        match n.as_str() {
            None => v.error(
                &np,
                format!(
                    "{label}.ErrorEquals[{j}] must be a string, found {}",
                    type_name(n)
                ),
            ),
            Some("States.ALL") => {
                if names.len() > 1 {
                    v.error(
                        &np,
                        format!("{label}: States.ALL must appear alone in its ErrorEquals"),
                    );
                }
                if !last {
                    v.error(
                        &np,
                        format!("{label}: a {kind} with States.ALL must be the last one"),
                    );
                }
            }
            Some(s) => warn_reserved_error_name(v, &np, &format!("{label}.ErrorEquals[{j}]"), s),
        }
    }
}
