//! JSON comparison as the corpus defines it (`tests/data/conformance/README.md`):
//! object key order does not matter, array order does, numbers compare by
//! value (`1 == 1.0`) unless asked to keep integers and non-integral numbers
//! apart, booleans never equal numbers; `ignore_paths` leaves must exist in
//! the actual value and are then not compared, optionally after checking
//! them against a pattern.

use regex::Regex;
use serde_json::{Number, Value};
use std::collections::{BTreeSet, HashMap};

/// How numbers compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbers {
    /// By value: `1` equals `1.0`.
    #[default]
    ByValue,
    /// By value and by kind: `1` (an integer) differs from `1.0`.
    Strict,
}

/// One step of a path such as `$.a.b[0]["odd key"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Parses `$.a.b[0]["odd key"]` into steps; `$` alone is the root.
pub fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let bad = || format!("bad path {path:?}");
    let s = path.strip_prefix('$').ok_or_else(bad)?;
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '.' {
            let name = &rest[1..];
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(name.len());
            // A key after `.` is an identifier; anything else needs `["..."]`.
            if end == 0 || name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(bad());
            }
            out.push(Step::Key(name[..end].to_string()));
            rest = &name[end..];
        } else if rest.starts_with("[\"") {
            let mut de = serde_json::Deserializer::from_str(&rest[1..]).into_iter::<String>();
            let key = de.next().and_then(Result::ok).ok_or_else(bad)?;
            rest = rest[1 + de.byte_offset()..]
                .strip_prefix(']')
                .ok_or_else(bad)?;
            out.push(Step::Key(key));
        } else if let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(bad)?;
            let index = inner[..close].trim().parse().map_err(|_| bad())?;
            out.push(Step::Index(index));
            rest = &inner[close + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

/// The value at `path`, if there is one.
pub fn get<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |cur, step| match (step, cur) {
        (Step::Key(k), Value::Object(m)) => m.get(k),
        (Step::Index(i), Value::Array(a)) => a.get(*i),
        _ => None,
    })
}

/// A pattern of the corpus, matched against a whole string with `.`
/// matching newlines too (Python's `re.fullmatch(p, s, re.S)`).
pub fn full_match(pattern: &str, text: &str) -> Result<bool, String> {
    let re = Regex::new(&format!("^(?s:{pattern})$"))
        .map_err(|e| format!("bad pattern {pattern:?}: {e}"))?;
    Ok(re.is_match(text))
}

/// Compares `actual` with `expected`, leaving out `ignore_paths` (each of
/// which must exist in `actual`, and match its entry in `patterns` if it
/// has one). `Err` says where they first differ.
pub fn compare(
    expected: &Value,
    actual: &Value,
    ignore_paths: &[String],
    patterns: &HashMap<String, String>,
    numbers: Numbers,
) -> Result<(), String> {
    let mut ignored = Vec::new();
    for p in ignore_paths {
        let path = parse_path(p)?;
        let value = get(actual, &path).ok_or_else(|| format!("{p}: missing in actual output"))?;
        if let Some(pattern) = patterns.get(p) {
            let matches = match value.as_str() {
                Some(s) => full_match(pattern, s)?,
                None => false,
            };
            if !matches {
                return Err(format!(
                    "{p}: {} does not match the expected pattern",
                    short(value, 160)
                ));
            }
        }
        ignored.push(path);
    }
    let mut at = Vec::new();
    equal(expected, actual, &mut at, &ignored, numbers)
}

/// A step of the path being walked, borrowed from the expected value.
#[derive(Clone, Copy)]
enum At<'a> {
    Key(&'a str),
    Index(usize),
}

fn is_ignored(at: &[At<'_>], ignored: &[Vec<Step>]) -> bool {
    ignored.iter().any(|path| {
        path.len() == at.len()
            && path.iter().zip(at).all(|(p, a)| match (p, a) {
                (Step::Key(k), At::Key(l)) => k == l,
                (Step::Index(i), At::Index(j)) => i == j,
                _ => false,
            })
    })
}

fn render(at: &[At<'_>]) -> String {
    let mut s = String::from("$");
    for a in at {
        match a {
            At::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            At::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn equal<'a>(
    e: &'a Value,
    a: &Value,
    at: &mut Vec<At<'a>>,
    ignored: &[Vec<Step>],
    numbers: Numbers,
) -> Result<(), String> {
    if is_ignored(at, ignored) {
        return Ok(());
    }
    let differ = |at: &[At<'_>], extra: &str| {
        Err(format!(
            "{}: expected {}, got {}{extra}",
            render(at),
            short(e, 160),
            short(a, 160)
        ))
    };
    match (e, a) {
        (Value::Number(x), Value::Number(y)) => {
            if numbers == Numbers::Strict && x.is_f64() != y.is_f64() {
                return differ(at, " (number type)");
            }
            if number_eq(x, y) {
                Ok(())
            } else {
                differ(at, "")
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let missing: BTreeSet<&String> = x.keys().filter(|k| !y.contains_key(*k)).collect();
            let extra: BTreeSet<&String> = y.keys().filter(|k| !x.contains_key(*k)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Err(format!(
                    "{}: keys differ (missing {:?}, unexpected {:?})",
                    render(at),
                    missing.iter().take(5).collect::<Vec<_>>(),
                    extra.iter().take(5).collect::<Vec<_>>()
                ));
            }
            for (k, v) in x {
                at.push(At::Key(k));
                let r = y
                    .get(k)
                    .map_or(Ok(()), |w| equal(v, w, at, ignored, numbers));
                at.pop();
                r?;
            }
            Ok(())
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!(
                    "{}: expected array of {}, got {}: {}",
                    render(at),
                    x.len(),
                    y.len(),
                    short(a, 160)
                ));
            }
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                at.push(At::Index(i));
                let r = equal(v, w, at, ignored, numbers);
                at.pop();
                r?;
            }
            Ok(())
        }
        _ if e == a => Ok(()),
        _ => differ(at, ""),
    }
}

/// Numbers by value, exactly: an integer equals a float only when the
/// float is that very integer (no rounding through `f64`).
fn number_eq(x: &Number, y: &Number) -> bool {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    fn int_eq_float(i: i128, f: f64) -> bool {
        // 2^127: beyond it `as` saturates, and no corpus integer is that big.
        f.fract() == 0.0 && f.abs() < 1.7e38 && f as i128 == i
    }
    match (int(x), int(y)) {
        (Some(i), Some(j)) => i == j,
        (Some(i), None) => y.as_f64().is_some_and(|f| int_eq_float(i, f)),
        (None, Some(j)) => x.as_f64().is_some_and(|f| int_eq_float(j, f)),
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

/// A value as compact JSON, cut to `n` characters for messages.
pub fn short(v: &Value, n: usize) -> String {
    cut(&v.to_string(), n)
}

/// `s` cut to `n` characters, ending in `...` when cut.
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(3)).collect();
        out.push_str("...");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmp(e: Value, a: Value, ignore: &[&str]) -> Result<(), String> {
        let ignore: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
        compare(&e, &a, &ignore, &HashMap::new(), Numbers::ByValue)
    }

    #[test]
    fn paths_parse_keys_indices_and_quoted_keys() {
        assert_eq!(
            parse_path(r#"$.a.b_1[0]["odd key"]"#).unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Key("b_1".into()),
                Step::Index(0),
                Step::Key("odd key".into())
            ]
        );
        assert_eq!(parse_path("$").unwrap(), vec![]);
        assert!(parse_path("a.b").is_err());
        assert!(parse_path("$.").is_err());
        assert!(parse_path("$[x]").is_err());
        assert!(parse_path(r#"$["a""#).is_err());
    }

    #[test]
    fn numbers_compare_by_value_unless_strict() {
        assert!(cmp(json!({"n": 1}), json!({"n": 1.0}), &[]).is_ok());
        assert!(cmp(json!([1.5]), json!([1.5]), &[]).is_ok());
        assert!(cmp(json!(9007199254740993_u64), json!(9007199254740992.0), &[]).is_err());
        let strict = compare(
            &json!(1),
            &json!(1.0),
            &[],
            &HashMap::new(),
            Numbers::Strict,
        );
        assert!(strict.unwrap_err().contains("number type"));
        assert!(cmp(json!(true), json!(1), &[]).is_err());
    }

    #[test]
    fn key_order_does_not_matter_array_order_does() {
        assert!(cmp(json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1}), &[]).is_ok());
        assert!(cmp(json!([1, 2]), json!([2, 1]), &[]).is_err());
        let e = cmp(json!({"a": 1}), json!({"b": 1}), &[]).unwrap_err();
        assert_eq!(e, r#"$: keys differ (missing ["a"], unexpected ["b"])"#);
        let e = cmp(
            json!({"a": [1, {"b": 2}]}),
            json!({"a": [1, {"b": 3}]}),
            &[],
        )
        .unwrap_err();
        assert_eq!(e, "$.a[1].b: expected 2, got 3");
    }

    #[test]
    fn ignored_paths_must_exist_and_match_their_pattern() {
        assert!(cmp(
            json!({"id": "x", "v": 1}),
            json!({"id": "y", "v": 1}),
            &["$.id"]
        )
        .is_ok());
        let e = cmp(json!({"id": "x"}), json!({}), &["$.id"]).unwrap_err();
        assert_eq!(e, "$.id: missing in actual output");
        assert!(cmp(json!(1), json!(2), &["$"]).is_ok());
        let patterns = HashMap::from([("$.id".to_string(), "arn:.*:\\d+".to_string())]);
        let ignore = vec!["$.id".to_string()];
        let ok = compare(
            &json!({"id": "<arn>"}),
            &json!({"id": "arn:aws:1"}),
            &ignore,
            &patterns,
            Numbers::ByValue,
        );
        assert!(ok.is_ok());
        let bad = compare(
            &json!({"id": "<arn>"}),
            &json!({"id": "arn:aws:x"}),
            &ignore,
            &patterns,
            Numbers::ByValue,
        );
        assert!(bad
            .unwrap_err()
            .contains("does not match the expected pattern"));
    }

    #[test]
    fn messages_are_cut() {
        assert_eq!(cut("abcdef", 5), "ab...");
        assert_eq!(cut("abc", 5), "abc");
    }
}
