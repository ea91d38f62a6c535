//! Tokenizer. Works on chars with byte positions for error reporting.
//!
//! A `/` starts a regex literal only where an operand is expected (at the start
//! or after an operator other than a closing bracket); elsewhere it divides.

use crate::Error;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Op(&'static str),
    Name(String),
    Var(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(String, String),
    End,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

const DOUBLE_OPS: [&str; 9] = ["..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"];
const SINGLE_OPS: [&str; 23] = [
    ".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|",
    "=", "<", ">", "^",
];
const MORE_OPS: [&str; 3] = ["&", "!", "~"];

fn is_op_char(c: char) -> bool {
    "[]{}().,@#;:?+-*/%|=<>^&!~".contains(c)
}

pub fn err(code: &str, msg: impl Into<String>, pos: usize) -> Error {
    Error {
        code: code.to_string(),
        message: msg.into(),
        position: Some(pos),
    }
}

pub fn tokenize(src: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).map(|c| c.1);
    let pos_of = |i: usize| chars.get(i).map(|c| c.0).unwrap_or(src.len());
    while i < chars.len() {
        let c = chars[i].1;
        let pos = pos_of(i);
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && at(i + 1) == Some('*') {
            let mut j = i + 2;
            loop {
                if j + 1 >= chars.len() {
                    return Err(err("S0106", "Comment has no closing tag", pos));
                }
                if chars[j].1 == '*' && chars[j + 1].1 == '/' {
                    break;
                }
                j += 1;
            }
            i = j + 2;
            continue;
        }
        let prefix = match out.last() {
            None => true,
            Some(t) => matches!(&t.tok, Tok::Op(o) if !matches!(*o, ")" | "]" | "}")),
        };
        if c == '/' && prefix {
            // regex literal
            let mut j = i + 1;
            let mut depth = 0i32;
            let mut body = String::new();
            loop {
                let Some(ch) = at(j) else {
                    return Err(err("S0302", "No terminating / in regular expression", pos));
                };
                if ch == '/' && depth == 0 {
                    break;
                }
                if ch == '\\' {
                    body.push(ch);
                    if let Some(n) = at(j + 1) {
                        body.push(n);
                    }
                    j += 2;
                    continue;
                }
                if ch == '[' {
                    depth += 1;
                } else if ch == ']' && depth > 0 {
                    depth -= 1;
                }
                body.push(ch);
                j += 1;
            }
            if body.is_empty() {
                return Err(err(
                    "S0301",
                    "Empty regular expressions are not allowed",
                    pos,
                ));
            }
            j += 1;
            let mut flags = String::new();
            while let Some(f) = at(j) {
                if f == 'i' || f == 'm' || f == 'g' || f == 's' || f == 'u' || f == 'x' {
                    flags.push(f);
                    j += 1;
                } else {
                    break;
                }
            }
            out.push(Token {
                tok: Tok::Regex(body, flags),
                pos,
            });
            i = j;
            continue;
        }
        if let Some(n) = at(i + 1) {
            let two: String = [c, n].iter().collect();
            if let Some(op) = DOUBLE_OPS.iter().find(|o| **o == two) {
                out.push(Token {
                    tok: Tok::Op(op),
                    pos,
                });
                i += 2;
                continue;
            }
        }
        if c == '!' || c == '~' {
            return Err(err("S0204", format!("Unknown operator: {c}"), pos));
        }
        let one = c.to_string();
        if let Some(op) = SINGLE_OPS
            .iter()
            .chain(MORE_OPS.iter())
            .find(|o| **o == one)
        {
            out.push(Token {
                tok: Tok::Op(op),
                pos,
            });
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            let mut j = i + 1;
            let mut s = String::new();
            loop {
                let Some(ch) = at(j) else {
                    return Err(err(
                        "S0101",
                        "String literal must be terminated by a matching quote",
                        pos,
                    ));
                };
                if ch == c {
                    break;
                }
                if ch == '\\' {
                    j += 1;
                    let esc = at(j).unwrap_or(' ');
                    match esc {
                        '"' | '\\' | '/' | '\'' => s.push(esc),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => {
                            let hex: String = (1..=4).filter_map(|k| at(j + k)).collect();
                            if hex.len() != 4 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                                return Err(err(
                                    "S0104",
                                    "The escape sequence \\u must be followed by 4 hex digits",
                                    pos_of(j),
                                ));
                            }
                            let code = u32::from_str_radix(&hex, 16).unwrap_or(0);
                            j += 4;
                            if (0xD800..0xDC00).contains(&code)
                                && at(j + 1) == Some('\\')
                                && at(j + 2) == Some('u')
                            {
                                let hex2: String = (3..=6).filter_map(|k| at(j + k)).collect();
                                if let Ok(low) = u32::from_str_radix(&hex2, 16) {
                                    if (0xDC00..0xE000).contains(&low) {
                                        let cp = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                        s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                        j += 6;
                                        j += 1;
                                        continue;
                                    }
                                }
                            }
                            s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        _ => {
                            return Err(err(
                                "S0103",
                                format!("Unsupported escape sequence: \\{esc}"),
                                pos_of(j),
                            ));
                        }
                    }
                    j += 1;
                    continue;
                }
                s.push(ch);
                j += 1;
            }
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = j + 1;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            let mut text = String::new();
            let digits = |j: &mut usize, text: &mut String| {
                while let Some(d) = at(*j) {
                    if d.is_ascii_digit() {
                        text.push(d);
                        *j += 1;
                    } else {
                        break;
                    }
                }
            };
            if c == '0' {
                text.push('0');
                j += 1;
            } else {
                digits(&mut j, &mut text);
            }
            if at(j) == Some('.') && at(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                text.push('.');
                j += 1;
                digits(&mut j, &mut text);
            }
            if matches!(at(j), Some('e') | Some('E')) {
                let mut k = j + 1;
                let mut etext = String::from("e");
                if let Some(sign @ ('+' | '-')) = at(k) {
                    etext.push(sign);
                    k += 1;
                }
                if at(k).is_some_and(|d| d.is_ascii_digit()) {
                    text.push_str(&etext);
                    j = k;
                    digits(&mut j, &mut text);
                }
            }
            let n: f64 = text.parse().unwrap_or(f64::NAN);
            if !n.is_finite() {
                return Err(err("S0102", format!("Number out of range: {text}"), pos));
            }
            out.push(Token {
                tok: Tok::Num(n),
                pos,
            });
            i = j;
            continue;
        }
        if c == '`' {
            let mut j = i + 1;
            let mut s = String::new();
            loop {
                let Some(ch) = at(j) else {
                    return Err(err(
                        "S0105",
                        "Quoted property name must be terminated with a backquote (`)",
                        pos,
                    ));
                };
                if ch == '`' {
                    break;
                }
                s.push(ch);
                j += 1;
            }
            out.push(Token {
                tok: Tok::Name(s),
                pos,
            });
            i = j + 1;
            continue;
        }
        // a name: runs until whitespace or an operator character
        let mut j = i;
        let mut s = String::new();
        while let Some(ch) = at(j) {
            if ch.is_whitespace() || is_op_char(ch) {
                break;
            }
            s.push(ch);
            j += 1;
        }
        if s.is_empty() {
            // a lone character that starts nothing valid, e.g. '$'-less junk
            return Err(err("S0204", format!("Unknown operator: {c}"), pos));
        }
        let tok = if let Some(v) = s.strip_prefix('$') {
            Tok::Var(v.to_string())
        } else {
            match s.as_str() {
                "and" => Tok::Op("and"),
                "or" => Tok::Op("or"),
                "in" => Tok::Op("in"),
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                "null" => Tok::Null,
                _ => Tok::Name(s),
            }
        };
        out.push(Token { tok, pos });
        i = j;
    }
    out.push(Token {
        tok: Tok::End,
        pos: src.len(),
    });
    Ok(out)
}
