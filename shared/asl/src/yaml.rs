//! Reading YAML definitions with bounds, before the YAML library can spend
//! unbounded time or memory.
//!
//! - **Flow nesting** (`[[[[...`): libyaml's scanner does work proportional
//!   to the current flow depth for every token, so 100,000 levels take
//!   minutes before serde_yaml's own depth limit (128) is reached. A scan of
//!   the text refuses nesting deeper than [`MAX_DEPTH`] first.
//! - **Aliases** (`*a` repeating an anchored node, nested: a "billion
//!   laughs"): serde_yaml expands them while building the value. The value
//!   is built here through a budget of [`MAX_EXPANDED_BYTES`], so the
//!   expansion stops as soon as it passes the bound.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting accepted: serde_yaml's (and serde_json's) own limit.
pub const MAX_DEPTH: usize = 128;

/// Largest value a YAML definition may expand to, as JSON text roughly:
/// four times Step Functions' 1 MiB bound on a definition, so aliases can
/// repeat blocks (a shared `Retry`) many times over.
pub const MAX_EXPANDED_BYTES: usize = 4 * 1024 * 1024;

/// Parses a YAML document into a JSON value within the bounds above.
pub fn from_str(text: &str) -> Result<Value, String> {
    if let Some(line) = flow_too_deep(text, MAX_DEPTH) {
        return Err(format!(
            "YAML nested more than {MAX_DEPTH} levels deep at line {line}"
        ));
    }
    let left = Cell::new(MAX_EXPANDED_BYTES);
    let de = serde_yaml::Deserializer::from_str(text);
    Budgeted { left: &left }.deserialize(de).map_err(|e| {
        if left.get() == 0 {
            format!(
                "the YAML document expands to more than {} MiB (each alias repeats what its anchor names)",
                MAX_EXPANDED_BYTES / (1024 * 1024)
            )
        } else {
            e.to_string()
        }
    })
}

/// The line where flow collections (`[`, `{`) nest deeper than `max`, if
/// they do. Inside a flow collection YAML's lexical rules are simple and
/// followed exactly (quoted scalars, comments); outside, a bracket opens a
/// collection where a node starts, quotes are skipped where a scalar starts
/// and block scalars (`|`, `>`) are skipped by their indentation.
fn flow_too_deep(text: &str, max: usize) -> Option<usize> {
    let b = text.as_bytes();
    let (mut i, mut depth, mut line) = (0, 0usize, 1);
    // the last character that was not a space or tab, on this line
    let mut prev: u8 = b'\n';
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                prev = b'\n';
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' if i == 0 || b[i - 1].is_ascii_whitespace() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        let node_start = matches!(prev, b'\n' | b':' | b'-' | b'?' | b'[' | b'{' | b',')
            && (i == 0 || b[i - 1].is_ascii_whitespace() || depth > 0);
        match c {
            b'\'' | b'"' if node_start || (depth > 0 && b"[{,:".contains(&prev)) => {
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' if c == b'"' => i += 1,
                        b'\'' if c == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 1,
                        x if x == c => break,
                        b'\n' => line += 1,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' | b'{' if depth > 0 || node_start => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b']' | b'}' if depth > 0 => depth -= 1,
            b'|' | b'>' if depth == 0 && node_start => {
                // a block scalar: its lines are those indented more than
                // the first one after the header, and are text
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                let mut indent = None;
                while i < b.len() {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] == b' ' {
                        j += 1;
                    }
                    let blank = j >= b.len() || b[j] == b'\n' || b[j] == b'\r';
                    let n = j - start;
                    let inside = blank || indent.is_none_or(|m| n >= m);
                    if !inside || (indent.is_none() && n == 0) {
                        break;
                    }
                    if !blank && indent.is_none() {
                        indent = Some(n);
                    }
                    line += 1;
                    i = start;
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                prev = b'\n';
                continue;
            }
            _ => {}
        }
        prev = c;
        i += 1;
    }
    None
}

/// Builds a JSON value like serde_json's own, charging every node to a
/// shared budget so an alias bomb fails early.
#[derive(Clone, Copy)]
struct Budgeted<'a> {
    left: &'a Cell<usize>,
}

impl Budgeted<'_> {
    fn charge<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(bytes + 8) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.left.set(0);
                Err(E::custom("the document expands beyond its bound"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budgeted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v))
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            self.charge(k.len())?;
            let v = map.next_value_seed(self)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_yaml_as_serde_yaml_does() {
        let text = "a: 1\nb: [x, 'y', \"z\"]\nc: {d: null, e: true, f: 1.5, g: ~}\nh: |\n  text [\n  more\ni: &r {x: 1}\nj: *r\n";
        assert_eq!(
            from_str(text).unwrap(),
            json!({"a": 1, "b": ["x", "y", "z"], "c": {"d": null, "e": true, "f": 1.5, "g": null},
                   "h": "text [\nmore\n", "i": {"x": 1}, "j": {"x": 1}})
        );
        // brackets in quotes, comments and block scalars do not nest
        let noisy = format!(
            "a: '{}'\nb: \"{}\" # {}\nc: >\n  {}\nd: it's [not] flow\n",
            "[".repeat(500),
            "{".repeat(500),
            "[".repeat(500),
            "[".repeat(500)
        );
        assert!(from_str(&noisy).is_ok(), "{:?}", from_str(&noisy));
    }

    /// Issue 12: 100,000 levels of `[` ran past 20 s before serde_yaml's
    /// depth limit refused them.
    #[test]
    fn issue_12_deep_flow_nesting_is_refused_before_parsing() {
        let deep = format!("StartAt: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let e = from_str(&deep).unwrap_err();
        assert_eq!(e, "YAML nested more than 128 levels deep at line 1");
        let multiline: String = (0..100_000)
            .map(|i| if i % 10 == 9 { "[\n " } else { "[" })
            .collect();
        assert!(from_str(&format!("k: {multiline}"))
            .unwrap_err()
            .contains("more than 128 levels"));
        let nested_quotes = format!("k: {}", "[\"]\", ".repeat(100_000));
        assert!(from_str(&nested_quotes)
            .unwrap_err()
            .contains("more than 128 levels"));
        // as deep as JSON allows is fine
        let ok = format!("k: {}1{}\n", "[".repeat(120), "]".repeat(120));
        assert!(from_str(&ok).is_ok());
    }

    /// Issue 12: a 14 KB alias bomb reached 1.2 GB before it was refused.
    #[test]
    fn issue_12_alias_bombs_stop_at_the_expansion_bound() {
        let mut text = format!("a0: &a0 [{}]\n", vec!["\"lol\""; 1000].join(","));
        text += &format!("a1: &a1 [{}]\n", vec!["*a0"; 1000].join(","));
        text += &format!("a2: &a2 [{}]\n", vec!["*a1"; 300].join(","));
        assert!(text.len() < 14 * 1024);
        let e = from_str(&text).unwrap_err();
        assert!(e.contains("expands to more than 4 MiB"), "{e}");
        // a few shared blocks are fine
        let shared =
            "r: &r [{ErrorEquals: [States.ALL], MaxAttempts: 3}]\nA: {Retry: *r}\nB: {Retry: *r}\n";
        assert_eq!(
            from_str(shared).unwrap()["B"]["Retry"][0]["MaxAttempts"],
            json!(3)
        );
    }
}
