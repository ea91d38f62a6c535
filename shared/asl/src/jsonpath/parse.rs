//! The JSONPath grammar Step Functions accepts (Jayway JsonPath's), compiled
//! once into [`Step`]s and filter [`Expr`]s.
//!
//! The parser works on bytes of the UTF-8 source; every position it slices at
//! is next to an ASCII delimiter, so slices always fall on char boundaries.

use super::Root;
use regex::Regex;
use serde_json::Value;

/// One step of a compiled path.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `['a','b']`: on a leaf, Jayway merges the fields into one object.
    Fields(Vec<String>),
    /// `[3]`, `[-1]`.
    Index(i64),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[start:end:step]`, each part optional.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `.*` or `[*]`.
    Wildcard,
    /// `..`: the current node and all its descendants, pre-order.
    Scan,
    /// `[?(expr)]`.
    Filter(Box<Expr>),
    /// `.length()`: the size of an array, object or string (last step only).
    Length,
}

impl Step {
    /// Whether the step selects at most one node (Jayway's "definite" tokens).
    pub(crate) fn is_definite(&self) -> bool {
        matches!(self, Step::Field(_) | Step::Index(_) | Step::Length)
    }
}

/// A filter expression inside `[?( )]`.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// An operand alone: a path means "exists", a literal its truthiness.
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
    /// `@.name =~ /regex/flags`, matched against the whole string as Java does.
    Matches(Operand, Regex),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// `@...`: relative to the node under test.
    Current(Vec<Step>),
    /// `$...`: relative to the document the whole path runs on.
    Root(Vec<Step>),
    Literal(Value),
}

/// How deep filter expressions may nest.
const MAX_DEPTH: usize = 64;

pub(crate) struct Parsed {
    pub root: Root,
    pub steps: Vec<Step>,
}

/// Parses a whole path. The error is the reason only; the caller adds the path.
/// Whitespace around the path is ignored, as Jayway trims a path before
/// compiling it (`"$$.Execution.Name "` is `$$.Execution.Name`).
pub(crate) fn parse_path(src: &str) -> Result<Parsed, String> {
    let src = src.trim();
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        pos: 0,
        depth: 0,
    };
    let root = p.root()?;
    let steps = p.steps(false)?;
    if p.pos < p.s.len() {
        return Err(format!(
            "unexpected character '{}' at position {}",
            p.peek_char(),
            p.pos
        ));
    }
    Ok(Parsed { root, steps })
}

struct Parser<'s> {
    s: &'s [u8],
    src: &'s str,
    pos: usize,
    /// Nesting of filter sub-expressions, bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn peek_at(&self, off: usize) -> Option<u8> {
        self.s.get(self.pos + off).copied()
    }
    fn peek_char(&self) -> char {
        self.src
            .get(self.pos..)
            .and_then(|r| r.chars().next())
            .unwrap_or(' ')
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn slice(&self, from: usize, to: usize) -> &'s str {
        self.src.get(from..to).unwrap_or("")
    }
    fn expect(&mut self, b: u8, what: &str) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else if self.pos >= self.s.len() {
            Err(format!("expected {what} but the path ended"))
        } else {
            Err(format!(
                "expected {what} at position {} but found '{}'",
                self.pos,
                self.peek_char()
            ))
        }
    }

    fn root(&mut self) -> Result<Root, String> {
        if !self.eat(b'$') {
            return Err("a path must start with '$'".into());
        }
        if self.eat(b'$') {
            return Ok(Root::Context);
        }
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        if self.pos > start {
            let name = self.slice(start, self.pos);
            if name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                return Err(format!(
                    "variable name '{name}' must not start with a digit"
                ));
            }
            return Ok(Root::Variable(name.to_string()));
        }
        Ok(Root::Input)
    }

    /// Steps until the end, or (in a filter) until a character that cannot continue a path.
    fn steps(&mut self, in_filter: bool) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') if self.peek_at(1) == Some(b'.') => {
                    self.pos += 2;
                    steps.push(Step::Scan);
                    match self.peek() {
                        Some(b'[') => {}
                        Some(b'*') => {
                            self.pos += 1;
                            steps.push(Step::Wildcard);
                        }
                        _ => {
                            let name = self.name(in_filter)?;
                            steps.push(Step::Field(name));
                        }
                    }
                }
                Some(b'.') => {
                    self.pos += 1;
                    // Jayway reads whatever token follows a dot, so `$.[0]`
                    // and `$.a.['b']` are `$[0]` and `$.a['b']`; workflows
                    // deployed on Step Functions rely on it.
                    if self.peek() == Some(b'[') {
                        continue;
                    }
                    if self.eat(b'*') {
                        steps.push(Step::Wildcard);
                        continue;
                    }
                    let name = self.name(in_filter)?;
                    if self.peek() == Some(b'(') {
                        if name != "length" || self.peek_at(1) != Some(b')') {
                            return Err(format!("unsupported function '{name}()'"));
                        }
                        self.pos += 2;
                        steps.push(Step::Length);
                        if !matches!(
                            self.peek(),
                            None | Some(b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|')
                        ) {
                            return Err("length() must be the last step of a path".into());
                        }
                    } else {
                        steps.push(Step::Field(name));
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    let step = self.bracket()?;
                    steps.push(step);
                }
                _ => break,
            }
        }
        if matches!(steps.last(), Some(Step::Scan)) {
            return Err("'..' must be followed by a name, '*' or '['".into());
        }
        Ok(steps)
    }

    /// A name after `.`: Jayway reads up to the next `.`, `[`, `(` or space.
    fn name(&mut self, in_filter: bool) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let stop = match c {
                b'.' | b'[' | b'(' | b' ' | b'\t' | b'\n' | b'\r' => true,
                b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b',' => in_filter,
                b']' | b'\'' | b'"' => true,
                _ => false,
            };
            if stop {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(if self.pos >= self.s.len() {
                "a name is missing at the end of the path".to_string()
            } else {
                format!("a name is missing at position {}", self.pos)
            });
        }
        Ok(self.slice(start, self.pos).to_string())
    }

    /// Everything after `[` up to and including `]`.
    fn bracket(&mut self) -> Result<Step, String> {
        self.skip_ws();
        let step = match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                Step::Wildcard
            }
            Some(b'?') => {
                self.pos += 1;
                self.skip_ws();
                self.expect(b'(', "'(' after '?'")?;
                let e = self.or_expr()?;
                self.skip_ws();
                self.expect(b')', "')' closing the filter")?;
                Step::Filter(Box::new(e))
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![self.quoted_name()?];
                loop {
                    self.skip_ws();
                    if !self.eat(b',') {
                        break;
                    }
                    self.skip_ws();
                    names.push(self.quoted_name()?);
                }
                if names.len() == 1 {
                    Step::Field(names.swap_remove(0))
                } else {
                    Step::Fields(names)
                }
            }
            Some(c) if c == b'-' || c == b':' || c.is_ascii_digit() => self.index_or_slice()?,
            None => return Err("unclosed '['".into()),
            _ => {
                return Err(format!(
                    "unexpected character '{}' after '[' at position {}",
                    self.peek_char(),
                    self.pos
                ))
            }
        };
        self.skip_ws();
        self.expect(b']', "']'")?;
        Ok(step)
    }

    /// A quoted name in brackets. A backslash keeps the next character from
    /// closing the string, but the name is taken verbatim: the Jayway version
    /// Step Functions runs does not unescape (see the ESCAPE_SEQUENCES_JSONPATH
    /// conformance case, where `$['Test\""Name"']` reads the key `Test\""Name"`).
    fn quoted_name(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or("expected a quoted name")?;
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        while let Some(c) = self.peek() {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == quote {
                let name = self.slice(start, self.pos).to_string();
                self.pos += 1;
                return Ok(name);
            }
            self.pos += 1;
        }
        Err("unterminated quoted name".into())
    }

    fn int(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = self.slice(start, self.pos);
        if text.is_empty() {
            return Ok(None);
        }
        let n = text
            .parse::<i64>()
            .map_err(|_| format!("invalid array index '{text}'"))?;
        self.skip_ws();
        Ok(Some(n))
    }

    fn index_or_slice(&mut self) -> Result<Step, String> {
        let first = self.int()?;
        if self.eat(b':') {
            let end = self.int()?;
            let step = if self.eat(b':') { self.int()? } else { None };
            if let Some(s) = step {
                if s <= 0 {
                    return Err(format!("slice step must be positive, got {s}"));
                }
            }
            return Ok(Step::Slice(first, end, step));
        }
        let first = first.ok_or("expected an array index")?;
        let mut all = vec![first];
        while self.eat(b',') {
            all.push(self.int()?.ok_or("expected an array index after ','")?);
        }
        Ok(if all.len() == 1 {
            Step::Index(first)
        } else {
            Step::Indexes(all)
        })
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let base = self.depth;
        let r = self.chain(b'|', Self::and_expr, Expr::Or);
        self.depth = base;
        r
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let base = self.depth;
        let r = self.chain(b'&', Self::unary, Expr::And);
        self.depth = base;
        r
    }

    /// `operand (op operand)*` for `||`/`&&`, left-associative. Each link
    /// deepens the tree the evaluator recurses through, so it counts one
    /// level of nesting (the caller restores the depth afterwards).
    fn chain(
        &mut self,
        op: u8,
        operand: fn(&mut Self) -> Result<Expr, String>,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Result<Expr, String> {
        let mut left = operand(self)?;
        loop {
            self.skip_ws();
            if self.peek() == Some(op) && self.peek_at(1) == Some(op) {
                self.pos += 2;
                self.deeper()?;
                let right = operand(self)?;
                left = join(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "filter nested deeper than {MAX_DEPTH} levels at position {} \
                 (each '(', '!', '&&' and '||' counts one)",
                self.pos
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.deeper()?;
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        self.skip_ws();
        if self.peek() == Some(b'!') && self.peek_at(1) != Some(b'=') {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(b'(') {
            let e = self.or_expr()?;
            self.skip_ws();
            self.expect(b')', "')'")?;
            return Ok(e);
        }
        let bare = self.at_bare_word();
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.peek_at(1)) {
            (Some(b'='), Some(b'=')) => Some((CmpOp::Eq, 2)),
            (Some(b'!'), Some(b'=')) => Some((CmpOp::Ne, 2)),
            (Some(b'<'), Some(b'=')) => Some((CmpOp::Le, 2)),
            (Some(b'>'), Some(b'=')) => Some((CmpOp::Ge, 2)),
            (Some(b'<'), _) => Some((CmpOp::Lt, 1)),
            (Some(b'>'), _) => Some((CmpOp::Gt, 1)),
            (Some(b'='), Some(b'~')) => {
                self.pos += 2;
                self.skip_ws();
                return Ok(Expr::Matches(left, self.regex()?));
            }
            _ => None,
        };
        match op {
            Some((op, len)) => {
                self.pos += len;
                let right = self.operand()?;
                Ok(Expr::Compare(left, op, right))
            }
            None if bare => Err(format!(
                "a bare word in a filter must be compared with something, at position {}",
                self.pos
            )),
            None => Ok(Expr::Exists(left)),
        }
    }

    /// Whether the next operand is an unquoted word other than `true`,
    /// `false` or `null`.
    fn at_bare_word(&mut self) -> bool {
        self.skip_ws();
        let start = self.pos;
        let word = self.bare_word_len();
        let text = self.slice(start, start + word);
        word > 0 && !matches!(text, "true" | "false" | "null")
    }

    /// The length of the word at the current position: letters, digits,
    /// `_` and `-`, starting with a letter or `_`.
    fn bare_word_len(&self) -> usize {
        let rest = self.s.get(self.pos..).unwrap_or_default();
        match rest.first() {
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => rest
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
                .count(),
            _ => 0,
        }
    }

    fn regex(&mut self) -> Result<Regex, String> {
        self.expect(b'/', "'/' starting a regular expression")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return Err("unterminated regular expression".into()),
                Some(b'\\') if !escaped => escaped = true,
                Some(b'/') if !escaped => break,
                _ => escaped = false,
            }
            self.pos += 1;
        }
        let body = self.slice(start, self.pos);
        self.pos += 1;
        let mut flags = String::new();
        while let Some(c @ (b'i' | b'm' | b's' | b'x')) = self.peek() {
            flags.push(char::from(c));
            self.pos += 1;
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("(?{flags})")
        };
        Regex::new(&format!("^{flags}(?:{body})$"))
            .map_err(|e| format!("invalid regular expression /{body}/: {e}"))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.pos += 1;
                Ok(Operand::Current(self.steps(true)?))
            }
            Some(b'$') => {
                self.pos += 1;
                if matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
                {
                    return Err("only '$' and '@' paths may be used inside a filter".into());
                }
                Ok(Operand::Root(self.steps(true)?))
            }
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let mut out = String::new();
                let start = self.pos;
                let mut seg = start;
                loop {
                    match self.peek() {
                        None => return Err("unterminated string literal in filter".into()),
                        Some(b'\\') => {
                            out.push_str(self.slice(seg, self.pos));
                            self.pos += 1;
                            let c = self.peek_char();
                            out.push(match c {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                            self.pos += c.len_utf8();
                            seg = self.pos;
                        }
                        Some(c) if c == q => {
                            out.push_str(self.slice(seg, self.pos));
                            self.pos += 1;
                            return Ok(Operand::Literal(Value::String(out)));
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while matches!(self.peek(), Some(c) if c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    self.pos += 1;
                }
                let text = self.slice(start, self.pos);
                serde_json::from_str::<serde_json::Number>(text)
                    .map(|n| Operand::Literal(Value::Number(n)))
                    .map_err(|_| format!("invalid number '{text}' in filter"))
            }
            _ => {
                let len = self.bare_word_len();
                if len > 0 {
                    let word = self.slice(self.pos, self.pos + len);
                    self.pos += len;
                    // An unquoted word other than these is read as a string:
                    // Step Functions runs `[?(@.lang==es)]` as `[?(@.lang=='es')]`.
                    return Ok(Operand::Literal(match word {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        other => Value::String(other.to_string()),
                    }));
                }
                if self.pos >= self.s.len() {
                    Err("unterminated filter".into())
                } else {
                    Err(format!(
                        "unexpected '{}' in filter at position {}",
                        self.peek_char(),
                        self.pos
                    ))
                }
            }
        }
    }
}
