//! Reading a Choice operand (`Variable`, `...Path`) without copying.
//!
//! [`JsonPath::select`] returns an owned value, which would clone a sub-tree
//! on every comparison. Almost every path in a Choice rule is a plain chain of
//! names and indexes (`$.a.b[0]`, `$$.Execution.Input.x`, `$var.field`), so
//! those are compiled here into steps walked by reference. Anything richer
//! (wildcards, filters, slices, `..`) goes through [`JsonPath`] itself.

use crate::context::Scope;
use crate::jsonpath::JsonPath;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// The path as written; AWS quotes it verbatim in its error messages.
    pub(crate) src: Box<str>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Simple { root: Root, steps: Box<[Step]> },
    General(JsonPath),
}

#[derive(Debug, Clone)]
enum Root {
    Input,
    Context,
    Variable(Box<str>),
}

#[derive(Debug, Clone)]
enum Step {
    Field(Box<str>),
    Index(usize),
}

impl Access {
    /// Compiles `src`; the error is the JSONPath parser's reason.
    pub(crate) fn compile(src: &str) -> Result<Access, String> {
        // The JSONPath parser is the authority on syntax, even for the paths
        // compiled below, so that both agree on what is valid.
        let general = JsonPath::parse(src).map_err(|e| e.to_string())?;
        let kind = match compile_simple(src) {
            Some((root, steps)) => Kind::Simple {
                root,
                steps: steps.into_boxed_slice(),
            },
            None => Kind::General(general),
        };
        Ok(Access {
            src: src.into(),
            kind,
        })
    }

    /// The node the path selects, `None` when it selects nothing.
    pub(crate) fn read<'a>(
        &self,
        input: &'a Value,
        scope: &'a dyn Scope,
    ) -> Option<Cow<'a, Value>> {
        match &self.kind {
            Kind::Simple { root, steps } => match root {
                Root::Input => walk(input, steps).map(Cow::Borrowed),
                Root::Variable(name) => walk(scope.variable(name)?, steps).map(Cow::Borrowed),
                Root::Context => match scope.context() {
                    Cow::Borrowed(ctx) => walk(ctx, steps).map(Cow::Borrowed),
                    Cow::Owned(ctx) => walk(&ctx, steps).cloned().map(Cow::Owned),
                },
            },
            Kind::General(path) => path.select(input, scope).map(Cow::Owned),
        }
    }
}

fn walk<'a>(mut node: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        node = match (step, node) {
            (Step::Field(name), Value::Object(map)) => map.get(&**name)?,
            (Step::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Characters that make a dot-notation name something other than a plain
/// name in Jayway's grammar; such paths are left to the general parser.
fn plain_name_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            '.' | '[' | ']' | '*' | '(' | ')' | '?' | '@' | '\'' | '"' | ',' | ':' | '$' | '\\'
        ))
}

fn compile_simple(src: &str) -> Option<(Root, Vec<Step>)> {
    let (root, mut rest) = if let Some(r) = src.strip_prefix("$$") {
        (Root::Context, r)
    } else {
        let r = src.strip_prefix('$')?;
        let end = r.find(['.', '[']).unwrap_or(r.len());
        if end == 0 {
            (Root::Input, r)
        } else {
            let name = &r[..end];
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            (Root::Variable(name.into()), &r[end..])
        }
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || !name.chars().all(plain_name_char) {
                return None;
            }
            steps.push(Step::Field(name.into()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = &r[..close];
            let step = if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
            {
                quoted_name(q)?
            } else if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                quoted_name(q)?
            } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                Step::Index(inner.parse().ok()?)
            } else {
                return None;
            };
            steps.push(step);
            rest = &r[close + 1..];
        } else {
            return None;
        }
    }
    Some((root, steps))
}

/// A bracketed name without escapes or quotes inside; the rest is the general parser's.
fn quoted_name(q: &str) -> Option<Step> {
    if q.contains(['\\', '\'', '"', ']', '[']) {
        return None;
    }
    Some(Step::Field(q.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(src: &str) -> bool {
        compile_simple(src).is_some()
    }

    #[test]
    fn plain_paths_are_compiled() {
        for p in [
            "$",
            "$.a",
            "$.a.b[0]",
            "$['a b']",
            "$[\"x\"][3]",
            "$$.Execution.Input.input-value",
            "$var",
            "$var.x",
        ] {
            assert!(simple(p), "{p}");
        }
        for p in [
            "$..a",
            "$.a[*]",
            "$.a[?(@.b)]",
            "$.a[0:2]",
            "$.a[0,1]",
            "$['a\\'b']",
            "$.*",
            "a",
            "$.",
            "$.a.",
        ] {
            assert!(!simple(p), "{p}");
        }
    }

    #[test]
    fn walks_by_reference() {
        let input = serde_json::json!({"a": {"b": [10, {"c d": true}]}});
        let (_, steps) = compile_simple("$.a.b[1]['c d']").unwrap();
        assert_eq!(walk(&input, &steps), Some(&Value::Bool(true)));
        let (_, steps) = compile_simple("$.a.b[2]").unwrap();
        assert_eq!(walk(&input, &steps), None);
        let (_, steps) = compile_simple("$.a.b.c").unwrap();
        assert_eq!(walk(&input, &steps), None);
    }
}
