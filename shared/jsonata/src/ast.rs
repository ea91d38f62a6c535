//! The processed syntax tree the evaluator walks.
//!
//! It matches the shape jsonata-js produces after its `processAST` pass: paths
//! are flat lists of steps, predicates on steps become *stages*, and focus
//! (`@`), index (`#`) and parent (`%`) bindings are annotations on steps that
//! switch a path into tuple-stream mode. Everything is `Send + Sync` so a
//! parsed expression can be shared between threads.

use std::sync::Arc;

use crate::signature::Signature;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    In,
    Concat,
    Range,
}

#[derive(Debug, Clone)]
pub enum Stage {
    Filter(Node),
    Index(String),
}

#[derive(Debug, Clone)]
pub struct LambdaDef {
    pub params: Vec<String>,
    pub signature: Option<Signature>,
    pub body: Node,
    pub thunk: bool,
}

#[derive(Debug, Clone)]
pub struct TransformDef {
    pub pattern: Node,
    pub update: Node,
    pub delete: Option<Node>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Path {
        steps: Vec<Node>,
        keep_singleton: bool,
    },
    Binary(BinOp, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Array(Vec<Node>),
    Object(Vec<(Node, Node)>),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Name(String),
    Var(String),
    Wildcard,
    Descendant,
    Parent(usize),
    Regex(Arc<regex::Regex>),
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    Block(Vec<Node>),
    Bind(String, Box<Node>),
    Call {
        procedure: Box<Node>,
        args: Vec<Node>,
        partial: bool,
    },
    Placeholder,
    Lambda(Arc<LambdaDef>),
    Apply(Box<Node>, Box<Node>),
    Transform(Arc<TransformDef>),
    Sort(Vec<(Node, bool)>),
}

/// A grouping clause `{k: v, ...}` after a step, and its position.
pub type Group = (Vec<(Node, Node)>, usize);

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    pub pos: usize,
    pub keep_array: bool,
    /// Filters applied to this node's result (`expr[pred]` outside a path).
    pub predicate: Vec<Node>,
    /// Filters and index bindings applied per step inside a path.
    pub stages: Vec<Stage>,
    pub group: Option<Box<Group>>,
    pub focus: Option<String>,
    pub index: Option<String>,
    pub tuple: bool,
    /// Slot (label index) this step binds for a `%` further right.
    pub ancestor: Option<usize>,
    pub consarray: bool,
    /// Parent slots still looking for their step (parse-time only).
    pub seeking: Vec<usize>,
}

impl Node {
    pub fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            keep_array: false,
            predicate: Vec::new(),
            stages: Vec::new(),
            group: None,
            focus: None,
            index: None,
            tuple: false,
            ancestor: None,
            consarray: false,
            seeking: Vec::new(),
        }
    }
}
