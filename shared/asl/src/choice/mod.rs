//! Choice rules in JSONPath mode: comparisons (`StringEquals`, `NumericLessThanPath`, ...),
//! the `Is*` tests, `And`/`Or`/`Not`. (OWNER: helper "choice-validate"; interface fixed)
//!
//! A rule is parsed once into a typed tree ([`ChoiceRule`]) and evaluated
//! without allocating: operands are read by reference (see `access`), literal
//! operands are pre-parsed (numbers, timestamps, `StringMatches` patterns).
//!
//! Semantics follow AWS Step Functions, as recorded in the conformance cases:
//!
//! - a comparison whose operand has the wrong type is simply false
//!   (`NumericEquals` on a string, `BooleanEquals` on `0`, `TimestampEquals` on
//!   a string that is not a timestamp);
//! - a `Variable` (or `...Path` operand) that selects nothing fails the state
//!   with `States.Runtime`, except for `IsPresent`, which is then false;
//! - numbers compare by value (`1 == 1.0`), strings by UTF-16 code units as
//!   Java does, timestamps as instants.
//!
//! ```
//! use flowstate_asl::{choice::ChoiceRule, StaticScope};
//! use serde_json::json;
//! let rule = ChoiceRule::parse(&json!({"Variable": "$.n", "NumericLessThanPath": "$.max", "Next": "X"})).unwrap();
//! assert!(rule.evaluate(&json!({"n": 1, "max": 2.5}), &StaticScope::default()).unwrap());
//! ```

mod access;
mod timestamp;

pub use timestamp::Timestamp;

use crate::context::Scope;
use crate::errors::{Failure, StatesError};
use access::Access;
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// One boolean expression of a Choice state (a top-level rule without its `Next`).
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    node: Node,
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Test { variable: Access, test: Test },
}

/// The right-hand side of a comparison: a literal, or a path read at evaluation.
#[derive(Debug, Clone)]
enum Operand<T> {
    Literal(T),
    Path(Access),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Cmp::Eq => ord == Ordering::Equal,
            Cmp::Lt => ord == Ordering::Less,
            Cmp::Gt => ord == Ordering::Greater,
            Cmp::Le => ord != Ordering::Greater,
            Cmp::Ge => ord != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone)]
enum Test {
    String(Cmp, Operand<Box<str>>),
    StringMatches(Pattern),
    Numeric(Cmp, Operand<Number>),
    Boolean(Operand<bool>),
    Timestamp(Cmp, Operand<Timestamp>),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

/// The family of a comparison operator, which decides its literal's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// Every comparison operator of JSONPath-mode rules: name, family, comparison.
/// The `...Path` variants are derived by suffix.
const COMPARISONS: [(&str, Family, Cmp); 16] = [
    ("StringEquals", Family::String, Cmp::Eq),
    ("StringLessThan", Family::String, Cmp::Lt),
    ("StringGreaterThan", Family::String, Cmp::Gt),
    ("StringLessThanEquals", Family::String, Cmp::Le),
    ("StringGreaterThanEquals", Family::String, Cmp::Ge),
    ("NumericEquals", Family::Numeric, Cmp::Eq),
    ("NumericLessThan", Family::Numeric, Cmp::Lt),
    ("NumericGreaterThan", Family::Numeric, Cmp::Gt),
    ("NumericLessThanEquals", Family::Numeric, Cmp::Le),
    ("NumericGreaterThanEquals", Family::Numeric, Cmp::Ge),
    ("BooleanEquals", Family::Boolean, Cmp::Eq),
    ("TimestampEquals", Family::Timestamp, Cmp::Eq),
    ("TimestampLessThan", Family::Timestamp, Cmp::Lt),
    ("TimestampGreaterThan", Family::Timestamp, Cmp::Gt),
    ("TimestampLessThanEquals", Family::Timestamp, Cmp::Le),
    ("TimestampGreaterThanEquals", Family::Timestamp, Cmp::Ge),
];

const TYPE_TESTS: [&str; 6] = [
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

/// Whether `key` is a JSONPath-mode comparison operator (including `StringMatches`,
/// the `...Path` variants and the `Is*` tests).
pub fn is_comparison_operator(key: &str) -> bool {
    key == "StringMatches"
        || TYPE_TESTS.contains(&key)
        || COMPARISONS
            .iter()
            .any(|(name, ..)| key == *name || key.strip_suffix("Path") == Some(name))
}

/// A problem in a rule, located by a JSON pointer relative to the rule object
/// (`""` for the rule itself, `/And/1/Variable` deeper down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub pointer: String,
    pub message: String,
}

impl ChoiceRule {
    /// Parses a rule object; top-level `Next`, `Assign`, `Output` and `Comment` keys are ignored here.
    pub fn parse(src: &Value) -> Result<ChoiceRule, String> {
        ChoiceRule::parse_all(src).map_err(|errors| {
            errors
                .iter()
                .map(|e| {
                    if e.pointer.is_empty() {
                        e.message.clone()
                    } else {
                        format!("{}: {}", e.pointer, e.message)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Like [`ChoiceRule::parse`], but reports every problem, each located.
    pub fn parse_all(src: &Value) -> Result<ChoiceRule, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut pointer = String::new();
        let node = parse_node(src, true, &mut pointer, &mut errors);
        match node {
            Some(node) if errors.is_empty() => Ok(ChoiceRule { node }),
            _ => {
                if errors.is_empty() {
                    // parse_node only returns None after recording why; keep the
                    // invariant visible rather than returning an empty error list.
                    errors.push(RuleError {
                        pointer: String::new(),
                        message: "invalid Choice rule".into(),
                    });
                }
                Err(errors)
            }
        }
    }

    /// Evaluates against the state's effective input. A `Variable` path that selects
    /// nothing fails with `States.Runtime` as on AWS (cause without the state prefix).
    pub fn evaluate(&self, input: &Value, scope: &dyn Scope) -> Result<bool, Failure> {
        eval(&self.node, input, scope)
    }
}

/// Pushes `/token` (RFC 6901-escaped) for the duration of `f`.
fn with_token<R>(pointer: &mut String, token: &str, f: impl FnOnce(&mut String) -> R) -> R {
    let len = pointer.len();
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
    let r = f(pointer);
    pointer.truncate(len);
    r
}

fn err(errors: &mut Vec<RuleError>, pointer: &str, message: impl Into<String>) {
    errors.push(RuleError {
        pointer: pointer.to_string(),
        message: message.into(),
    });
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_node(
    src: &Value,
    top: bool,
    pointer: &mut String,
    errors: &mut Vec<RuleError>,
) -> Option<Node> {
    let Some(obj) = src.as_object() else {
        err(
            errors,
            pointer,
            format!("a Choice rule must be an object, found {}", type_name(src)),
        );
        return None;
    };

    // Classify the keys first so that every misplaced field is reported, not
    // only the first one met.
    let mut operators: Vec<&str> = Vec::new();
    let mut variable: Option<&Value> = None;
    for (key, value) in obj {
        match key.as_str() {
            "Comment" => {}
            "Next" | "Assign" | "Output" if top => {}
            "Next" | "Assign" | "Output" => {
                with_token(pointer, key, |p| {
                    err(errors, p, format!("'{key}' is allowed only in a top-level Choice rule, not inside And/Or/Not"))
                })
            }
            "Variable" => variable = Some(value),
            "And" | "Or" | "Not" => operators.push(key),
            "Condition" => with_token(pointer, key, |p| {
                err(errors, p, "'Condition' is a JSONata field; in JSONPath mode a rule uses Variable and a comparison operator")
            }),
            k if is_comparison_operator(k) => operators.push(k),
            k => with_token(pointer, k, |p| {
                err(errors, p, format!("'{k}' is not a field of a Choice rule"))
            }),
        }
    }

    let op = match operators.as_slice() {
        [op] => *op,
        [] => {
            err(errors, pointer, "the rule has no operator: it needs a comparison (StringEquals, NumericLessThan, IsPresent, ...) or And/Or/Not");
            return None;
        }
        many => {
            err(
                errors,
                pointer,
                format!(
                    "the rule has {} operators ({}); exactly one is allowed",
                    many.len(),
                    many.join(", ")
                ),
            );
            return None;
        }
    };

    match op {
        "And" | "Or" => {
            if variable.is_some() {
                with_token(pointer, "Variable", |p| {
                    err(
                        errors,
                        p,
                        format!("'Variable' cannot be combined with '{op}'"),
                    )
                });
            }
            let value = &obj[op];
            with_token(pointer, op, |p| {
                let Some(items) = value.as_array() else {
                    err(
                        errors,
                        p,
                        format!(
                            "'{op}' must be an array of rules, found {}",
                            type_name(value)
                        ),
                    );
                    return None;
                };
                if items.is_empty() {
                    err(errors, p, format!("'{op}' must hold at least one rule"));
                    return None;
                }
                let mut nodes = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(n) =
                        with_token(p, &i.to_string(), |p| parse_node(item, false, p, errors))
                    {
                        nodes.push(n);
                    }
                }
                (nodes.len() == items.len()).then(|| {
                    let nodes = nodes.into_boxed_slice();
                    if op == "And" {
                        Node::And(nodes)
                    } else {
                        Node::Or(nodes)
                    }
                })
            })
        }
        "Not" => {
            if variable.is_some() {
                with_token(pointer, "Variable", |p| {
                    err(errors, p, "'Variable' cannot be combined with 'Not'")
                });
            }
            let value = &obj["Not"];
            with_token(pointer, "Not", |p| {
                if !value.is_object() {
                    err(
                        errors,
                        p,
                        format!(
                            "'Not' must be a single rule object, found {}",
                            type_name(value)
                        ),
                    );
                    return None;
                }
                parse_node(value, false, p, errors).map(|n| Node::Not(Box::new(n)))
            })
        }
        _ => {
            let variable = match variable {
                None => {
                    err(
                        errors,
                        pointer,
                        format!("'{op}' needs a 'Variable' field naming the value to test"),
                    );
                    None
                }
                Some(Value::String(path)) => {
                    with_token(pointer, "Variable", |p| match Access::compile(path) {
                        Ok(a) => Some(a),
                        Err(reason) => {
                            err(
                                errors,
                                p,
                                format!("'Variable' is not a valid JSONPath: {reason}"),
                            );
                            None
                        }
                    })
                }
                Some(other) => {
                    with_token(pointer, "Variable", |p| {
                        err(
                            errors,
                            p,
                            format!(
                                "'Variable' must be a JSONPath string, found {}",
                                type_name(other)
                            ),
                        )
                    });
                    None
                }
            };
            let test = with_token(pointer, op, |p| parse_test(op, &obj[op], p, errors));
            Some(Node::Test {
                variable: variable?,
                test: test?,
            })
        }
    }
}

fn parse_test(op: &str, value: &Value, pointer: &str, errors: &mut Vec<RuleError>) -> Option<Test> {
    if TYPE_TESTS.contains(&op) {
        let Some(b) = value.as_bool() else {
            err(
                errors,
                pointer,
                format!("'{op}' must be true or false, found {}", type_name(value)),
            );
            return None;
        };
        return Some(match op {
            "IsNull" => Test::IsNull(b),
            "IsPresent" => Test::IsPresent(b),
            "IsNumeric" => Test::IsNumeric(b),
            "IsString" => Test::IsString(b),
            "IsBoolean" => Test::IsBoolean(b),
            _ => Test::IsTimestamp(b),
        });
    }
    if op == "StringMatches" {
        let Some(s) = value.as_str() else {
            err(
                errors,
                pointer,
                format!(
                    "'StringMatches' must be a string pattern, found {}",
                    type_name(value)
                ),
            );
            return None;
        };
        return Some(Test::StringMatches(Pattern::compile(s)));
    }
    let (base, is_path) = match op.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (op, false),
    };
    let &(_, family, cmp) = COMPARISONS.iter().find(|(name, ..)| *name == base)?;
    if is_path {
        let Some(path) = value.as_str() else {
            err(
                errors,
                pointer,
                format!(
                    "'{op}' must be a JSONPath string, found {}",
                    type_name(value)
                ),
            );
            return None;
        };
        let access = match Access::compile(path) {
            Ok(a) => a,
            Err(reason) => {
                err(
                    errors,
                    pointer,
                    format!("'{op}' is not a valid JSONPath: {reason}"),
                );
                return None;
            }
        };
        return Some(match family {
            Family::String => Test::String(cmp, Operand::Path(access)),
            Family::Numeric => Test::Numeric(cmp, Operand::Path(access)),
            Family::Boolean => Test::Boolean(Operand::Path(access)),
            Family::Timestamp => Test::Timestamp(cmp, Operand::Path(access)),
        });
    }
    let literal = match (family, value) {
        (Family::String, Value::String(s)) => {
            Some(Test::String(cmp, Operand::Literal(s.as_str().into())))
        }
        (Family::Numeric, Value::Number(n)) => {
            Some(Test::Numeric(cmp, Operand::Literal(n.clone())))
        }
        (Family::Boolean, Value::Bool(b)) => Some(Test::Boolean(Operand::Literal(*b))),
        (Family::Timestamp, Value::String(s)) => match Timestamp::parse(s) {
            Some(t) => Some(Test::Timestamp(cmp, Operand::Literal(t))),
            None => {
                err(
                    errors,
                    pointer,
                    format!("'{op}' value '{s}' is not a timestamp: use RFC 3339, e.g. 2016-03-14T01:59:00Z"),
                );
                return None;
            }
        },
        _ => None,
    };
    if literal.is_none() {
        let expected = match family {
            Family::String => "a string",
            Family::Numeric => "a number",
            Family::Boolean => "a boolean",
            Family::Timestamp => "a timestamp string",
        };
        err(
            errors,
            pointer,
            format!("'{op}' must be {expected}, found {}", type_name(value)),
        );
    }
    literal
}

// ---------------------------------------------------------------------------
// Evaluation

fn invalid_path(path: &str) -> Failure {
    Failure::states(
        StatesError::Runtime,
        format!(
            "Invalid path '{path}': The choice state's condition path references an invalid value."
        ),
    )
}

fn eval(node: &Node, input: &Value, scope: &dyn Scope) -> Result<bool, Failure> {
    match node {
        Node::And(nodes) => {
            for n in nodes.iter() {
                if !eval(n, input, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Node::Or(nodes) => {
            for n in nodes.iter() {
                if eval(n, input, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Node::Not(n) => Ok(!eval(n, input, scope)?),
        Node::Test { variable, test } => {
            let value = variable.read(input, scope);
            if let Test::IsPresent(expected) = test {
                return Ok(value.is_some() == *expected);
            }
            let Some(value) = value else {
                return Err(invalid_path(&variable.src));
            };
            eval_test(test, &value, input, scope)
        }
    }
}

/// Reads a `...Path` operand; missing is the same `States.Runtime` as a missing Variable.
fn read_operand<'a>(
    access: &Access,
    input: &'a Value,
    scope: &'a dyn Scope,
) -> Result<std::borrow::Cow<'a, Value>, Failure> {
    access
        .read(input, scope)
        .ok_or_else(|| invalid_path(&access.src))
}

fn eval_test(
    test: &Test,
    value: &Value,
    input: &Value,
    scope: &dyn Scope,
) -> Result<bool, Failure> {
    Ok(match test {
        Test::String(cmp, rhs) => {
            let Value::String(left) = value else {
                return Ok(false);
            };
            match rhs {
                Operand::Literal(right) => cmp.holds(java_str_cmp(left, right)),
                Operand::Path(p) => match &*read_operand(p, input, scope)? {
                    Value::String(right) => cmp.holds(java_str_cmp(left, right)),
                    _ => false,
                },
            }
        }
        Test::StringMatches(pattern) => matches!(value, Value::String(s) if pattern.matches(s)),
        Test::Numeric(cmp, rhs) => {
            let Value::Number(left) = value else {
                return Ok(false);
            };
            let ord = match rhs {
                Operand::Literal(right) => num_cmp(left, right),
                Operand::Path(p) => match &*read_operand(p, input, scope)? {
                    Value::Number(right) => num_cmp(left, right),
                    _ => None,
                },
            };
            ord.is_some_and(|o| cmp.holds(o))
        }
        Test::Boolean(rhs) => {
            let Value::Bool(left) = value else {
                return Ok(false);
            };
            match rhs {
                Operand::Literal(right) => left == right,
                Operand::Path(p) => {
                    matches!(&*read_operand(p, input, scope)?, Value::Bool(right) if left == right)
                }
            }
        }
        Test::Timestamp(cmp, rhs) => {
            let Some(left) = value.as_str().and_then(Timestamp::parse) else {
                return Ok(false);
            };
            let right = match rhs {
                Operand::Literal(t) => Some(*t),
                Operand::Path(p) => read_operand(p, input, scope)?
                    .as_str()
                    .and_then(Timestamp::parse),
            };
            right.is_some_and(|r| cmp.holds(left.cmp(&r)))
        }
        Test::IsNull(expected) => value.is_null() == *expected,
        Test::IsNumeric(expected) => value.is_number() == *expected,
        Test::IsString(expected) => value.is_string() == *expected,
        Test::IsBoolean(expected) => value.is_boolean() == *expected,
        Test::IsTimestamp(expected) => {
            value.as_str().and_then(Timestamp::parse).is_some() == *expected
        }
        // Handled before the Variable is required to exist.
        Test::IsPresent(expected) => *expected,
    })
}

/// Numbers by value, exactly between integers, as doubles otherwise.
fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Java's `String.compareTo`: lexicographic over UTF-16 code units, which
/// differs from Rust's byte order for characters beyond U+FFFF.
fn java_str_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A `StringMatches` pattern: `*` matches any run of characters; `\*` is a
/// literal asterisk and `\\` a literal backslash.
#[derive(Debug, Clone)]
struct Pattern {
    /// Literal pieces between the unescaped `*`s; one piece means no wildcard.
    pieces: Box<[Box<str>]>,
}

impl Pattern {
    fn compile(src: &str) -> Pattern {
        let mut pieces = Vec::new();
        let mut current = String::new();
        let mut chars = src.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => pieces.push(std::mem::take(&mut current).into_boxed_str()),
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => current.push(e),
                    // Any other escape is kept as written: the service documents
                    // only these two.
                    Some(other) => {
                        current.push('\\');
                        current.push(other);
                    }
                    None => current.push('\\'),
                },
                c => current.push(c),
            }
        }
        pieces.push(current.into_boxed_str());
        Pattern {
            pieces: pieces.into_boxed_slice(),
        }
    }

    fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(x) => x,
            None => return s.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return s == &**first;
        };
        let Some(s) = s.strip_prefix(&**first) else {
            return false;
        };
        let Some(mut s) = s.strip_suffix(&**last) else {
            return false;
        };
        // Leftmost matching of each middle piece is optimal for `*`-only globs.
        for piece in middle {
            match s.find(&**piece) {
                Some(at) => s = &s[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
