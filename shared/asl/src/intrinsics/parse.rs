//! The call syntax: `States.Name(arg, ...)` where an argument is a quoted
//! string, a number, `true` / `false` / `null`, a JSONPath (`$.a`, `$$.x`,
//! `$var`) or another call.

use super::{Arg, Call, Func};
use crate::jsonpath::JsonPath;
use serde_json::Value;

pub(super) fn parse_call(src: &str) -> Result<Call, String> {
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let call = p.call()?;
    p.skip_ws();
    if p.pos < src.len() {
        return Err(format!("unexpected text after the call: '{}'", p.rest()));
    }
    Ok(call)
}

/// How deep calls may nest inside one another.
const MAX_DEPTH: usize = 32;

struct Parser<'s> {
    src: &'s str,
    pos: usize,
    /// Call nesting, bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

impl<'s> Parser<'s> {
    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        let rest = self.rest();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(rest.len());
        let name = rest.get(..name_len).unwrap_or("");
        let func =
            Func::from_name(name).ok_or_else(|| format!("unknown intrinsic function '{name}'"))?;
        self.pos += name_len;
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                args.push(self.arg()?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(c) => {
                        return Err(format!(
                            "expected ',' or ')' in the arguments of {name}, found '{c}'"
                        ))
                    }
                    None => return Err(format!("missing ')' closing {name}")),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            let expected = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            return Err(format!(
                "{name} takes {expected} argument(s), but {} were given",
                args.len()
            ));
        }
        Ok(Call { func, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let rest = self.rest();
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => {
                let len = path_len(rest);
                let text = rest.get(..len).unwrap_or("").trim_end();
                self.pos += len;
                JsonPath::parse(text)
                    .map(Arg::Path)
                    .map_err(|e| format!("invalid JSONPath '{text}': {}", e.reason))
            }
            Some('S') if rest.starts_with("States.") => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(format!(
                        "calls nested deeper than {MAX_DEPTH} levels at position {}",
                        self.pos
                    ));
                }
                let call = self.call()?;
                self.depth -= 1;
                Ok(Arg::Call(Box::new(call)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let len = rest
                    .find(|c: char| c == ',' || c == ')' || c.is_whitespace())
                    .unwrap_or(rest.len());
                let text = rest.get(..len).unwrap_or("");
                self.pos += len;
                serde_json::from_str::<serde_json::Number>(text)
                    .map(|n| Arg::Literal(Value::Number(n)))
                    .map_err(|_| format!("invalid number '{text}'"))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if let Some(after) = rest.strip_prefix(word) {
                        if after.starts_with(|c: char| c == ',' || c == ')' || c.is_whitespace())
                            || after.is_empty()
                        {
                            self.pos += word.len();
                            return Ok(Arg::Literal(v));
                        }
                    }
                }
                let shown: String = rest.chars().take(20).collect();
                Err(format!("invalid argument '{shown}': expected a quoted string, number, boolean, null, path or call"))
            }
        }
    }

    /// A single-quoted literal. `\'`, `\{`, `\}` and `\\` are the escapes; the
    /// raw text is kept too, since `States.Format` must tell `\{` from `{`.
    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1;
        let start = self.pos;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) => {
                        if !matches!(e, '\'' | '{' | '}' | '\\') {
                            value.push('\\');
                        }
                        value.push(e);
                    }
                    None => break,
                },
                '\'' => {
                    let raw = self.src.get(start..start + i).unwrap_or("").to_string();
                    self.pos = start + i + 1;
                    return Ok(Arg::Str { value, raw });
                }
                c => value.push(c),
            }
        }
        Err("unterminated string literal".into())
    }
}

/// Length of a path argument: up to a `,` or `)` outside brackets, parentheses and quotes.
fn path_len(s: &str) -> usize {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            ',' if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}
