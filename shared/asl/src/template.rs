//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`, JSONPath-mode
//! `Assign`): objects whose `"key.$"` fields take their value from a path or an
//! intrinsic function, at any depth.
//!
//! A template is compiled once: every `.$` field is parsed into a
//! [`JsonPath`] or an [`Intrinsic`], and every subtree without one is kept as a
//! constant that evaluation clones whole. Output keys keep the template's order;
//! a dynamic key loses its `.$`.
//!
//! ```
//! use flowstate_asl::{template::PayloadTemplate, StaticScope};
//! use serde_json::json;
//! let t = PayloadTemplate::parse(&json!({"greeting.$": "States.Format('hi {}', $.name)", "n": 1})).unwrap();
//! let out = t.evaluate(&json!({"name": "Ada"}), &StaticScope::default(), 0).unwrap();
//! assert_eq!(out, json!({"greeting": "hi Ada", "n": 1}));
//! ```

use crate::{
    context::Scope,
    errors::{Failure, StatesError},
    intrinsics::{looks_like_intrinsic, value_size, Intrinsic, MAX_VALUE_BYTES},
    jsonpath::{compact, JsonPath},
};
use serde_json::{Map, Value};

/// A compiled payload template.
#[derive(Debug, Clone)]
pub struct PayloadTemplate {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    /// A subtree with no `.$` field anywhere inside.
    Const(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    /// `"field.$": "$.path"`; `field` keeps the `.$` for error messages.
    Path {
        field: String,
        path: JsonPath,
    },
    /// `"field.$": "States.X(...)"`; `ordinal` separates the random streams of
    /// the template's calls, so two `States.UUID()` in one template differ.
    Call {
        field: String,
        call: Intrinsic,
        ordinal: u64,
    },
}

/// A problem found while compiling a template, located by a JSON pointer relative
/// to the template's root (e.g. `/a/b.$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.pointer.is_empty() {
                "/"
            } else {
                &self.pointer
            },
            self.message
        )
    }
}

impl PayloadTemplate {
    pub fn parse(src: &Value) -> Result<PayloadTemplate, Vec<TemplateError>> {
        let mut cx = Compiler {
            errors: Vec::new(),
            calls: 0,
        };
        let root = cx.node(src, &mut String::new());
        if cx.errors.is_empty() {
            Ok(PayloadTemplate { root })
        } else {
            Err(cx.errors)
        }
    }

    /// True when the template has no `.$` field: evaluation returns it unchanged.
    pub fn is_constant(&self) -> bool {
        matches!(self.root, Node::Const(_))
    }

    /// Evaluates against the effective input. A path that selects nothing fails with
    /// `States.Runtime` and Step Functions' cause ("The JSONPath '$.x' specified for the
    /// field 'a.$' could not be found in the input '<input>'"), without the state prefix.
    pub fn evaluate(
        &self,
        input: &Value,
        scope: &dyn Scope,
        uuid_seed: u64,
    ) -> Result<Value, Failure> {
        let mut built = 0usize;
        eval(&self.root, input, scope, uuid_seed, &mut built)
    }
}

struct Compiler {
    errors: Vec<TemplateError>,
    calls: u64,
}

impl Compiler {
    fn error(&mut self, pointer: &str, message: String) {
        self.errors.push(TemplateError {
            pointer: pointer.to_string(),
            message,
        });
    }

    /// Compiles `v`, found at `pointer` (extended and restored in place to avoid
    /// one allocation per field).
    fn node(&mut self, v: &Value, pointer: &mut String) -> Node {
        match v {
            Value::Object(obj) => {
                let mut fields = Vec::with_capacity(obj.len());
                for (key, value) in obj {
                    let len = pointer.len();
                    pointer.push('/');
                    push_escaped(pointer, key);
                    let node = match key.strip_suffix(".$") {
                        Some(out_key) => (out_key.to_string(), self.dynamic(key, value, pointer)),
                        None => (key.clone(), self.node(value, pointer)),
                    };
                    fields.push(node);
                    pointer.truncate(len);
                }
                if fields.iter().all(|(_, n)| matches!(n, Node::Const(_))) {
                    Node::Const(v.clone())
                } else {
                    Node::Object(fields)
                }
            }
            Value::Array(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    nodes.push(self.node(item, pointer));
                    pointer.truncate(len);
                }
                if nodes.iter().all(|n| matches!(n, Node::Const(_))) {
                    Node::Const(v.clone())
                } else {
                    Node::Array(nodes)
                }
            }
            _ => Node::Const(v.clone()),
        }
    }

    fn dynamic(&mut self, field: &str, value: &Value, pointer: &str) -> Node {
        let Some(text) = value.as_str() else {
            self.error(
                pointer,
                format!(
                    "The value of the field '{field}' must be a string holding a JSONPath or an intrinsic function, not {}",
                    compact(value)
                ),
            );
            return Node::Const(Value::Null);
        };
        if looks_like_intrinsic(text) {
            return match Intrinsic::parse(text) {
                Ok(call) => {
                    self.calls += 1;
                    Node::Call {
                        field: field.to_string(),
                        call,
                        ordinal: self.calls,
                    }
                }
                Err(e) => {
                    self.error(pointer, format!("The value of the field '{field}' is not a valid intrinsic function: {}", e.reason));
                    Node::Const(Value::Null)
                }
            };
        }
        // Whitespace around a path is ignored, as by the path parser.
        if !text.trim_start().starts_with('$') {
            self.error(
                pointer,
                format!("The value of the field '{field}' must be a JSONPath or an intrinsic function, not '{text}'"),
            );
            return Node::Const(Value::Null);
        }
        match JsonPath::parse(text) {
            Ok(path) => Node::Path {
                field: field.to_string(),
                path,
            },
            Err(e) => {
                self.error(
                    pointer,
                    format!(
                        "The value of the field '{field}' is not a valid JSONPath: {}",
                        e.reason
                    ),
                );
                Node::Const(Value::Null)
            }
        }
    }
}

/// RFC 6901 escaping of one pointer segment.
fn push_escaped(pointer: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Mixes a call's position into the seed (SplitMix64 finaliser) so each call
/// of one evaluation gets its own deterministic stream.
fn mix(seed: u64, ordinal: u64) -> u64 {
    let mut z = seed ^ ordinal.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Evaluates `node`, counting in `built` the bytes its paths and calls copied.
///
/// Each `"x.$": "$"` copies the whole input, and a 1 MiB definition holds
/// tens of thousands of them: without a budget one template could build
/// gigabytes before the 256 KiB output check saw it. Past
/// [`MAX_VALUE_BYTES`] the result could never be kept, so evaluation stops
/// with the error that check would give.
fn eval(
    node: &Node,
    input: &Value,
    scope: &dyn Scope,
    seed: u64,
    built: &mut usize,
) -> Result<Value, Failure> {
    let value = match node {
        Node::Const(v) => return Ok(v.clone()),
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, n) in fields {
                out.insert(key.clone(), eval(n, input, scope, seed, built)?);
            }
            return Ok(Value::Object(out));
        }
        Node::Array(items) => {
            return items
                .iter()
                .map(|n| eval(n, input, scope, seed, built))
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        Node::Path { field, path } => path.select(input, scope).ok_or_else(|| {
            if !path.is_definite() {
                return Failure::states(StatesError::Runtime, path.too_large_message());
            }
            Failure::states(
                StatesError::Runtime,
                format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    path.as_str(),
                    compact(input)
                ),
            )
        })?,
        Node::Call { field, call, ordinal } => {
            call.evaluate_for_field(Some(field), input, scope, mix(seed, *ordinal))?
        }
    };
    *built = built.saturating_add(value_size(&value));
    if *built > MAX_VALUE_BYTES {
        return Err(Failure::states(
            StatesError::DataLimitExceeded,
            format!(
                "The payload template built more than {} MiB (at the field '{}')",
                MAX_VALUE_BYTES >> 20,
                node_field(node)
            ),
        ));
    }
    Ok(value)
}

fn node_field(node: &Node) -> &str {
    match node {
        Node::Path { field, .. } | Node::Call { field, .. } => field,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::StaticScope;
    use serde_json::json;

    fn run(template: Value, input: Value) -> Result<Value, Failure> {
        PayloadTemplate::parse(&template)
            .unwrap()
            .evaluate(&input, &StaticScope::default(), 7)
    }

    /// Issue 12, item 9: the JSONPath leniencies hold in payload templates
    /// and intrinsic arguments as in path fields.
    #[test]
    fn issue_12_lenient_paths_in_templates_and_intrinsics() {
        let input = json!({"Snapshots": [{"State": "ok"}], "langs": [{"l": "es"}]});
        let out = run(
            json!({
                "dot.$": "$.Snapshots.[0].State",
                "trailing.$": "$.Snapshots[0].State ",
                "leading.$": " $.Snapshots[0].State",
                "filter.$": "$.langs[?(@.l==es)].l",
                "call.$": "States.Format('{}', $.Snapshots.[0].State )",
                "call_trailing.$": "States.ArrayLength($.langs) "
            }),
            input,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"dot": "ok", "trailing": "ok", "leading": "ok", "filter": ["es"], "call": "ok", "call_trailing": 1})
        );
    }

    /// Issue 12: many copies of a large input stop at the value bound with
    /// `States.DataLimitExceeded`, before they are built.
    #[test]
    fn copies_past_the_value_bound_fail_with_data_limit_exceeded() {
        let input = json!({"blob": "x".repeat(200 * 1024)});
        let fields: Map<String, Value> = (0..10_000)
            .map(|i| (format!("c{i}.$"), json!("$.blob")))
            .collect();
        let failure = run(Value::Object(fields), input.clone()).unwrap_err();
        assert_eq!(failure.error, "States.DataLimitExceeded");
        let cause = failure.cause.unwrap_or_default();
        assert!(
            cause.starts_with("The payload template built more than 4 MiB (at the field 'c"),
            "{cause}"
        );
        let few: Map<String, Value> = (0..10)
            .map(|i| (format!("c{i}.$"), json!("$.blob")))
            .collect();
        assert!(run(Value::Object(few), input).is_ok());
    }

    #[test]
    fn dollar_keys_are_replaced_and_lose_their_suffix() {
        let out = run(
            json!({"a.$": "$.x", "b": "$.x", "c": {"d.$": "$.y[1]"}}),
            json!({"x": 1, "y": [5, 6]}),
        )
        .unwrap();
        assert_eq!(out, json!({"a": 1, "b": "$.x", "c": {"d": 6}}));
    }

    #[test]
    fn output_key_order_follows_the_template() {
        let out = run(json!({"z": 1, "y.$": "$.v", "x": 2}), json!({"v": 0})).unwrap();
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"z":1,"y":0,"x":2}"#
        );
    }

    #[test]
    fn dollar_keys_inside_arrays_are_evaluated() {
        let out = run(
            json!({"list": [{"a.$": "$.v"}, "lit", [{"b.$": "$.v"}]]}),
            json!({"v": true}),
        )
        .unwrap();
        assert_eq!(out, json!({"list": [{"a": true}, "lit", [{"b": true}]]}));
    }

    #[test]
    fn constant_template_is_returned_unchanged() {
        let t = PayloadTemplate::parse(&json!({"a": [1, {"b": "$.x"}]})).unwrap();
        assert!(t.is_constant());
        assert_eq!(
            t.evaluate(&json!({}), &StaticScope::default(), 0).unwrap(),
            json!({"a": [1, {"b": "$.x"}]})
        );
    }

    #[test]
    fn context_and_variable_paths_read_the_scope() {
        let mut scope = StaticScope {
            context: json!({"Map": {"Item": {"Value": "v"}}}),
            ..Default::default()
        };
        scope.variables.insert("Question".into(), json!("Who?"));
        let t = PayloadTemplate::parse(
            &json!({"q.$": "$Question", "item.$": "$$.Map.Item.Value", "all.$": "$"}),
        )
        .unwrap();
        let out = t.evaluate(&json!({"i": 1}), &scope, 0).unwrap();
        assert_eq!(out, json!({"q": "Who?", "item": "v", "all": {"i": 1}}));
    }

    /// Conformance: scenarios/base_scenarios.invalid_jsonpath--INVALID_JSONPATH_IN_STRING_EXPR_JSONPATH.
    #[test]
    fn missing_path_fails_with_runtime_and_aws_cause() {
        let err = run(
            json!({"value.$": "$.no_such_jsonpath"}),
            json!({"int-literal": 0}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert_eq!(
            err.cause.as_deref(),
            Some("The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'")
        );
    }

    #[test]
    fn missing_context_path_names_the_context_path() {
        let err = run(
            json!({"value.$": "$$.Execution.Input.no_such_jsonpath"}),
            json!({"int-literal": 0}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.unwrap().starts_with("The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' could not be found in the input"));
    }

    /// Conformance: base.json_path_array_wildcard_or_slice_with_no_input.
    #[test]
    fn indefinite_path_with_no_match_gives_empty_array() {
        assert_eq!(
            run(json!({"item.$": "$.items[*]"}), json!({})).unwrap(),
            json!({"item": []})
        );
    }

    #[test]
    fn intrinsic_values_are_called() {
        let out = run(json!({"n.$": "States.MathAdd($.a, 1)"}), json!({"a": 41})).unwrap();
        assert_eq!(out, json!({"n": 42}));
    }

    #[test]
    fn each_uuid_call_in_a_template_differs_but_is_deterministic() {
        let t = PayloadTemplate::parse(&json!({"a.$": "States.UUID()", "b.$": "States.UUID()"}))
            .unwrap();
        let one = t.evaluate(&json!({}), &StaticScope::default(), 1).unwrap();
        let again = t.evaluate(&json!({}), &StaticScope::default(), 1).unwrap();
        assert_eq!(one, again);
        assert_ne!(one["a"], one["b"]);
    }

    #[test]
    fn parse_reports_every_problem_with_its_pointer() {
        let errs = PayloadTemplate::parse(&json!({
            "a.$": 1,
            "b": {"c.$": "$.x[", "d/e": [{"f.$": "States.Nope()"}]},
            "g.$": "plain",
            "ok.$": "$.fine"
        }))
        .unwrap_err();
        let pointers: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a.$", "/b/c.$", "/b/d~1e/0/f.$", "/g.$"]);
        assert!(errs.iter().all(|e| !e.message.is_empty()));
    }
}
