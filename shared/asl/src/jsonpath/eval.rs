//! Selection over a document by reference: nothing is cloned until the caller
//! asks for an owned result.

use super::parse::{CmpOp, Expr, Operand, Step};
use serde_json::Value;
use std::cmp::Ordering;

/// Follows steps that are all `Field` / `Index`: the hot path, with no allocation.
pub(crate) fn select_definite<'a>(steps: &[Step], doc: &'a Value) -> Option<&'a Value> {
    let mut node = doc;
    for step in steps {
        node = match step {
            Step::Field(name) => node.as_object()?.get(name)?,
            Step::Index(i) => index(node.as_array()?, *i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn index(arr: &[Value], i: i64) -> Option<&Value> {
    let len = i64::try_from(arr.len()).ok()?;
    let i = if i < 0 { len.checked_add(i)? } else { i };
    usize::try_from(i).ok().and_then(|i| arr.get(i))
}

/// The size `length()` reports, if the node has one.
pub(crate) fn length(v: &Value) -> Option<Value> {
    let n = match v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        _ => return None,
    };
    Some(Value::from(n))
}

/// Most nodes an indefinite selection visits and most values it selects.
/// Each `..` multiplies the work by the document's depth (`$..*..*..*`
/// visits every node once per ancestor pair): without a bound one short
/// path on a deep input takes minutes and gigabytes.
pub const MAX_VISITS: usize = 1_000_000;
pub const MAX_MATCHES: usize = 100_000;
/// Largest selection, as JSON text: the value bound of intrinsic functions
/// and JSONata.
pub const MAX_SELECTION_BYTES: usize = 16 * 256 * 1024;

/// What an indefinite selection gathered, and whether it stopped at a bound.
#[derive(Default)]
pub(crate) struct Matches<'a> {
    pub(crate) nodes: Vec<&'a Value>,
    visits: usize,
    pub(crate) exceeded: bool,
}

impl<'a> Matches<'a> {
    /// Counts one visit; false once a bound is passed.
    fn visit(&mut self) -> bool {
        self.visits += 1;
        if self.visits > MAX_VISITS || self.nodes.len() > MAX_MATCHES {
            self.exceeded = true;
        }
        !self.exceeded
    }

    /// The matches as an owned array, unless they pass a bound.
    pub(crate) fn into_array(self) -> Option<Value> {
        let mut budget = MAX_SELECTION_BYTES;
        if self.exceeded || !self.nodes.iter().all(|n| spend(n, &mut budget)) {
            return None;
        }
        Some(Value::Array(self.nodes.into_iter().cloned().collect()))
    }
}

/// Takes `v`'s size as JSON text (numbers as 8 bytes) from `budget`;
/// false as soon as it runs out, so the cost is at most the budget.
fn spend(v: &Value, budget: &mut usize) -> bool {
    let own = match v {
        Value::String(s) => s.len() + 2,
        Value::Object(m) => 2 + m.keys().map(|k| k.len() + 4).sum::<usize>(),
        Value::Array(a) => 2 + a.len(),
        _ => 8,
    };
    if own > *budget {
        return false;
    }
    *budget -= own;
    match v {
        Value::Array(a) => a.iter().all(|x| spend(x, budget)),
        Value::Object(m) => m.values().all(|x| spend(x, budget)),
        _ => true,
    }
}

/// Collects every node the steps reach from `node`, in document order.
/// `root` is the document `$` refers to inside filters.
pub(crate) fn collect<'a>(steps: &[Step], node: &'a Value, root: &'a Value, out: &mut Matches<'a>) {
    if !out.visit() {
        return;
    }
    let Some((step, rest)) = steps.split_first() else {
        out.nodes.push(node);
        return;
    };
    match step {
        Step::Field(name) => {
            if let Some(v) = node.as_object().and_then(|o| o.get(name)) {
                collect(rest, v, root, out);
            }
        }
        Step::Fields(names) => {
            if let Some(o) = node.as_object() {
                for name in names {
                    if let Some(v) = o.get(name) {
                        collect(rest, v, root, out);
                    }
                }
            }
        }
        Step::Index(i) => {
            if let Some(v) = node.as_array().and_then(|a| index(a, *i)) {
                collect(rest, v, root, out);
            }
        }
        Step::Indexes(is) => {
            if let Some(a) = node.as_array() {
                for i in is {
                    if let Some(v) = index(a, *i) {
                        collect(rest, v, root, out);
                    }
                }
            }
        }
        Step::Slice(from, to, by) => {
            if let Some(a) = node.as_array() {
                for v in slice(a, *from, *to, *by) {
                    collect(rest, v, root, out);
                }
            }
        }
        Step::Wildcard => match node {
            Value::Array(a) => a.iter().for_each(|v| collect(rest, v, root, out)),
            Value::Object(o) => o.values().for_each(|v| collect(rest, v, root, out)),
            _ => {}
        },
        Step::Scan => scan(node, &mut |v| collect(rest, v, root, out)),
        Step::Filter(expr) => match node {
            Value::Array(a) => {
                for v in a {
                    if test(expr, v, root) {
                        collect(rest, v, root, out);
                    }
                }
            }
            // Jayway applies a filter on an object to the object itself.
            Value::Object(_) if test(expr, node, root) => collect(rest, node, root, out),
            _ => {}
        },
        // `length()` produces a new value; callers handle it before collecting.
        Step::Length => {}
    }
}

/// Visits `node` and its descendants, pre-order.
fn scan<'a>(node: &'a Value, f: &mut dyn FnMut(&'a Value)) {
    f(node);
    match node {
        Value::Array(a) => a.iter().for_each(|v| scan(v, f)),
        Value::Object(o) => o.values().for_each(|v| scan(v, f)),
        _ => {}
    }
}

/// Python-style slicing, as Jayway does it: negative bounds count from the end,
/// out-of-range bounds are clamped.
fn slice(
    a: &[Value],
    from: Option<i64>,
    to: Option<i64>,
    by: Option<i64>,
) -> impl Iterator<Item = &Value> {
    let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let start = from.map_or(0, norm);
    let end = to.map_or(len, norm);
    let by = usize::try_from(by.unwrap_or(1)).unwrap_or(1).max(1);
    let (start, end) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    a.get(start..end.max(start))
        .unwrap_or(&[])
        .iter()
        .step_by(by)
}

/// The value of a filter operand: borrowed when definite, owned otherwise.
enum Val<'a> {
    Missing,
    Ref(&'a Value),
    Owned(Value),
}

impl Val<'_> {
    fn get(&self) -> Option<&Value> {
        match self {
            Val::Missing => None,
            Val::Ref(v) => Some(v),
            Val::Owned(v) => Some(v),
        }
    }
}

fn operand<'a>(op: &'a Operand, node: &'a Value, root: &'a Value) -> Val<'a> {
    let (steps, start) = match op {
        Operand::Literal(v) => return Val::Ref(v),
        Operand::Current(steps) => (steps, node),
        Operand::Root(steps) => (steps, root),
    };
    if let Some((Step::Length, prefix)) = steps.split_last() {
        return match select_definite(prefix, start).and_then(length) {
            Some(v) => Val::Owned(v),
            None => Val::Missing,
        };
    }
    if steps.iter().all(Step::is_definite) {
        return select_definite(steps, start).map_or(Val::Missing, Val::Ref);
    }
    let mut out = Matches::default();
    collect(steps, start, root, &mut out);
    out.into_array().map_or(Val::Missing, Val::Owned)
}

fn test(expr: &Expr, node: &Value, root: &Value) -> bool {
    match expr {
        Expr::Or(a, b) => test(a, node, root) || test(b, node, root),
        Expr::And(a, b) => test(a, node, root) && test(b, node, root),
        Expr::Not(e) => !test(e, node, root),
        Expr::Exists(Operand::Literal(v)) => v.as_bool().unwrap_or(false),
        Expr::Exists(op) => operand(op, node, root).get().is_some(),
        Expr::Matches(op, re) => operand(op, node, root)
            .get()
            .and_then(Value::as_str)
            .is_some_and(|s| re.is_match(s)),
        Expr::Compare(l, op, r) => {
            let (l, r) = (operand(l, node, root), operand(r, node, root));
            match (l.get(), r.get()) {
                (Some(l), Some(r)) => compare(l, *op, r),
                // Jayway: a missing value equals nothing, so `!=` holds.
                _ => *op == CmpOp::Ne,
            }
        }
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    let ord = match (l, r) {
        (Value::Number(a), Value::Number(b)) => num_cmp(a, b),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => match op {
            CmpOp::Eq => return json_eq(l, r),
            CmpOp::Ne => return !json_eq(l, r),
            _ => return false,
        },
    };
    let Some(ord) = ord else {
        return op == CmpOp::Ne;
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// Numbers compare by value: `1 == 1.0`.
fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// Structural equality where numbers compare by value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
