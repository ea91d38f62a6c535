//! Definition validation: every problem at once, each located by a JSON pointer.
//! (OWNER: helper "choice-validate"; interface fixed)
//!
//! [`validate`] walks a definition held as JSON (not the typed model, so that
//! it can report on definitions the model cannot represent) and never stops
//! at the first problem. It checks, per scope (the machine, each Parallel
//! branch, each Map processor — each its own `StartAt`/`States`):
//!
//! - the shape of the scope and of each state (`states`): allowed and required
//!   fields per type and per query language, exclusive fields, types and ranges;
//! - the data-flow fields (`data`): JSONPath syntax, payload templates,
//!   intrinsic functions, JSONata `{% %}` expressions, Retry and Catch;
//! - transitions: every `StartAt`/`Next`/`Default`/Catch `Next` names a state
//!   of the same scope, and every state is reachable (AWS rejects
//!   unreachable states with `MISSING_TRANSITION_TARGET`), and every scope
//!   has a state that ends it (`MISSING_END_STATE`);
//! - names: at most 80 characters, unique across the whole definition.
//!
//! ```
//! use flowstate_asl::validate::validate;
//! let def = serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}});
//! let diags = validate(&def);
//! assert_eq!(diags[0].location, "/States/A/Next");
//! assert_eq!(diags[0].message, "state 'A': Next names 'B', which does not exist");
//! ```

mod data;
mod states;

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// JSON pointer into the definition, e.g. `/States/Charge/Next`.
    pub location: String,
    /// What is wrong, naming the state concerned.
    pub message: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Error,
    Warning,
}

/// Validates a definition held as JSON. Returns every diagnostic (errors and warnings).
pub fn validate(definition: &Value) -> Vec<Diagnostic> {
    let mut v = Validator::default();
    v.machine(definition);
    v.diags
}

/// The query language a state is evaluated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    JsonPath,
    Jsonata,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::JsonPath => "JSONPath",
            Mode::Jsonata => "JSONata",
        }
    }
}

/// Step Functions' limit on state names.
const MAX_STATE_NAME_CHARS: usize = 80;

/// A `StartAt`/`Next`/`Default` found in a state, checked once the whole scope is known.
struct Transition {
    from: Option<String>,
    /// How the source refers to it in messages: `Next`, `Default`, `Choices[0].Next`, ...
    field: String,
    target: String,
    pointer: String,
}

#[derive(Default)]
struct Validator {
    diags: Vec<Diagnostic>,
    /// Every state name seen so far, anywhere in the definition, with its pointer.
    names: HashMap<String, String>,
}

/// `base` + `/token`, the token escaped per RFC 6901.
pub(crate) fn child(base: &str, token: &str) -> String {
    let mut p = String::with_capacity(base.len() + token.len() + 1);
    p.push_str(base);
    p.push('/');
    for c in token.chars() {
        match c {
            '~' => p.push_str("~0"),
            '/' => p.push_str("~1"),
            c => p.push(c),
        }
    }
    p
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Validator {
    fn push(&mut self, severity: Severity, location: &str, message: String) {
        self.diags.push(Diagnostic {
            location: location.to_string(),
            message,
            severity,
        });
    }

    pub(crate) fn error(&mut self, location: &str, message: impl Into<String>) {
        self.push(Severity::Error, location, message.into());
    }

    pub(crate) fn warning(&mut self, location: &str, message: impl Into<String>) {
        self.push(Severity::Warning, location, message.into());
    }

    fn machine(&mut self, def: &Value) {
        let Some(obj) = def.as_object() else {
            self.error(
                "",
                format!(
                    "a state machine definition must be a JSON object, found {}",
                    type_name(def)
                ),
            );
            return;
        };
        for (key, value) in obj {
            let p = child("", key);
            match key.as_str() {
                "StartAt" | "States" => {}
                "Comment" if !value.is_string() => self.error(
                    &p,
                    format!(
                        "the state machine's Comment must be a string, found {}",
                        type_name(value)
                    ),
                ),
                "Comment" => {}
                "Version" => match value.as_str() {
                    Some("1.0") => {}
                    Some(other) => self.error(
                        &p,
                        format!("Version '{other}' is not supported; the only version is \"1.0\""),
                    ),
                    None => self.error(
                        &p,
                        format!(
                            "Version must be the string \"1.0\", found {}",
                            type_name(value)
                        ),
                    ),
                },
                "TimeoutSeconds" => {
                    self.integer_in(
                        &p,
                        "the state machine's TimeoutSeconds",
                        value,
                        1,
                        states::MAX_SECONDS,
                    );
                }
                "QueryLanguage" => {}
                _ => self.error(
                    &p,
                    format!("the state machine has an unknown field '{key}'"),
                ),
            }
        }
        let mode = match obj.get("QueryLanguage") {
            None => Mode::JsonPath,
            Some(v) => self
                .query_language("/QueryLanguage", "the state machine's", v)
                .unwrap_or(Mode::JsonPath),
        };
        self.scope(obj, "", "the state machine", mode);
    }

    /// Reads a `QueryLanguage` value; reports and returns `None` when invalid.
    fn query_language(&mut self, pointer: &str, whose: &str, v: &Value) -> Option<Mode> {
        match v.as_str() {
            Some("JSONPath") => Some(Mode::JsonPath),
            Some("JSONata") => Some(Mode::Jsonata),
            _ => {
                self.error(
                    pointer,
                    format!("{whose} QueryLanguage must be \"JSONPath\" or \"JSONata\", found {v}"),
                );
                None
            }
        }
    }

    /// One `StartAt`/`States` scope: the machine, a Parallel branch or a Map processor.
    ///
    /// `top` is the machine's query language. States that set none use it,
    /// in nested scopes too: a branch does not inherit its Parallel state's
    /// own `QueryLanguage`.
    fn scope(&mut self, obj: &Map<String, Value>, base: &str, what: &str, top: Mode) {
        let mut transitions = Vec::new();
        let start = match obj.get("StartAt") {
            None => {
                self.error(base, format!("{what} has no StartAt"));
                None
            }
            Some(Value::String(s)) => {
                transitions.push(Transition {
                    from: None,
                    field: "StartAt".into(),
                    target: s.clone(),
                    pointer: child(base, "StartAt"),
                });
                Some(s.as_str())
            }
            Some(other) => {
                self.error(
                    &child(base, "StartAt"),
                    format!(
                        "{what}: StartAt must be a string, found {}",
                        type_name(other)
                    ),
                );
                None
            }
        };
        let states_ptr = child(base, "States");
        let states = match obj.get("States") {
            None => {
                self.error(base, format!("{what} has no States"));
                return;
            }
            Some(Value::Object(m)) => m,
            Some(other) => {
                self.error(
                    &states_ptr,
                    format!(
                        "{what}: States must be an object, found {}",
                        type_name(other)
                    ),
                );
                return;
            }
        };
        if states.is_empty() {
            self.error(
                &states_ptr,
                format!("{what}: States must hold at least one state"),
            );
        }

        // Edges of the transition graph, for reachability.
        let mut edges: HashMap<&str, Vec<String>> = HashMap::new();
        let mut terminal = false;
        for (name, state) in states {
            let p = child(&states_ptr, name);
            self.state_name(name, &p);
            let mut out = Vec::new();
            terminal |= states::validate_state(self, name, state, &p, top, &mut out);
            edges.insert(
                name.as_str(),
                out.iter().map(|t| t.target.clone()).collect(),
            );
            transitions.extend(out);
        }

        for t in &transitions {
            if states.contains_key(&t.target) {
                continue;
            }
            let msg = match &t.from {
                None => format!("{what}: StartAt names '{}', which does not exist", t.target),
                Some(from) => format!(
                    "state '{from}': {} names '{}', which does not exist",
                    t.field, t.target
                ),
            };
            self.error(&t.pointer, msg);
        }

        // Reachability: AWS refuses a definition with a state no transition leads to.
        if let Some(start) = start.filter(|s| states.contains_key(*s)) {
            let mut seen: HashSet<&str> = HashSet::new();
            let mut queue = VecDeque::from([start]);
            seen.insert(start);
            while let Some(s) = queue.pop_front() {
                for next in edges.get(s).into_iter().flatten() {
                    if let Some((k, _)) = states.get_key_value(next) {
                        if seen.insert(k.as_str()) {
                            queue.push_back(k.as_str());
                        }
                    }
                }
            }
            for name in states.keys() {
                if !seen.contains(name.as_str()) {
                    self.error(
                        &child(&states_ptr, name),
                        format!("state '{name}' is not reachable from StartAt '{start}' (no StartAt, Next, Default or Catch leads to it)"),
                    );
                }
            }
        }
        // AWS refuses such a scope (MISSING_END_STATE): its executions could
        // only end by failing or timing out.
        if !states.is_empty() && !terminal {
            self.error(
                &states_ptr,
                format!("{what} has no terminal state (End: true, Succeed or Fail)"),
            );
        }
    }

    fn state_name(&mut self, name: &str, pointer: &str) {
        if name.is_empty() {
            self.error(pointer, "a state name must not be empty");
        }
        let chars = name.chars().count();
        if chars > MAX_STATE_NAME_CHARS {
            self.error(
                pointer,
                format!("state '{name}': the name has {chars} characters; at most {MAX_STATE_NAME_CHARS} are allowed"),
            );
        }
        if name.chars().any(char::is_control) {
            self.error(
                pointer,
                format!(
                    "state '{}': the name contains a control character",
                    name.escape_debug()
                ),
            );
        }
        match self.names.get(name) {
            Some(first) => {
                let msg = format!(
                    "state '{name}': the name is already used at {first}; state names must be unique across the whole definition, including Parallel branches and Map processors"
                );
                self.error(pointer, msg);
            }
            None => {
                self.names.insert(name.to_string(), pointer.to_string());
            }
        }
    }

    /// An integer within `[min, max]`; reports otherwise. Returns the value when valid.
    pub(crate) fn integer_in(
        &mut self,
        pointer: &str,
        what: &str,
        v: &Value,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        match v.as_i64().or_else(|| as_integral_f64(v)) {
            Some(n) if n >= min && n <= max => Some(n),
            Some(n) => {
                self.error(
                    pointer,
                    format!("{what} must be between {min} and {max}, found {n}"),
                );
                None
            }
            None => {
                let found = match v {
                    Value::Number(n) => format!("the number {n}"),
                    other => type_name(other).to_string(),
                };
                self.error(pointer, format!("{what} must be an integer, found {found}"));
                None
            }
        }
    }
}

/// `5.0` is taken for an integer: JSON does not distinguish them and
/// serializers (JavaScript's among them) may write either.
fn as_integral_f64(v: &Value) -> Option<i64> {
    let f = v.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

#[cfg(test)]
mod tests;
