//! JSONPath as Step Functions accepts it: Jayway JsonPath's dialect, plus the
//! `$$` (context object) and `$name` (workflow variable) roots.
//!
//! A path is parsed once into a [`JsonPath`] and then selects many times.
//! Definite paths (only `.name` / `['name']` / `[i]` steps) are walked by
//! reference without allocating; only the selected node is cloned, and
//! [`JsonPath::select_in`] avoids even that.
//!
//! Jayway behaviours kept on purpose, because Step Functions shows them:
//!
//! - an indefinite path (wildcard, slice, union of indexes, filter, `..`)
//!   always yields an array of its matches, empty when nothing matches, even
//!   when a step before it is missing (`$.items[*]` on `{}` is `[]`);
//! - a definite path that reaches nothing yields `None`, which callers turn
//!   into `States.Runtime` ("Invalid path ... : No results for path: $['x']");
//! - `['a','b']` as the last step merges the named fields into one object;
//! - a filter applied to an object tests the object itself;
//! - quoted names in brackets are taken verbatim (no unescaping).
//!
//! ```
//! use flowstate_asl::{jsonpath::JsonPath, StaticScope};
//! use serde_json::json;
//! let p = JsonPath::parse("$.items[?(@.price < 10)].name").unwrap();
//! let input = json!({"items": [{"name": "a", "price": 5}, {"name": "b", "price": 50}]});
//! assert_eq!(p.select(&input, &StaticScope::default()), Some(json!(["a"])));
//! assert_eq!(p.normalized(), "$['items'][?]['name']");
//! ```

mod eval;
mod parse;

use crate::context::Scope;
use parse::Step;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Where a path starts: `$` (the input), `$$` (the context object) or `$name` (a variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    Input,
    Context,
    Variable(String),
}

/// How a compiled path selects, decided once at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Only `Field` / `Index` steps: walked by reference.
    Simple,
    /// Definite steps then `.length()`.
    Length,
    /// Definite steps then a multi-field leaf `['a','b']`: one merged object.
    Merge,
    /// Anything else: an array of matches.
    Indefinite,
}

/// A compiled JSONPath.
#[derive(Debug, Clone)]
pub struct JsonPath {
    src: String,
    root: Root,
    steps: Vec<Step>,
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct ParseError {
    pub path: String,
    pub reason: String,
}

impl JsonPath {
    pub fn parse(src: &str) -> Result<JsonPath, ParseError> {
        let parsed = parse::parse_path(src).map_err(|reason| ParseError {
            path: src.to_string(),
            reason,
        })?;
        let steps = parsed.steps;
        let shape = match steps.split_last() {
            None => Shape::Simple,
            Some((last, prefix)) if prefix.iter().all(Step::is_definite) => match last {
                Step::Field(_) | Step::Index(_) => Shape::Simple,
                Step::Length => Shape::Length,
                Step::Fields(_) => Shape::Merge,
                _ => Shape::Indefinite,
            },
            Some(_) => Shape::Indefinite,
        };
        Ok(JsonPath {
            src: src.to_string(),
            root: parsed.root,
            steps,
            shape,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.src
    }

    pub fn root(&self) -> Root {
        self.root.clone()
    }

    /// The root without cloning a variable name.
    pub fn root_ref(&self) -> &Root {
        &self.root
    }

    /// True when the path selects at most one node (no wildcard, filter, slice, union or `..`).
    pub fn is_definite(&self) -> bool {
        self.shape != Shape::Indefinite
    }

    /// True for a Reference Path (ResultPath): only `.name` / `['name']` / `[index]` steps on `$`.
    pub fn is_reference(&self) -> bool {
        self.root == Root::Input
            && self
                .steps
                .iter()
                .all(|s| matches!(s, Step::Field(_)) || matches!(s, Step::Index(i) if *i >= 0))
    }

    /// The name in the first step when it is a field (`$.name...`, `$['name']...`).
    /// A reference path assigned into an object changes only that member.
    pub fn first_field(&self) -> Option<&str> {
        match self.steps.first() {
            Some(Step::Field(name)) => Some(name),
            _ => None,
        }
    }

    /// Jayway-style normalized form used in Step Functions' messages: `$['a']['b'][0]`.
    pub fn normalized(&self) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_string(),
            Root::Context => "$$".to_string(),
            Root::Variable(name) => format!("${name}"),
        };
        for step in &self.steps {
            // Writing to a String cannot fail.
            let _ = match step {
                Step::Field(name) => write!(out, "['{name}']"),
                Step::Fields(names) => {
                    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                    write!(out, "[{}]", quoted.join(","))
                }
                Step::Index(i) => write!(out, "[{i}]"),
                Step::Indexes(is) => {
                    let parts: Vec<String> = is.iter().map(i64::to_string).collect();
                    write!(out, "[{}]", parts.join(","))
                }
                Step::Slice(from, to, by) => {
                    let f = from.map(|n| n.to_string()).unwrap_or_default();
                    let t = to.map(|n| n.to_string()).unwrap_or_default();
                    match by {
                        Some(b) => write!(out, "[{f}:{t}:{b}]"),
                        None => write!(out, "[{f}:{t}]"),
                    }
                }
                Step::Wildcard => write!(out, "[*]"),
                Step::Scan => write!(out, ".."),
                Step::Filter(_) => write!(out, "[?]"),
                Step::Length => write!(out, ".length()"),
            };
        }
        out
    }

    /// Step Functions' message for a definite path that selected nothing, as in
    /// `Invalid path '$.x' : No results for path: $['x']` (InputPath, OutputPath, ItemsPath...).
    /// An indefinite path selects nothing only past Flowstate's bounds on
    /// a selection, which the message then names.
    pub fn no_results_message(&self) -> String {
        if !self.is_definite() {
            return self.too_large_message();
        }
        format!(
            "Invalid path '{}' : No results for path: {}",
            self.src,
            self.normalized()
        )
    }

    /// Why an indefinite path selected nothing: it passed a bound.
    pub fn too_large_message(&self) -> String {
        format!(
            "Invalid path '{}' : the selection passes Flowstate's bounds ({} nodes visited, {} values or {} MiB selected)",
            self.src,
            eval::MAX_VISITS,
            eval::MAX_MATCHES,
            eval::MAX_SELECTION_BYTES >> 20
        )
    }

    /// Selects from `input` (or the context / a variable, per [`Root`]).
    /// Definite path: `Some(node)` or `None` when absent.
    /// Indefinite path: `Some(array of matches)` (possibly empty).
    pub fn select(&self, input: &Value, scope: &dyn Scope) -> Option<Value> {
        match &self.root {
            Root::Input => self.select_in(input).map(Cow::into_owned),
            Root::Context => {
                let ctx = scope.context();
                self.select_in(&ctx).map(Cow::into_owned)
            }
            Root::Variable(name) => self.select_in(scope.variable(name)?).map(Cow::into_owned),
        }
    }

    /// Like [`select`](Self::select), but borrows the result when it can (definite
    /// path on the input, a variable or a borrowed context object).
    pub fn select_cow<'a>(&self, input: &'a Value, scope: &'a dyn Scope) -> Option<Cow<'a, Value>> {
        match &self.root {
            Root::Input => self.select_in(input),
            Root::Context => match scope.context() {
                Cow::Borrowed(ctx) => self.select_in(ctx),
                Cow::Owned(ctx) => self.select_in(&ctx).map(|v| Cow::Owned(v.into_owned())),
            },
            Root::Variable(name) => self.select_in(scope.variable(name)?),
        }
    }

    /// Applies the steps to `doc`, ignoring the root: the caller has already
    /// resolved `$`, `$$` or `$name` to `doc`.
    pub fn select_in<'a>(&self, doc: &'a Value) -> Option<Cow<'a, Value>> {
        match self.shape {
            Shape::Simple => eval::select_definite(&self.steps, doc).map(Cow::Borrowed),
            Shape::Length => {
                let prefix = self.steps.split_last().map_or(&[][..], |(_, p)| p);
                eval::select_definite(prefix, doc)
                    .and_then(eval::length)
                    .map(Cow::Owned)
            }
            Shape::Merge => {
                let Some((Step::Fields(names), prefix)) = self.steps.split_last() else {
                    return None;
                };
                eval::select_definite(prefix, doc)
                    .and_then(|node| merge(node, names))
                    .map(Cow::Owned)
            }
            // An indefinite selection past its bounds (eval::MAX_VISITS,
            // MAX_MATCHES, MAX_SELECTION_BYTES) selects nothing: the caller
            // fails with [`JsonPath::no_results_message`], which names them.
            Shape::Indefinite => {
                let mut out = eval::Matches::default();
                match self.steps.split_last() {
                    Some((Step::Length, prefix)) => {
                        // Jayway applies a function after an indefinite path to the list of matches.
                        eval::collect(prefix, doc, doc, &mut out);
                        if out.exceeded {
                            return None;
                        }
                        return Some(Cow::Owned(Value::from(out.nodes.len())));
                    }
                    Some((Step::Fields(names), prefix)) => {
                        eval::collect(prefix, doc, doc, &mut out);
                        let merged = match out.into_array()? {
                            Value::Array(nodes) => {
                                nodes.iter().filter_map(|n| merge(n, names)).collect()
                            }
                            _ => Vec::new(),
                        };
                        return Some(Cow::Owned(Value::Array(merged)));
                    }
                    _ => eval::collect(&self.steps, doc, doc, &mut out),
                }
                out.into_array().map(Cow::Owned)
            }
        }
    }

    /// Writes `value` at this reference path inside `target`, creating objects on the way
    /// (ResultPath). Fails when a step crosses a non-object.
    pub fn assign(&self, target: &mut Value, value: Value) -> Result<(), String> {
        if !self.is_reference() {
            return Err(format!("'{}' is not a reference path", self.src));
        }
        let fail = |target: &Value| {
            format!(
                "Unable to apply ReferencePath {} to input {}",
                self.src,
                compact(target)
            )
        };
        // Find the failure before mutating, so a failed assignment leaves `target` untouched.
        let mut probe: Option<&Value> = Some(target);
        for step in self.steps.iter().take(self.steps.len().saturating_sub(1)) {
            probe = match (probe, step) {
                (None, _) => None,
                (Some(Value::Object(o)), Step::Field(name)) => o.get(name),
                (Some(Value::Array(a)), Step::Index(i)) => {
                    match usize::try_from(*i).ok().and_then(|i| a.get(i)) {
                        Some(v) => Some(v),
                        None => return Err(fail(target)),
                    }
                }
                _ => return Err(fail(target)),
            };
        }
        match (probe, self.steps.last()) {
            (_, None) | (None, Some(_)) | (Some(Value::Object(_)), Some(Step::Field(_))) => {}
            (Some(Value::Array(a)), Some(Step::Index(i)))
                if usize::try_from(*i).is_ok_and(|i| i < a.len()) => {}
            _ => return Err(fail(target)),
        }
        let mut node = target;
        let mut value = Some(value);
        for (pos, step) in self.steps.iter().enumerate() {
            let last = pos + 1 == self.steps.len();
            node = match (node, step) {
                (Value::Object(o), Step::Field(name)) => {
                    if last {
                        o.insert(name.clone(), value.take().unwrap_or(Value::Null));
                        return Ok(());
                    }
                    o.entry(name.clone())
                        .or_insert_with(|| Value::Object(serde_json::Map::new()))
                }
                (Value::Array(a), Step::Index(i)) => {
                    let slot = usize::try_from(*i)
                        .ok()
                        .and_then(|i| a.get_mut(i))
                        .ok_or("index out of bounds")?;
                    if last {
                        *slot = value.take().unwrap_or(Value::Null);
                        return Ok(());
                    }
                    slot
                }
                // The probe above has already ruled this out.
                _ => return Err(format!("Unable to apply ReferencePath {}", self.src)),
            };
        }
        *node = value.take().unwrap_or(Value::Null);
        Ok(())
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.src)
    }
}

/// Jayway's multi-field leaf: the named fields present in `node`, in the order named.
fn merge(node: &Value, names: &[String]) -> Option<Value> {
    let obj = node.as_object()?;
    let merged = names
        .iter()
        .filter_map(|n| obj.get(n).map(|v| (n.clone(), v.clone())))
        .collect();
    Some(Value::Object(merged))
}

/// Compact JSON as Step Functions prints values in messages.
pub(crate) fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests;
