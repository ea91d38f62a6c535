//! Regex literals: JavaScript syntax mapped onto the `regex` crate, and the
//! match objects jsonata's regex functions produce.
//!
//! The `regex` crate has no backreferences or lookaround (it guarantees linear
//! time, which matters for hostile input); such patterns fail to compile with
//! an S0303 error instead.

use std::rc::Rc;

use regex::Regex;

use crate::lexer::err;
use crate::value::{Map, Val};
use crate::Error;

pub fn compile(body: &str, flags: &str, pos: usize) -> Result<Regex, Error> {
    let mut pat = String::new();
    let mut prefix = String::new();
    if flags.contains('i') {
        prefix.push('i');
    }
    if flags.contains('m') {
        prefix.push('m');
    }
    if flags.contains('s') {
        prefix.push('s');
    }
    if !prefix.is_empty() {
        pat.push_str(&format!("(?{prefix})"));
    }
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let n = chars.get(i + 1).copied().unwrap_or('\\');
                match n {
                    '/' => pat.push('/'),
                    'd' if !in_class => pat.push_str("[0-9]"),
                    'd' => pat.push_str("0-9"),
                    _ => {
                        pat.push('\\');
                        pat.push(n);
                    }
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                    pat.push_str("[\\s\\S]");
                    i += 3;
                    continue;
                }
                in_class = true;
                pat.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    pat.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    // JS `[]` never matches; `[]...]` is not valid JS either
                    pat.push_str("\\]");
                    i += 1;
                }
            }
            '[' => pat.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                pat.push(']');
            }
            _ => pat.push(c),
        }
        i += 1;
    }
    Regex::new(&pat).map_err(|e| err("S0303", format!("Invalid regular expression: {e}"), pos))
}

/// The object a regex produces when applied as a function.
pub fn match_object(re: &Regex, s: &str, from: usize) -> Option<Val> {
    let caps = re.captures_at(s, from)?;
    let m = caps.get(0)?;
    let mut obj = Map::new();
    obj.insert(Rc::from("match"), Val::str(m.as_str()));
    let start = s[..m.start()].chars().count();
    let end = start + m.as_str().chars().count();
    obj.insert(Rc::from("start"), Val::Num(start as f64));
    obj.insert(Rc::from("end"), Val::Num(end as f64));
    let groups: Vec<Val> = caps
        .iter()
        .skip(1)
        .map(|g| {
            g.map(|g| Val::str(g.as_str()))
                .unwrap_or_else(|| Val::str(""))
        })
        .collect();
    obj.insert(Rc::from("groups"), Val::array(groups));
    Some(Val::object(obj))
}
