//! Shared helpers for the end-to-end tests in `tests/`: locating the
//! read-only reference material beside the project, and comparing JSON the
//! way the conformance runner does.

use regex::Regex;
use serde_json::Value;
use std::path::PathBuf;

/// `../shared` beside the project (read-only reference material).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Parses `$.a.b[0]["odd key"]` into steps.
pub fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    let s = path.strip_prefix('$')?;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let rest = &s[i + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                out.push(Step::Key(rest[..end].to_string()));
                i += 1 + end;
            }
            b'[' if b.get(i + 1) == Some(&b'"') => {
                let mut de = serde_json::Deserializer::from_str(&s[i + 1..]).into_iter::<String>();
                let key = de.next()?.ok()?;
                let used = de.byte_offset();
                out.push(Step::Key(key));
                i += 1 + used + 1;
            }
            b'[' => {
                let close = s[i..].find(']')? + i;
                out.push(Step::Index(s[i + 1..close].parse().ok()?));
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[derive(Debug, Clone)]
pub enum Step {
    Key(String),
    Index(usize),
}

pub fn get_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = match (p, cur) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// JSON equality as the conformance runner defines it: numbers by value,
/// booleans never equal numbers, object key order ignored.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Compares an execution output with a case's expectation, honouring
/// `ignore_paths` and `output_patterns`.
pub fn compare_output(
    expected: &Value,
    actual: &Value,
    ignore: &[String],
    patterns: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let mut e = expected.clone();
    let mut a = actual.clone();
    for p in ignore {
        let path = parse_path(p).ok_or_else(|| format!("bad ignore path {p}"))?;
        let av = get_mut(&mut a, &path).ok_or_else(|| format!("{p}: missing in actual output"))?;
        if let Some(pat) = patterns.get(p).and_then(Value::as_str) {
            let re = Regex::new(&format!("^(?s:{pat})$")).map_err(|e| e.to_string())?;
            match av.as_str() {
                Some(s) if re.is_match(s) => {}
                _ => return Err(format!("{p}: {av} does not match {pat}")),
            }
        }
        *av = Value::Null;
        if let Some(ev) = get_mut(&mut e, &path) {
            *ev = Value::Null;
        }
        if path.is_empty() {
            return Ok(());
        }
    }
    if json_equal(&e, &a) {
        Ok(())
    } else {
        Err(format!("output differs:\n  expected {e}\n  actual   {a}"))
    }
}
