//! Numeric functions and aggregation.

use std::rc::Rc;

use super::{arg, num_arg, str_arg, Entry};
use crate::eval::{error, Evaluator, Frame, R};
use crate::value::{js_number_string, Val};

pub const ENTRIES: &[Entry] = &[
    ("number", "<(nsb)-:n>", number),
    ("abs", "<n-:n>", abs),
    ("floor", "<n-:n>", floor),
    ("ceil", "<n-:n>", ceil),
    ("round", "<n-n?:n>", round),
    ("power", "<n-n:n>", power),
    ("sqrt", "<n-:n>", sqrt),
    ("sum", "<a<n>:n>", sum),
    ("max", "<a<n>:n>", max),
    ("min", "<a<n>:n>", min),
    ("average", "<a<n>:n>", average),
    ("formatBase", "<n-n?:s>", format_base),
    ("formatNumber", "<n-so?:s>", crate::format::format_number),
    ("formatInteger", "<n-s:s>", crate::format::format_integer),
    ("parseInteger", "<s-s:n>", crate::format::parse_integer),
];

type Args<'x> = &'x [Option<Val>];

fn number(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    let n = match v {
        Val::Num(n) => n,
        Val::Bool(b) => {
            if b {
                1.0
            } else {
                0.0
            }
        }
        Val::Str(s) => {
            parse_number(&s).ok_or_else(|| error("D3030", "Unable to cast value to a number"))?
        }
        _ => return Err(error("D3030", "Unable to cast value to a number")),
    };
    Ok(Some(Val::Num(n)))
}

fn parse_number(s: &str) -> Option<f64> {
    let t = s;
    let radix = |p: &str, r: u32| i64::from_str_radix(p, r).ok().map(|v| v as f64);
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return radix(h, 16);
    }
    if let Some(h) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        return radix(h, 8);
    }
    if let Some(h) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        return radix(h, 2);
    }
    // JSON number grammar, optionally signed
    let body = t.strip_prefix('-').unwrap_or(t);
    let mut chars = body.chars().peekable();
    let mut saw_digit = false;
    while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
        chars.next();
        saw_digit = true;
    }
    if !saw_digit {
        return None;
    }
    if chars.peek() == Some(&'.') {
        chars.next();
        let mut d = false;
        while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
            chars.next();
            d = true;
        }
        if !d {
            return None;
        }
    }
    if matches!(chars.peek(), Some('e') | Some('E')) {
        chars.next();
        if matches!(chars.peek(), Some('+') | Some('-')) {
            chars.next();
        }
        let mut d = false;
        while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
            chars.next();
            d = true;
        }
        if !d {
            return None;
        }
    }
    if chars.next().is_some() {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn unary(a: Args<'_>, f: fn(f64) -> f64) -> R {
    Ok(num_arg(a, 0).map(|n| Val::Num(f(n))))
}

fn abs(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    unary(a, f64::abs)
}
fn floor(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    unary(a, f64::floor)
}
fn ceil(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    unary(a, f64::ceil)
}

/// Shifts the decimal point via the string form (as jsonata does) so that
/// `$round(2.675, 2)` sees 267.5 rather than 267.49999.
fn shift(n: f64, places: i32) -> f64 {
    let s = js_number_string(n);
    let (m, e) = match s.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    format!("{m}e{}", e + places).parse().unwrap_or(n)
}

pub fn round_half_even(n: f64, precision: i32) -> f64 {
    let mut v = n;
    if precision != 0 {
        v = shift(v, precision);
    }
    let mut r = (v + 0.5).floor();
    let diff = r - v;
    if diff.abs() == 0.5 && (r % 2.0).abs() == 1.0 {
        r -= 1.0;
    }
    if precision != 0 {
        r = shift(r, -precision);
    }
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

fn round(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(n) = num_arg(a, 0) else {
        return Ok(None);
    };
    // beyond ±1000 places every double rounds the same way; the clamp keeps
    // the exponent arithmetic in range for any number the user gives
    let p = num_arg(a, 1).unwrap_or(0.0).clamp(-1000.0, 1000.0) as i32;
    Ok(Some(Val::Num(round_half_even(n, p))))
}

fn power(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(b) = num_arg(a, 0) else {
        return Ok(None);
    };
    let e = num_arg(a, 1).unwrap_or(0.0);
    let r = b.powf(e);
    if !r.is_finite() {
        return Err(error("D3061", format!("The power function has resulted in a value that cannot be represented as a JSON number: base={b}, exponent={e}")));
    }
    Ok(Some(Val::Num(r)))
}

fn sqrt(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(n) = num_arg(a, 0) else {
        return Ok(None);
    };
    if n < 0.0 {
        return Err(error(
            "D3060",
            format!("The sqrt function cannot be applied to a negative number: {n}"),
        ));
    }
    Ok(Some(Val::Num(n.sqrt())))
}

fn nums(a: Args<'_>) -> Option<Vec<f64>> {
    let v = arg(a, 0)?;
    Some(v.items().iter().filter_map(|x| x.as_num()).collect())
}

fn sum(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(nums(a).map(|v| Val::Num(v.iter().sum())))
}
fn max(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(nums(a)
        .filter(|v| !v.is_empty())
        .map(|v| Val::Num(v.iter().cloned().fold(f64::NEG_INFINITY, f64::max))))
}
fn min(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(nums(a)
        .filter(|v| !v.is_empty())
        .map(|v| Val::Num(v.iter().cloned().fold(f64::INFINITY, f64::min))))
}
fn average(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(nums(a)
        .filter(|v| !v.is_empty())
        .map(|v| Val::Num(v.iter().sum::<f64>() / v.len() as f64)))
}

fn format_base(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(n) = num_arg(a, 0) else {
        return Ok(None);
    };
    let radix = num_arg(a, 1).unwrap_or(10.0);
    if !(2.0..=36.0).contains(&radix) {
        return Err(error("D3100", format!("The radix of the formatBase function must be between 2 and 36.  It was given {radix}")));
    }
    let radix = radix as u32;
    let v = round_half_even(n, 0);
    let neg = v < 0.0;
    let mut x = v.abs() as u128;
    let mut digits = Vec::new();
    if x == 0 {
        digits.push('0');
    }
    while x > 0 {
        let d = (x % radix as u128) as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('0'));
        x /= radix as u128;
    }
    if neg {
        digits.push('-');
    }
    let s: String = digits.into_iter().rev().collect();
    let _ = str_arg;
    Ok(Some(Val::string(s)))
}
