//! The tree-walking evaluator, following jsonata-js's `evaluate` closely so
//! that sequence flattening, singleton unwrapping and tuple streams (focus,
//! index and parent bindings) behave identically.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::{BinOp, Kind, Node, Stage, TransformDef};
use crate::functions::{self, Func};
use crate::value::{deep_equal, Array, Flags, Map, Object, Val};
use crate::{Environment, Error, Limits};

pub type R = Result<Option<Val>, Error>;

pub fn error(code: &str, msg: impl Into<String>) -> Error {
    Error {
        code: code.into(),
        message: msg.into(),
        position: None,
    }
}

/// `U1003`: a value larger than [`Limits::max_value_bytes`].
pub fn too_large(max: usize) -> Error {
    error(
        "U1003",
        format!(
            "The expression built a value larger than {} (the bound on any value an expression builds)",
            bytes_text(max)
        ),
    )
}

/// `U1003`: a value nested deeper than [`Limits::max_value_depth`].
pub fn too_deep(max: usize) -> Error {
    error(
        "U1003",
        format!("The expression built a value nested more than {max} levels deep"),
    )
}

fn bytes_text(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// The running size of a value being built item by item (an array, an
/// object, a string), so a loop fails as soon as its result passes the
/// bound rather than after building it whole.
pub struct Budget {
    used: usize,
    max: usize,
    max_depth: usize,
}

impl Budget {
    /// Counts one more item of an array or value of an object.
    pub fn add(&mut self, v: &Val) -> Result<(), Error> {
        if v.depth() >= self.max_depth {
            return Err(too_deep(self.max_depth));
        }
        self.add_bytes(v.size() + 1)
    }

    /// Counts `n` more bytes of a string (or of keys).
    pub fn add_bytes(&mut self, n: usize) -> Result<(), Error> {
        self.used = self.used.saturating_add(n);
        if self.used > self.max {
            return Err(too_large(self.max));
        }
        Ok(())
    }
}

/// A scope of variable bindings. Lambdas capture their defining frame.
pub struct Frame {
    /// `None` values record a binding to undefined, which shadows outer ones.
    vars: RefCell<HashMap<Rc<str>, Option<Val>>>,
    parent: Option<Rc<Frame>>,
}

impl Frame {
    pub fn bind(&self, name: &str, v: Option<Val>) {
        self.vars.borrow_mut().insert(Rc::from(name), v);
    }
    fn get(&self, name: &str) -> Option<Option<Val>> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.get(name))
    }
}

pub struct Evaluator<'a> {
    pub env: &'a Environment<'a>,
    labels: &'a [String],
    depth: usize,
    steps: u64,
    limits: Limits,
    /// Every frame created, so reference cycles through closures can be broken
    /// when evaluation ends (a recursive lambda bound in its own frame).
    frames: Vec<Rc<Frame>>,
    bound_cache: HashMap<String, Option<Val>>,
    pub rng: crate::random::Rng,
}

impl Drop for Evaluator<'_> {
    fn drop(&mut self) {
        for f in &self.frames {
            f.vars.borrow_mut().clear();
        }
    }
}

fn is_num_or_str(v: &Option<Val>) -> bool {
    matches!(v, Some(Val::Num(_)) | Some(Val::Str(_)))
}

pub fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::Str(_) => "string",
        Val::Arr(..) => "array",
        Val::Obj(_) => "object",
        Val::Func(_) => "function",
    }
}

/// JavaScript `===` (reference identity for objects and arrays).
fn strict_equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Arr(x, _), Val::Arr(y, _)) => Rc::ptr_eq(x, y),
        (Val::Obj(x), Val::Obj(y)) => Rc::ptr_eq(x, y),
        _ => deep_equal(a, b),
    }
}

pub fn to_seq(v: Option<Val>) -> Vec<Val> {
    match v {
        None => Vec::new(),
        Some(Val::Arr(a, _)) => Rc::try_unwrap(a).map_or_else(|a| a.to_vec(), Array::into_vec),
        Some(v) => vec![v],
    }
}

/// `fn.append` from jsonata-js.
pub fn append(a: Option<Val>, b: Option<Val>) -> Option<Val> {
    match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(a), Some(b)) => {
            let mut v = match a {
                Val::Arr(x, _) => x.to_vec(),
                x => vec![x],
            };
            match b {
                Val::Arr(y, _) => v.extend(y.iter().cloned()),
                y => v.push(y),
            }
            Some(Val::array(v))
        }
    }
}

fn flatten_into(v: &Val, out: &mut Vec<Val>, budget: &mut Budget) -> Result<(), Error> {
    match v {
        Val::Arr(a, _) => {
            for x in a.iter() {
                flatten_into(x, out, budget)?;
            }
        }
        x => {
            budget.add(x)?;
            out.push(x.clone())
        }
    }
    Ok(())
}

fn tuple_get(t: &Val, key: &str) -> Option<Val> {
    match t {
        Val::Obj(m) => m.get(key).cloned(),
        _ => None,
    }
}

impl<'a> Evaluator<'a> {
    pub fn new(env: &'a Environment<'a>, labels: &'a [String], limits: Limits) -> Self {
        Evaluator {
            env,
            labels,
            depth: 0,
            steps: 0,
            limits,
            frames: Vec::new(),
            bound_cache: HashMap::new(),
            rng: crate::random::Rng::new(env.seed),
        }
    }

    pub fn new_frame(&mut self, parent: Option<&Rc<Frame>>) -> Rc<Frame> {
        let f = Rc::new(Frame {
            vars: RefCell::new(HashMap::new()),
            parent: parent.cloned(),
        });
        self.frames.push(f.clone());
        f
    }

    fn frame_from_tuple(&mut self, env: &Rc<Frame>, tuple: &Val) -> Rc<Frame> {
        let f = self.new_frame(Some(env));
        if let Val::Obj(m) = tuple {
            let mut vars = f.vars.borrow_mut();
            for (k, v) in m.iter() {
                vars.insert(k.clone(), Some(v.clone()));
            }
        }
        f
    }

    pub fn lookup(&mut self, env: &Rc<Frame>, name: &str) -> R {
        if let Some(v) = env.get(name) {
            return Ok(v);
        }
        if let Some(v) = self.bound_cache.get(name) {
            return Ok(v.clone());
        }
        let v = match self.env.bindings.lookup(name) {
            Some(json) => Some(self.from_json(json)?),
            None => functions::builtin(name),
        };
        self.bound_cache.insert(name.to_string(), v.clone());
        Ok(v)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A budget for building one value (see [`Budget`]).
    pub fn budget(&self) -> Budget {
        Budget {
            used: 0,
            max: self.limits.max_value_bytes,
            max_depth: self.limits.max_value_depth,
        }
    }

    /// Fails when `v` is larger or deeper than the limits allow.
    pub fn check(&self, v: &Val) -> Result<(), Error> {
        if v.size() > self.limits.max_value_bytes && !v.flags().has(Flags::RANGE) {
            return Err(too_large(self.limits.max_value_bytes));
        }
        if v.depth() > self.limits.max_value_depth {
            return Err(too_deep(self.limits.max_value_depth));
        }
        Ok(())
    }

    /// Fails unless a string of `len` bytes is within the limits; called
    /// before building it.
    pub fn check_len(&self, len: usize) -> Result<(), Error> {
        if len.saturating_add(2) > self.limits.max_value_bytes {
            return Err(too_large(self.limits.max_value_bytes));
        }
        Ok(())
    }

    /// Converts a JSON document the expression reads (its input, a
    /// binding, `$parse`'s result).
    pub fn from_json(&self, v: &serde_json::Value) -> Result<Val, Error> {
        Val::from_json(v, self.limits.max_value_depth)
            .ok_or_else(|| too_deep(self.limits.max_value_depth))
    }

    /// Evaluation steps taken so far, as [`Limits::max_steps`] counts them.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Counts `n` steps of work at once (building a large value); fails
    /// as [`Evaluator::tick`] does, before the work, if they pass the bound.
    pub fn charge(&mut self, n: u64) -> Result<(), Error> {
        match self.steps.checked_add(n) {
            Some(total) if total <= self.limits.max_steps => {
                self.steps = total;
                Ok(())
            }
            _ => {
                self.steps = self.limits.max_steps + 1;
                Err(error(
                    "U1001",
                    "Expression evaluation timeout: Check for infinite loop",
                ))
            }
        }
    }

    pub fn tick(&mut self) -> Result<(), Error> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(error(
                "U1001",
                "Expression evaluation timeout: Check for infinite loop",
            ));
        }
        Ok(())
    }

    pub fn eval(&mut self, node: &Node, input: Option<&Val>, env: &Rc<Frame>) -> R {
        self.depth += 1;
        self.steps += 1;
        if self.depth > self.limits.max_depth {
            self.depth -= 1;
            return Err(Error {
                code: "U1001".into(),
                message: "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.".into(),
                position: Some(node.pos),
            });
        }
        if self.steps > self.limits.max_steps {
            self.depth -= 1;
            return Err(Error {
                code: "U1001".into(),
                message: "Expression evaluation timeout: Check for infinite loop".into(),
                position: Some(node.pos),
            });
        }
        // Grow the stack on demand so deep (but depth-limited) recursion is
        // safe on small thread stacks too.
        let r: R = stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || {
            let v = self.eval_inner(node, input, env)?;
            if let Some(v) = &v {
                self.check(v)?;
            }
            Ok(v)
        });
        self.depth -= 1;
        r.map_err(|mut e| {
            if e.position.is_none() {
                e.position = Some(node.pos);
            }
            e
        })
    }

    fn eval_inner(&mut self, node: &Node, input: Option<&Val>, env: &Rc<Frame>) -> R {
        let mut result: Option<Val> = match &node.kind {
            Kind::Path {
                steps,
                keep_singleton,
            } => self.eval_path(node, steps, *keep_singleton, input, env)?,
            Kind::Binary(op, l, r) => self.eval_binary(*op, l, r, input, env)?,
            Kind::Neg(e) => match self.eval(e, input, env)? {
                None => None,
                Some(Val::Num(n)) => Some(Val::Num(-n)),
                Some(_) => return Err(error("D1002", "Cannot negate a non-numeric value")),
            },
            Kind::Array(items) => self.eval_array(node, items, input, env)?,
            Kind::Object(pairs) => Some(self.eval_group(pairs, input.cloned(), env)?),
            Kind::Str(s) => Some(Val::str(s)),
            Kind::Num(n) => Some(Val::Num(*n)),
            Kind::Bool(b) => Some(Val::Bool(*b)),
            Kind::Null => Some(Val::Null),
            Kind::Name(name) => lookup_field(input, name),
            Kind::Var(name) => {
                if name.is_empty() {
                    match input {
                        Some(Val::Arr(a, f)) if f.has(Flags::OUTER_WRAPPER) => a.first().cloned(),
                        other => other.cloned(),
                    }
                } else {
                    self.lookup(env, name)?
                }
            }
            Kind::Wildcard => {
                let mut out = Vec::new();
                let inp = match input {
                    Some(Val::Arr(a, f)) if f.has(Flags::OUTER_WRAPPER) && !a.is_empty() => {
                        a.first()
                    }
                    other => other,
                };
                // JavaScript arrays are objects too: their values are the items
                let values: Vec<Val> = match inp {
                    Some(Val::Obj(m)) => m.values().cloned().collect(),
                    Some(Val::Arr(a, _)) => a.to_vec(),
                    _ => Vec::new(),
                };
                let mut budget = self.budget();
                for v in &values {
                    flatten_into(v, &mut out, &mut budget)?;
                }
                Some(Val::seq(out))
            }
            Kind::Descendant => match input {
                None => None,
                Some(v) => {
                    let mut out = Vec::new();
                    descendants(v, &mut out, &mut self.budget())?;
                    if out.len() == 1 {
                        out.pop()
                    } else {
                        Some(Val::seq(out))
                    }
                }
            },
            Kind::Parent(slot) => {
                let label = self.labels.get(*slot).cloned().unwrap_or_default();
                self.lookup(env, &label)?
            }
            Kind::Regex(re) => Some(Val::Func(Rc::new(Func::Regex(re.clone())))),
            Kind::Cond(c, t, e) => {
                let cv = self.eval(c, input, env)?;
                if functions::boolean(cv.as_ref()).unwrap_or(false) {
                    self.eval(t, input, env)?
                } else if let Some(e) = e {
                    self.eval(e, input, env)?
                } else {
                    None
                }
            }
            Kind::Block(items) => {
                let frame = self.new_frame(Some(env));
                let mut r = None;
                for it in items {
                    r = self.eval(it, input, &frame)?;
                }
                r
            }
            Kind::Bind(name, rhs) => {
                let v = self.eval(rhs, input, env)?;
                env.bind(name, v.clone());
                v
            }
            Kind::Call {
                procedure,
                args,
                partial,
            } => {
                if *partial {
                    self.eval_partial(procedure, args, input, env)?
                } else {
                    self.eval_call(procedure, args, input, env, None)?
                }
            }
            Kind::Placeholder => None,
            Kind::Lambda(def) => Some(Val::Func(Rc::new(Func::Lambda {
                def: def.clone(),
                env: env.clone(),
                input: input.cloned(),
            }))),
            Kind::Apply(l, r) => self.eval_apply(l, r, input, env)?,
            Kind::Transform(def) => Some(Val::Func(Rc::new(Func::Transform {
                def: def.clone(),
                env: env.clone(),
            }))),
            Kind::Sort(_) => {
                // a sort only appears as a path step
                let items = to_seq(input.cloned());
                Some(self.eval_sort(node, items, env, false)?)
            }
        };
        for p in &node.predicate {
            result = self.eval_filter(p, result, env)?;
        }
        if !matches!(node.kind, Kind::Path { .. }) {
            if let Some(g) = &node.group {
                result = Some(self.eval_group(&g.0, result, env)?);
            }
        }
        if let Some(Val::Arr(a, f)) = &result {
            if f.has(Flags::SEQUENCE) && !f.has(Flags::TUPLE_STREAM) {
                let f = if node.keep_array {
                    f.with(Flags::KEEP_SINGLETON)
                } else {
                    *f
                };
                if a.is_empty() {
                    return Ok(None);
                }
                if a.len() == 1 && !f.has(Flags::KEEP_SINGLETON) {
                    return Ok(a.first().cloned());
                }
                return Ok(Some(Val::Arr(a.clone(), f)));
            }
        }
        Ok(result)
    }

    /// An array constructor `[a, b, ...]`: items that are sequences are
    /// flattened into it, arrays built by a nested constructor are not.
    fn eval_array(
        &mut self,
        node: &Node,
        items: &[Node],
        input: Option<&Val>,
        env: &Rc<Frame>,
    ) -> R {
        let f = if node.consarray {
            Flags::CONS
        } else {
            Flags::default()
        };
        if let [only] = items {
            if matches!(only.kind, Kind::Binary(BinOp::Range, ..)) {
                // `[a..b]` is the range itself, shared rather than copied
                return Ok(match self.eval(only, input, env)? {
                    Some(Val::Arr(a, rf)) if rf.has(Flags::RANGE) => {
                        Some(Val::Arr(a, f.with(Flags::RANGE)))
                    }
                    Some(Val::Arr(a, _)) => Some(Val::Arr(a, f)),
                    Some(v) => Some(Val::arr(vec![v], f)),
                    None => Some(Val::arr(Vec::new(), f)),
                });
            }
        }
        let mut out: Vec<Val> = Vec::new();
        let mut budget = self.budget();
        for it in items {
            let v = self.eval(it, input, env)?;
            if let Some(v) = v {
                if matches!(it.kind, Kind::Array(_)) {
                    budget.add(&v)?;
                    out.push(v);
                } else {
                    match v {
                        Val::Arr(a, _) => {
                            for x in a.iter() {
                                budget.add(x)?;
                                out.push(x.clone());
                            }
                        }
                        v => {
                            budget.add(&v)?;
                            out.push(v)
                        }
                    }
                }
            }
        }
        Ok(Some(Val::arr(out, f)))
    }

    fn eval_path(
        &mut self,
        node: &Node,
        steps: &[Node],
        keep_singleton: bool,
        input: Option<&Val>,
        env: &Rc<Frame>,
    ) -> R {
        let first_is_var = steps
            .first()
            .is_some_and(|s| matches!(s.kind, Kind::Var(_)));
        let mut inputs: Vec<Option<Val>> = match input {
            Some(Val::Arr(a, _)) if !first_is_var => a.iter().cloned().map(Some).collect(),
            other => vec![other.cloned()],
        };
        let mut result: Option<Val> = None;
        let mut tuples: Option<Vec<Val>> = None;
        let mut is_tuple = false;
        let n = steps.len();
        for (i, step) in steps.iter().enumerate() {
            if step.tuple {
                is_tuple = true;
            }
            if i == 0 && step.consarray {
                result = self.eval(step, input, env)?;
            } else if is_tuple {
                tuples = Some(self.eval_tuple_step(step, &inputs, tuples, env)?);
            } else {
                result = Some(self.eval_step(step, &inputs, env, i == n - 1)?);
            }
            if !is_tuple {
                match &result {
                    None => break,
                    Some(Val::Arr(a, _)) if a.is_empty() => break,
                    _ => {}
                }
            }
            if step.focus.is_none() {
                inputs = match &result {
                    Some(Val::Arr(a, _)) => a.iter().cloned().map(Some).collect(),
                    Some(v) => vec![Some(v.clone())],
                    None => Vec::new(),
                };
            }
        }
        if is_tuple {
            let ts = tuples.unwrap_or_default();
            if node.tuple {
                result = Some(Val::arr(ts, Flags::SEQUENCE.with(Flags::TUPLE_STREAM)));
            } else {
                let out: Vec<Val> = ts.iter().filter_map(|t| tuple_get(t, "@")).collect();
                result = Some(Val::seq(out));
            }
        }
        if keep_singleton {
            result = match result {
                Some(Val::Arr(a, f)) => {
                    let f = if f.has(Flags::CONS) && !f.has(Flags::SEQUENCE) {
                        // wrap the constructed array in a sequence
                        return self.finish_path(
                            node,
                            Some(Val::arr(
                                vec![Val::Arr(a, f)],
                                Flags::SEQUENCE.with(Flags::KEEP_SINGLETON),
                            )),
                            env,
                        );
                    } else {
                        f.with(Flags::KEEP_SINGLETON)
                    };
                    Some(Val::Arr(a, f))
                }
                Some(v) => Some(Val::arr(
                    vec![v],
                    Flags::SEQUENCE.with(Flags::KEEP_SINGLETON),
                )),
                None => None,
            };
        }
        self.finish_path(node, result, env)
    }

    fn finish_path(&mut self, node: &Node, result: Option<Val>, env: &Rc<Frame>) -> R {
        if let Some(g) = &node.group {
            return Ok(Some(self.eval_group(&g.0, result, env)?));
        }
        Ok(result)
    }

    fn eval_step(
        &mut self,
        step: &Node,
        inputs: &[Option<Val>],
        env: &Rc<Frame>,
        last: bool,
    ) -> Result<Val, Error> {
        if matches!(step.kind, Kind::Sort(_)) {
            let items: Vec<Val> = inputs.iter().flatten().cloned().collect();
            let r = self.eval_sort(step, items, env, false)?;
            return self.eval_stages(&step.stages, r, env);
        }
        let mut results: Vec<Val> = Vec::new();
        // the step's results are flattened into one sequence below
        let mut budget = self.budget();
        for item in inputs {
            let mut res = self.eval(step, item.as_ref(), env)?;
            for st in &step.stages {
                if let Stage::Filter(p) = st {
                    res = self.eval_filter(p, res, env)?;
                }
            }
            if let Some(r) = res {
                budget.add(&r)?;
                results.push(r);
            }
        }
        if last && results.len() == 1 {
            if let Some(Val::Arr(_, f)) = results.first() {
                if !f.has(Flags::SEQUENCE) {
                    return Ok(results.pop().unwrap_or(Val::Null));
                }
            }
        }
        let mut out = Vec::new();
        for r in results {
            match r {
                Val::Arr(a, f) if !f.has(Flags::CONS) => out.extend(a.iter().cloned()),
                v => out.push(v),
            }
        }
        Ok(Val::seq(out))
    }

    fn eval_stages(&mut self, stages: &[Stage], input: Val, env: &Rc<Frame>) -> Result<Val, Error> {
        let mut cur = input;
        for st in stages {
            match st {
                Stage::Filter(p) => {
                    cur = self
                        .eval_filter(p, Some(cur), env)?
                        .unwrap_or_else(|| Val::seq(Vec::new()));
                }
                Stage::Index(name) => {
                    let f = cur.flags();
                    let items = to_seq(Some(cur));
                    let out = items
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| set_tuple(t, name, Val::Num(i as f64)))
                        .collect();
                    cur = Val::arr(out, f);
                }
            }
        }
        Ok(cur)
    }

    fn eval_tuple_step(
        &mut self,
        step: &Node,
        inputs: &[Option<Val>],
        tuples: Option<Vec<Val>>,
        env: &Rc<Frame>,
    ) -> Result<Vec<Val>, Error> {
        if matches!(step.kind, Kind::Sort(_)) {
            let result = match tuples {
                Some(ts) => self.eval_sort(step, ts, env, true)?,
                None => {
                    let items: Vec<Val> = inputs.iter().flatten().cloned().collect();
                    let sorted = to_seq(Some(self.eval_sort(step, items, env, false)?));
                    let out: Vec<Val> = sorted
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let mut m = Map::new();
                            m.insert(Rc::from("@"), v);
                            if let Some(ix) = &step.index {
                                m.insert(Rc::from(ix.as_str()), Val::Num(i as f64));
                            }
                            Val::object(m)
                        })
                        .collect();
                    Val::arr(out, Flags::SEQUENCE.with(Flags::TUPLE_STREAM))
                }
            };
            let r = self.eval_stages(&step.stages, result, env)?;
            return Ok(to_seq(Some(r)));
        }
        let tuples: Vec<Val> = match tuples {
            Some(t) => t,
            None => inputs
                .iter()
                .map(|i| {
                    let mut m = Map::new();
                    if let Some(v) = i {
                        m.insert(Rc::from("@"), v.clone());
                    }
                    Val::object(m)
                })
                .collect(),
        };
        let mut result = Vec::new();
        let mut budget = self.budget();
        for t in &tuples {
            let frame = self.frame_from_tuple(env, t);
            let ctx = tuple_get(t, "@");
            let res = self.eval(step, ctx.as_ref(), &frame)?;
            let Some(res) = res else { continue };
            let is_stream = res.flags().has(Flags::TUPLE_STREAM);
            let items = match res {
                Val::Arr(a, _) => a.to_vec(),
                v => vec![v],
            };
            let Val::Obj(base) = t else { continue };
            for (bb, item) in items.into_iter().enumerate() {
                let mut m: Map = base.to_map();
                if is_stream {
                    if let Val::Obj(im) = &item {
                        for (k, v) in im.iter() {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    if let Some(focus) = &step.focus {
                        m.insert(Rc::from(focus.as_str()), item);
                        if let Some(at) = base.get("@") {
                            m.insert(Rc::from("@"), at.clone());
                        }
                    } else {
                        m.insert(Rc::from("@"), item);
                    }
                    if let Some(ix) = &step.index {
                        m.insert(Rc::from(ix.as_str()), Val::Num(bb as f64));
                    }
                    if let Some(slot) = step.ancestor {
                        let label = self.labels.get(slot).cloned().unwrap_or_default();
                        match base.get("@") {
                            Some(at) => {
                                m.insert(Rc::from(label.as_str()), at.clone());
                            }
                            None => {
                                m.shift_remove(label.as_str());
                            }
                        }
                    }
                }
                let tuple = Val::object(m);
                budget.add(&tuple)?;
                result.push(tuple);
            }
        }
        let r = Val::arr(result, Flags::SEQUENCE.with(Flags::TUPLE_STREAM));
        let r = self.eval_stages(&step.stages, r, env)?;
        Ok(to_seq(Some(r)))
    }

    fn eval_filter(&mut self, pred: &Node, input: Option<Val>, env: &Rc<Frame>) -> R {
        let is_stream = input
            .as_ref()
            .is_some_and(|v| v.flags().has(Flags::TUPLE_STREAM));
        let items: Vec<Val> = match input {
            None => Vec::new(),
            Some(Val::Arr(a, _)) => a.to_vec(),
            Some(v) => vec![v],
        };
        let flags = if is_stream {
            Flags::SEQUENCE.with(Flags::TUPLE_STREAM)
        } else {
            Flags::SEQUENCE
        };
        if let Kind::Num(n) = pred.kind {
            let mut idx = n.floor();
            if idx < 0.0 {
                idx += items.len() as f64;
            }
            let mut out = Vec::new();
            if idx >= 0.0 {
                if let Some(item) = items.get(idx as usize) {
                    match item {
                        Val::Arr(..) => return Ok(Some(item.clone())),
                        v => out.push(v.clone()),
                    }
                }
            }
            return Ok(Some(Val::arr(out, flags)));
        }
        let len = items.len();
        let mut out = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let (ctx, frame) = if is_stream {
                let f = self.frame_from_tuple(env, &item);
                (tuple_get(&item, "@"), f)
            } else {
                (Some(item.clone()), env.clone())
            };
            let res = self.eval(pred, ctx.as_ref(), &frame)?;
            let nums: Option<Vec<f64>> = match &res {
                Some(Val::Num(n)) => Some(vec![*n]),
                Some(Val::Arr(a, _))
                    if !a.is_empty() && a.iter().all(|v| matches!(v, Val::Num(_))) =>
                {
                    Some(a.iter().filter_map(|v| v.as_num()).collect())
                }
                _ => None,
            };
            if let Some(nums) = nums {
                for n in nums {
                    let mut ii = n.floor();
                    if ii < 0.0 {
                        ii += len as f64;
                    }
                    if ii == index as f64 {
                        out.push(item.clone());
                    }
                }
            } else if functions::boolean(res.as_ref()).unwrap_or(false) {
                out.push(item);
            }
        }
        Ok(Some(Val::arr(out, flags)))
    }

    fn eval_sort(
        &mut self,
        step: &Node,
        items: Vec<Val>,
        env: &Rc<Frame>,
        tuple_mode: bool,
    ) -> Result<Val, Error> {
        let Kind::Sort(terms) = &step.kind else {
            return Ok(Val::seq(items));
        };
        // keys[i][t] = value of term t for item i
        let mut keys: Vec<Vec<Option<Val>>> = Vec::with_capacity(items.len());
        for item in &items {
            let mut k = Vec::with_capacity(terms.len());
            for (expr, _) in terms {
                let v = if tuple_mode {
                    let f = self.frame_from_tuple(env, item);
                    let ctx = tuple_get(item, "@");
                    self.eval(expr, ctx.as_ref(), &f)?
                } else {
                    self.eval(expr, Some(item), env)?
                };
                k.push(v);
            }
            keys.push(k);
        }
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let mut err: Option<Error> = None;
        idx.sort_by(|&a, &b| {
            if err.is_some() {
                return std::cmp::Ordering::Equal;
            }
            for (t, (_, desc)) in terms.iter().enumerate() {
                let av = keys.get(a).and_then(|k| k.get(t)).cloned().flatten();
                let bv = keys.get(b).and_then(|k| k.get(t)).cloned().flatten();
                let ord = match (&av, &bv) {
                    (None, None) => continue,
                    (None, _) => return std::cmp::Ordering::Greater,
                    (_, None) => return std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => {
                        if !is_num_or_str(&av) || !is_num_or_str(&bv) {
                            err = Some(error("T2008", "The expressions within an order-by clause must evaluate to numeric or string values"));
                            return std::cmp::Ordering::Equal;
                        }
                        match (x, y) {
                            (Val::Num(p), Val::Num(q)) => p.partial_cmp(q).unwrap_or(std::cmp::Ordering::Equal),
                            (Val::Str(p), Val::Str(q)) => functions::cmp_str(p, q),
                            _ => {
                                err = Some(error("T2007", "Type mismatch within order-by clause. All values must be of the same type"));
                                return std::cmp::Ordering::Equal;
                            }
                        }
                    }
                };
                if ord == std::cmp::Ordering::Equal {
                    continue;
                }
                return if *desc { ord.reverse() } else { ord };
            }
            std::cmp::Ordering::Equal
        });
        if let Some(e) = err {
            return Err(e);
        }
        let out: Vec<Val> = idx
            .into_iter()
            .filter_map(|i| items.get(i).cloned())
            .collect();
        let f = if tuple_mode {
            Flags::SEQUENCE.with(Flags::TUPLE_STREAM)
        } else {
            Flags::SEQUENCE
        };
        Ok(Val::arr(out, f))
    }

    pub fn eval_group(
        &mut self,
        pairs: &[(Node, Node)],
        input: Option<Val>,
        env: &Rc<Frame>,
    ) -> Result<Val, Error> {
        let reduce = input
            .as_ref()
            .is_some_and(|v| v.flags().has(Flags::TUPLE_STREAM));
        let mut items: Vec<Option<Val>> = match input {
            Some(Val::Arr(a, _)) => a.iter().cloned().map(Some).collect(),
            other => vec![other],
        };
        if items.is_empty() {
            items.push(None);
        }
        // key -> (data, pair index), in first-seen order
        let mut groups: indexmap::IndexMap<Rc<str>, (Gathered, usize)> = indexmap::IndexMap::new();
        for item in &items {
            let frame = match (reduce, item) {
                (true, Some(t)) => self.frame_from_tuple(env, t),
                _ => env.clone(),
            };
            let ctx = if reduce {
                item.as_ref().and_then(|t| tuple_get(t, "@"))
            } else {
                item.clone()
            };
            for (pi, (kexpr, _)) in pairs.iter().enumerate() {
                let key = self.eval(kexpr, ctx.as_ref(), &frame)?;
                match key {
                    None => {}
                    Some(Val::Str(k)) => {
                        if let Some(entry) = groups.get_mut(&k) {
                            if entry.1 != pi {
                                return Err(error(
                                    "D1009",
                                    format!("Multiple key definitions evaluate to same key: {k}"),
                                ));
                            }
                            entry.0.push(item.clone());
                        } else {
                            let mut data = Gathered::default();
                            data.push(item.clone());
                            groups.insert(k, (data, pi));
                        }
                    }
                    Some(_) => {
                        return Err(error(
                            "T1003",
                            "Key in object structure must evaluate to a string",
                        ));
                    }
                }
            }
        }
        let mut result = Map::new();
        for (k, (data, pi)) in groups {
            let data = data.into_val();
            let (ctx, frame) = if reduce {
                let tuple = reduce_tuple_stream(data);
                let mut m = match tuple {
                    Some(Val::Obj(m)) => m.to_map(),
                    _ => Map::new(),
                };
                let at = m.shift_remove("@");
                let t = Val::object(m);
                (at, self.frame_from_tuple(env, &t))
            } else {
                (data, env.clone())
            };
            if let Some((_, vexpr)) = pairs.get(pi) {
                if let Some(v) = self.eval(vexpr, ctx.as_ref(), &frame)? {
                    result.insert(k, v);
                }
            }
        }
        Ok(Val::object(result))
    }

    fn eval_binary(
        &mut self,
        op: BinOp,
        l: &Node,
        r: &Node,
        input: Option<&Val>,
        env: &Rc<Frame>,
    ) -> R {
        let lhs = self.eval(l, input, env)?;
        match op {
            BinOp::And => {
                let lb = functions::boolean(lhs.as_ref()).unwrap_or(false);
                if !lb {
                    return Ok(Some(Val::Bool(false)));
                }
                let rhs = self.eval(r, input, env)?;
                return Ok(Some(Val::Bool(
                    functions::boolean(rhs.as_ref()).unwrap_or(false),
                )));
            }
            BinOp::Or => {
                let lb = functions::boolean(lhs.as_ref()).unwrap_or(false);
                if lb {
                    return Ok(Some(Val::Bool(true)));
                }
                let rhs = self.eval(r, input, env)?;
                return Ok(Some(Val::Bool(
                    functions::boolean(rhs.as_ref()).unwrap_or(false),
                )));
            }
            _ => {}
        }
        let rhs = self.eval(r, input, env)?;
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let ln = match &lhs {
                    None => None,
                    Some(Val::Num(n)) => Some(*n),
                    Some(_) => {
                        return Err(error(
                            "T2001",
                            format!(
                                "The left side of the {} operator must evaluate to a number",
                                op_sym(op)
                            ),
                        ))
                    }
                };
                let rn = match &rhs {
                    None => None,
                    Some(Val::Num(n)) => Some(*n),
                    Some(_) => {
                        return Err(error(
                            "T2002",
                            format!(
                                "The right side of the {} operator must evaluate to a number",
                                op_sym(op)
                            ),
                        ))
                    }
                };
                if ln.is_some_and(|x| x.is_infinite()) || rn.is_some_and(|x| x.is_infinite()) {
                    return Err(error("D1001", "Number out of range"));
                }
                let (Some(a), Some(b)) = (ln, rn) else {
                    return Ok(None);
                };
                let v = match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    _ => a % b,
                };

                Ok(Some(Val::Num(v)))
            }
            BinOp::Eq | BinOp::Ne => {
                let (Some(a), Some(b)) = (&lhs, &rhs) else {
                    return Ok(Some(Val::Bool(false)));
                };
                let eq = deep_equal(a, b);
                Ok(Some(Val::Bool(if op == BinOp::Eq { eq } else { !eq })))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let lc = lhs.is_none() || is_num_or_str(&lhs);
                let rc = rhs.is_none() || is_num_or_str(&rhs);
                if !lc || !rc {
                    return Err(error("T2010", format!("The expressions either side of operator \"{}\" must evaluate to numeric or string values", op_sym(op))));
                }
                let (Some(a), Some(b)) = (&lhs, &rhs) else {
                    return Ok(None);
                };
                let ord = match (a, b) {
                    (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
                    (Val::Str(x), Val::Str(y)) => Some(functions::cmp_str(x, y)),
                    _ => return Err(error("T2009", format!("The values either side of operator \"{}\" must be of the same data type", op_sym(op)))),
                };
                let Some(ord) = ord else {
                    return Ok(Some(Val::Bool(false)));
                };
                use std::cmp::Ordering::*;
                let b = match op {
                    BinOp::Lt => ord == Less,
                    BinOp::Le => ord != Greater,
                    BinOp::Gt => ord == Greater,
                    _ => ord != Less,
                };
                Ok(Some(Val::Bool(b)))
            }
            BinOp::Concat => {
                let max = self.limits.max_value_bytes;
                let text = |v: &Option<Val>| match v {
                    None => Ok(String::new()),
                    Some(v) => functions::string_of(v, false, max),
                };
                let (l, r) = (text(&lhs)?, text(&rhs)?);
                // doubling a string is the quickest way to exhaust memory
                self.check_len(l.len() + r.len())?;
                Ok(Some(Val::string(l + &r)))
            }
            BinOp::Range => {
                let li =
                    match &lhs {
                        None => None,
                        Some(Val::Num(n)) if n.fract() == 0.0 => Some(*n),
                        Some(_) => return Err(error(
                            "T2003",
                            "The left side of the range operator (..) must evaluate to an integer",
                        )),
                    };
                let ri =
                    match &rhs {
                        None => None,
                        Some(Val::Num(n)) if n.fract() == 0.0 => Some(*n),
                        Some(_) => return Err(error(
                            "T2004",
                            "The right side of the range operator (..) must evaluate to an integer",
                        )),
                    };
                let (Some(a), Some(b)) = (li, ri) else {
                    return Ok(None);
                };
                if a > b {
                    return Ok(None);
                }
                let size = b - a + 1.0;
                if size > 1e7 {
                    return Err(error("D2014", format!("The size of the sequence allocated by the range operator (..) must not exceed 1e7.  Attempted to allocate {size}.")));
                }
                // Charged before it is built, so the step bound holds
                // exactly and a range past it is never allocated.
                self.charge(size as u64 / 16)?;
                // Counted by index, not by stepping `x += 1.0`: beyond 2^53
                // adding one no longer changes a float, and that loop would
                // never end.
                let out: Vec<Val> = (0..size as u64).map(|i| Val::Num(a + i as f64)).collect();
                Ok(Some(Val::arr(out, Flags::SEQUENCE.with(Flags::RANGE))))
            }
            BinOp::In => {
                let (Some(a), Some(b)) = (&lhs, &rhs) else {
                    return Ok(Some(Val::Bool(false)));
                };
                let found = match b {
                    Val::Arr(items, _) => items.iter().any(|x| strict_equal(x, a)),
                    x => strict_equal(x, a),
                };
                Ok(Some(Val::Bool(found)))
            }
            BinOp::And | BinOp::Or => Ok(None),
        }
    }

    fn eval_call(
        &mut self,
        procedure: &Node,
        args: &[Node],
        input: Option<&Val>,
        env: &Rc<Frame>,
        applyto: Option<Option<Val>>,
    ) -> R {
        let proc_ = self.eval(procedure, input, env)?;
        let proc_name = proc_name(procedure);
        if proc_.is_none() {
            if let Kind::Path { steps, .. } = &procedure.kind {
                if let Some(Kind::Name(n)) = steps.first().map(|s| &s.kind) {
                    if self.lookup(env, n)?.is_some() {
                        return Err(error(
                            "T1005",
                            format!("Attempted to invoke a non-function. Did you mean ${n}?"),
                        ));
                    }
                }
            }
        }
        let mut vals: Vec<Option<Val>> = Vec::with_capacity(args.len() + 1);
        if let Some(a) = applyto {
            vals.push(a);
        }
        for a in args {
            vals.push(self.eval(a, input, env)?);
        }
        let Some(f) = proc_ else {
            return Err(error("T1006", "Attempted to invoke a non-function"));
        };
        self.apply(&f, vals, input, env, &proc_name)
    }

    fn eval_partial(
        &mut self,
        procedure: &Node,
        args: &[Node],
        input: Option<&Val>,
        env: &Rc<Frame>,
    ) -> R {
        let mut vals: Vec<Option<Option<Val>>> = Vec::new();
        for a in args {
            if matches!(a.kind, Kind::Placeholder) {
                vals.push(None);
            } else {
                vals.push(Some(self.eval(a, input, env)?));
            }
        }
        let proc_ = self.eval(procedure, input, env)?;
        match proc_ {
            Some(Val::Func(f)) => Ok(Some(Val::Func(Rc::new(Func::Partial {
                target: f,
                args: vals,
            })))),
            None => {
                if let Kind::Path { steps, .. } = &procedure.kind {
                    if let Some(Kind::Name(n)) = steps.first().map(|s| &s.kind) {
                        if self.lookup(env, n)?.is_some() {
                            return Err(error("T1007", format!("Attempted to partially apply a non-function. Did you mean ${n}?")));
                        }
                    }
                }
                Err(error(
                    "T1008",
                    "Attempted to partially apply a non-function",
                ))
            }
            Some(_) => Err(error(
                "T1008",
                "Attempted to partially apply a non-function",
            )),
        }
    }

    fn eval_apply(&mut self, l: &Node, r: &Node, input: Option<&Val>, env: &Rc<Frame>) -> R {
        let lhs = self.eval(l, input, env)?;
        if let Kind::Call {
            procedure,
            args,
            partial: false,
        } = &r.kind
        {
            return self.eval_call(procedure, args, input, env, Some(lhs));
        }
        let func = self.eval(r, input, env)?;
        let Some(Val::Func(g)) = func else {
            return Err(error(
                "T2006",
                "The right side of the function application operator ~> must be a function",
            ));
        };
        if let Some(Val::Func(f)) = lhs {
            return Ok(Some(Val::Func(Rc::new(Func::Chain(f, g)))));
        }
        self.apply(&Val::Func(g), vec![lhs], None, env, "")
    }

    /// Applies a function, running the trampoline for tail calls.
    pub fn apply(
        &mut self,
        f: &Val,
        args: Vec<Option<Val>>,
        input: Option<&Val>,
        env: &Rc<Frame>,
        name: &str,
    ) -> R {
        let mut result = self.apply_inner(f, args, input, env, name)?;
        loop {
            let thunk = match &result {
                Some(Val::Func(func)) => match func.as_ref() {
                    Func::Lambda {
                        def,
                        env: tenv,
                        input: tin,
                    } if def.thunk => Some((def.clone(), tenv.clone(), tin.clone())),
                    _ => None,
                },
                _ => None,
            };
            let Some((def, tenv, tin)) = thunk else { break };
            self.tick()?;
            let Kind::Call {
                procedure, args, ..
            } = &def.body.kind
            else {
                break;
            };
            let next = self.eval(procedure, tin.as_ref(), &tenv)?;
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(self.eval(a, tin.as_ref(), &tenv)?);
            }
            let pname = proc_name(procedure);
            let Some(next) = next else {
                return Err(error("T1006", "Attempted to invoke a non-function"));
            };
            result = self.apply_inner(&next, vals, input, env, &pname)?;
        }
        Ok(result)
    }

    fn apply_inner(
        &mut self,
        f: &Val,
        args: Vec<Option<Val>>,
        input: Option<&Val>,
        env: &Rc<Frame>,
        name: &str,
    ) -> R {
        let Val::Func(func) = f else {
            return Err(error("T1006", "Attempted to invoke a non-function"));
        };
        self.tick()?;
        match func.as_ref() {
            Func::Lambda {
                def,
                env: cenv,
                input: cin,
            } => {
                let args = match &def.signature {
                    Some(sig) => sig.validate(name, &args, input)?,
                    None => args,
                };
                let frame = self.new_frame(Some(cenv));
                for (i, p) in def.params.iter().enumerate() {
                    frame.bind(p, args.get(i).cloned().flatten());
                }
                self.eval(&def.body, cin.as_ref(), &frame)
            }
            Func::Builtin(b) => {
                // the context argument sees the document, not jsonata's wrapper
                let ctx = match input {
                    Some(Val::Arr(a, f)) if f.has(Flags::OUTER_WRAPPER) => a.first(),
                    other => other,
                };
                let args = b.sig.validate(b.name, &args, ctx)?;
                let r = (b.imp)(self, &args, input, env)?;
                // higher-order functions call built-ins without an `eval`
                // around them, which would check their result
                if let Some(v) = &r {
                    self.check(v)?;
                }
                Ok(r)
            }
            Func::Partial {
                target,
                args: bound,
            } => {
                let mut supplied = args.into_iter();
                let mut full = Vec::with_capacity(bound.len());
                for b in bound {
                    match b {
                        Some(v) => full.push(v.clone()),
                        None => full.push(supplied.next().flatten()),
                    }
                }
                self.apply(&Val::Func(target.clone()), full, input, env, name)
            }
            Func::Chain(a, b) => {
                let r = self.apply(&Val::Func(a.clone()), args, input, env, name)?;
                self.apply(&Val::Func(b.clone()), vec![r], input, env, name)
            }
            Func::Regex(re) => {
                let s = match args.first().cloned().flatten() {
                    None => return Ok(None),
                    Some(Val::Str(s)) => s,
                    Some(_) => {
                        return Err(error(
                            "T0410",
                            "Argument 1 of function regex must be a string",
                        ))
                    }
                };
                Ok(crate::regex::match_object(re, &s, 0))
            }
            Func::Transform { def, env: tenv } => {
                let arg = args.first().cloned().flatten();
                self.transform(def, arg, tenv)
            }
        }
    }

    fn transform(&mut self, def: &TransformDef, obj: Option<Val>, env: &Rc<Frame>) -> R {
        let Some(obj) = obj else { return Ok(None) };
        match &obj {
            Val::Obj(_) | Val::Arr(..) => {}
            _ => {
                return Err(error(
                    "T0410",
                    "Argument 1 of function transform does not match function signature",
                ))
            }
        }
        // Deep copy so identity-based matching below refers to fresh objects.
        let obj = deep_clone(&obj);
        let matches = self.eval(&def.pattern, Some(&obj), env)?;
        let matches = to_seq(matches);
        let mut edits: HashMap<*const Object, (Map, Vec<String>)> = HashMap::new();
        for m in &matches {
            let Val::Obj(mo) = m else { continue };
            let update = self.eval(&def.update, Some(m), env)?;
            let mut upd = Map::new();
            match update {
                None => {}
                Some(Val::Obj(u)) => upd = u.to_map(),
                Some(_) => return Err(error("T2011", "The insert/update clause of the transform expression must evaluate to an object")),
            }
            let mut dels = Vec::new();
            if let Some(d) = &def.delete {
                match self.eval(d, Some(m), env)? {
                    None => {}
                    Some(Val::Str(s)) => dels.push(s.to_string()),
                    Some(Val::Arr(a, _)) => {
                        for x in a.iter() {
                            match x {
                                Val::Str(s) => dels.push(s.to_string()),
                                _ => return Err(error("T2012", "The delete clause of the transform expression must evaluate to a string or array of strings")),
                            }
                        }
                    }
                    Some(_) => return Err(error("T2012", "The delete clause of the transform expression must evaluate to a string or array of strings")),
                }
            }
            let e = edits
                .entry(Rc::as_ptr(mo))
                .or_insert_with(|| (Map::new(), Vec::new()));
            for (k, v) in upd {
                e.0.insert(k, v);
            }
            e.1.extend(dels);
        }
        Ok(Some(rebuild(&obj, &edits)))
    }
}

fn rebuild(v: &Val, edits: &HashMap<*const Object, (Map, Vec<String>)>) -> Val {
    match v {
        Val::Obj(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, x) in m.iter() {
                out.insert(k.clone(), rebuild(x, edits));
            }
            if let Some((upd, dels)) = edits.get(&Rc::as_ptr(m)) {
                for (k, x) in upd {
                    out.insert(k.clone(), x.clone());
                }
                for d in dels {
                    out.shift_remove(d.as_str());
                }
            }
            Val::object(out)
        }
        Val::Arr(a, f) => Val::arr(a.iter().map(|x| rebuild(x, edits)).collect(), *f),
        x => x.clone(),
    }
}

pub fn deep_clone(v: &Val) -> Val {
    match v {
        Val::Obj(m) => Val::object(m.iter().map(|(k, x)| (k.clone(), deep_clone(x))).collect()),
        Val::Arr(a, f) => Val::arr(a.iter().map(deep_clone).collect(), *f),
        x => x.clone(),
    }
}

fn set_tuple(t: Val, name: &str, v: Val) -> Val {
    match t {
        Val::Obj(m) => {
            let mut m = Rc::try_unwrap(m).map_or_else(|m| m.to_map(), Object::into_map);
            m.insert(Rc::from(name), v);
            Val::object(m)
        }
        other => other,
    }
}

/// Values gathered under one key by repeated `fn.append` (the first value
/// as it is; from the second on, all of them flattened one level into an
/// array), built in linear time: `append` copies the whole array each time,
/// which made grouping many items under one key quadratic.
#[derive(Default)]
struct Gathered(Option<Val>, Option<Vec<Val>>);

impl Gathered {
    fn push(&mut self, v: Option<Val>) {
        let Some(v) = v else { return };
        let Some(first) = self.0.take() else {
            if let Some(items) = &mut self.1 {
                extend_flat(items, v);
            } else {
                self.0 = Some(v);
            }
            return;
        };
        let mut items = Vec::new();
        extend_flat(&mut items, first);
        extend_flat(&mut items, v);
        self.1 = Some(items);
    }

    fn into_val(self) -> Option<Val> {
        match self {
            Gathered(_, Some(items)) => Some(Val::array(items)),
            Gathered(first, None) => first,
        }
    }
}

fn extend_flat(items: &mut Vec<Val>, v: Val) {
    match v {
        Val::Arr(a, _) => items.extend(a.iter().cloned()),
        v => items.push(v),
    }
}

fn reduce_tuple_stream(data: Option<Val>) -> Option<Val> {
    match data {
        Some(Val::Arr(items, _)) => {
            let mut result: indexmap::IndexMap<Rc<str>, Gathered> = indexmap::IndexMap::new();
            if let Some(Val::Obj(m)) = items.first() {
                for (k, v) in m.iter() {
                    let mut g = Gathered::default();
                    g.push(Some(v.clone()));
                    result.insert(k.clone(), g);
                }
            }
            for t in items.iter().skip(1) {
                if let Val::Obj(m) = t {
                    for (k, v) in m.iter() {
                        // re-inserted, so it moves last, as jsonata-js does
                        let mut g = result.shift_remove(k).unwrap_or_default();
                        g.push(Some(v.clone()));
                        result.insert(k.clone(), g);
                    }
                }
            }
            let map: Map = result
                .into_iter()
                .filter_map(|(k, g)| g.into_val().map(|v| (k, v)))
                .collect();
            Some(Val::object(map))
        }
        other => other,
    }
}

fn op_sym(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Eq => "=",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::In => "in",
        BinOp::Concat => "&",
        BinOp::Range => "..",
    }
}

fn proc_name(procedure: &Node) -> String {
    match &procedure.kind {
        Kind::Path { steps, .. } => match steps.first().map(|s| &s.kind) {
            Some(Kind::Name(n)) => n.clone(),
            _ => String::new(),
        },
        Kind::Var(v) => v.clone(),
        _ => String::new(),
    }
}

fn lookup_field(input: Option<&Val>, key: &str) -> Option<Val> {
    match input {
        Some(Val::Arr(a, _)) => {
            let mut out = Vec::new();
            for item in a.iter() {
                match lookup_field(Some(item), key) {
                    Some(Val::Arr(x, _)) => out.extend(x.iter().cloned()),
                    Some(v) => out.push(v),
                    None => {}
                }
            }
            Some(Val::seq(out))
        }
        Some(Val::Obj(m)) => m.get(key).cloned(),
        _ => None,
    }
}

fn descendants(v: &Val, out: &mut Vec<Val>, budget: &mut Budget) -> Result<(), Error> {
    match v {
        Val::Arr(a, _) => {
            for x in a.iter() {
                descendants(x, out, budget)?;
            }
        }
        Val::Obj(m) => {
            budget.add(v)?;
            out.push(v.clone());
            for x in m.values() {
                descendants(x, out, budget)?;
            }
        }
        x => {
            budget.add(x)?;
            out.push(x.clone())
        }
    }
    Ok(())
}
