//! The [`Service`]: every Step Functions operation over the ports, and the
//! machinery that advances executions (apply an event, commit, perform
//! effects from the outbox).

use crate::constraints;
use crate::locks::ExecLocks;
use crate::names::{self, check_name};
use crate::ServiceError;
use flowstate_asl::definition::StateMachine;
use flowstate_asl::validate::{validate, Diagnostic, Severity};
use flowstate_engine::{
    advance_or_fail, token, Effect, EngineError, Env, Event, Execution, ExecutionInfo, Limits,
    Status,
};
use flowstate_ports::{
    Clock, Created, ExecutionHeader, ExecutionMeta, ExecutionQuery, ExecutionRecord,
    ExecutionSummary, HistoryQuery, InvokeContext, Invoker, MessageBody, Notifier, OutboxEntry,
    Page, PageRequest, Queue, QueueMessage, StateMachineRecord, StepWrite, Store, StoreError,
    WorkflowType,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where and how the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub region: String,
    pub account: String,
    /// Signs task tokens (HMAC-SHA256). Keep it secret and stable: tokens
    /// issued before a restart must still verify.
    pub token_key: Vec<u8>,
    /// How long a received message stays invisible while it is processed.
    pub visibility_ms: i64,
    /// Messages processed at once by the worker.
    pub concurrency: usize,
    /// Perform task invocations in their own tokio tasks (production), or
    /// inline and in order (deterministic tests).
    pub spawn_tasks: bool,
    /// Executions kept decoded in memory between steps (a cache: every
    /// commit is still a compare-and-set on the store).
    pub cache_capacity: usize,
    /// The periodic outbox sweep performs entries older than this.
    pub outbox_sweep_age_ms: i64,
    /// Hand Task invocations to the queue (a `Perform` message, performed
    /// by whichever worker receives it) instead of performing them in the
    /// process that committed the step. The AWS deployment sets this: the
    /// API function answers StartExecution without waiting for a task, and
    /// the stepper applies a task's result in the same invocation that
    /// performed it (one queue message per task, not two).
    pub defer_tasks: bool,
    /// This process is the only one that advances the store's executions
    /// (`flowstate serve` on its own data): an event its cached copy
    /// rejects is rejected for good. Off when other processes share the
    /// store (the Lambda functions): a rejection is then checked against
    /// the stored execution first.
    pub sole_writer: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            token_key: b"flowstate-local".to_vec(),
            visibility_ms: 60_000,
            concurrency: 64,
            spawn_tasks: true,
            cache_capacity: 1024,
            outbox_sweep_age_ms: 300_000,
            defer_tasks: false,
            sole_writer: true,
        }
    }
}

/// CreateStateMachine's request.
#[derive(Debug, Clone)]
pub struct CreateStateMachine {
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub kind: WorkflowType,
    pub description: Option<String>,
}

/// UpdateStateMachine's request: `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UpdateStateMachine {
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub description: Option<String>,
}

/// StartExecution's (and StartSyncExecution's) request.
#[derive(Debug, Clone, Default)]
pub struct StartExecution {
    /// May end in `#TestCase`: passed to the invoker (mocked integrations).
    pub state_machine_arn: String,
    /// Generated (a UUID) when absent.
    pub name: Option<String>,
    /// JSON text; `{}` when absent.
    pub input: Option<String>,
    /// The parent's task, for `states:startExecution.sync` children.
    pub parent: Option<flowstate_ports::ParentTask>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StartedExecution {
    pub execution_arn: String,
    /// Epoch ms.
    pub start_date: i64,
}

/// DescribeExecution's answer (and StartSyncExecution's, for Express).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: Status,
    pub start_date: i64,
    pub stop_date: Option<i64>,
    pub input: Arc<Value>,
    pub output: Option<Arc<Value>>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// States entered so far (billed transitions).
    pub transitions: u64,
    pub revision_id: String,
    pub test_case: Option<String>,
}

/// GetExecutionHistory's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// 1..=1000; 0 means the default, 100.
    pub max_results: usize,
    pub next_token: Option<String>,
    pub reverse_order: bool,
    pub include_execution_data: bool,
}

impl Default for HistoryRequest {
    fn default() -> Self {
        HistoryRequest {
            max_results: 0,
            next_token: None,
            reverse_order: false,
            include_execution_data: true,
        }
    }
}

/// A page of history events in Step Functions' JSON shape.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub events: Vec<Value>,
    pub next_token: Option<String>,
}

/// What became of an event fed to an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Committed,
    /// The event no longer applies (duplicate, stale, or the execution ended).
    Dropped,
}

pub(crate) struct Inner<S, Q, I, C> {
    pub(crate) store: S,
    pub(crate) queue: Q,
    pub(crate) invoker: I,
    pub(crate) clock: C,
    pub(crate) config: Config,
    /// Parsed definitions by revision id.
    revisions: Mutex<HashMap<String, Arc<StateMachine>>>,
    /// Decoded executions between steps, by ARN.
    cache: Mutex<HashMap<String, ExecutionRecord>>,
    pub(crate) locks: ExecLocks,
    /// Wakes the worker when a message is sent.
    pub(crate) wake: tokio::sync::Notify,
    /// Outbox entries being performed by this process (not swept again).
    pub(crate) in_flight: Mutex<std::collections::HashSet<String>>,
    /// Express executions running in memory, by ARN: callbacks go there.
    pub(crate) sync_waiters: Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<Event>>>,
    /// Told of every execution that ends (set once, before work starts).
    pub(crate) notifier: std::sync::OnceLock<Arc<dyn Notifier>>,
}

/// The Step Functions operations over a [`Store`], a [`Queue`], an
/// [`Invoker`] and a [`Clock`]. Cheap to clone (shared inside).
pub struct Service<S, Q, I, C> {
    pub(crate) inner: Arc<Inner<S, Q, I, C>>,
}

impl<S, Q, I, C> Clone for Service<S, Q, I, C> {
    fn clone(&self) -> Self {
        Service {
            inner: self.inner.clone(),
        }
    }
}

const MAX_CAS_ATTEMPTS: usize = 64;

pub(crate) fn lock_waiters<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock(m)
}

pub(crate) fn describe_pub(rec: &ExecutionRecord) -> ExecutionDescription {
    describe(rec)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind
    // (caches, sets): using it is safe.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Parses and validates a definition; every error in one message.
pub(crate) fn parse_definition(text: &str) -> Result<StateMachine, ServiceError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ServiceError::InvalidDefinition(format!("the definition is not valid JSON: {e}"))
    })?;
    let errors: Vec<String> = validate(&value)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            format!(
                "{} at {}",
                d.message,
                if d.location.is_empty() {
                    "/"
                } else {
                    &d.location
                }
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(ServiceError::InvalidDefinition(errors.join("\n")));
    }
    StateMachine::from_value(&value).map_err(|errs| {
        ServiceError::InvalidDefinition(
            errs.into_iter()
                .map(|e| format!("{} at {}", e.message, e.pointer))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

fn describe(rec: &ExecutionRecord) -> ExecutionDescription {
    let e = &rec.execution;
    ExecutionDescription {
        execution_arn: e.info.arn.clone(),
        state_machine_arn: e.info.state_machine_arn.clone(),
        name: e.info.name.clone(),
        status: e.status,
        start_date: e.info.start_time,
        stop_date: e.stop_time,
        input: e.info.input.clone(),
        output: e.output.clone(),
        error: e.error.clone(),
        cause: e.cause.clone(),
        transitions: e.transitions,
        revision_id: rec.meta.revision_id.clone(),
        test_case: rec.meta.test_case.clone(),
    }
}

fn page_size(n: usize) -> usize {
    if n == 0 {
        100
    } else {
        n.min(1000)
    }
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// A service over the given ports. Call [`Service::recover`] once at
    /// start, then run [`Service::run_worker`] (or drive it with
    /// [`Service::run_until_idle`] in tests).
    pub fn new(store: S, queue: Q, invoker: I, clock: C, config: Config) -> Self {
        Service {
            inner: Arc::new(Inner {
                store,
                queue,
                invoker,
                clock,
                config,
                revisions: Mutex::new(HashMap::new()),
                cache: Mutex::new(HashMap::new()),
                locks: ExecLocks::default(),
                wake: tokio::sync::Notify::new(),
                in_flight: Mutex::new(Default::default()),
                sync_waiters: Mutex::new(HashMap::new()),
                notifier: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Publishes every execution's end through `notifier` from now on.
    /// Returns false (and changes nothing) if a notifier was set already.
    pub fn set_notifier(&self, notifier: Arc<dyn Notifier>) -> bool {
        self.inner.notifier.set(notifier).is_ok()
    }

    pub fn store(&self) -> &S {
        &self.inner.store
    }
    pub fn queue(&self) -> &Q {
        &self.inner.queue
    }
    pub fn invoker(&self) -> &I {
        &self.inner.invoker
    }
    pub fn clock(&self) -> &C {
        &self.inner.clock
    }
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    // ---- state machines ---------------------------------------------

    /// ValidateStateMachineDefinition: every diagnostic (errors and warnings).
    /// Text that is not JSON gives one diagnostic at the root.
    pub fn validate_definition(&self, definition: &str) -> Vec<Diagnostic> {
        match serde_json::from_str::<Value>(definition) {
            Ok(v) => validate(&v),
            Err(e) => vec![Diagnostic {
                location: String::new(),
                message: format!("the definition is not valid JSON: {e}"),
                severity: Severity::Error,
            }],
        }
    }

    /// CreateStateMachine. `StateMachineAlreadyExists` if the name is taken
    /// with another definition; the same request again returns the existing
    /// state machine, as Step Functions does.
    pub async fn create_state_machine(
        &self,
        req: CreateStateMachine,
    ) -> Result<StateMachineRecord, ServiceError> {
        constraints::check_definition_length(&req.definition)?;
        check_name(&req.name)?;
        parse_definition(&req.definition)?;
        let c = &self.inner.config;
        let now = self.inner.clock.now();
        let record = StateMachineRecord {
            arn: names::state_machine_arn(&c.region, &c.account, &req.name),
            name: req.name.clone(),
            definition: req.definition,
            role_arn: req.role_arn,
            kind: req.kind,
            creation_date: now,
            update_date: now,
            revision_id: uuid::Uuid::new_v4().to_string(),
            description: req.description,
        };
        match self.inner.store.create_state_machine(&record).await {
            Ok(()) => Ok(record),
            Err(StoreError::AlreadyExists(_)) => {
                match self.inner.store.get_state_machine(&record.arn).await? {
                    Some(existing)
                        if existing.definition == record.definition
                            && existing.role_arn == record.role_arn
                            && existing.kind == record.kind =>
                    {
                        Ok(existing)
                    }
                    _ => Err(ServiceError::StateMachineAlreadyExists(record.arn)),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// DescribeStateMachine: the current revision.
    pub async fn describe_state_machine(
        &self,
        arn: &str,
    ) -> Result<StateMachineRecord, ServiceError> {
        names::check_state_machine_arn(arn)?;
        self.inner
            .store
            .get_state_machine(arn)
            .await?
            .ok_or_else(|| ServiceError::StateMachineDoesNotExist(arn.into()))
    }

    /// UpdateStateMachine: stores a new revision; running executions keep theirs.
    pub async fn update_state_machine(
        &self,
        arn: &str,
        req: UpdateStateMachine,
    ) -> Result<StateMachineRecord, ServiceError> {
        if let Some(d) = &req.definition {
            constraints::check_definition_length(d)?;
        }
        let mut sm = self.describe_state_machine(arn).await?;
        if let Some(d) = req.definition {
            parse_definition(&d)?;
            sm.definition = d;
        }
        if let Some(r) = req.role_arn {
            sm.role_arn = r;
        }
        if req.description.is_some() {
            sm.description = req.description;
        }
        self.store_revision(sm).await
    }

    /// Creates the state machine `req` describes or, when one of that name
    /// exists with another definition, type or role, updates it in place to
    /// `req`'s (its description too, when `req` gives one) as a new
    /// revision. The ARN is CreateStateMachine's; one that already matches
    /// is returned as it is, as CreateStateMachine does. Two calls at once
    /// (two `flowstate serve --load`) both succeed: a create that loses to
    /// another becomes an update, an update that loses to a delete becomes
    /// a create.
    pub async fn create_or_update_state_machine(
        &self,
        req: CreateStateMachine,
    ) -> Result<StateMachineRecord, ServiceError> {
        constraints::check_definition_length(&req.definition)?;
        let c = &self.inner.config;
        let arn = names::state_machine_arn(&c.region, &c.account, &req.name);
        // Each round loses only to another writer's completed write, so a
        // few rounds settle any race but a pathological one.
        for _ in 0..3 {
            match self.create_state_machine(req.clone()).await {
                Err(ServiceError::StateMachineAlreadyExists(_)) => {}
                created => return created,
            }
            let Some(mut sm) = self.inner.store.get_state_machine(&arn).await? else {
                continue; // deleted since
            };
            sm.definition = req.definition.clone();
            sm.role_arn = req.role_arn.clone();
            sm.kind = req.kind;
            if req.description.is_some() {
                sm.description = req.description.clone();
            }
            match self.store_revision(sm).await {
                Err(ServiceError::StateMachineDoesNotExist(_)) => {}
                updated => return updated,
            }
        }
        Err(ServiceError::Internal(format!(
            "state machine '{arn}' kept changing while it was being created or updated"
        )))
    }

    /// Stores `sm` as the state machine's new current revision.
    async fn store_revision(
        &self,
        mut sm: StateMachineRecord,
    ) -> Result<StateMachineRecord, ServiceError> {
        sm.update_date = self.inner.clock.now().max(sm.update_date);
        sm.revision_id = uuid::Uuid::new_v4().to_string();
        match self.inner.store.update_state_machine(&sm).await {
            Ok(()) => Ok(sm),
            Err(StoreError::NotFound(_)) => Err(ServiceError::StateMachineDoesNotExist(sm.arn)),
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteStateMachine. Running executions go on; deleting an absent
    /// state machine succeeds, as in Step Functions.
    pub async fn delete_state_machine(&self, arn: &str) -> Result<(), ServiceError> {
        names::check_state_machine_arn(arn)?;
        self.inner.store.delete_state_machine(arn).await?;
        Ok(())
    }

    /// ListStateMachines, ordered by ARN.
    pub async fn list_state_machines(
        &self,
        page: PageRequest,
    ) -> Result<Page<StateMachineRecord>, ServiceError> {
        let purpose = "ListStateMachines";
        let page = PageRequest {
            max_results: page_size(page.max_results),
            next_token: self.open_page_token(purpose, page.next_token)?,
        };
        let mut found = self.inner.store.list_state_machines(&page).await?;
        found.next_token = self.page_token(purpose, found.next_token);
        Ok(found)
    }

    /// A page token for the request `purpose` names: the backend's
    /// position, sealed so that it opens for that request only (Step
    /// Functions' tokens are as opaque, and bound to their request).
    fn page_token(&self, purpose: &str, position: Option<String>) -> Option<String> {
        position.map(|p| token::seal(&self.inner.config.token_key, purpose, &p))
    }

    /// The position in a page token from [`Service::page_token`] for the
    /// same request; `InvalidToken` for any other token.
    fn open_page_token(
        &self,
        purpose: &str,
        token: Option<String>,
    ) -> Result<Option<String>, ServiceError> {
        token
            .map(|t| {
                token::unseal(&self.inner.config.token_key, purpose, &t)
                    .map_err(|_| ServiceError::InvalidToken("Invalid token".into()))
            })
            .transpose()
    }

    /// DescribeStateMachineForExecution: the revision the execution runs.
    pub async fn describe_state_machine_for_execution(
        &self,
        execution_arn: &str,
    ) -> Result<StateMachineRecord, ServiceError> {
        let rec = self.load_header(execution_arn).await?;
        self.inner
            .store
            .get_revision(&rec.meta.revision_id)
            .await?
            .ok_or_else(|| {
                ServiceError::StateMachineDoesNotExist(rec.execution.info.state_machine_arn.clone())
            })
    }

    pub(crate) async fn machine_pub(
        &self,
        revision_id: &str,
    ) -> Result<Arc<StateMachine>, ServiceError> {
        self.machine(revision_id).await
    }

    pub(crate) async fn machine_for_start_pub(
        &self,
        arn: &str,
    ) -> Result<(StateMachineRecord, Option<String>), ServiceError> {
        self.machine_for_start(arn).await
    }

    pub(crate) fn new_execution_pub(
        &self,
        sm: &StateMachineRecord,
        req: &StartExecution,
        test_case: Option<&str>,
        arn: String,
        name: String,
    ) -> Result<ExecutionRecord, ServiceError> {
        self.new_execution(sm, req, test_case, arn, name)
    }

    async fn machine(&self, revision_id: &str) -> Result<Arc<StateMachine>, ServiceError> {
        if let Some(sm) = lock(&self.inner.revisions).get(revision_id) {
            return Ok(sm.clone());
        }
        let rec = self
            .inner
            .store
            .get_revision(revision_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal(format!("state machine revision {revision_id} is missing"))
            })?;
        let sm = Arc::new(parse_definition(&rec.definition)?);
        lock(&self.inner.revisions).insert(revision_id.to_string(), sm.clone());
        Ok(sm)
    }

    // ---- executions ---------------------------------------------------

    fn new_execution(
        &self,
        sm: &StateMachineRecord,
        req: &StartExecution,
        test_case: Option<&str>,
        arn: String,
        name: String,
    ) -> Result<ExecutionRecord, ServiceError> {
        if let Some(text) = &req.input {
            constraints::check_payload_size("input", text)?;
        }
        let input: Value = match &req.input {
            None => Value::Object(Default::default()),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                ServiceError::InvalidExecutionInput(format!("Invalid execution input: {e}"))
            })?,
        };
        if let Some(why) = constraints::payload_too_deep(&input) {
            return Err(ServiceError::InvalidExecutionInput(format!(
                "Invalid execution input: {why}"
            )));
        }
        let info = ExecutionInfo {
            arn,
            name,
            state_machine_arn: sm.arn.clone(),
            state_machine_name: sm.name.clone(),
            role_arn: sm.role_arn.clone(),
            region: self.inner.config.region.clone(),
            start_time: self.inner.clock.now(),
            input: Arc::new(input),
            limits: match sm.kind {
                WorkflowType::Standard => Limits::STANDARD,
                WorkflowType::Express => Limits::EXPRESS,
            },
            timeout_seconds: None,
        };
        Ok(ExecutionRecord {
            execution: Execution::new(info),
            meta: ExecutionMeta {
                revision_id: sm.revision_id.clone(),
                kind: sm.kind,
                test_case: test_case.map(str::to_string),
                parent: req.parent.clone(),
            },
        })
    }

    async fn machine_for_start(
        &self,
        arn_with_case: &str,
    ) -> Result<(StateMachineRecord, Option<String>), ServiceError> {
        let (arn, test_case) = names::split_test_case(arn_with_case);
        names::check_state_machine_arn(arn)?;
        let sm = self
            .inner
            .store
            .get_state_machine(arn)
            .await?
            .ok_or_else(|| ServiceError::StateMachineDoesNotExist(arn.into()))?;
        Ok((sm, test_case.map(str::to_string)))
    }

    /// StartExecution: creates the execution and commits its first step.
    /// Idempotent by name: the same name and input as a running execution
    /// returns it; otherwise a taken name is `ExecutionAlreadyExists`.
    pub async fn start_execution(
        &self,
        req: StartExecution,
    ) -> Result<StartedExecution, ServiceError> {
        let (sm, test_case) = self.machine_for_start(&req.state_machine_arn).await?;
        let name = match &req.name {
            Some(n) => {
                check_name(n)?;
                n.clone()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let c = &self.inner.config;
        let arn = names::execution_arn(&c.region, &c.account, &sm.name, &name);
        let mut rec = self.new_execution(&sm, &req, test_case.as_deref(), arn.clone(), name)?;
        let machine = self.machine(&sm.revision_id).await?;
        let now = self.inner.clock.now();
        let env = Env {
            now,
            token_key: &c.token_key,
        };
        let step = advance_or_fail(&mut rec.execution, &machine, Event::Start, &env)
            .map_err(|e| ServiceError::Internal(format!("cannot start {arn}: {e}")))?;
        let outbox = outbox_entries(&rec, &step.effects, now, self.keeps_finished(&rec));
        let write = StepWrite {
            frames_changed: &step.frames_changed,
            frames_removed: &step.frames_removed,
            history: &step.history,
            outbox: &outbox,
        };
        match self.inner.store.create_execution(&rec, &write).await? {
            Created::New => {
                let start_date = rec.execution.info.start_time;
                // Accepted: the caller must not start it again.
                self.after_commit_accepted(rec, outbox).await;
                Ok(StartedExecution {
                    execution_arn: arn,
                    start_date,
                })
            }
            Created::Existing(existing) => {
                let e = &existing.execution;
                if e.status == Status::Running && e.info.input == rec.execution.info.input {
                    Ok(StartedExecution {
                        execution_arn: arn,
                        start_date: e.info.start_time,
                    })
                } else {
                    Err(ServiceError::ExecutionAlreadyExists(arn))
                }
            }
        }
    }

    async fn load_header(&self, arn: &str) -> Result<ExecutionRecord, ServiceError> {
        names::check_execution_arn(arn)?;
        self.inner
            .store
            .load_execution(arn, false)
            .await?
            .ok_or_else(|| ServiceError::ExecutionDoesNotExist(arn.into()))
    }

    /// DescribeExecution.
    pub async fn describe_execution(
        &self,
        arn: &str,
    ) -> Result<ExecutionDescription, ServiceError> {
        Ok(describe(&self.load_header(arn).await?))
    }

    /// ListExecutions of a state machine, newest first, optionally by status.
    pub async fn list_executions(
        &self,
        state_machine_arn: &str,
        status: Option<Status>,
        page: PageRequest,
    ) -> Result<Page<ExecutionSummary>, ServiceError> {
        self.describe_state_machine(state_machine_arn).await?;
        let purpose = format!("ListExecutions {state_machine_arn} {status:?}");
        let query = ExecutionQuery {
            state_machine_arn: state_machine_arn.into(),
            status,
            page: PageRequest {
                max_results: page_size(page.max_results),
                next_token: self.open_page_token(&purpose, page.next_token)?,
            },
        };
        let mut found = self.inner.store.list_executions(&query).await?;
        found.next_token = self.page_token(&purpose, found.next_token);
        Ok(found)
    }

    /// GetExecutionHistory: events in Step Functions' JSON shape, oldest
    /// first (newest first with `reverse_order`), paginated.
    pub async fn get_execution_history(
        &self,
        arn: &str,
        req: HistoryRequest,
    ) -> Result<HistoryPage, ServiceError> {
        self.load_header(arn).await?;
        let purpose = format!("GetExecutionHistory {arn} {}", req.reverse_order);
        let after = match self.open_page_token(&purpose, req.next_token)? {
            None => None,
            Some(t) => Some(
                t.parse::<u64>()
                    .map_err(|_| ServiceError::InvalidToken("Invalid token".into()))?,
            ),
        };
        let limit = page_size(req.max_results);
        // One more than asked tells whether there is a next page.
        let query = HistoryQuery {
            after,
            limit: limit + 1,
            reverse: req.reverse_order,
        };
        let mut events = self.inner.store.history(arn, &query).await?;
        let more = events.len() > limit;
        events.truncate(limit);
        let next_token = if more {
            self.page_token(&purpose, events.last().map(|e| e.id.to_string()))
        } else {
            None
        };
        Ok(HistoryPage {
            events: events
                .iter()
                .map(|e| e.to_aws_json(req.include_execution_data))
                .collect(),
            next_token,
        })
    }

    /// StopExecution: aborts a running execution; returns the stop date.
    /// Stopping an execution that already ended returns its stop date.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<i64, ServiceError> {
        names::check_execution_arn(arn)?;
        self.apply_accepted(arn, Event::Stop { error, cause })
            .await?;
        let rec = self.load_header(arn).await?;
        Ok(rec
            .execution
            .stop_time
            .unwrap_or_else(|| self.inner.clock.now()))
    }

    fn verify_token(&self, task_token: &str) -> Result<token::TokenRef, ServiceError> {
        token::verify(&self.inner.config.token_key, task_token)
            .map_err(|e| ServiceError::InvalidToken(format!("Invalid token: {e}")))
    }

    async fn callback(
        &self,
        task_token: &str,
        event: impl FnOnce(u64, u64) -> Event,
    ) -> Result<(), ServiceError> {
        let r = self.verify_token(task_token)?;
        let event = event(r.frame, r.seq);
        // An Express execution running in memory takes callbacks directly.
        let waiter = lock(&self.inner.sync_waiters)
            .get(&r.execution_arn)
            .cloned();
        if let Some(tx) = waiter {
            return tx.send(event).map_err(|_| {
                ServiceError::TaskTimedOut("Provided task does not exist anymore".into())
            });
        }
        match self.apply_accepted(&r.execution_arn, event).await {
            Ok(Applied::Committed) => Ok(()),
            Ok(Applied::Dropped) => Err(ServiceError::TaskTimedOut(
                "Provided task does not exist anymore".into(),
            )),
            Err(ServiceError::ExecutionDoesNotExist(_)) => Err(ServiceError::TaskDoesNotExist(
                "Provided task does not exist".into(),
            )),
            Err(e) => Err(e),
        }
    }

    /// SendTaskSuccess: resumes the `.waitForTaskToken` task with `output`
    /// (JSON text). `TaskTimedOut` if the task no longer waits.
    pub async fn send_task_success(
        &self,
        task_token: &str,
        output: &str,
    ) -> Result<(), ServiceError> {
        constraints::check_payload_size("output", output)?;
        let output: Value = serde_json::from_str(output)
            .map_err(|e| ServiceError::InvalidOutput(format!("Invalid output: {e}")))?;
        if let Some(why) = constraints::payload_too_deep(&output) {
            return Err(ServiceError::InvalidOutput(format!(
                "Invalid output: {why}"
            )));
        }
        self.callback(task_token, |frame, seq| Event::TaskSucceeded {
            frame,
            seq,
            output,
        })
        .await
    }

    /// SendTaskFailure: fails the waiting task with `error` and `cause`.
    pub async fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), ServiceError> {
        let error = error.unwrap_or_default();
        self.callback(task_token, |frame, seq| Event::TaskFailed {
            frame,
            seq,
            error,
            cause,
        })
        .await
    }

    /// SendTaskHeartbeat: pushes the waiting task's heartbeat deadline back.
    pub async fn send_task_heartbeat(&self, task_token: &str) -> Result<(), ServiceError> {
        self.callback(task_token, |frame, seq| Event::TaskHeartbeat { frame, seq })
            .await
    }

    // ---- advancing ----------------------------------------------------

    /// Feeds one event to a durable execution: load, advance, commit with
    /// compare-and-set (reloading on conflict), then perform the effects.
    /// Never runs two steps of the same execution at once in this process.
    pub async fn apply(&self, arn: &str, event: Event) -> Result<Applied, ServiceError> {
        self.apply_with(arn, event, true).await
    }

    /// [`Service::apply`] for a client's request (SendTask*, StopExecution):
    /// once the step is committed the request succeeded, even if performing
    /// its effects failed — they stay in the outbox for the sweep, and an
    /// error would make the client retry what is already done.
    async fn apply_accepted(&self, arn: &str, event: Event) -> Result<Applied, ServiceError> {
        self.apply_with(arn, event, false).await
    }

    async fn apply_with(
        &self,
        arn: &str,
        event: Event,
        effects_must_succeed: bool,
    ) -> Result<Applied, ServiceError> {
        let _guard = self.inner.locks.lock(arn).await;
        let mut trust_cache = true;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let cached = if trust_cache {
                lock(&self.inner.cache).remove(arn)
            } else {
                None
            };
            let from_cache = cached.is_some();
            let mut rec = match cached {
                Some(r) => r,
                None => match self.inner.store.load_execution(arn, true).await? {
                    Some(r) => r,
                    None => return Err(ServiceError::ExecutionDoesNotExist(arn.into())),
                },
            };
            let machine = self.machine(&rec.meta.revision_id).await?;
            let expected = rec.execution.version;
            let now = self.inner.clock.now();
            let env = Env {
                now,
                token_key: &self.inner.config.token_key,
            };
            let step = match advance_or_fail(&mut rec.execution, &machine, event.clone(), &env) {
                Ok(step) => step,
                // `advance` checks these before it changes anything: the
                // value is still the stored one, keep it decoded (a Map's
                // duplicate deliveries would otherwise reload every frame).
                Err(
                    EngineError::Stale { .. } | EngineError::Ended(_) | EngineError::AlreadyStarted,
                ) if from_cache && !self.inner.config.sole_writer => {
                    // Another process (the stepper, when this is the API
                    // function) may have advanced it: decide on the stored
                    // execution, not on this process's copy.
                    lock(&self.inner.cache).remove(arn);
                    trust_cache = false;
                    continue;
                }
                Err(
                    EngineError::Stale { .. } | EngineError::Ended(_) | EngineError::AlreadyStarted,
                ) => {
                    self.cache_put(rec);
                    return Ok(Applied::Dropped);
                }
                // Any other failure may leave a half-advanced value: dropped
                // here; the store has the truth.
                Err(e) => return Err(ServiceError::Internal(format!("{arn}: {e}"))),
            };
            let outbox = outbox_entries(&rec, &step.effects, now, self.keeps_finished(&rec));
            let write = StepWrite {
                frames_changed: &step.frames_changed,
                frames_removed: &step.frames_removed,
                history: &step.history,
                outbox: &outbox,
            };
            match self.inner.store.commit_step(&rec, expected, &write).await {
                Ok(()) => {
                    if effects_must_succeed {
                        self.after_commit(rec, outbox).await?;
                    } else {
                        self.after_commit_accepted(rec, outbox).await;
                    }
                    return Ok(Applied::Committed);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal(format!(
            "{arn}: too many concurrent updates"
        )))
    }

    async fn after_commit(
        &self,
        rec: ExecutionRecord,
        outbox: Vec<OutboxEntry>,
    ) -> Result<(), ServiceError> {
        if rec.execution.status == Status::Running {
            self.cache_put(rec);
            self.perform(outbox, None).await
        } else {
            // Its `Finished` entry is performed from this record, not a reload.
            self.perform(outbox, Some(rec)).await
        }
    }

    /// After a commit a client's request depends on: a failure to perform
    /// the effects is logged (a warning) and left to the outbox sweep.
    async fn after_commit_accepted(&self, rec: ExecutionRecord, outbox: Vec<OutboxEntry>) {
        let arn = rec.execution.info.arn.clone();
        if let Err(e) = self.after_commit(rec, outbox).await {
            tracing::warn!(execution_arn = %arn, error = %e, "effects left to the outbox sweep");
        }
    }

    /// Keeps a running execution decoded for its next step.
    fn cache_put(&self, rec: ExecutionRecord) {
        if rec.execution.status == Status::Running && self.inner.config.cache_capacity > 0 {
            let mut cache = lock(&self.inner.cache);
            if cache.len() >= self.inner.config.cache_capacity {
                // Any entry will do: the cache only saves decoding.
                if let Some(k) = cache.keys().next().cloned() {
                    cache.remove(&k);
                }
            }
            cache.insert(rec.execution.info.arn.clone(), rec);
        }
    }

    /// Performs outbox entries, then deletes them. Timers become queue
    /// messages; tasks are invoked and their results queued.
    ///
    /// `ended`: the execution's record when the step that made these
    /// entries ended it (else `Finished` entries load it).
    ///
    /// A plain function returning a boxed future: performing a Task may
    /// start a child execution, whose first step is performed here again,
    /// and the compiler cannot prove a recursive `async fn` `Send`.
    pub(crate) fn perform(
        &self,
        outbox: Vec<OutboxEntry>,
        ended: Option<ExecutionRecord>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ServiceError>> + Send + '_>>
    {
        Box::pin(self.perform_entries(outbox, ended))
    }

    async fn perform_entries(
        &self,
        outbox: Vec<OutboxEntry>,
        ended: Option<ExecutionRecord>,
    ) -> Result<(), ServiceError> {
        if outbox.is_empty() {
            return Ok(());
        }
        let mut done = Vec::new();
        for entry in outbox {
            match &entry.effect {
                Effect::ScheduleTimer {
                    frame,
                    seq,
                    timer,
                    at,
                } => {
                    let msg = QueueMessage {
                        id: entry.id.clone(),
                        execution_arn: entry.execution_arn.clone(),
                        due: *at,
                        body: MessageBody::Event(Event::TimerFired {
                            frame: *frame,
                            seq: *seq,
                            timer: *timer,
                        }),
                    };
                    self.inner.queue.send(&msg).await?;
                    done.push(entry.id);
                }
                Effect::InvokeTask { .. } if self.inner.config.defer_tasks => {
                    // The entry stays pending until a worker performed it.
                    let msg = QueueMessage {
                        id: format!("{}#perform", entry.id),
                        execution_arn: entry.execution_arn.clone(),
                        due: self.inner.clock.now(),
                        body: MessageBody::Perform {
                            outbox_id: entry.id.clone(),
                        },
                    };
                    self.inner.queue.send(&msg).await?;
                }
                Effect::InvokeTask { .. } => {
                    if self.inner.config.spawn_tasks {
                        if !lock(&self.inner.in_flight).insert(entry.id.clone()) {
                            continue;
                        }
                        let this = self.clone();
                        tokio::spawn(async move {
                            let id = entry.id.clone();
                            // A failure leaves the entry for the sweep.
                            let _ = this.invoke_task(entry).await;
                            lock(&this.inner.in_flight).remove(&id);
                        });
                    } else {
                        self.invoke_task(entry).await?;
                    }
                }
                Effect::Finished { .. } => {
                    self.finished(&entry, ended.as_ref()).await?;
                    done.push(entry.id);
                }
            }
        }
        self.inner.wake.notify_one();
        if !done.is_empty() {
            self.inner.store.complete_outbox(&done).await?;
        }
        Ok(())
    }

    async fn invoke_task(&self, entry: OutboxEntry) -> Result<(), ServiceError> {
        if let Some(event) = self.task_outcome(&entry).await? {
            let msg = QueueMessage {
                id: format!("{}#result", entry.id),
                execution_arn: entry.execution_arn.clone(),
                due: self.inner.clock.now(),
                body: MessageBody::Event(event),
            };
            self.inner.queue.send(&msg).await?;
            self.inner.wake.notify_one();
        }
        self.inner
            .store
            .complete_outbox(std::slice::from_ref(&entry.id))
            .await?;
        Ok(())
    }

    /// Performs a Task invocation; the event that answers it, or `None`
    /// while the task waits for a callback (or for a child execution).
    async fn task_outcome(&self, entry: &OutboxEntry) -> Result<Option<Event>, ServiceError> {
        let Effect::InvokeTask {
            frame,
            seq,
            invocation,
        } = &entry.effect
        else {
            return Ok(None);
        };
        let result = match crate::children::nested_pattern(&invocation.resource) {
            Some(pattern) => {
                self.start_child(&entry.id, *frame, *seq, pattern, invocation)
                    .await?
            }
            None => {
                let ctx = InvokeContext {
                    execution_arn: entry.execution_arn.clone(),
                    invocation_id: entry.id.clone(),
                    test_case: entry.test_case.clone(),
                };
                self.inner.invoker.invoke(&ctx, invocation).await
            }
        };
        Ok(result.into_event(*frame, *seq, invocation))
    }

    /// A `Perform` message: performs the deferred Task invocation and
    /// applies its result right here (no second message). A repeat after
    /// the entry was completed finds nothing to do.
    async fn perform_deferred(&self, outbox_id: &str) -> Result<Applied, ServiceError> {
        let Some(entry) = self.inner.store.outbox_entry(outbox_id).await? else {
            return Ok(Applied::Dropped);
        };
        let applied = match self.task_outcome(&entry).await? {
            Some(event) => match self.apply(&entry.execution_arn, event).await {
                Ok(a) => a,
                Err(ServiceError::ExecutionDoesNotExist(_)) => Applied::Dropped,
                Err(e) => return Err(e),
            },
            None => Applied::Dropped,
        };
        self.inner
            .store
            .complete_outbox(std::slice::from_ref(&entry.id))
            .await?;
        Ok(applied)
    }

    /// Performs outbox entries created at or before `created_before` that
    /// this process is not performing already: after a crash, every effect
    /// of a committed step is performed again (their ids make repeats
    /// harmless).
    pub async fn sweep_outbox(&self, created_before: i64) -> Result<usize, ServiceError> {
        let mut total = 0;
        loop {
            let entries = self.inner.store.pending_outbox(created_before, 256).await?;
            let fresh: Vec<OutboxEntry> = {
                let in_flight = lock(&self.inner.in_flight);
                entries
                    .into_iter()
                    .filter(|e| !in_flight.contains(&e.id))
                    .collect()
            };
            if fresh.is_empty() {
                return Ok(total);
            }
            total += fresh.len();
            self.perform(fresh, None).await?;
        }
    }

    /// Recovery at start: makes in-flight messages visible again (nothing
    /// can be in flight in a process that just started — single-process
    /// backends only) and performs every pending outbox entry.
    pub async fn recover(&self) -> Result<usize, ServiceError> {
        self.inner.queue.release_all().await?;
        self.sweep_outbox(i64::MAX).await
    }

    /// Processes one received message: applies its event and acks it.
    /// Messages for executions that no longer exist are acked and dropped.
    pub async fn process(
        &self,
        delivery: &flowstate_ports::Delivery,
    ) -> Result<Applied, ServiceError> {
        let applied = self.handle(&delivery.message).await?;
        self.inner.queue.ack(&delivery.receipt).await?;
        Ok(applied)
    }

    /// Does what a queue message asks, without acknowledging it (a Lambda
    /// event source deletes the messages of a successful batch itself).
    pub async fn handle(&self, message: &QueueMessage) -> Result<Applied, ServiceError> {
        match &message.body {
            MessageBody::Event(event) => {
                match self.apply(&message.execution_arn, event.clone()).await {
                    Ok(a) => Ok(a),
                    Err(ServiceError::ExecutionDoesNotExist(_)) => Ok(Applied::Dropped),
                    Err(e) => Err(e),
                }
            }
            MessageBody::Perform { outbox_id } => self.perform_deferred(outbox_id).await,
        }
    }
}

/// The outbox entries of a step: every effect (`Finished` only when it is
/// kept: someone is told of the end), with ids
/// derived from the execution and its new version.
pub(crate) fn outbox_entries(
    rec: &ExecutionRecord,
    effects: &[Effect],
    now: i64,
    keep_finished: bool,
) -> Vec<OutboxEntry> {
    let e = &rec.execution;
    effects
        .iter()
        .enumerate()
        .filter(|(_, eff)| keep_finished || !matches!(eff, Effect::Finished { .. }))
        .map(|(i, eff)| OutboxEntry {
            id: format!("{}#{}#{}", e.info.arn, e.version, i),
            execution_arn: e.info.arn.clone(),
            created: now,
            effect: eff.clone(),
            test_case: rec.meta.test_case.clone(),
        })
        .collect()
}

/// The header of a record, for stores (re-exported for convenience).
pub fn header(rec: &ExecutionRecord) -> ExecutionHeader {
    ExecutionHeader::of(rec)
}
