//! Function values and the built-in function library.
//!
//! Built-ins are looked up by name when a `$name` is not bound; each has a
//! jsonata signature that validates (and defaults) its arguments before the
//! implementation runs. Families live in submodules.

mod collection;
mod numeric;
mod sfn;
mod string;

use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use crate::ast::{LambdaDef, TransformDef};
use crate::eval::{error, Evaluator, Frame, R};
use crate::signature::Signature;
use crate::value::{js_number_string, round15, Val};
use crate::Error;

pub type Imp = fn(&mut Evaluator<'_>, &[Option<Val>], Option<&Val>, &Rc<Frame>) -> R;

pub struct Builtin {
    pub name: &'static str,
    pub sig: Signature,
    pub imp: Imp,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${}", self.name)
    }
}

#[derive(Debug)]
pub enum Func {
    Builtin(&'static Builtin),
    Lambda {
        def: Arc<LambdaDef>,
        env: Rc<Frame>,
        input: Option<Val>,
    },
    /// Partial application: `None` marks a `?` placeholder.
    Partial {
        target: Rc<Func>,
        args: Vec<Option<Option<Val>>>,
    },
    /// `f ~> g` where both are functions.
    Chain(Rc<Func>, Rc<Func>),
    Regex(Arc<regex::Regex>),
    Transform {
        def: Arc<TransformDef>,
        env: Rc<Frame>,
    },
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame")
    }
}

impl Func {
    /// Number of parameters, used by higher-order functions to decide how
    /// many of (value, index, array) to pass.
    pub fn arity(&self) -> usize {
        match self {
            Func::Builtin(b) => b.sig.required(),
            Func::Lambda { def, .. } => def.params.len(),
            Func::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
            Func::Chain(a, _) => a.arity(),
            Func::Regex(_) | Func::Transform { .. } => 1,
        }
    }
}

type Entry = (&'static str, &'static str, Imp);

fn table() -> &'static Vec<Builtin> {
    static T: OnceLock<Vec<Builtin>> = OnceLock::new();
    T.get_or_init(|| {
        let mut entries: Vec<Entry> = Vec::new();
        entries.extend_from_slice(string::ENTRIES);
        entries.extend_from_slice(numeric::ENTRIES);
        entries.extend_from_slice(collection::ENTRIES);
        entries.extend_from_slice(sfn::ENTRIES);
        entries
            .into_iter()
            .filter_map(|(name, sig, imp)| {
                // signatures are constants; a bad one is a bug caught by tests
                Signature::parse(sig)
                    .ok()
                    .map(|sig| Builtin { name, sig, imp })
            })
            .collect()
    })
}

pub fn builtin(name: &str) -> Option<Val> {
    table()
        .iter()
        .find(|b| b.name == name)
        .map(|b| Val::Func(Rc::new(Func::Builtin(b))))
}

/// `$boolean` semantics; `None` for undefined.
pub fn boolean(v: Option<&Val>) -> Option<bool> {
    let v = v?;
    Some(match v {
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Num(n) => *n != 0.0,
        Val::Str(s) => !s.is_empty(),
        Val::Arr(a, _) => match a.len() {
            0 => false,
            1 => boolean(a.first()).unwrap_or(false),
            _ => a.iter().any(|x| boolean(Some(x)).unwrap_or(false)),
        },
        Val::Obj(m) => !m.is_empty(),
        Val::Func(_) => false,
    })
}

/// JavaScript string ordering (UTF-16 code units).
pub fn cmp_str(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `$string`: strings pass through, everything else is JSON with numbers
/// rounded to 15 significant digits. Fails once the text passes `max`
/// bytes (indentation can make it much longer than the value's size).
pub fn string_of(v: &Val, pretty: bool, max: usize) -> Result<String, Error> {
    match v {
        Val::Str(s) => Ok(s.to_string()),
        Val::Func(_) => Ok(String::new()),
        Val::Num(n) if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e21 => {
            Ok(js_number_string(*n))
        }
        Val::Num(n) if !n.is_finite() => Err(error(
            "D3001",
            "Attempting to invoke string function on Infinity or NaN",
        )),
        _ => {
            let mut out = String::new();
            stringify(v, pretty, 0, &mut out, max)?;
            Ok(out)
        }
    }
}

pub fn quote_json(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn stringify(
    v: &Val,
    pretty: bool,
    indent: usize,
    out: &mut String,
    max: usize,
) -> Result<(), Error> {
    if out.len() > max {
        return Err(crate::eval::too_large(max));
    }
    let nl = |out: &mut String, n: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..n {
                out.push_str("  ");
            }
        }
    };
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => {
            if !n.is_finite() {
                return Err(error("D1001", "Number out of range"));
            }
            out.push_str(&js_number_string(round15(*n)));
        }
        Val::Str(s) => quote_json(s, out),
        Val::Func(_) => out.push_str("\"\""),
        Val::Arr(a, _) => {
            if a.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 1);
                stringify(x, pretty, indent + 1, out, max)?;
            }
            nl(out, indent);
            out.push(']');
        }
        Val::Obj(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 1);
                quote_json(k, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                stringify(x, pretty, indent + 1, out, max)?;
            }
            nl(out, indent);
            out.push('}');
        }
    }
    Ok(())
}

/// Calls `f` with up to three of (value, index, array), as many as it declares.
pub fn call_hof(
    ev: &mut Evaluator<'_>,
    f: &Val,
    a1: Val,
    a2: Option<Val>,
    a3: Option<Val>,
    env: &Rc<Frame>,
) -> R {
    let arity = match f {
        Val::Func(func) => func.arity(),
        _ => 0,
    };
    let mut args = vec![Some(a1)];
    if arity >= 2 {
        args.push(a2);
    }
    if arity >= 3 {
        args.push(a3);
    }
    ev.apply(f, args, None, env, "")
}

pub fn arg(args: &[Option<Val>], i: usize) -> Option<Val> {
    args.get(i).cloned().flatten()
}

pub fn num_arg(args: &[Option<Val>], i: usize) -> Option<f64> {
    args.get(i)
        .and_then(|a| a.as_ref())
        .and_then(|v| v.as_num())
}

pub fn str_arg(args: &[Option<Val>], i: usize) -> Option<Rc<str>> {
    match args.get(i) {
        Some(Some(Val::Str(s))) => Some(s.clone()),
        _ => None,
    }
}

pub use numeric::round_half_even;
