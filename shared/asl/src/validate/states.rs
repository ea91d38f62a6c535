//! The shape of one state: which fields its type allows in each query
//! language, which it requires, which exclude each other, and the type and
//! range of each plain field. Data-flow fields are delegated to `data`.

use super::data;
use super::{child, type_name, Mode, Transition, Validator};
use crate::choice::Timestamp;
use crate::choice::{is_comparison_operator, ChoiceRule};
use serde_json::{Map, Value};

/// Step Functions' ceiling on every "seconds" field (about 3 years).
pub(super) const MAX_SECONDS: i64 = 99_999_999;

/// In which query language a field may appear.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    Both,
    JsonPath,
    Jsonata,
}
use Only::{Both as B, JsonPath as P, Jsonata as A};

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

const PASS: &[(&str, Only)] = &[
    ("InputPath", P),
    ("OutputPath", P),
    ("Parameters", P),
    ("ResultPath", P),
    ("Result", P),
    ("Output", A),
    ("Assign", B),
    ("Next", B),
    ("End", B),
];

const TASK: &[(&str, Only)] = &[
    ("Resource", B),
    ("InputPath", P),
    ("OutputPath", P),
    ("Parameters", P),
    ("ResultSelector", P),
    ("ResultPath", P),
    ("Arguments", A),
    ("Output", A),
    ("Assign", B),
    ("Next", B),
    ("End", B),
    ("Retry", B),
    ("Catch", B),
    ("TimeoutSeconds", B),
    ("TimeoutSecondsPath", P),
    ("HeartbeatSeconds", B),
    ("HeartbeatSecondsPath", P),
    ("Credentials", B),
];

const CHOICE: &[(&str, Only)] = &[
    ("InputPath", P),
    ("OutputPath", P),
    ("Output", A),
    ("Assign", B),
    ("Choices", B),
    ("Default", B),
];

const WAIT: &[(&str, Only)] = &[
    ("InputPath", P),
    ("OutputPath", P),
    ("Output", A),
    ("Assign", B),
    ("Next", B),
    ("End", B),
    ("Seconds", B),
    ("SecondsPath", P),
    ("Timestamp", B),
    ("TimestampPath", P),
];

const SUCCEED: &[(&str, Only)] = &[("InputPath", P), ("OutputPath", P), ("Output", A)];

const FAIL: &[(&str, Only)] = &[
    ("Error", B),
    ("Cause", B),
    ("ErrorPath", P),
    ("CausePath", P),
];

const PARALLEL: &[(&str, Only)] = &[
    ("Branches", B),
    ("InputPath", P),
    ("OutputPath", P),
    ("Parameters", P),
    ("ResultSelector", P),
    ("ResultPath", P),
    ("Arguments", A),
    ("Output", A),
    ("Assign", B),
    ("Next", B),
    ("End", B),
    ("Retry", B),
    ("Catch", B),
];

const MAP: &[(&str, Only)] = &[
    ("ItemProcessor", B),
    ("Iterator", B),
    ("ItemsPath", P),
    ("Items", A),
    ("ItemSelector", B),
    ("Parameters", P),
    ("ItemReader", B),
    ("ItemBatcher", B),
    ("ResultWriter", B),
    ("MaxConcurrency", B),
    ("MaxConcurrencyPath", P),
    ("ToleratedFailureCount", B),
    ("ToleratedFailureCountPath", P),
    ("ToleratedFailurePercentage", B),
    ("ToleratedFailurePercentagePath", P),
    ("Label", B),
    ("InputPath", P),
    ("OutputPath", P),
    ("ResultSelector", P),
    ("ResultPath", P),
    ("Output", A),
    ("Assign", B),
    ("Next", B),
    ("End", B),
    ("Retry", B),
    ("Catch", B),
];

const TYPES: &[(&str, &[(&str, Only)])] = &[
    ("Pass", PASS),
    ("Task", TASK),
    ("Choice", CHOICE),
    ("Wait", WAIT),
    ("Succeed", SUCCEED),
    ("Fail", FAIL),
    ("Parallel", PARALLEL),
    ("Map", MAP),
];

/// What a JSONPath-only field becomes in JSONata, for the message.
fn jsonata_replacement(field: &str) -> &'static str {
    match field {
        "InputPath" | "Parameters" => "use Arguments (or Items/ItemSelector in a Map)",
        "ResultSelector" | "ResultPath" | "OutputPath" | "Result" => "use Output (and Assign)",
        "ItemsPath" => "use Items",
        "ErrorPath" | "CausePath" => "use Error/Cause with a {% %} expression",
        _ => "use the field without 'Path' and a {% %} expression",
    }
}

/// State-level context passed to the field checks.
pub(super) struct At<'a> {
    pub(super) name: &'a str,
    pub(super) pointer: &'a str,
    pub(super) mode: Mode,
    /// The machine's query language, which nested scopes inherit.
    pub(super) top: Mode,
}

impl At<'_> {
    pub(super) fn field(&self, key: &str) -> String {
        child(self.pointer, key)
    }
}

/// Validates one state; pushes its outgoing transitions to `out`. Returns
/// whether the state can end its scope (End, Succeed, Fail).
pub(super) fn validate_state(
    v: &mut Validator,
    name: &str,
    state: &Value,
    pointer: &str,
    top: Mode,
    out: &mut Vec<Transition>,
) -> bool {
    let Some(obj) = state.as_object() else {
        v.error(
            pointer,
            format!(
                "state '{name}': a state must be an object, found {}",
                type_name(state)
            ),
        );
        return false;
    };
    let ty = match obj.get("Type") {
        None => {
            v.error(
                pointer,
                format!("state '{name}': the required field Type is missing"),
            );
            None
        }
        Some(Value::String(t)) => match TYPES.iter().find(|(n, _)| n == t) {
            Some(entry) => Some(*entry),
            None => {
                v.error(
                    &child(pointer, "Type"),
                    format!("state '{name}': Type '{t}' is not a state type (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map)"),
                );
                None
            }
        },
        Some(other) => {
            v.error(
                &child(pointer, "Type"),
                format!(
                    "state '{name}': Type must be a string, found {}",
                    type_name(other)
                ),
            );
            None
        }
    };

    let mode = match obj.get("QueryLanguage") {
        None => top,
        Some(ql) => {
            let p = child(pointer, "QueryLanguage");
            match v.query_language(&p, &format!("state '{name}':"), ql) {
                Some(Mode::JsonPath) if top == Mode::Jsonata => {
                    v.error(
                        &p,
                        format!("state '{name}': QueryLanguage JSONPath is not allowed when the state machine's QueryLanguage is JSONata"),
                    );
                    Mode::Jsonata
                }
                Some(m) => m,
                None => top,
            }
        }
    };
    let at = At {
        name,
        pointer,
        mode,
        top,
    };
    if let Some(c) = obj.get("Comment") {
        if !c.is_string() {
            v.error(
                &at.field("Comment"),
                format!(
                    "state '{name}': Comment must be a string, found {}",
                    type_name(c)
                ),
            );
        }
    }
    let Some((ty, allowed)) = ty else {
        return false;
    };

    // Fields the type or the mode does not allow.
    for key in obj.keys() {
        if COMMON.contains(&key.as_str()) {
            continue;
        }
        match allowed.iter().find(|(f, _)| f == key) {
            None => v.error(&at.field(key), format!("state '{name}': field '{key}' is not supported in a {ty} state")),
            Some((_, P)) if mode == Mode::Jsonata => v.error(
                &at.field(key),
                format!("state '{name}': field '{key}' is not supported in JSONata mode ({})", jsonata_replacement(key)),
            ),
            Some((_, A)) if mode == Mode::JsonPath => v.error(
                &at.field(key),
                format!("state '{name}': field '{key}' is only supported in JSONata mode; this state uses JSONPath"),
            ),
            Some(_) => {}
        }
    }

    // Each supported field's own value.
    for (key, value) in obj {
        let supported = allowed.iter().any(|(f, only)| {
            f == key
                && match only {
                    B => true,
                    P => mode == Mode::JsonPath,
                    A => mode == Mode::Jsonata,
                }
        });
        if supported {
            field(v, &at, ty, key, value, out);
        }
    }

    exclusive_fields(v, &at, ty, obj);
    let ends = match ty {
        "Succeed" | "Fail" => true,
        "Choice" => false,
        _ => next_or_end(v, &at, obj),
    };
    if ty == "Choice" && !obj.contains_key("Choices") {
        v.error(
            pointer,
            format!("state '{name}': a Choice state needs Choices"),
        );
    }
    ends
}

/// Exactly one of `Next` and `End: true` for the states that continue.
fn next_or_end(v: &mut Validator, at: &At<'_>, obj: &Map<String, Value>) -> bool {
    let name = at.name;
    let end = obj.get("End");
    match (obj.get("Next"), end) {
        (None, None) => {
            v.error(
                at.pointer,
                format!("state '{name}': it needs either Next or End: true"),
            );
            false
        }
        (Some(_), Some(Value::Bool(true))) => {
            v.error(
                &at.field("End"),
                format!("state '{name}': it has both Next and End: true; only one is allowed"),
            );
            true
        }
        (Some(_), _) => false,
        (None, Some(Value::Bool(true))) => true,
        (None, Some(_)) => {
            v.error(
                &at.field("End"),
                format!("state '{name}': End must be true when there is no Next"),
            );
            false
        }
    }
}

/// Groups of fields of which at most (or exactly) one may appear.
fn exclusive_fields(v: &mut Validator, at: &At<'_>, ty: &str, obj: &Map<String, Value>) {
    let name = at.name;
    let at_most_one = |v: &mut Validator, group: &[&str]| {
        let present: Vec<&str> = group
            .iter()
            .copied()
            .filter(|f| obj.contains_key(*f))
            .collect();
        if present.len() > 1 {
            v.error(
                &at.field(present[1]),
                format!(
                    "state '{name}': {} cannot be used together; use only one",
                    present.join(" and ")
                ),
            );
        }
        present.len()
    };
    match ty {
        "Wait" => {
            let present = at_most_one(v, &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]);
            if present == 0 {
                v.error(
                    at.pointer,
                    format!("state '{name}': a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath"),
                );
            }
        }
        "Fail" => {
            at_most_one(v, &["Error", "ErrorPath"]);
            at_most_one(v, &["Cause", "CausePath"]);
        }
        "Task" => {
            at_most_one(v, &["TimeoutSeconds", "TimeoutSecondsPath"]);
            at_most_one(v, &["HeartbeatSeconds", "HeartbeatSecondsPath"]);
            if !obj.contains_key("Resource") {
                v.error(
                    at.pointer,
                    format!("state '{name}': a Task state needs a Resource"),
                );
            }
            let timeout = obj.get("TimeoutSeconds").and_then(Value::as_i64);
            let heartbeat = obj.get("HeartbeatSeconds").and_then(Value::as_i64);
            if let (Some(t), Some(h)) = (timeout, heartbeat) {
                if h >= t {
                    v.error(
                        &at.field("HeartbeatSeconds"),
                        format!("state '{name}': HeartbeatSeconds ({h}) must be smaller than TimeoutSeconds ({t})"),
                    );
                }
            }
        }
        "Parallel" => {
            let has_branches = obj.contains_key("Branches");
            if !has_branches {
                v.error(
                    at.pointer,
                    format!("state '{name}': a Parallel state needs Branches"),
                );
            }
        }
        "Map" => {
            if at_most_one(v, &["ItemProcessor", "Iterator"]) == 0 {
                v.error(at.pointer, format!("state '{name}': a Map state needs an ItemProcessor (or the older Iterator)"));
            }
            at_most_one(v, &["ItemSelector", "Parameters"]);
            at_most_one(v, &["MaxConcurrency", "MaxConcurrencyPath"]);
            at_most_one(v, &["ToleratedFailureCount", "ToleratedFailureCountPath"]);
            at_most_one(
                v,
                &[
                    "ToleratedFailurePercentage",
                    "ToleratedFailurePercentagePath",
                ],
            );
        }
        _ => {}
    }
}

/// A field that takes a number, or in JSONata mode a `{% %}` expression.
fn number_or_expression(v: &mut Validator, at: &At<'_>, key: &str, value: &Value) -> bool {
    if at.mode == Mode::Jsonata && value.is_string() {
        data::jsonata_value(v, at, key, &at.field(key), value, true);
        return true;
    }
    false
}

fn field(
    v: &mut Validator,
    at: &At<'_>,
    ty: &str,
    key: &str,
    value: &Value,
    out: &mut Vec<Transition>,
) {
    let name = at.name;
    let p = at.field(key);
    let what = format!("state '{name}': {key}");
    match key {
        "Next" | "Default" => match value.as_str() {
            Some(target) => out.push(Transition {
                from: Some(name.into()),
                field: key.into(),
                target: target.into(),
                pointer: p,
            }),
            None => v.error(
                &p,
                format!("{what} must be a state name, found {}", type_name(value)),
            ),
        },
        "End" => {
            if !value.is_boolean() {
                v.error(
                    &p,
                    format!("{what} must be a boolean, found {}", type_name(value)),
                );
            }
        }
        "Resource" => data::resource(v, &p, &what, value),
        "InputPath" | "OutputPath" => data::path_or_null(v, &p, &what, value, false),
        "ResultPath" => data::path_or_null(v, &p, &what, value, true),
        "ItemsPath"
        | "SecondsPath"
        | "TimestampPath"
        | "TimeoutSecondsPath"
        | "HeartbeatSecondsPath"
        | "MaxConcurrencyPath"
        | "ToleratedFailureCountPath"
        | "ToleratedFailurePercentagePath" => data::path(v, &p, &what, value),
        "ErrorPath" | "CausePath" => data::path_or_intrinsic(v, &p, &what, value),
        "Parameters" | "ResultSelector" => {
            if key == "ResultSelector" && !value.is_object() {
                v.error(
                    &p,
                    format!("{what} must be an object, found {}", type_name(value)),
                );
            }
            data::template(v, &p, &what, value);
        }
        "Credentials" => data::credentials(v, at, &p, value),
        "ItemSelector" => match at.mode {
            Mode::JsonPath => data::template(v, &p, &what, value),
            Mode::Jsonata => data::jsonata_value(v, at, key, &p, value, false),
        },
        "Result" => {}
        "Output" | "Arguments" | "Items" => data::jsonata_value(v, at, key, &p, value, false),
        "Assign" => data::assign(v, at, &p, value),
        "TimeoutSeconds" | "HeartbeatSeconds" => {
            if !number_or_expression(v, at, key, value) {
                v.integer_in(&p, &what, value, 1, MAX_SECONDS);
            }
        }
        "Seconds" => {
            if !number_or_expression(v, at, key, value) {
                v.integer_in(&p, &what, value, 0, MAX_SECONDS);
            }
        }
        "MaxConcurrency" | "ToleratedFailureCount" => {
            if !number_or_expression(v, at, key, value) {
                v.integer_in(&p, &what, value, 0, i64::from(i32::MAX));
            }
        }
        "ToleratedFailurePercentage" => {
            if !number_or_expression(v, at, key, value) {
                match value.as_f64() {
                    Some(f) if (0.0..=100.0).contains(&f) => {}
                    Some(f) => v.error(&p, format!("{what} must be between 0 and 100, found {f}")),
                    None => v.error(
                        &p,
                        format!("{what} must be a number, found {}", type_name(value)),
                    ),
                }
            }
        }
        "Timestamp" => match value.as_str() {
            Some(s) if at.mode == Mode::Jsonata && data::is_jsonata(s) => {
                data::jsonata_value(v, at, key, &p, value, true)
            }
            Some(s) if Timestamp::parse(s).is_some() => {}
            Some(s) => v.error(
                &p,
                format!("{what} '{s}' is not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z"),
            ),
            None => v.error(
                &p,
                format!(
                    "{what} must be a timestamp string, found {}",
                    type_name(value)
                ),
            ),
        },
        "Error" | "Cause" => match value.as_str() {
            Some(s) if at.mode == Mode::Jsonata && data::is_jsonata(s) => {
                data::jsonata_value(v, at, key, &p, value, true)
            }
            Some(s) => {
                if key == "Error" {
                    data::warn_reserved_error_name(v, &p, &what, s);
                }
            }
            None => v.error(
                &p,
                format!("{what} must be a string, found {}", type_name(value)),
            ),
        },
        "Label" => match value.as_str() {
            Some(s) if s.chars().count() > 40 => {
                v.error(&p, format!("{what} must be at most 40 characters"))
            }
            Some(_) => {}
            None => v.error(
                &p,
                format!("{what} must be a string, found {}", type_name(value)),
            ),
        },
        "ItemReader" | "ResultWriter" | "ItemBatcher" => data::map_io(v, at, key, &p, value),
        "Retry" => data::retry(v, at, &p, value),
        "Catch" => data::catch(v, at, &p, value, out),
        "Choices" => choices(v, at, &p, value, out),
        "Branches" => branches(v, at, &p, value),
        "ItemProcessor" | "Iterator" => processor(v, at, key, &p, value),
        _ => {
            // Every allowed field is handled above; a new one in the tables
            // without a check here is accepted rather than reported.
            let _ = ty;
        }
    }
}

fn choices(v: &mut Validator, at: &At<'_>, p: &str, value: &Value, out: &mut Vec<Transition>) {
    let name = at.name;
    let Some(rules) = value.as_array() else {
        v.error(
            p,
            format!(
                "state '{name}': Choices must be an array of rules, found {}",
                type_name(value)
            ),
        );
        return;
    };
    if rules.is_empty() {
        v.error(
            p,
            format!("state '{name}': Choices must hold at least one rule"),
        );
    }
    for (i, rule) in rules.iter().enumerate() {
        let rp = child(p, &i.to_string());
        let label = format!("state '{name}': Choices[{i}]");
        let Some(obj) = rule.as_object() else {
            v.error(
                &rp,
                format!("{label} must be an object, found {}", type_name(rule)),
            );
            continue;
        };
        match obj.get("Next") {
            Some(Value::String(target)) => out.push(Transition {
                from: Some(name.into()),
                field: format!("Choices[{i}].Next"),
                target: target.clone(),
                pointer: child(&rp, "Next"),
            }),
            Some(other) => v.error(
                &child(&rp, "Next"),
                format!(
                    "{label}.Next must be a state name, found {}",
                    type_name(other)
                ),
            ),
            None => v.error(&rp, format!("{label} needs a Next")),
        }
        if let Some(assign) = obj.get("Assign") {
            data::assign(v, at, &child(&rp, "Assign"), assign);
        }
        match at.mode {
            Mode::JsonPath => {
                if obj.contains_key("Output") {
                    v.error(
                        &child(&rp, "Output"),
                        format!("{label}: Output is only supported in JSONata mode; this state uses JSONPath"),
                    );
                }
                if let Err(errors) = ChoiceRule::parse_all(rule) {
                    for e in errors {
                        v.error(
                            &format!("{rp}{}", e.pointer),
                            format!("{label}: {}", e.message),
                        );
                    }
                }
            }
            Mode::Jsonata => {
                for (key, val) in obj {
                    let kp = child(&rp, key);
                    match key.as_str() {
                        "Next" | "Assign" | "Comment" => {}
                        "Output" => data::jsonata_value(v, at, "Output", &kp, val, false),
                        "Condition" => match val {
                            Value::String(s) if data::is_jsonata(s) => data::jsonata_value(v, at, key, &kp, val, true),
                            Value::Bool(_) => {}
                            _ => v.error(&kp, format!("{label}: Condition must be a {{% %}} expression, found {val}")),
                        },
                        k if k == "Variable" || k == "And" || k == "Or" || k == "Not" || is_comparison_operator(k) => v
                            .error(
                                &kp,
                                format!("{label}: '{k}' is a JSONPath rule field; in JSONata mode a rule has a Condition"),
                            ),
                        k => v.error(&kp, format!("{label}: '{k}' is not a field of a Choice rule")),
                    }
                }
                if !obj.contains_key("Condition") {
                    v.error(&rp, format!("{label} needs a Condition in JSONata mode"));
                }
            }
        }
    }
}

fn branches(v: &mut Validator, at: &At<'_>, p: &str, value: &Value) {
    let name = at.name;
    let Some(list) = value.as_array() else {
        v.error(
            p,
            format!(
                "state '{name}': Branches must be an array, found {}",
                type_name(value)
            ),
        );
        return;
    };
    if list.is_empty() {
        v.error(
            p,
            format!("state '{name}': Branches must hold at least one branch"),
        );
    }
    for (i, branch) in list.iter().enumerate() {
        let bp = child(p, &i.to_string());
        let what = format!("branch {i} of state '{name}'");
        let Some(obj) = branch.as_object() else {
            v.error(
                &bp,
                format!("{what} must be an object, found {}", type_name(branch)),
            );
            continue;
        };
        for key in obj.keys() {
            if !matches!(key.as_str(), "StartAt" | "States" | "Comment") {
                v.error(
                    &child(&bp, key),
                    format!("{what} has an unknown field '{key}'"),
                );
            }
        }
        v.scope(obj, &bp, &what, at.top);
    }
}

fn processor(v: &mut Validator, at: &At<'_>, key: &str, p: &str, value: &Value) {
    let name = at.name;
    let what = format!("the {key} of state '{name}'");
    let Some(obj) = value.as_object() else {
        v.error(
            p,
            format!("{what} must be an object, found {}", type_name(value)),
        );
        return;
    };
    for (k, val) in obj {
        let kp = child(p, k);
        match k.as_str() {
            "StartAt" | "States" | "Comment" => {}
            "ProcessorConfig" => processor_config(v, &what, &kp, val),
            _ => v.error(&kp, format!("{what} has an unknown field '{k}'")),
        }
    }
    v.scope(obj, p, &what, at.top);
}

fn processor_config(v: &mut Validator, what: &str, p: &str, value: &Value) {
    let Some(obj) = value.as_object() else {
        v.error(
            p,
            format!(
                "{what}: ProcessorConfig must be an object, found {}",
                type_name(value)
            ),
        );
        return;
    };
    for (k, val) in obj {
        let kp = child(p, k);
        match (k.as_str(), val.as_str()) {
            ("Mode", Some("INLINE" | "DISTRIBUTED")) => {}
            ("Mode", _) => v.error(&kp, format!("{what}: ProcessorConfig.Mode must be INLINE or DISTRIBUTED, found {val}")),
            ("ExecutionType", Some("STANDARD" | "EXPRESS")) => {}
            ("ExecutionType", _) => {
                v.error(&kp, format!("{what}: ProcessorConfig.ExecutionType must be STANDARD or EXPRESS, found {val}"))
            }
            _ => v.error(&kp, format!("{what}: ProcessorConfig has an unknown field '{k}'")),
        }
    }
    if obj.get("Mode").and_then(Value::as_str) == Some("DISTRIBUTED")
        && !obj.contains_key("ExecutionType")
    {
        v.error(p, format!("{what}: a DISTRIBUTED ProcessorConfig needs an ExecutionType (STANDARD or EXPRESS)"));
    }
}
