//! The evaluator's value model.
//!
//! JSONata works on JavaScript values: doubles, strings, arrays that may be
//! *sequences* (results of path steps, flattened and unwrapped when they hold a
//! single item) and functions. `Val` mirrors that with reference-counted sharing,
//! so passing a sub-document around during evaluation is a pointer copy rather
//! than a deep clone. `undefined` is `Option::<Val>::None` throughout.

use std::fmt::Write as _;
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::functions::Func;

/// Object storage: insertion ordered like JavaScript objects with string keys.
pub type Map = IndexMap<Rc<str>, Val>;

/// Flags jsonata-js keeps as properties on array objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    pub const SEQUENCE: Flags = Flags(1);
    pub const KEEP_SINGLETON: Flags = Flags(2);
    pub const CONS: Flags = Flags(4);
    pub const OUTER_WRAPPER: Flags = Flags(8);
    pub const TUPLE_STREAM: Flags = Flags(16);
    /// Built by a range (`[a..b]`, `$range`), which JSONata bounds by
    /// item count (10 million) rather than by
    /// [`crate::Limits::max_value_bytes`]; once inside another value it
    /// counts like any other.
    pub const RANGE: Flags = Flags(32);

    pub fn has(self, f: Flags) -> bool {
        self.0 & f.0 != 0
    }
    pub fn with(self, f: Flags) -> Flags {
        Flags(self.0 | f.0)
    }
    pub fn without(self, f: Flags) -> Flags {
        Flags(self.0 & !f.0)
    }
}

#[derive(Clone, Debug)]
pub enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Array>, Flags),
    Obj(Rc<Object>),
    Func(Rc<Func>),
}

/// The estimated size of a scalar as JSON text: what [`Val::size`] counts
/// for a number (whatever its digits), a boolean or `null`.
pub const SCALAR_SIZE: usize = 8;

/// An array's items, with the size and depth of the whole computed once
/// when it is built. Values share subtrees (`[$a, $a]` is two pointers), so
/// walking a value to measure it could take as long as expanding it; the
/// cached numbers let the evaluator bound every value it builds in O(1)
/// per item.
#[derive(Clone, Debug, Default)]
pub struct Array {
    items: Vec<Val>,
    size: usize,
    depth: usize,
}

impl Array {
    pub fn new(items: Vec<Val>) -> Array {
        let mut size: usize = 2;
        let mut depth = 0;
        for v in &items {
            size = size.saturating_add(v.size() + 1);
            depth = depth.max(v.depth());
        }
        Array {
            items,
            size,
            depth: depth + 1,
        }
    }
    pub fn into_vec(self) -> Vec<Val> {
        self.items
    }
}

impl std::ops::Deref for Array {
    type Target = Vec<Val>;
    fn deref(&self) -> &Vec<Val> {
        &self.items
    }
}

/// An object's entries, with its size and depth (see [`Array`]).
#[derive(Clone, Debug, Default)]
pub struct Object {
    map: Map,
    size: usize,
    depth: usize,
}

impl Object {
    pub fn new(map: Map) -> Object {
        let mut size: usize = 2;
        let mut depth = 0;
        for (k, v) in &map {
            size = size.saturating_add(k.len() + 4 + v.size());
            depth = depth.max(v.depth());
        }
        Object {
            map,
            size,
            depth: depth + 1,
        }
    }
    pub fn into_map(self) -> Map {
        self.map
    }
    pub fn to_map(&self) -> Map {
        self.map.clone()
    }
}

impl std::ops::Deref for Object {
    type Target = Map;
    fn deref(&self) -> &Map {
        &self.map
    }
}

impl Val {
    pub fn str(s: &str) -> Val {
        Val::Str(Rc::from(s))
    }
    pub fn string(s: String) -> Val {
        Val::Str(Rc::from(s))
    }
    pub fn array(v: Vec<Val>) -> Val {
        Val::Arr(Rc::new(Array::new(v)), Flags::default())
    }
    pub fn seq(v: Vec<Val>) -> Val {
        Val::Arr(Rc::new(Array::new(v)), Flags::SEQUENCE)
    }
    /// An array with the given flags.
    pub fn arr(v: Vec<Val>, flags: Flags) -> Val {
        Val::Arr(Rc::new(Array::new(v)), flags)
    }
    pub fn object(m: Map) -> Val {
        Val::Obj(Rc::new(Object::new(m)))
    }

    /// The size of the value as JSON text, roughly: strings and keys by
    /// their length, every scalar as [`SCALAR_SIZE`] bytes, plus
    /// punctuation. Shared subtrees count every time they appear, as they
    /// would when the value is written out.
    pub fn size(&self) -> usize {
        match self {
            Val::Null | Val::Bool(_) | Val::Num(_) => SCALAR_SIZE,
            Val::Str(s) => s.len() + 2,
            Val::Arr(a, _) => a.size,
            Val::Obj(o) => o.size,
            Val::Func(_) => 2,
        }
    }

    /// How many arrays and objects deep the value is (a scalar is 0).
    pub fn depth(&self) -> usize {
        match self {
            Val::Arr(a, _) => a.depth,
            Val::Obj(o) => o.depth,
            _ => 0,
        }
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Val::Arr(..))
    }
    pub fn is_sequence(&self) -> bool {
        matches!(self, Val::Arr(_, f) if f.has(Flags::SEQUENCE))
    }
    pub fn flags(&self) -> Flags {
        match self {
            Val::Arr(_, f) => *f,
            _ => Flags::default(),
        }
    }
    pub fn with_flags(self, add: Flags) -> Val {
        match self {
            Val::Arr(a, f) => Val::Arr(a, f.with(add)),
            other => other,
        }
    }
    pub fn is_func(&self) -> bool {
        matches!(self, Val::Func(_))
    }
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_arr(&self) -> Option<&[Val]> {
        match self {
            Val::Arr(a, _) => Some(a),
            _ => None,
        }
    }

    /// The signature symbol jsonata uses when validating arguments.
    pub fn symbol(v: Option<&Val>) -> char {
        match v {
            None => 'm',
            Some(Val::Null) => 'l',
            Some(Val::Bool(_)) => 'b',
            Some(Val::Num(_)) => 'n',
            Some(Val::Str(_)) => 's',
            Some(Val::Arr(..)) => 'a',
            Some(Val::Obj(_)) => 'o',
            Some(Val::Func(_)) => 'f',
        }
    }

    /// Items of an array, or the value itself as a one-item slice.
    pub fn items(&self) -> Vec<Val> {
        match self {
            Val::Arr(a, _) => a.to_vec(),
            v => vec![v.clone()],
        }
    }

    /// Converts a JSON value, or `None` when it nests more than
    /// `max_depth` arrays and objects deep (the conversion recurses, and
    /// values built outside a JSON reader have no depth bound of their own).
    pub fn from_json(v: &Value, max_depth: usize) -> Option<Val> {
        Some(match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Val::str(s),
            Value::Array(a) => {
                let depth = max_depth.checked_sub(1)?;
                let items = a.iter().map(|x| Val::from_json(x, depth));
                Val::array(items.collect::<Option<Vec<Val>>>()?)
            }
            Value::Object(o) => {
                let depth = max_depth.checked_sub(1)?;
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o {
                    m.insert(Rc::from(k.as_str()), Val::from_json(v, depth)?);
                }
                Val::object(m)
            }
        })
    }

    /// Converts to JSON the way `JSON.stringify` would: functions vanish from
    /// objects and become `null` in arrays. Non-finite numbers are rejected by
    /// the caller beforehand.
    pub fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => num_to_json(*n),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Arr(a, _) => Value::Array(
                a.iter()
                    .map(|v| {
                        if v.is_func() {
                            Value::Null
                        } else {
                            v.to_json()
                        }
                    })
                    .collect(),
            ),
            Val::Obj(o) => {
                let mut m = serde_json::Map::with_capacity(o.len());
                for (k, v) in o.iter() {
                    if !v.is_func() {
                        m.insert(k.to_string(), v.to_json());
                    }
                }
                Value::Object(m)
            }
            Val::Func(_) => Value::String(String::new()),
        }
    }
}

/// Integral doubles inside the i64 range become JSON integers (so `2.0`
/// serialises as `2`, as `JSON.stringify` does).
pub fn num_to_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Value::from(n as i64)
    } else if let Some(num) = serde_json::Number::from_f64(n) {
        Value::Number(num)
    } else {
        Value::Null
    }
}

/// Deep equality as jsonata's `isDeepEqual` (used by `=`, `$distinct`, `in`).
pub fn deep_equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Arr(x, _), Val::Arr(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Val::Obj(x), Val::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Val::Func(x), Val::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// JavaScript `Number.prototype.toString()` for finite doubles.
pub fn js_number_string(n: f64) -> String {
    if n == 0.0 {
        return "0".to_string();
    }
    if !n.is_finite() {
        return if n.is_nan() {
            "NaN".into()
        } else if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, which is what JS uses.
    let e = format!("{:e}", n);
    let (mant, exp) = match e.split_once('e') {
        Some(p) => p,
        None => return e,
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len() as i32;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    // n = 0.digits * 10^(exp+1), following ECMAScript's Number::toString.
    let point = exp + 1;
    if k <= point && point <= 21 {
        out.push_str(&digits);
        for _ in 0..(point - k) {
            out.push('0');
        }
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{}", if exp >= 0 { "+" } else { "-" }, exp.abs());
    }
    out
}

/// `Number(n.toPrecision(15))`: jsonata's way to hide floating point noise
/// when turning numbers into strings.
pub fn round15(n: f64) -> f64 {
    if !n.is_finite() || n == 0.0 {
        return n;
    }
    format!("{:.14e}", n).parse().unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_numbers() {
        assert_eq!(js_number_string(1.0), "1");
        assert_eq!(js_number_string(0.1), "0.1");
        assert_eq!(js_number_string(1e21), "1e+21");
        assert_eq!(js_number_string(1e20), "100000000000000000000");
        assert_eq!(js_number_string(1.5e-7), "1.5e-7");
        assert_eq!(js_number_string(0.000001), "0.000001");
        assert_eq!(js_number_string(-123.456), "-123.456");
        assert_eq!(js_number_string(round15(1.0 / 3.0)), "0.333333333333333");
    }
}
