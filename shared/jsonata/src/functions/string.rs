//! String functions, regex-based functions and URL/base64 encoding.

use std::rc::Rc;

use base64::Engine as _;

use super::{arg, num_arg, str_arg, string_of, Entry, Func};
use crate::eval::{error, Evaluator, Frame, R};
use crate::value::{Map, Val};

pub const ENTRIES: &[Entry] = &[
    ("string", "<x-b?:s>", string),
    ("length", "<s-:n>", length),
    ("substring", "<s-nn?:s>", substring),
    ("substringBefore", "<s-s:s>", substring_before),
    ("substringAfter", "<s-s:s>", substring_after),
    ("uppercase", "<s-:s>", uppercase),
    ("lowercase", "<s-:s>", lowercase),
    ("trim", "<s-:s>", trim),
    ("pad", "<s-ns?:s>", pad),
    ("contains", "<s-(sf):b>", contains),
    ("split", "<s-(sf)n?:a<s>>", split),
    ("join", "<a<s>s?:s>", join),
    ("match", "<s-f<s:o>n?:a<o>>", match_),
    ("replace", "<s-(sf)(sf)n?:s>", replace),
    ("base64encode", "<s-:s>", base64encode),
    ("base64decode", "<s-:s>", base64decode),
    ("encodeUrlComponent", "<s-:s>", encode_url_component),
    ("encodeUrl", "<s-:s>", encode_url),
    ("decodeUrlComponent", "<s-:s>", decode_url_component),
    ("decodeUrl", "<s-:s>", decode_url),
    ("eval", "<sx?:x>", eval_disabled),
];

type Args<'x> = &'x [Option<Val>];

fn string(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    let pretty = matches!(arg(a, 1), Some(Val::Bool(true)));
    let s = string_of(&v, pretty, ev.limits().max_value_bytes)?;
    ev.check_len(s.len())?;
    Ok(Some(Val::string(s)))
}

fn length(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(str_arg(a, 0).map(|s| Val::Num(s.chars().count() as f64)))
}

/// JavaScript `Array.prototype.slice` index normalisation.
fn slice_index(i: f64, len: usize) -> usize {
    let len_f = len as f64;
    let i = i.trunc();
    if i < 0.0 {
        (len_f + i).max(0.0) as usize
    } else {
        i.min(len_f) as usize
    }
}

fn substring(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let mut start = num_arg(a, 1).unwrap_or(0.0);
    if (len as f64) + start < 0.0 {
        start = 0.0;
    }
    let out: String = match num_arg(a, 2) {
        Some(l) => {
            if l <= 0.0 {
                return Ok(Some(Val::str("")));
            }
            let end = if start >= 0.0 {
                start + l
            } else {
                len as f64 + start + l
            };
            let s0 = slice_index(start, len);
            let e0 = slice_index(end, len);
            if e0 <= s0 {
                String::new()
            } else {
                chars[s0..e0].iter().collect()
            }
        }
        None => chars[slice_index(start, len)..].iter().collect(),
    };
    Ok(Some(Val::string(out)))
}

fn substring_before(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let Some(t) = str_arg(a, 1) else {
        return Ok(Some(Val::Str(s)));
    };
    Ok(Some(match s.find(&*t) {
        Some(p) => Val::str(&s[..p]),
        None => Val::Str(s),
    }))
}

fn substring_after(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let Some(t) = str_arg(a, 1) else {
        return Ok(Some(Val::Str(s)));
    };
    Ok(Some(match s.find(&*t) {
        Some(p) => Val::str(&s[p + t.len()..]),
        None => Val::Str(s),
    }))
}

fn uppercase(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(str_arg(a, 0).map(|s| Val::string(s.to_uppercase())))
}

fn lowercase(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(str_arg(a, 0).map(|s| Val::string(s.to_lowercase())))
}

fn trim(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let mut out = String::new();
    let mut ws = false;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            ws = true;
        } else {
            if ws {
                out.push(' ');
                ws = false;
            }
            out.push(c);
        }
    }
    if ws {
        out.push(' ');
    }
    let out = out.strip_prefix(' ').unwrap_or(&out);
    let out = out.strip_suffix(' ').unwrap_or(out);
    Ok(Some(Val::str(out)))
}

fn pad(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let width = num_arg(a, 1).unwrap_or(0.0);
    let ch = match str_arg(a, 2) {
        Some(c) if !c.is_empty() => c.to_string(),
        _ => " ".to_string(),
    };
    let len = s.chars().count() as f64;
    let pad_len = width.abs().trunc() - len;
    if pad_len <= 0.0 {
        return Ok(Some(Val::Str(s)));
    }
    // the width is any number the user gives (`1e300`): bound the result
    // before building it
    let max_chars = (ev.limits().max_value_bytes / ch.len().max(1)) as f64;
    if pad_len > max_chars {
        return Err(crate::eval::too_large(ev.limits().max_value_bytes));
    }
    let pad_len = pad_len as usize;
    ev.check_len(s.len() + pad_len * ch.len())?;
    let padding: String = ch.chars().cycle().take(pad_len).collect();
    Ok(Some(Val::string(if width > 0.0 {
        format!("{s}{padding}")
    } else {
        format!("{padding}{s}")
    })))
}

fn regex_of(v: &Option<Val>) -> Option<Rc<Func>> {
    match v {
        Some(Val::Func(f)) => Some(f.clone()),
        _ => None,
    }
}

/// One match: byte start, byte end, capture groups.
type Found = (usize, usize, Vec<Option<String>>);

/// Finds all matches of a matcher function. Native regexes are run
/// directly; other functions follow jsonata's matcher protocol.
fn find_all(f: &Func, s: &str, limit: Option<usize>) -> Result<Vec<Found>, crate::Error> {
    let Func::Regex(re) = f else {
        return Err(error("T1010", "The matcher function argument passed to function does not return the correct object structure"));
    };
    let mut out = Vec::new();
    for caps in re.captures_iter(s) {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        if m.start() == m.end() {
            return Err(error(
                "D1004",
                "Regular expression matches zero length string",
            ));
        }
        let groups = caps
            .iter()
            .skip(1)
            .map(|g| g.map(|g| g.as_str().to_string()))
            .collect();
        out.push((m.start(), m.end(), groups));
    }
    Ok(out)
}

/// The object `$match` returns and `$replace` passes to a function:
/// `{"match": ..., "index": <characters before it>, "groups": [...]}`.
fn match_object(matched: &str, index: usize, groups: &[Option<String>]) -> Val {
    let mut m = Map::new();
    m.insert(Rc::from("match"), Val::str(matched));
    m.insert(Rc::from("index"), Val::Num(index as f64));
    let groups = groups.iter().map(|g| Val::str(g.as_deref().unwrap_or("")));
    m.insert(Rc::from("groups"), Val::array(groups.collect()));
    Val::object(m)
}

fn contains(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    if let Some(t) = str_arg(a, 1) {
        return Ok(Some(Val::Bool(s.contains(&*t))));
    }
    let Some(f) = regex_of(&arg(a, 1)) else {
        return Ok(None);
    };
    Ok(Some(Val::Bool(!find_all(&f, &s, Some(1))?.is_empty())))
}

fn split(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let limit = num_arg(a, 2);
    if let Some(l) = limit {
        if l < 0.0 {
            return Err(error(
                "D3020",
                "Third argument of split function must evaluate to a positive number",
            ));
        }
    }
    // `limit` is any number: as a count it saturates
    let limit = limit.map_or(usize::MAX, |l| l as usize);
    let mut parts: Vec<Val> = Vec::new();
    let mut budget = ev.budget();
    let mut push = |p: &str| -> Result<bool, crate::Error> {
        if parts.len() >= limit {
            return Ok(false);
        }
        let v = Val::str(p);
        budget.add(&v)?;
        parts.push(v);
        Ok(true)
    };
    if let Some(sep) = str_arg(a, 1) {
        if sep.is_empty() {
            let mut buf = [0u8; 4];
            for c in s.chars() {
                if !push(c.encode_utf8(&mut buf))? {
                    break;
                }
            }
        } else {
            for p in s.split(&*sep) {
                if !push(p)? {
                    break;
                }
            }
        }
    } else if let Some(f) = regex_of(&arg(a, 1)) {
        let ms = find_all(&f, &s, None)?;
        let mut last = 0;
        for (st, en, _) in ms {
            if !push(&s[last..st])? {
                break;
            }
            last = en;
        }
        push(&s[last..])?;
    }
    Ok(Some(Val::array(parts)))
}

fn join(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let sep = str_arg(a, 1).map(|s| s.to_string()).unwrap_or_default();
    let items = arr.items();
    let parts: Vec<&str> = items.iter().filter_map(Val::as_str).collect();
    // a long separator repeats once per item: measure before joining
    let len = parts.iter().map(|p| p.len()).sum::<usize>()
        + sep.len().saturating_mul(parts.len().saturating_sub(1));
    ev.check_len(len)?;
    Ok(Some(Val::string(parts.join(&sep))))
}

fn match_(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let limit = num_arg(a, 2);
    if let Some(l) = limit {
        if l < 0.0 {
            return Err(error(
                "D3040",
                "Third argument of match function must evaluate to a positive number",
            ));
        }
    }
    let Some(f) = regex_of(&arg(a, 1)) else {
        return Ok(None);
    };
    let ms = find_all(&f, &s, limit.map(|l| l as usize))?;
    let mut out = Vec::with_capacity(ms.len());
    let mut budget = ev.budget();
    // character index of each match, counted incrementally (counting from
    // the start for every match would be quadratic)
    let (mut at_byte, mut at_char) = (0, 0);
    for (st, en, groups) in ms {
        at_char += s[at_byte..st].chars().count();
        at_byte = st;
        let v = match_object(&s[st..en], at_char, &groups);
        budget.add(&v)?;
        out.push(v);
    }
    Ok(Some(Val::seq(out)))
}

fn substitute(rep: &str, matched: &str, groups: &[Option<String>]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = rep.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        match chars.get(i) {
            Some('$') => {
                out.push('$');
                i += 1;
            }
            Some('0') => {
                out.push_str(matched);
                i += 1;
            }
            _ => {
                let max_digits = if groups.is_empty() {
                    1
                } else {
                    (groups.len() as f64).log10().floor() as usize + 1
                };
                let digits: String = chars[i..]
                    .iter()
                    .take(max_digits)
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let mut idx: Option<usize> = digits.parse().ok();
                let mut used = digits.len();
                if max_digits > 1 && idx.is_some_and(|x| x > groups.len()) {
                    let d2: String = digits.chars().take(max_digits - 1).collect();
                    idx = d2.parse().ok();
                    used = d2.len();
                }
                match idx {
                    Some(n) => {
                        if n >= 1 {
                            if let Some(Some(g)) = groups.get(n - 1) {
                                out.push_str(g);
                            }
                        }
                        i += used;
                    }
                    None => out.push('$'),
                }
            }
        }
    }
    out
}

fn replace(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let pattern = arg(a, 1);
    let replacement = arg(a, 2);
    if matches!(&pattern, Some(Val::Str(p)) if p.is_empty()) {
        return Err(error(
            "D3010",
            "Second argument of replace function cannot be an empty string",
        ));
    }
    let limit = num_arg(a, 3);
    if let Some(l) = limit {
        if l < 0.0 {
            return Err(error(
                "D3011",
                "Fourth argument of replace function must evaluate to a positive number",
            ));
        }
    }
    let limit = limit.map(|l| l as usize);
    let matches: Vec<Found> = match &pattern {
        Some(Val::Str(p)) => {
            let mut v = Vec::new();
            let mut from = 0;
            while let Some(i) = s[from..].find(&**p) {
                if limit.is_some_and(|l| v.len() >= l) {
                    break;
                }
                v.push((from + i, from + i + p.len(), Vec::new()));
                from += i + p.len();
            }
            v
        }
        Some(Val::Func(f)) => find_all(f, &s, limit)?,
        _ => return Ok(None),
    };
    let mut out = String::new();
    let mut last = 0;
    let (mut at_byte, mut at_char) = (0, 0);
    for (st, en, groups) in matches {
        // each replacement can be as long as the whole string
        ev.check_len(out.len())?;
        out.push_str(&s[last..st]);
        let matched = &s[st..en];
        match &replacement {
            Some(Val::Str(r)) => out.push_str(&substitute(r, matched, &groups)),
            Some(f @ Val::Func(_)) => {
                at_char += s[at_byte..st].chars().count();
                at_byte = st;
                let m = match_object(matched, at_char, &groups);
                match ev.apply(f, vec![Some(m)], None, env, "")? {
                    Some(Val::Str(r)) => out.push_str(&r),
                    _ => {
                        return Err(error(
                            "D3012",
                            "Attempted to replace a matched string with a non-string value",
                        ));
                    }
                }
            }
            _ => {}
        }
        last = en;
    }
    out.push_str(&s[last..]);
    ev.check_len(out.len())?;
    Ok(Some(Val::string(out)))
}

fn base64encode(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(str_arg(a, 0)
        .map(|s| Val::string(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))))
}

fn base64decode(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim().as_bytes())
        .map_err(|_| error("D3137", "Invalid base64 string"))?;
    Ok(Some(Val::string(
        String::from_utf8_lossy(&bytes).into_owned(),
    )))
}

fn encode(s: &str, keep: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn decode(s: &str, reserved: &str) -> Result<String, crate::Error> {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    let bad = || {
        error(
            "D3140",
            "Malformed URL passed to decodeURIComponent(): not a valid URI",
        )
    };
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(bad)?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
            if b < 0x80 && reserved.contains(b as char) {
                out.extend_from_slice(&bytes[i..i + 3]);
            } else {
                out.push(b);
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn encode_url_component(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(str_arg(a, 0).map(|s| Val::string(encode(&s, "-_.!~*'()"))))
}

fn encode_url(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(str_arg(a, 0).map(|s| Val::string(encode(&s, "-_.!~*'();/?:@&=+$,#"))))
}

fn decode_url_component(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    match str_arg(a, 0) {
        Some(s) => Ok(Some(Val::string(decode(&s, "")?))),
        None => Ok(None),
    }
}

fn decode_url(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    match str_arg(a, 0) {
        Some(s) => Ok(Some(Val::string(decode(&s, ";/?:@&=+$,#")?))),
        None => Ok(None),
    }
}

/// Step Functions disables `$eval`; so do we.
fn eval_disabled(_: &mut Evaluator<'_>, _: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Err(error("D3121", "The $eval function is not supported"))
}
