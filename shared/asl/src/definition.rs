//! The typed model of a state machine.
//!
//! A definition is parsed once into a [`StateMachine`]: every path, payload
//! template, intrinsic call, Choice rule and JSONata expression compiled, and
//! every transition resolved to a [`StateId`]. States of all scopes (the
//! top level, each Parallel branch, each Map processor) live in one flat
//! list; a [`Block`] is one scope (`StartAt` + `States`). The engine walks
//! this model and never looks at the JSON again.
//!
//! Parsing assumes nothing: a definition that [`crate::validate`] would
//! reject still yields an error here, never a panic.

use crate::choice::ChoiceRule;
use crate::intrinsics::{looks_like_intrinsic, Intrinsic};
use crate::jsonata::{pointer_segment, Template};
use crate::jsonpath::JsonPath;
use crate::template::PayloadTemplate;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub type StateId = usize;
pub type BlockId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

impl QueryLanguage {
    fn from_value(v: &Value) -> Option<QueryLanguage> {
        match v.as_str()? {
            "JSONPath" => Some(QueryLanguage::JsonPath),
            "JSONata" => Some(QueryLanguage::Jsonata),
            _ => None,
        }
    }
}

/// A definition that cannot be turned into a runnable state machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct DefinitionError {
    /// JSON pointer into the definition.
    pub pointer: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub query_language: QueryLanguage,
    pub timeout_seconds: Option<u64>,
    pub blocks: Vec<Block>,
    pub states: Vec<State>,
}

/// One scope: the top level, a Parallel branch or a Map item processor.
#[derive(Debug, Clone)]
pub struct Block {
    pub start_at: StateId,
    pub states: Vec<StateId>,
    pub names: HashMap<String, StateId>,
    /// The state that owns this block (Parallel or Map); `None` for the top level.
    pub owner: Option<StateId>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub block: BlockId,
    pub query_language: QueryLanguage,
    pub kind: Kind,
    /// The next state; `None` means `End` (or a terminal/Choice state).
    pub next: Option<StateId>,
    pub io: Io,
    pub assign: Option<Assign>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// JSON pointer of the state in the definition, for messages.
    pub pointer: String,
}

impl State {
    /// The history event type prefix: `Pass`, `Task`, `Map`, ...
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(_) => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(Task),
    Choice {
        choices: Vec<ChoiceBranch>,
        default: Option<StateId>,
    },
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel {
        branches: Vec<BlockId>,
    },
    Map(Box<MapState>),
}

/// A value read by a JSONPath field: a path or an intrinsic function call.
#[derive(Debug, Clone)]
pub enum Selector {
    Path(JsonPath),
    Intrinsic(Intrinsic),
}

impl Selector {
    pub fn as_str(&self) -> &str {
        match self {
            Selector::Path(p) => p.as_str(),
            Selector::Intrinsic(i) => i.as_str(),
        }
    }
}

/// A field given literally, by a JSONPath (`...Path` fields) or by JSONata.
#[derive(Debug, Clone)]
pub enum Dynamic {
    Literal(Value),
    Path(Selector),
    Jsonata(Template),
}

/// `InputPath` / `OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone)]
pub enum PathField {
    Identity,
    Null,
    Path(JsonPath),
}

/// `ResultPath`: absent means `$` (the result replaces the input), `null`
/// discards the result.
#[derive(Debug, Clone)]
pub enum ResultPath {
    Replace,
    Discard,
    Path(JsonPath),
}

/// How a state takes its input and shapes its output, per query language.
// One per state, built once and never moved on a hot path: boxing the large
// variant would only add an indirection to every access.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Io {
    JsonPath {
        input_path: PathField,
        parameters: Option<PayloadTemplate>,
        result_selector: Option<PayloadTemplate>,
        result_path: ResultPath,
        output_path: PathField,
    },
    Jsonata {
        arguments: Option<Template>,
        output: Option<Template>,
    },
}

#[derive(Debug, Clone)]
pub enum Assign {
    JsonPath(PayloadTemplate),
    Jsonata(Template),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: String,
    pub timeout_seconds: Option<Dynamic>,
    pub heartbeat_seconds: Option<Dynamic>,
    pub credentials: Option<Value>,
}

#[derive(Debug, Clone)]
pub enum Condition {
    JsonPath(ChoiceRule),
    Jsonata(Template),
}

#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub condition: Condition,
    pub next: StateId,
    pub assign: Option<Assign>,
    pub output: Option<Template>,
}

#[derive(Debug, Clone)]
pub enum Wait {
    Seconds(Dynamic),
    Timestamp(Dynamic),
}

#[derive(Debug, Clone, Default)]
pub struct Fail {
    pub error: Option<Dynamic>,
    pub cause: Option<Dynamic>,
}

#[derive(Debug, Clone)]
pub struct MapState {
    /// JSONPath mode: where the items are (`ItemsPath`, default `$`).
    pub items_path: PathField,
    /// JSONata mode: `Items`.
    pub items: Option<Template>,
    pub item_selector: Option<ItemSelector>,
    pub processor: BlockId,
    pub max_concurrency: Option<Dynamic>,
    pub tolerated_failure_count: Option<Dynamic>,
    pub tolerated_failure_percentage: Option<Dynamic>,
    pub distributed: bool,
    pub label: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ItemSelector {
    JsonPath(PayloadTemplate),
    Jsonata(Template),
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: StateId,
    pub result_path: ResultPath,
    pub assign: Option<Assign>,
    pub output: Option<Template>,
}

impl StateMachine {
    pub fn from_json_str(text: &str) -> Result<StateMachine, Vec<DefinitionError>> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            vec![DefinitionError {
                pointer: String::new(),
                message: format!("not valid JSON: {e}"),
            }]
        })?;
        Self::from_value(&v)
    }

    /// Parses JSON or YAML text (YAML is a superset of JSON, but JSON is tried
    /// first for its better error positions).
    pub fn from_text(text: &str) -> Result<StateMachine, Vec<DefinitionError>> {
        Self::from_value(&parse_document(text).map_err(|m| {
            vec![DefinitionError {
                pointer: String::new(),
                message: m,
            }]
        })?)
    }

    pub fn from_value(v: &Value) -> Result<StateMachine, Vec<DefinitionError>> {
        let mut p = Parser {
            states: Vec::new(),
            blocks: Vec::new(),
            errors: Vec::new(),
        };
        let top = match v.as_object() {
            Some(o) => o,
            None => return Err(vec![err("", "the definition must be a JSON object")]),
        };
        let query_language = match top.get("QueryLanguage") {
            None => QueryLanguage::JsonPath,
            Some(q) => QueryLanguage::from_value(q).unwrap_or_else(|| {
                p.errors.push(err(
                    "/QueryLanguage",
                    "QueryLanguage must be \"JSONPath\" or \"JSONata\"",
                ));
                QueryLanguage::JsonPath
            }),
        };
        let timeout_seconds = top.get("TimeoutSeconds").and_then(Value::as_u64);
        p.block(top, "", query_language, None);
        if p.errors.is_empty() {
            Ok(StateMachine {
                comment: top
                    .get("Comment")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                query_language,
                timeout_seconds,
                blocks: p.blocks,
                states: p.states,
            })
        } else {
            Err(p.errors)
        }
    }

    pub fn start_at(&self) -> &str {
        self.blocks
            .first()
            .and_then(|b| self.states.get(b.start_at))
            .map(|s| s.name.as_str())
            .unwrap_or("")
    }

    pub fn state(&self, id: StateId) -> &State {
        &self.states[id]
    }

    pub fn block(&self, id: BlockId) -> &Block {
        &self.blocks[id]
    }
}

/// Reads a JSON or YAML document into a JSON value.
pub fn parse_document(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                return Err(format!("not valid JSON: {json_err}"));
            }
            crate::yaml::from_str(text).map_err(|e| format!("not valid JSON or YAML: {e}"))
        }
    }
}

fn err(pointer: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        pointer: pointer.to_string(),
        message: message.into(),
    }
}

struct Parser {
    states: Vec<State>,
    blocks: Vec<Block>,
    errors: Vec<DefinitionError>,
}

/// Transitions are resolved after all states of a block are known.
enum PendingNext {
    Next(String),
    None,
}

impl Parser {
    fn block(
        &mut self,
        obj: &Map<String, Value>,
        pointer: &str,
        inherited: QueryLanguage,
        owner: Option<StateId>,
    ) -> BlockId {
        let block_id = self.blocks.len();
        self.blocks.push(Block {
            start_at: 0,
            states: Vec::new(),
            names: HashMap::new(),
            owner,
        });
        let states_obj = match obj.get("States").and_then(Value::as_object) {
            Some(s) => s,
            None => {
                self.errors.push(err(
                    &format!("{pointer}/States"),
                    "States must be an object of states",
                ));
                return block_id;
            }
        };
        // First pass: allocate ids so that transitions can be resolved.
        let mut ids = Vec::with_capacity(states_obj.len());
        for name in states_obj.keys() {
            let id = self.states.len();
            self.states.push(State {
                name: name.clone(),
                block: block_id,
                query_language: inherited,
                kind: Kind::Succeed,
                next: None,
                io: Io::Jsonata {
                    arguments: None,
                    output: None,
                },
                assign: None,
                retry: Vec::new(),
                catch: Vec::new(),
                pointer: format!("{pointer}/States/{}", pointer_segment(name)),
            });
            ids.push(id);
            self.blocks[block_id].names.insert(name.clone(), id);
        }
        self.blocks[block_id].states = ids.clone();
        match obj.get("StartAt").and_then(Value::as_str) {
            Some(start) => match self.blocks[block_id].names.get(start) {
                Some(&id) => self.blocks[block_id].start_at = id,
                None => self.errors.push(err(
                    &format!("{pointer}/StartAt"),
                    format!("StartAt names '{start}', which is not a state of this scope"),
                )),
            },
            None => self
                .errors
                .push(err(&format!("{pointer}/StartAt"), "StartAt is missing")),
        }
        for (id, (name, body)) in ids.into_iter().zip(states_obj.iter()) {
            let sp = format!("{pointer}/States/{}", pointer_segment(name));
            match body.as_object() {
                Some(o) => self.state(id, o, &sp, inherited, block_id),
                None => self
                    .errors
                    .push(err(&sp, format!("state '{name}' must be an object"))),
            }
        }
        block_id
    }

    fn resolve(&mut self, block: BlockId, name: &str, pointer: &str, state: &str) -> StateId {
        match self.blocks[block].names.get(name) {
            Some(&id) => id,
            None => {
                self.errors.push(err(
                    pointer,
                    format!("state '{state}': '{name}' is not a state of the same scope"),
                ));
                0
            }
        }
    }

    fn state(
        &mut self,
        id: StateId,
        o: &Map<String, Value>,
        sp: &str,
        inherited: QueryLanguage,
        block: BlockId,
    ) {
        let name = self.states[id].name.clone();
        let ql = match o.get("QueryLanguage") {
            None => inherited,
            Some(q) => QueryLanguage::from_value(q).unwrap_or_else(|| {
                self.errors.push(err(
                    &format!("{sp}/QueryLanguage"),
                    "QueryLanguage must be \"JSONPath\" or \"JSONata\"",
                ));
                inherited
            }),
        };
        let ty = o.get("Type").and_then(Value::as_str).unwrap_or("");
        let mut pending = PendingNext::None;
        if let Some(n) = o.get("Next") {
            match n.as_str() {
                Some(s) => pending = PendingNext::Next(s.to_string()),
                None => self.errors.push(err(
                    &format!("{sp}/Next"),
                    format!("state '{name}': Next must be a string"),
                )),
            }
        }
        let io = self.io(o, sp, ql, &name);
        let assign = o
            .get("Assign")
            .and_then(|a| self.assign(a, &format!("{sp}/Assign"), ql));
        let kind = match ty {
            "Pass" => Kind::Pass {
                result: o.get("Result").cloned(),
            },
            "Task" => Kind::Task(Task {
                resource: o
                    .get("Resource")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                timeout_seconds: self.dynamic(o, "TimeoutSeconds", sp, ql),
                heartbeat_seconds: self.dynamic(o, "HeartbeatSeconds", sp, ql),
                credentials: o.get("Credentials").cloned(),
            }),
            "Choice" => self.choice(o, sp, ql, block, &name),
            "Wait" => {
                if let Some(d) = self.dynamic(o, "Seconds", sp, ql) {
                    Kind::Wait(Wait::Seconds(d))
                } else if let Some(d) = self.dynamic(o, "Timestamp", sp, ql) {
                    Kind::Wait(Wait::Timestamp(d))
                } else {
                    self.errors.push(err(sp, format!("state '{name}': a Wait needs Seconds, SecondsPath, Timestamp or TimestampPath")));
                    Kind::Succeed
                }
            }
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail(Fail {
                error: self.dynamic(o, "Error", sp, ql),
                cause: self.dynamic(o, "Cause", sp, ql),
            }),
            "Parallel" => {
                let mut branches = Vec::new();
                match o.get("Branches").and_then(Value::as_array) {
                    Some(bs) => {
                        for (i, b) in bs.iter().enumerate() {
                            let bp = format!("{sp}/Branches/{i}");
                            match b.as_object() {
                                Some(bo) => branches.push(self.block(bo, &bp, ql, Some(id))),
                                None => self.errors.push(err(
                                    &bp,
                                    format!("state '{name}': a branch must be an object"),
                                )),
                            }
                        }
                    }
                    None => self.errors.push(err(
                        &format!("{sp}/Branches"),
                        format!("state '{name}': Branches must be an array"),
                    )),
                }
                Kind::Parallel { branches }
            }
            "Map" => self.map(id, o, sp, ql, &name),
            other => {
                self.errors.push(err(
                    &format!("{sp}/Type"),
                    format!("state '{name}': unknown state type '{other}'"),
                ));
                Kind::Succeed
            }
        };
        let retry = o
            .get("Retry")
            .and_then(Value::as_array)
            .map(|rs| rs.iter().map(retrier).collect())
            .unwrap_or_default();
        let mut catch = Vec::new();
        if let Some(cs) = o.get("Catch").and_then(Value::as_array) {
            for (i, c) in cs.iter().enumerate() {
                let cp = format!("{sp}/Catch/{i}");
                let next_name = c.get("Next").and_then(Value::as_str).unwrap_or_default();
                let next = self.resolve(block, next_name, &format!("{cp}/Next"), &name);
                let result_path = match ql {
                    QueryLanguage::JsonPath => {
                        self.result_path(c.get("ResultPath"), &format!("{cp}/ResultPath"))
                    }
                    QueryLanguage::Jsonata => ResultPath::Replace,
                };
                let assign = c
                    .get("Assign")
                    .and_then(|a| self.assign(a, &format!("{cp}/Assign"), ql));
                let output = c
                    .get("Output")
                    .and_then(|v| self.template(v, &format!("{cp}/Output")));
                catch.push(Catcher {
                    error_equals: strings(c.get("ErrorEquals")),
                    next,
                    result_path,
                    assign,
                    output,
                });
            }
        }
        let next = match pending {
            PendingNext::Next(n) => Some(self.resolve(block, &n, &format!("{sp}/Next"), &name)),
            PendingNext::None => None,
        };
        let s = &mut self.states[id];
        s.query_language = ql;
        s.kind = kind;
        s.next = next;
        s.io = io;
        s.assign = assign;
        s.retry = retry;
        s.catch = catch;
    }

    fn io(&mut self, o: &Map<String, Value>, sp: &str, ql: QueryLanguage, _name: &str) -> Io {
        match ql {
            QueryLanguage::JsonPath => Io::JsonPath {
                input_path: self.path_field(o, "InputPath", sp),
                parameters: o
                    .get("Parameters")
                    .and_then(|v| self.payload(v, &format!("{sp}/Parameters"))),
                result_selector: o
                    .get("ResultSelector")
                    .and_then(|v| self.payload(v, &format!("{sp}/ResultSelector"))),
                result_path: self.result_path(o.get("ResultPath"), &format!("{sp}/ResultPath")),
                output_path: self.path_field(o, "OutputPath", sp),
            },
            QueryLanguage::Jsonata => Io::Jsonata {
                arguments: o
                    .get("Arguments")
                    .and_then(|v| self.template(v, &format!("{sp}/Arguments"))),
                output: o
                    .get("Output")
                    .and_then(|v| self.template(v, &format!("{sp}/Output"))),
            },
        }
    }

    fn path_field(&mut self, o: &Map<String, Value>, key: &str, sp: &str) -> PathField {
        match o.get(key) {
            None => PathField::Identity,
            Some(Value::Null) => PathField::Null,
            Some(Value::String(s)) => match JsonPath::parse(s) {
                Ok(p) => PathField::Path(p),
                Err(e) => {
                    self.errors.push(err(&format!("{sp}/{key}"), e.to_string()));
                    PathField::Identity
                }
            },
            Some(_) => {
                self.errors.push(err(
                    &format!("{sp}/{key}"),
                    format!("{key} must be a string or null"),
                ));
                PathField::Identity
            }
        }
    }

    fn result_path(&mut self, v: Option<&Value>, pointer: &str) -> ResultPath {
        match v {
            None => ResultPath::Replace,
            Some(Value::Null) => ResultPath::Discard,
            Some(Value::String(s)) => match JsonPath::parse(s) {
                Ok(p) => ResultPath::Path(p),
                Err(e) => {
                    self.errors.push(err(pointer, e.to_string()));
                    ResultPath::Replace
                }
            },
            Some(_) => {
                self.errors
                    .push(err(pointer, "ResultPath must be a string or null"));
                ResultPath::Replace
            }
        }
    }

    fn payload(&mut self, v: &Value, pointer: &str) -> Option<PayloadTemplate> {
        match PayloadTemplate::parse(v) {
            Ok(t) => Some(t),
            Err(es) => {
                for e in es {
                    self.errors
                        .push(err(&format!("{pointer}{}", e.pointer), e.message));
                }
                None
            }
        }
    }

    fn template(&mut self, v: &Value, pointer: &str) -> Option<Template> {
        match Template::parse(v) {
            Ok(t) => Some(t),
            Err(es) => {
                for e in es {
                    self.errors
                        .push(err(&format!("{pointer}{}", e.pointer), e.message));
                }
                None
            }
        }
    }

    fn assign(&mut self, v: &Value, pointer: &str, ql: QueryLanguage) -> Option<Assign> {
        match ql {
            QueryLanguage::JsonPath => self.payload(v, pointer).map(Assign::JsonPath),
            QueryLanguage::Jsonata => self.template(v, pointer).map(Assign::Jsonata),
        }
    }

    fn selector(&mut self, s: &str, pointer: &str) -> Option<Selector> {
        if looks_like_intrinsic(s) {
            match Intrinsic::parse(s) {
                Ok(i) => Some(Selector::Intrinsic(i)),
                Err(e) => {
                    self.errors.push(err(pointer, e.to_string()));
                    None
                }
            }
        } else {
            match JsonPath::parse(s) {
                Ok(p) => Some(Selector::Path(p)),
                Err(e) => {
                    self.errors.push(err(pointer, e.to_string()));
                    None
                }
            }
        }
    }

    /// Reads `key` (literal, or JSONata in JSONata mode) or `keyPath`.
    fn dynamic(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        sp: &str,
        ql: QueryLanguage,
    ) -> Option<Dynamic> {
        if let Some(v) = o.get(key) {
            if ql == QueryLanguage::Jsonata {
                if let Value::String(s) = v {
                    if crate::jsonata::expression_text(s).is_some() {
                        return self
                            .template(v, &format!("{sp}/{key}"))
                            .map(Dynamic::Jsonata);
                    }
                }
            }
            return Some(Dynamic::Literal(v.clone()));
        }
        let path_key = format!("{key}Path");
        if let Some(v) = o.get(&path_key) {
            let pointer = format!("{sp}/{path_key}");
            return match v.as_str() {
                Some(s) => self.selector(s, &pointer).map(Dynamic::Path),
                None => {
                    self.errors
                        .push(err(&pointer, format!("{path_key} must be a string")));
                    None
                }
            };
        }
        None
    }

    fn choice(
        &mut self,
        o: &Map<String, Value>,
        sp: &str,
        ql: QueryLanguage,
        block: BlockId,
        name: &str,
    ) -> Kind {
        let mut choices = Vec::new();
        if let Some(rules) = o.get("Choices").and_then(Value::as_array) {
            for (i, r) in rules.iter().enumerate() {
                let rp = format!("{sp}/Choices/{i}");
                let next_name = r.get("Next").and_then(Value::as_str).unwrap_or_default();
                let next = self.resolve(block, next_name, &format!("{rp}/Next"), name);
                let condition = match ql {
                    QueryLanguage::JsonPath => match ChoiceRule::parse(r) {
                        Ok(rule) => Condition::JsonPath(rule),
                        Err(m) => {
                            self.errors.push(err(&rp, format!("state '{name}': {m}")));
                            continue;
                        }
                    },
                    QueryLanguage::Jsonata => {
                        match r
                            .get("Condition")
                            .and_then(|c| self.template(c, &format!("{rp}/Condition")))
                        {
                            Some(t) => Condition::Jsonata(t),
                            None => {
                                self.errors.push(err(
                                    &rp,
                                    format!(
                                        "state '{name}': a JSONata choice rule needs a Condition"
                                    ),
                                ));
                                continue;
                            }
                        }
                    }
                };
                let assign = r
                    .get("Assign")
                    .and_then(|a| self.assign(a, &format!("{rp}/Assign"), ql));
                let output = r
                    .get("Output")
                    .and_then(|v| self.template(v, &format!("{rp}/Output")));
                choices.push(ChoiceBranch {
                    condition,
                    next,
                    assign,
                    output,
                });
            }
        } else {
            self.errors.push(err(
                &format!("{sp}/Choices"),
                format!("state '{name}': Choices must be an array"),
            ));
        }
        let default = o
            .get("Default")
            .and_then(Value::as_str)
            .map(|d| self.resolve(block, d, &format!("{sp}/Default"), name));
        Kind::Choice { choices, default }
    }

    fn map(
        &mut self,
        id: StateId,
        o: &Map<String, Value>,
        sp: &str,
        ql: QueryLanguage,
        name: &str,
    ) -> Kind {
        let (proc_key, proc) = match (o.get("ItemProcessor"), o.get("Iterator")) {
            (Some(p), _) => ("ItemProcessor", p),
            (None, Some(p)) => ("Iterator", p),
            (None, None) => {
                self.errors.push(err(
                    sp,
                    format!("state '{name}': a Map needs an ItemProcessor"),
                ));
                return Kind::Succeed;
            }
        };
        let distributed = proc
            .get("ProcessorConfig")
            .and_then(|c| c.get("Mode"))
            .and_then(Value::as_str)
            == Some("DISTRIBUTED");
        let processor = match proc.as_object() {
            Some(po) => self.block(po, &format!("{sp}/{proc_key}"), ql, Some(id)),
            None => {
                self.errors.push(err(
                    &format!("{sp}/{proc_key}"),
                    format!("state '{name}': {proc_key} must be an object"),
                ));
                return Kind::Succeed;
            }
        };
        let item_selector = match (o.get("ItemSelector"), o.get("Parameters"), ql) {
            (Some(v), _, QueryLanguage::Jsonata) => self
                .template(v, &format!("{sp}/ItemSelector"))
                .map(ItemSelector::Jsonata),
            (Some(v), _, QueryLanguage::JsonPath) => self
                .payload(v, &format!("{sp}/ItemSelector"))
                .map(ItemSelector::JsonPath),
            (None, Some(v), QueryLanguage::JsonPath) => self
                .payload(v, &format!("{sp}/Parameters"))
                .map(ItemSelector::JsonPath),
            _ => None,
        };
        Kind::Map(Box::new(MapState {
            items_path: self.path_field(o, "ItemsPath", sp),
            items: o
                .get("Items")
                .and_then(|v| self.template(v, &format!("{sp}/Items"))),
            item_selector,
            processor,
            max_concurrency: self.dynamic(o, "MaxConcurrency", sp, ql),
            tolerated_failure_count: self.dynamic(o, "ToleratedFailureCount", sp, ql),
            tolerated_failure_percentage: self.dynamic(o, "ToleratedFailurePercentage", sp, ql),
            distributed,
            label: o.get("Label").and_then(Value::as_str).map(str::to_string),
        }))
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn retrier(r: &Value) -> Retrier {
    Retrier {
        error_equals: strings(r.get("ErrorEquals")),
        interval_seconds: r
            .get("IntervalSeconds")
            .and_then(Value::as_f64)
            .unwrap_or(1.0),
        max_attempts: r
            .get("MaxAttempts")
            .and_then(Value::as_u64)
            .map(|n| n.min(u64::from(u32::MAX)) as u32)
            .unwrap_or(3),
        backoff_rate: r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
        max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_f64),
        jitter_full: r.get("JitterStrategy").and_then(Value::as_str) == Some("FULL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_resolve_to_state_ids() {
        let sm = StateMachine::from_json_str(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}"#,
        )
        .unwrap();
        let a = &sm.states[sm.blocks[0].start_at];
        assert_eq!(a.name, "A");
        assert_eq!(sm.states[a.next.unwrap()].name, "B");
    }

    #[test]
    fn unknown_next_is_reported_with_its_pointer() {
        let errs = StateMachine::from_json_str(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}"#,
        )
        .unwrap_err();
        assert_eq!(errs[0].pointer, "/States/A/Next");
    }

    #[test]
    fn yaml_definitions_parse() {
        let sm = StateMachine::from_text("StartAt: A\nStates:\n  A:\n    Type: Succeed\n").unwrap();
        assert_eq!(sm.start_at(), "A");
    }
}
