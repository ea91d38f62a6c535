//! Function signatures (`<s-nn?:s>`) and argument validation, as jsonata-js:
//! each parameter becomes a regex over one-letter type symbols, so the whole
//! argument list is checked with one match, and `-` parameters default to the
//! context value.

use regex::Regex;

use crate::value::Val;
use crate::Error;

#[derive(Debug, Clone)]
struct Param {
    regex: String,
    typ: String,
    subtype: Option<String>,
    context: bool,
    context_regex: Option<Regex>,
}

#[derive(Debug, Clone)]
pub struct Signature {
    params: Vec<Param>,
    regex: Regex,
}

fn sig_err(code: &str, msg: String) -> Error {
    Error {
        code: code.into(),
        message: msg,
        position: None,
    }
}

impl Signature {
    pub fn parse(sig: &str) -> Result<Signature, Error> {
        let chars: Vec<char> = sig.chars().collect();
        let mut params: Vec<Param> = Vec::new();
        let mut pos = 1;
        let blank = || Param {
            regex: String::new(),
            typ: String::new(),
            subtype: None,
            context: false,
            context_regex: None,
        };
        let find_close = |start: usize, open: char, close: char| -> Result<usize, Error> {
            let mut depth = 1;
            let mut p = start;
            while p + 1 < chars.len() {
                p += 1;
                if chars[p] == open {
                    depth += 1;
                } else if chars[p] == close {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(p);
                    }
                }
            }
            Err(sig_err("S0401", format!("Invalid signature: {sig}")))
        };
        while pos < chars.len() {
            let c = chars[pos];
            if c == ':' {
                break;
            }
            match c {
                's' | 'n' | 'b' | 'l' | 'o' => params.push(Param {
                    regex: format!("[{c}m]"),
                    typ: c.to_string(),
                    ..blank()
                }),
                'a' => params.push(Param {
                    regex: "[asnblfom]".into(),
                    typ: "a".into(),
                    ..blank()
                }),
                'f' => params.push(Param {
                    regex: "[f]".into(),
                    typ: "f".into(),
                    ..blank()
                }),
                'j' => params.push(Param {
                    regex: "[asnblom]".into(),
                    typ: "j".into(),
                    ..blank()
                }),
                'x' => params.push(Param {
                    regex: "[asnblfom]".into(),
                    typ: "x".into(),
                    ..blank()
                }),
                '-' => {
                    if let Some(p) = params.last_mut() {
                        p.context = true;
                        p.context_regex = Regex::new(&format!("^{}$", p.regex)).ok();
                        p.regex.push('?');
                    }
                }
                '?' | '+' => {
                    if let Some(p) = params.last_mut() {
                        p.regex.push(c);
                    }
                }
                '(' => {
                    let end = find_close(pos, '(', ')')?;
                    let choice: String = chars[pos + 1..end].iter().collect();
                    if choice.contains('<') {
                        return Err(sig_err("S0402", format!("Choice groups containing parameterized types are not supported: {sig}")));
                    }
                    params.push(Param {
                        regex: format!("[{choice}m]"),
                        typ: format!("({choice})"),
                        ..blank()
                    });
                    pos = end;
                }
                '<' => {
                    let ok = params.last().is_some_and(|p| p.typ == "a" || p.typ == "f");
                    if !ok {
                        return Err(sig_err("S0401", format!("Type parameters can only be applied to functions and arrays: {sig}")));
                    }
                    let end = find_close(pos, '<', '>')?;
                    let sub: String = chars[pos + 1..end].iter().collect();
                    if let Some(p) = params.last_mut() {
                        p.subtype = Some(sub);
                    }
                    pos = end;
                }
                '>' => {}
                _ => {
                    return Err(sig_err("S0401", format!("Invalid signature: {sig}")));
                }
            }
            pos += 1;
        }
        let re: String = params.iter().map(|p| format!("({})", p.regex)).collect();
        let regex = Regex::new(&format!("^{re}$"))
            .map_err(|_| sig_err("S0401", format!("Invalid signature: {sig}")))?;
        Ok(Signature { params, regex })
    }

    pub fn arity(&self) -> usize {
        self.params.len()
    }

    /// Parameters that are not optional: what JavaScript's `fn.length`
    /// reports for the reference implementation's native functions.
    pub fn required(&self) -> usize {
        self.params
            .iter()
            .filter(|p| !p.regex.ends_with('?'))
            .count()
            .max(1)
    }

    /// Checks `args` against the signature, filling in the context for `-`
    /// parameters and wrapping singletons where an array is expected.
    pub fn validate(
        &self,
        name: &str,
        args: &[Option<Val>],
        context: Option<&Val>,
    ) -> Result<Vec<Option<Val>>, Error> {
        let supplied: String = args.iter().map(|a| Val::symbol(a.as_ref())).collect();
        let Some(caps) = self.regex.captures(&supplied) else {
            return Err(self.mismatch(name, args, &supplied));
        };
        let mut out = Vec::new();
        let mut idx = 0usize;
        for (pi, p) in self.params.iter().enumerate() {
            let m = caps.get(pi + 1).map(|m| m.as_str()).unwrap_or("");
            if m.is_empty() {
                if p.context && p.context_regex.is_some() {
                    let sym = Val::symbol(context).to_string();
                    if p.context_regex.as_ref().is_some_and(|r| r.is_match(&sym)) {
                        out.push(context.cloned());
                    } else {
                        return Err(sig_err(
                            "T0411",
                            format!("Context value is not a compatible type with argument {} of function {name}", idx + 1),
                        ));
                    }
                } else {
                    out.push(args.get(idx).cloned().flatten());
                    idx += 1;
                }
                continue;
            }
            for single in m.chars() {
                let arg = args.get(idx).cloned().flatten();
                if p.typ == "a" {
                    if single == 'm' {
                        out.push(None);
                    } else {
                        let mut ok = true;
                        if let Some(sub) = &p.subtype {
                            if single != 'a' && m != sub {
                                ok = false;
                            } else if single == 'a' {
                                if let Some(items) = arg.as_ref().and_then(|a| a.as_arr()) {
                                    if let Some(first) = items.first() {
                                        let t = Val::symbol(Some(first));
                                        if !sub.starts_with(t) {
                                            ok = false;
                                        } else {
                                            ok = items.iter().all(|v| Val::symbol(Some(v)) == t);
                                        }
                                    }
                                }
                            }
                        }
                        if !ok {
                            let ty = match p.subtype.as_deref() {
                                Some("n") => "numbers",
                                Some("s") => "strings",
                                Some("b") => "booleans",
                                Some("o") => "objects",
                                Some("l") => "nulls",
                                _ => "values",
                            };
                            return Err(sig_err(
                                "T0412",
                                format!(
                                    "Argument {} of function {name} must be an array of {ty}",
                                    idx + 1
                                ),
                            ));
                        }
                        match arg {
                            Some(v) if single != 'a' => out.push(Some(Val::array(vec![v]))),
                            other => out.push(other),
                        }
                    }
                } else {
                    out.push(arg);
                }
                idx += 1;
            }
        }
        Ok(out)
    }

    fn mismatch(&self, name: &str, _args: &[Option<Val>], supplied: &str) -> Error {
        let mut partial = String::from("^");
        let mut good = 0;
        for p in &self.params {
            partial.push('(');
            partial.push_str(&p.regex);
            partial.push(')');
            match Regex::new(&partial)
                .ok()
                .and_then(|r| r.find(supplied).map(|m| m.end()))
            {
                Some(end) => good = end,
                None => break,
            }
        }
        sig_err(
            "T0410",
            format!(
                "Argument {} of function {name} does not match function signature",
                good + 1
            ),
        )
    }
}
