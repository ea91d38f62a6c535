//! `States.Format`, `States.StringSplit`, `States.Base64Encode`, `States.Base64Decode`.

use super::{arg_str, failure, type_name, ArgVal, Func};
use crate::errors::Failure;
use crate::jsonpath::compact;
use base64::Engine as _;
use serde_json::Value;

/// Step Functions limits Base64 input (either way) to 10,000 characters.
const MAX_BASE64_CHARS: usize = 10_000;

/// `States.Format(template, args...)`: each `{}` takes the next argument;
/// `\{`, `\}`, `\'` and `\\` are literal characters. The number of `{}` must
/// equal the number of arguments.
pub(super) fn format(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let template = match args.first() {
        Some(ArgVal { raw: Some(raw), .. }) => *raw,
        Some(a) => a.value.as_str().ok_or_else(|| {
            failure(
                f,
                format!(
                    "the template must be a string, but was {} {}",
                    type_name(&a.value),
                    compact(&a.value)
                ),
            )
        })?,
        None => return Err(failure(f, "missing template")),
    };
    let values = args.get(1..).unwrap_or(&[]);
    let mut out = String::with_capacity(template.len() + 16 * values.len());
    let mut used = 0usize;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('{' | '}' | '\'' | '\\')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = values.get(used).ok_or_else(|| {
                    failure(
                        f,
                        format!(
                            "the template has more placeholders {{}} than the {} argument(s) given",
                            values.len()
                        ),
                    )
                })?;
                render(&v.value, &mut out);
                used += 1;
            }
            c => out.push(c),
        }
    }
    if used != values.len() {
        return Err(failure(
            f,
            format!(
                "the template has {used} placeholder(s) {{}} but {} argument(s) were given",
                values.len()
            ),
        ));
    }
    Ok(Value::String(out))
}

/// How `States.Format` prints a value: strings bare, numbers as JSON, and
/// objects / arrays the way Java prints maps and lists (`{a=1, b=[x, y]}`),
/// which is what AWS shows (conformance case generic.format_2.e7).
fn render(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(x, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                render(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `States.StringSplit(string, delimiters)`: every character of `delimiters`
/// separates, and empty pieces are dropped (Java's `StringTokenizer`, which is
/// what the conformance cases show: `", , ,"` split on `","` is `[" ", " "]`).
pub(super) fn split(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let text = arg_str(f, args, 0, "string to split")?;
    let delims = arg_str(f, args, 1, "delimiter")?;
    let parts = text
        .split(|c: char| delims.contains(c))
        .filter(|p| !p.is_empty())
        .map(|p| Value::String(p.to_string()))
        .collect();
    Ok(Value::Array(parts))
}

pub(super) fn base64_encode(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let text = arg_str(f, args, 0, "argument")?;
    if text.chars().count() > MAX_BASE64_CHARS {
        return Err(failure(
            f,
            format!("the string to encode must not exceed {MAX_BASE64_CHARS} characters"),
        ));
    }
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(text),
    ))
}

pub(super) fn base64_decode(f: Func, args: &[ArgVal<'_>]) -> Result<Value, Failure> {
    let text = arg_str(f, args, 0, "argument")?;
    if text.chars().count() > MAX_BASE64_CHARS {
        return Err(failure(
            f,
            format!("the string to decode must not exceed {MAX_BASE64_CHARS} characters"),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| failure(f, format!("'{text}' is not valid Base64: {e}")))?;
    let decoded = String::from_utf8(bytes)
        .map_err(|_| failure(f, "the decoded bytes are not valid UTF-8"))?;
    Ok(Value::String(decoded))
}
