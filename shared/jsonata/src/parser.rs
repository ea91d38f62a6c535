//! Top-down operator precedence parser (as jsonata-js), producing a raw tree
//! that [`process`] rewrites into the evaluator's [`Node`] form.

use std::sync::Arc;

use crate::ast::{BinOp, Kind, LambdaDef, Node, Stage, TransformDef};
use crate::lexer::{err, tokenize, Tok, Token};
use crate::signature::Signature;
use crate::Error;

/// How deep an expression's syntax tree may be. Every construct counts one
/// level, and so does every operator of a chain (`a.b.c`, `1+2+3`, `x[0][1]`,
/// `f ~> g ~> h`, ...), because the tree, the passes over it and the
/// evaluator all recurse that deep. Far above what people write, and low
/// enough that evaluating the deepest tree stays within the evaluator's own
/// depth bound ([`crate::Limits::max_depth`]).
pub const MAX_PARSE_DEPTH: usize = 200;

#[derive(Debug)]
enum Raw {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Name(String),
    Var(String),
    Regex(String, String),
    Wildcard,
    Descendant,
    Parent,
    Placeholder,
    Neg(Box<R>),
    Array(Vec<R>),
    Object(Vec<(R, R)>),
    Block(Vec<R>),
    Bin(&'static str, Box<R>, Box<R>),
    Group(Box<R>, Vec<(R, R)>),
    Sort(Box<R>, Vec<(R, bool)>),
    Cond(Box<R>, Box<R>, Option<Box<R>>),
    Call(Box<R>, Vec<R>, bool),
    Lambda(Vec<String>, Option<Signature>, Box<R>),
    Transform(Box<R>, Box<R>, Option<Box<R>>),
}

#[derive(Debug)]
struct R {
    k: Raw,
    pos: usize,
    keep_array: bool,
    /// Levels of this subtree (a leaf is 1), bounded by [`MAX_PARSE_DEPTH`].
    height: usize,
}

fn r(k: Raw, pos: usize) -> R {
    let height = 1 + children_height(&k);
    R {
        k,
        pos,
        keep_array: false,
        height,
    }
}

/// The height of the tallest direct child (0 for a leaf).
fn children_height(k: &Raw) -> usize {
    let h = |x: &R| x.height;
    let pairs = |v: &[(R, R)]| v.iter().map(|(a, b)| a.height.max(b.height)).max();
    let opt = |x: &Option<Box<R>>| x.as_ref().map_or(0, |x| x.height);
    match k {
        Raw::Str(_)
        | Raw::Num(_)
        | Raw::Bool(_)
        | Raw::Null
        | Raw::Name(_)
        | Raw::Var(_)
        | Raw::Regex(..)
        | Raw::Wildcard
        | Raw::Descendant
        | Raw::Parent
        | Raw::Placeholder => 0,
        Raw::Neg(e) => e.height,
        Raw::Array(v) | Raw::Block(v) => v.iter().map(h).max().unwrap_or(0),
        Raw::Object(v) => pairs(v).unwrap_or(0),
        Raw::Bin(_, a, b) => a.height.max(b.height),
        Raw::Group(a, v) => a.height.max(pairs(v).unwrap_or(0)),
        Raw::Sort(a, v) => a
            .height
            .max(v.iter().map(|(x, _)| x.height).max().unwrap_or(0)),
        Raw::Cond(a, b, c) => a.height.max(b.height).max(opt(c)),
        Raw::Call(a, v, _) => a.height.max(v.iter().map(h).max().unwrap_or(0)),
        Raw::Lambda(_, _, b) => b.height,
        Raw::Transform(a, b, c) => a.height.max(b.height).max(opt(c)),
    }
}

/// The error for an expression nested deeper than [`MAX_PARSE_DEPTH`].
fn too_deep(pos: usize) -> Error {
    err(
        "U1001",
        format!(
            "The expression is nested more than {MAX_PARSE_DEPTH} levels deep at position {pos} \
             (each operator of a chain such as a.b.c or 1+2+3 counts one level)"
        ),
        pos,
    )
}

fn lbp(t: &Tok) -> u8 {
    match t {
        Tok::Op(o) => match *o {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "?" | ".." => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" => 60,
            "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "?:" | "??" | "in" => 40,
            ":=" => 10,
            "and" => 30,
            "or" => 25,
            _ => 0,
        },
        _ => 0,
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Op(o) => o.to_string(),
        Tok::Name(n) => n.clone(),
        Tok::Var(v) => format!("${v}"),
        Tok::Str(s) => s.clone(),
        Tok::Num(n) => n.to_string(),
        Tok::Bool(b) => b.to_string(),
        Tok::Null => "null".into(),
        Tok::Regex(b, _) => format!("/{b}/"),
        Tok::End => "(end)".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        // tokenize always ends with End, so the last index exists
        self.toks
            .get(self.i)
            .unwrap_or_else(|| &self.toks[self.toks.len() - 1])
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(&self.peek().tok, Tok::Op(o) if *o == op)
    }
    fn expect(&mut self, op: &str) -> Result<(), Error> {
        if self.is_op(op) {
            self.i += 1;
            return Ok(());
        }
        let t = self.peek();
        if t.tok == Tok::End {
            return Err(err(
                "S0203",
                format!("Expected \"{op}\" before end of expression"),
                t.pos,
            ));
        }
        Err(err(
            "S0202",
            format!("Expected \"{op}\", got \"{}\"", tok_text(&t.tok)),
            t.pos,
        ))
    }

    fn expression(&mut self, rbp: u8) -> Result<R, Error> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(too_deep(self.peek().pos));
        }
        let left = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            let t = self.next();
            let pos = t.pos;
            let mut left = self.nud(t)?;
            if left.height > MAX_PARSE_DEPTH {
                return Err(too_deep(pos));
            }
            // A chain (`a.b.c`, `1+2+3`) grows the tree here without
            // recursing, so its height is checked at every link.
            while rbp < lbp(&self.peek().tok) {
                let t = self.next();
                let pos = t.pos;
                left = self.led(t, left)?;
                if left.height > MAX_PARSE_DEPTH {
                    return Err(too_deep(pos));
                }
            }
            Ok(left)
        })?;
        self.depth -= 1;
        Ok(left)
    }

    fn nud(&mut self, t: Token) -> Result<R, Error> {
        let pos = t.pos;
        Ok(match t.tok {
            Tok::Str(s) => r(Raw::Str(s), pos),
            Tok::Num(n) => r(Raw::Num(n), pos),
            Tok::Bool(b) => r(Raw::Bool(b), pos),
            Tok::Null => r(Raw::Null, pos),
            Tok::Name(n) => r(Raw::Name(n), pos),
            Tok::Var(v) => r(Raw::Var(v), pos),
            Tok::Regex(b, f) => r(Raw::Regex(b, f), pos),
            Tok::End => return Err(err("S0207", "Unexpected end of expression", pos)),
            Tok::Op(op) => match op {
                "and" | "or" | "in" => r(Raw::Name(op.to_string()), pos),
                "-" => {
                    let e = self.expression(70)?;
                    r(Raw::Neg(Box::new(e)), pos)
                }
                "*" => r(Raw::Wildcard, pos),
                "**" => r(Raw::Descendant, pos),
                "%" => r(Raw::Parent, pos),
                "?" => r(Raw::Placeholder, pos),
                "(" => {
                    let mut items = Vec::new();
                    if !self.is_op(")") {
                        loop {
                            items.push(self.expression(0)?);
                            if !self.is_op(";") {
                                break;
                            }
                            self.i += 1;
                            if self.is_op(")") {
                                break;
                            }
                        }
                    }
                    self.expect(")")?;
                    r(Raw::Block(items), pos)
                }
                "[" => {
                    let mut items = Vec::new();
                    if !self.is_op("]") {
                        loop {
                            let item = self.expression(0)?;
                            items.push(item);
                            if !self.is_op(",") {
                                break;
                            }
                            self.i += 1;
                        }
                    }
                    self.expect("]")?;
                    r(Raw::Array(items), pos)
                }
                "{" => {
                    let pairs = self.object_pairs()?;
                    r(Raw::Object(pairs), pos)
                }
                "|" => {
                    let pattern = self.expression(0)?;
                    self.expect("|")?;
                    let update = self.expression(0)?;
                    let mut delete = None;
                    if self.is_op(",") {
                        self.i += 1;
                        delete = Some(Box::new(self.expression(0)?));
                    }
                    self.expect("|")?;
                    r(
                        Raw::Transform(Box::new(pattern), Box::new(update), delete),
                        pos,
                    )
                }
                _ => {
                    return Err(err(
                        "S0211",
                        format!("The symbol {op} cannot be used as a unary operator"),
                        pos,
                    ))
                }
            },
        })
    }

    fn object_pairs(&mut self) -> Result<Vec<(R, R)>, Error> {
        let mut pairs = Vec::new();
        if !self.is_op("}") {
            loop {
                let k = self.expression(0)?;
                self.expect(":")?;
                let v = self.expression(0)?;
                pairs.push((k, v));
                if !self.is_op(",") {
                    break;
                }
                self.i += 1;
            }
        }
        self.expect("}")?;
        Ok(pairs)
    }

    fn led(&mut self, t: Token, left: R) -> Result<R, Error> {
        let pos = t.pos;
        let Tok::Op(op) = t.tok else {
            return Err(err(
                "S0201",
                format!("Syntax error: \"{}\"", tok_text(&t.tok)),
                pos,
            ));
        };
        Ok(match op {
            "." | "+" | "-" | "*" | "/" | "%" | "=" | "<" | ">" | "!=" | "<=" | ">=" | "&"
            | "and" | "or" | "in" | ".." | "~>" => {
                let rhs = self.expression(lbp(&Tok::Op(op)))?;
                r(Raw::Bin(op, Box::new(left), Box::new(rhs)), pos)
            }
            ":=" => {
                if !matches!(left.k, Raw::Var(_)) {
                    return Err(err(
                        "S0212",
                        "The left side of := must be a variable name (start with $)",
                        left.pos,
                    ));
                }
                let rhs = self.expression(9)?;
                r(Raw::Bin(op, Box::new(left), Box::new(rhs)), pos)
            }
            "@" | "#" => {
                let rhs = self.expression(lbp(&Tok::Op(op)))?;
                if !matches!(rhs.k, Raw::Var(_)) {
                    return Err(err(
                        "S0214",
                        format!("The right side of {op} must be a variable name (start with $)"),
                        rhs.pos,
                    ));
                }
                r(Raw::Bin(op, Box::new(left), Box::new(rhs)), pos)
            }
            "?:" => {
                let rhs = self.expression(0)?;
                r(
                    Raw::Cond(
                        Box::new(clone_raw(&left)),
                        Box::new(left),
                        Some(Box::new(rhs)),
                    ),
                    pos,
                )
            }
            "??" => {
                let rhs = self.expression(0)?;
                let test = r(
                    Raw::Call(
                        Box::new(r(Raw::Var("exists".into()), pos)),
                        vec![clone_raw(&left)],
                        false,
                    ),
                    pos,
                );
                r(
                    Raw::Cond(Box::new(test), Box::new(left), Some(Box::new(rhs))),
                    pos,
                )
            }
            "?" => {
                let then = self.expression(0)?;
                let mut els = None;
                if self.is_op(":") {
                    self.i += 1;
                    els = Some(Box::new(self.expression(0)?));
                }
                r(Raw::Cond(Box::new(left), Box::new(then), els), pos)
            }
            "[" => {
                if self.is_op("]") {
                    self.i += 1;
                    let mut left = left;
                    // `expr[]`: keep singleton arrays; mark the innermost step
                    mark_keep_array(&mut left);
                    return Ok(left);
                }
                let rhs = self.expression(0)?;
                self.expect("]")?;
                r(Raw::Bin("[", Box::new(left), Box::new(rhs)), pos)
            }
            "{" => {
                let pairs = self.object_pairs()?;
                r(Raw::Group(Box::new(left), pairs), pos)
            }
            "^" => {
                self.expect("(")?;
                let mut terms = Vec::new();
                loop {
                    let mut desc = false;
                    if self.is_op("<") {
                        self.i += 1;
                    } else if self.is_op(">") {
                        desc = true;
                        self.i += 1;
                    }
                    terms.push((self.expression(0)?, desc));
                    if !self.is_op(",") {
                        break;
                    }
                    self.i += 1;
                }
                self.expect(")")?;
                r(Raw::Sort(Box::new(left), terms), pos)
            }
            "(" => {
                let mut args = Vec::new();
                let mut partial = false;
                if !self.is_op(")") {
                    loop {
                        let a = self.expression(0)?;
                        if matches!(a.k, Raw::Placeholder) {
                            partial = true;
                        }
                        args.push(a);
                        if !self.is_op(",") {
                            break;
                        }
                        self.i += 1;
                    }
                }
                self.expect(")")?;
                if let Raw::Name(n) = &left.k {
                    if n == "function" || n == "λ" {
                        let mut params = Vec::new();
                        for a in args {
                            match a.k {
                                Raw::Var(v) => params.push(v),
                                _ => {
                                    return Err(err(
                                        "S0208",
                                        "Parameter of function definition must be a variable name (start with $)",
                                        a.pos,
                                    ))
                                }
                            }
                        }
                        let mut sig = None;
                        if self.is_op("<") {
                            // the signature is raw text up to the matching '>'
                            let start = self.peek().pos;
                            let mut depth = 0;
                            let mut text = String::new();
                            loop {
                                let t = self.next();
                                match &t.tok {
                                    Tok::Op("<") => depth += 1,
                                    Tok::Op(">") => depth -= 1,
                                    Tok::End => {
                                        return Err(err("S0401", "Unterminated signature", start))
                                    }
                                    _ => {}
                                }
                                text.push_str(&tok_text(&t.tok));
                                if depth == 0 {
                                    break;
                                }
                            }
                            sig = Some(Signature::parse(&text).map_err(|mut e| {
                                e.position = Some(start);
                                e
                            })?);
                        }
                        self.expect("{")?;
                        let body = self.expression(0)?;
                        self.expect("}")?;
                        return Ok(r(Raw::Lambda(params, sig, Box::new(body)), pos));
                    }
                }
                r(Raw::Call(Box::new(left), args, partial), pos)
            }
            _ => {
                return Err(err("S0201", format!("Syntax error: \"{op}\""), pos));
            }
        })
    }
}

/// `expr[]` marks the innermost step below any predicates, as jsonata-js.
fn mark_keep_array(x: &mut R) {
    match &mut x.k {
        Raw::Bin("[", lhs, _) => mark_keep_array(lhs),
        _ => x.keep_array = true,
    }
}

fn clone_raw(x: &R) -> R {
    // Only used for `?:`/`??`, which evaluate their left side twice.
    let k = match &x.k {
        Raw::Str(s) => Raw::Str(s.clone()),
        Raw::Num(n) => Raw::Num(*n),
        Raw::Bool(b) => Raw::Bool(*b),
        Raw::Null => Raw::Null,
        Raw::Name(n) => Raw::Name(n.clone()),
        Raw::Var(v) => Raw::Var(v.clone()),
        Raw::Regex(a, b) => Raw::Regex(a.clone(), b.clone()),
        Raw::Wildcard => Raw::Wildcard,
        Raw::Descendant => Raw::Descendant,
        Raw::Parent => Raw::Parent,
        Raw::Placeholder => Raw::Placeholder,
        Raw::Neg(e) => Raw::Neg(Box::new(clone_raw(e))),
        Raw::Array(v) => Raw::Array(v.iter().map(clone_raw).collect()),
        Raw::Object(v) => Raw::Object(
            v.iter()
                .map(|(a, b)| (clone_raw(a), clone_raw(b)))
                .collect(),
        ),
        Raw::Block(v) => Raw::Block(v.iter().map(clone_raw).collect()),
        Raw::Bin(o, a, b) => Raw::Bin(o, Box::new(clone_raw(a)), Box::new(clone_raw(b))),
        Raw::Group(a, v) => Raw::Group(
            Box::new(clone_raw(a)),
            v.iter()
                .map(|(a, b)| (clone_raw(a), clone_raw(b)))
                .collect(),
        ),
        Raw::Sort(a, v) => Raw::Sort(
            Box::new(clone_raw(a)),
            v.iter().map(|(a, d)| (clone_raw(a), *d)).collect(),
        ),
        Raw::Cond(a, b, c) => Raw::Cond(
            Box::new(clone_raw(a)),
            Box::new(clone_raw(b)),
            c.as_ref().map(|c| Box::new(clone_raw(c))),
        ),
        Raw::Call(a, v, p) => Raw::Call(
            Box::new(clone_raw(a)),
            v.iter().map(clone_raw).collect(),
            *p,
        ),
        Raw::Lambda(p, s, b) => Raw::Lambda(p.clone(), s.clone(), Box::new(clone_raw(b))),
        Raw::Transform(a, b, c) => Raw::Transform(
            Box::new(clone_raw(a)),
            Box::new(clone_raw(b)),
            c.as_ref().map(|c| Box::new(clone_raw(c))),
        ),
    };
    R {
        k,
        pos: x.pos,
        keep_array: x.keep_array,
        height: x.height,
    }
}

/// Parses and processes an expression. Returns the tree and the number of
/// parent (`%`) slots, whose labels are `!0`, `!1`, ... after resolution.
pub fn parse(src: &str) -> Result<(Node, Vec<String>), Error> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let raw = p.expression(0)?;
    let t = p.peek();
    if t.tok != Tok::End {
        return Err(err(
            "S0201",
            format!("Syntax error: \"{}\"", tok_text(&t.tok)),
            t.pos,
        ));
    }
    let mut pr = Processor {
        slots: Vec::new(),
        depth: 0,
    };
    let mut node = pr.process(raw)?;
    if !node.seeking.is_empty() || matches!(node.kind, Kind::Parent(_)) {
        return Err(err(
            "S0217",
            "The object representing the 'parent' cannot be derived from this expression",
            node.pos,
        ));
    }
    node.seeking.clear();
    let labels = pr.slots.iter().map(|s| s.label.clone()).collect();
    Ok((node, labels))
}

struct Slot {
    label: String,
    level: i32,
}

struct Processor {
    slots: Vec<Slot>,
    depth: usize,
}

fn push_ancestry(result: &mut Node, value: &Node) {
    result.seeking.extend(value.seeking.iter().copied());
    if let Kind::Parent(s) = value.kind {
        result.seeking.push(s);
    }
}

fn bin_op(op: &str) -> Option<BinOp> {
    Some(match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "=" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "and" => BinOp::And,
        "or" => BinOp::Or,
        "in" => BinOp::In,
        "&" => BinOp::Concat,
        ".." => BinOp::Range,
        _ => return None,
    })
}

/// The last step of a path, or the node itself when it is not a path.
fn last_step(n: &mut Node) -> &mut Node {
    let is_path = matches!(&n.kind, Kind::Path { steps, .. } if !steps.is_empty());
    if is_path {
        // guarded above: a non-empty path, whatever the user wrote
        let Kind::Path { steps, .. } = &mut n.kind else {
            unreachable!("checked to be a path")
        };
        let last = steps.len() - 1;
        return &mut steps[last];
    }
    n
}

fn tail_call_optimize(mut n: Node) -> Node {
    match &mut n.kind {
        Kind::Call { .. } if n.predicate.is_empty() => {
            let pos = n.pos;
            Node::new(
                Kind::Lambda(Arc::new(LambdaDef {
                    params: Vec::new(),
                    signature: None,
                    body: n,
                    thunk: true,
                })),
                pos,
            )
        }
        Kind::Cond(_, then, els) => {
            let t = std::mem::replace(then.as_mut(), Node::new(Kind::Null, 0));
            **then = tail_call_optimize(t);
            if let Some(e) = els {
                let x = std::mem::replace(e.as_mut(), Node::new(Kind::Null, 0));
                **e = tail_call_optimize(x);
            }
            n
        }
        Kind::Block(items) => {
            if let Some(last) = items.pop() {
                items.push(tail_call_optimize(last));
            }
            n
        }
        _ => n,
    }
}

impl Processor {
    fn process(&mut self, x: R) -> Result<Node, Error> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH * 2 {
            return Err(too_deep(x.pos));
        }
        let keep = x.keep_array;
        let mut n = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.process_inner(x))?;
        if keep {
            n.keep_array = true;
        }
        self.depth -= 1;
        Ok(n)
    }

    fn process_inner(&mut self, x: R) -> Result<Node, Error> {
        let pos = x.pos;
        Ok(match x.k {
            Raw::Str(s) => Node::new(Kind::Str(s), pos),
            Raw::Num(n) => Node::new(Kind::Num(n), pos),
            Raw::Bool(b) => Node::new(Kind::Bool(b), pos),
            Raw::Null => Node::new(Kind::Null, pos),
            Raw::Var(v) => Node::new(Kind::Var(v), pos),
            Raw::Wildcard => Node::new(Kind::Wildcard, pos),
            Raw::Descendant => Node::new(Kind::Descendant, pos),
            Raw::Placeholder => Node::new(Kind::Placeholder, pos),
            Raw::Regex(body, flags) => Node::new(
                Kind::Regex(Arc::new(crate::regex::compile(&body, &flags, pos)?)),
                pos,
            ),
            Raw::Name(n) => {
                let mut step = Node::new(Kind::Name(n), pos);
                step.keep_array = x.keep_array;
                let mut p = Node::new(
                    Kind::Path {
                        steps: vec![step],
                        keep_singleton: x.keep_array,
                    },
                    pos,
                );
                p.keep_array = x.keep_array;
                p
            }
            Raw::Parent => {
                let id = self.slots.len();
                self.slots.push(Slot {
                    label: format!("!{id}"),
                    level: 1,
                });
                Node::new(Kind::Parent(id), pos)
            }
            Raw::Neg(e) => {
                let inner = self.process(*e)?;
                if let Kind::Num(v) = inner.kind {
                    let mut n = inner;
                    n.kind = Kind::Num(-v);
                    n
                } else {
                    let mut n = Node::new(Kind::Neg(Box::new(Node::new(Kind::Null, pos))), pos);
                    push_ancestry(&mut n, &inner);
                    n.kind = Kind::Neg(Box::new(inner));
                    n
                }
            }
            Raw::Array(items) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for it in items {
                    let v = self.process(it)?;
                    push_ancestry(&mut n, &v);
                    out.push(v);
                }
                n.kind = Kind::Array(out);
                n
            }
            Raw::Object(pairs) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for (k, v) in pairs {
                    let k = self.process(k)?;
                    push_ancestry(&mut n, &k);
                    let v = self.process(v)?;
                    push_ancestry(&mut n, &v);
                    out.push((k, v));
                }
                n.kind = Kind::Object(out);
                n
            }
            Raw::Block(items) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for it in items {
                    let v = self.process(it)?;
                    push_ancestry(&mut n, &v);
                    let cons = v.consarray
                        || matches!(&v.kind, Kind::Path { steps, .. } if steps.first().is_some_and(|s| s.consarray));
                    if cons {
                        n.consarray = true;
                    }
                    out.push(v);
                }
                n.kind = Kind::Block(out);
                n
            }
            Raw::Cond(c, t, e) => {
                let mut n = Node::new(Kind::Null, pos);
                let c = self.process(*c)?;
                push_ancestry(&mut n, &c);
                let t = self.process(*t)?;
                push_ancestry(&mut n, &t);
                let e = match e {
                    Some(e) => {
                        let e = self.process(*e)?;
                        push_ancestry(&mut n, &e);
                        Some(Box::new(e))
                    }
                    None => None,
                };
                n.kind = Kind::Cond(Box::new(c), Box::new(t), e);
                n
            }
            Raw::Call(p, args, partial) => {
                let mut n = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for a in args {
                    let a = self.process(a)?;
                    push_ancestry(&mut n, &a);
                    out.push(a);
                }
                let procedure = self.process(*p)?;
                n.kind = Kind::Call {
                    procedure: Box::new(procedure),
                    args: out,
                    partial,
                };
                n
            }
            Raw::Lambda(params, signature, body) => {
                let body = self.process(*body)?;
                let body = tail_call_optimize(body);
                Node::new(
                    Kind::Lambda(Arc::new(LambdaDef {
                        params,
                        signature,
                        body,
                        thunk: false,
                    })),
                    pos,
                )
            }
            Raw::Transform(p, u, d) => {
                let pattern = self.process(*p)?;
                let update = self.process(*u)?;
                let delete = match d {
                    Some(d) => Some(self.process(*d)?),
                    None => None,
                };
                Node::new(
                    Kind::Transform(Arc::new(TransformDef {
                        pattern,
                        update,
                        delete,
                    })),
                    pos,
                )
            }
            Raw::Group(lhs, pairs) => {
                let mut n = self.process(*lhs)?;
                if n.group.is_some() {
                    return Err(err(
                        "S0210",
                        "Each step can only have one grouping expression",
                        pos,
                    ));
                }
                let mut out = Vec::new();
                for (k, v) in pairs {
                    out.push((self.process(k)?, self.process(v)?));
                }
                n.group = Some(Box::new((out, pos)));
                n
            }
            Raw::Sort(lhs, terms) => {
                let n = self.process(*lhs)?;
                let mut path = if matches!(n.kind, Kind::Path { .. }) {
                    n
                } else {
                    Node::new(
                        Kind::Path {
                            steps: vec![n],
                            keep_singleton: false,
                        },
                        pos,
                    )
                };
                let mut sort = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for (t, d) in terms {
                    let e = self.process(t)?;
                    push_ancestry(&mut sort, &e);
                    out.push((e, d));
                }
                sort.kind = Kind::Sort(out);
                if let Kind::Path { steps, .. } = &mut path.kind {
                    steps.push(sort);
                }
                self.resolve_ancestry(&mut path)?;
                path
            }
            Raw::Bin(op, lhs, rhs) => match op {
                "." => self.process_dot(*lhs, *rhs, pos)?,
                "[" => {
                    let mut result = self.process(*lhs)?;
                    let is_path = matches!(result.kind, Kind::Path { .. });
                    let mut predicate = self.process(*rhs)?;
                    {
                        let step = if is_path {
                            last_step(&mut result)
                        } else {
                            &mut result
                        };
                        if step.group.is_some() {
                            return Err(err(
                                "S0209",
                                "A predicate cannot follow a grouping expression in a step",
                                pos,
                            ));
                        }
                        if !predicate.seeking.is_empty() {
                            let seeking = std::mem::take(&mut predicate.seeking);
                            let mut remaining = Vec::new();
                            for s in seeking {
                                let level = self.slots.get(s).map(|x| x.level).unwrap_or(0);
                                if level == 1 {
                                    self.seek_parent(step, s)?;
                                } else {
                                    if let Some(sl) = self.slots.get_mut(s) {
                                        sl.level -= 1;
                                    }
                                }
                                remaining.push(s);
                            }
                            // jsonata-js pushes the (mutated) slots on the step
                            step.seeking.extend(remaining);
                        }
                        if is_path {
                            step.stages.push(Stage::Filter(predicate));
                        } else {
                            step.predicate.push(predicate);
                        }
                    }
                    result
                }
                "@" => {
                    let mut result = self.process(*lhs)?;
                    let Raw::Var(name) = rhs.k else {
                        return Err(err(
                            "S0214",
                            "The right side of @ must be a variable name",
                            pos,
                        ));
                    };
                    let keep = x.keep_array;
                    let step = last_step(&mut result);
                    if !step.stages.is_empty() || !step.predicate.is_empty() {
                        return Err(err(
                            "S0215",
                            "A context variable binding must precede any predicates on a step",
                            pos,
                        ));
                    }
                    if matches!(step.kind, Kind::Sort(_)) {
                        return Err(err("S0216", "A context variable binding must precede the 'order-by' clause on a step", pos));
                    }
                    if keep {
                        step.keep_array = true;
                    }
                    step.focus = Some(name);
                    step.tuple = true;
                    result
                }
                "#" => {
                    let mut result = self.process(*lhs)?;
                    let Raw::Var(name) = rhs.k else {
                        return Err(err(
                            "S0214",
                            "The right side of # must be a variable name",
                            pos,
                        ));
                    };
                    if !matches!(result.kind, Kind::Path { .. }) {
                        let mut step = result;
                        if !step.predicate.is_empty() {
                            step.stages = std::mem::take(&mut step.predicate)
                                .into_iter()
                                .map(Stage::Filter)
                                .collect();
                        }
                        result = Node::new(
                            Kind::Path {
                                steps: vec![step],
                                keep_singleton: false,
                            },
                            pos,
                        );
                    }
                    let step = last_step(&mut result);
                    if step.stages.is_empty() {
                        step.index = Some(name);
                    } else {
                        step.stages.push(Stage::Index(name));
                    }
                    step.tuple = true;
                    result
                }
                ":=" => {
                    let Raw::Var(name) = lhs.k else {
                        return Err(err(
                            "S0212",
                            "The left side of := must be a variable name",
                            pos,
                        ));
                    };
                    let rhs = self.process(*rhs)?;
                    let mut n = Node::new(Kind::Null, pos);
                    push_ancestry(&mut n, &rhs);
                    n.kind = Kind::Bind(name, Box::new(rhs));
                    n
                }
                "~>" => {
                    let l = self.process(*lhs)?;
                    let r = self.process(*rhs)?;
                    let mut n = Node::new(Kind::Null, pos);
                    n.keep_array = l.keep_array || r.keep_array;
                    n.kind = Kind::Apply(Box::new(l), Box::new(r));
                    n
                }
                _ => {
                    let Some(b) = bin_op(op) else {
                        return Err(err("S0204", format!("Unknown operator: {op}"), pos));
                    };
                    let l = self.process(*lhs)?;
                    let r = self.process(*rhs)?;
                    let mut n = Node::new(Kind::Null, pos);
                    push_ancestry(&mut n, &l);
                    push_ancestry(&mut n, &r);
                    n.kind = Kind::Binary(b, Box::new(l), Box::new(r));
                    n
                }
            },
        })
    }

    fn process_dot(&mut self, lhs: R, rhs: R, pos: usize) -> Result<Node, Error> {
        let lstep = self.process(lhs)?;
        let mut result = if matches!(lstep.kind, Kind::Path { .. }) {
            lstep
        } else {
            let seeking = if let Kind::Parent(s) = lstep.kind {
                vec![s]
            } else {
                Vec::new()
            };
            let mut p = Node::new(
                Kind::Path {
                    steps: vec![lstep],
                    keep_singleton: false,
                },
                pos,
            );
            p.seeking = seeking;
            p
        };
        let rest = self.process(rhs)?;
        let Kind::Path {
            steps,
            keep_singleton,
        } = &mut result.kind
        else {
            return Err(err("S0201", "Syntax error", pos));
        };
        match rest.kind {
            Kind::Path {
                steps: rsteps,
                keep_singleton: rk,
            } => {
                steps.extend(rsteps);
                if rk {
                    *keep_singleton = true;
                }
                result.seeking.extend(rest.seeking);
            }
            _ => {
                let mut rest = rest;
                if !rest.predicate.is_empty() {
                    rest.stages = std::mem::take(&mut rest.predicate)
                        .into_iter()
                        .map(Stage::Filter)
                        .collect();
                }
                steps.push(rest);
            }
        }
        for s in steps.iter_mut() {
            match &s.kind {
                Kind::Num(_) | Kind::Bool(_) | Kind::Null => {
                    return Err(err(
                        "S0213",
                        "The literal value cannot be used as a step within a path expression",
                        s.pos,
                    ))
                }
                Kind::Str(name) => {
                    s.kind = Kind::Name(name.clone());
                }
                _ => {}
            }
        }
        if steps.iter().any(|s| s.keep_array) {
            *keep_singleton = true;
        }
        if let Some(first) = steps.first_mut() {
            if matches!(first.kind, Kind::Array(_)) {
                first.consarray = true;
            }
        }
        if let Some(last) = steps.last_mut() {
            if matches!(last.kind, Kind::Array(_)) {
                last.consarray = true;
            }
        }
        self.resolve_ancestry(&mut result)?;
        Ok(result)
    }

    fn resolve_ancestry(&mut self, path: &mut Node) -> Result<(), Error> {
        let Kind::Path { steps, .. } = &mut path.kind else {
            return Ok(());
        };
        let Some(last) = steps.last() else {
            return Ok(());
        };
        let mut slots = last.seeking.clone();
        if let Kind::Parent(s) = last.kind {
            slots.push(s);
        }
        let mut unresolved = Vec::new();
        for slot in slots {
            let mut index = steps.len() as isize - 2;
            while self.level(slot) > 0 {
                if index < 0 {
                    unresolved.push(slot);
                    break;
                }
                let mut si = index as usize;
                index -= 1;
                while index >= 0
                    && steps[si].focus.is_some()
                    && steps[index as usize].focus.is_some()
                {
                    si = index as usize;
                    index -= 1;
                }
                self.seek_parent(&mut steps[si], slot)?;
            }
        }
        path.seeking.extend(unresolved);
        Ok(())
    }

    fn level(&self, slot: usize) -> i32 {
        self.slots.get(slot).map(|s| s.level).unwrap_or(0)
    }

    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> Result<(), Error> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.level -= 1;
                }
                if self.level(slot) == 0 {
                    if let Some(existing) = node.ancestor {
                        let label = self
                            .slots
                            .get(existing)
                            .map(|s| s.label.clone())
                            .unwrap_or_default();
                        if let Some(s) = self.slots.get_mut(slot) {
                            s.label = label;
                        }
                    }
                    node.ancestor = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent(_) => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.level += 1;
                }
            }
            Kind::Block(items) => {
                if let Some(last) = items.last_mut() {
                    node.tuple = true;
                    self.seek_parent(last, slot)?;
                }
            }
            Kind::Path { steps, .. } => {
                node.tuple = true;
                let mut index = steps.len() as isize - 1;
                if index >= 0 {
                    self.seek_parent(&mut steps[index as usize], slot)?;
                    index -= 1;
                }
                while self.level(slot) > 0 && index >= 0 {
                    self.seek_parent(&mut steps[index as usize], slot)?;
                    index -= 1;
                }
            }
            _ => {
                return Err(err(
                    "S0217",
                    "The object representing the 'parent' cannot be derived from this expression",
                    node.pos,
                ))
            }
        }
        Ok(())
    }
}
