//! The [`Service`]: every Step Functions operation over the ports, and the
//! machinery that advances executions (apply an event, commit, perform
//! effects from the outbox).

use crate::apply::PendingEvents;
use crate::cache::{Cached, ExecutionCache};
use crate::constraints;
use crate::names::{self, check_name};
use crate::versions::Target;
use crate::ServiceError;
use flowstate_asl::definition::StateMachine;
use flowstate_asl::validate::{validate, Diagnostic, Severity};
use flowstate_engine::{
    advance_or_fail, token, Effect, Env, Event, Execution, ExecutionInfo, Limits, Status,
};
use flowstate_ports::{
    Claim, Clock, Created, ExecutionHeader, ExecutionMeta, ExecutionQuery, ExecutionRecord,
    ExecutionSummary, HistoryQuery, Invoker, MachineConfiguration, Notifier, OutboxEntry, Page,
    PageRequest, Queue, StateMachineRecord, Store, StoreError, WorkflowType,
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
    /// Executions kept decoded in memory between steps, at most (a cache:
    /// every commit is still a compare-and-set on the store; 0: none).
    pub cache_capacity: usize,
    /// The same cache's bound in bytes, by an estimate of each decoded
    /// execution's size.
    pub cache_bytes: usize,
    /// How long a claim on an outbox entry lasts: whoever commits a step
    /// (or takes a deferred task's `Perform` message) has this long to
    /// perform the effect before a sweep may perform it again. Longer than
    /// a task may take where it is performed (the stepper function's
    /// timeout).
    pub claim_ms: i64,
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
    /// How long GetActivityTask waits for a task (AWS: 60 s). Shorter
    /// where the request itself has a shorter deadline (the API function).
    pub activity_poll_ms: u64,
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
            cache_bytes: 256 << 20,
            claim_ms: 15 * 60 * 1000,
            defer_tasks: false,
            sole_writer: true,
            activity_poll_ms: crate::activities::ACTIVITY_POLL.as_millis() as u64,
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
    pub logging: Option<Value>,
    pub tracing: Option<Value>,
    pub encryption: Option<Value>,
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
    /// Kept with the execution and shown by DescribeExecution.
    pub trace_header: Option<String>,
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
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub trace_header: Option<String>,
    pub redrive_count: u32,
    pub redrive_date: Option<i64>,
    /// Whether RedriveExecution would take it now (DescribeExecution).
    pub redrive_status: Option<crate::RedriveStatus>,
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
    /// This process's name in outbox claims.
    pub(crate) id: String,
    /// Decoded executions between steps.
    pub(crate) cache: ExecutionCache,
    /// Events waiting for their execution's step (see `apply.rs`).
    pub(crate) pending: PendingEvents,
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

pub(crate) fn lock_waiters<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock(m)
}

pub(crate) fn describe_pub(rec: &ExecutionRecord) -> ExecutionDescription {
    describe(rec)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
        version_arn: rec.meta.version_arn.clone(),
        alias_arn: rec.meta.alias_arn.clone(),
        trace_header: rec.meta.trace_header.clone(),
        redrive_count: e.redrive_count,
        redrive_date: rec.meta.redrive_date,
        redrive_status: None,
    }
}

pub(crate) fn page_size(n: usize) -> usize {
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
                cache: ExecutionCache::new(config.cache_bytes, config.cache_capacity),
                config,
                revisions: Mutex::new(HashMap::new()),
                id: uuid::Uuid::new_v4().to_string(),
                pending: PendingEvents::default(),
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
    /// Wakes the worker to look at the queue now (the clock moved on).
    pub fn wake_worker(&self) {
        self.inner.wake.notify_one();
    }
    /// Whether this process is performing effects (tasks) right now.
    pub fn is_performing(&self) -> bool {
        !lock(&self.inner.in_flight).is_empty()
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
        Ok(self
            .create_configured_state_machine(req, MachineConfiguration::default())
            .await?
            .0)
    }

    /// CreateStateMachine with logging, tracing and encryption settings.
    /// Idempotent as Step Functions: the same name, definition, type and
    /// settings return the existing state machine (a different role is
    /// ignored, and not applied); anything else is
    /// `StateMachineAlreadyExists`. Also says whether it was created
    /// (rather than found).
    pub async fn create_configured_state_machine(
        &self,
        req: CreateStateMachine,
        configuration: MachineConfiguration,
    ) -> Result<(StateMachineRecord, bool), ServiceError> {
        constraints::check_definition_length(&req.definition)?;
        check_name(&req.name)?;
        parse_definition(&req.definition)?;
        let c = &self.inner.config;
        let now = self.inner.clock.now();
        let (region, account) = names::scoped(&c.region, &c.account);
        let record = StateMachineRecord {
            arn: names::state_machine_arn(&region, &account, &req.name),
            name: req.name.clone(),
            definition: req.definition,
            role_arn: req.role_arn,
            kind: req.kind,
            creation_date: now,
            update_date: now,
            revision_id: uuid::Uuid::new_v4().to_string(),
            description: req.description,
            configuration,
        };
        match self.inner.store.create_state_machine(&record).await {
            Ok(()) => Ok((record, true)),
            Err(StoreError::AlreadyExists(_)) => {
                match self.inner.store.get_state_machine(&record.arn).await? {
                    Some(existing)
                        if existing.definition == record.definition
                            && existing.kind == record.kind
                            && existing.configuration == record.configuration =>
                    {
                        Ok((existing, false))
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
        if let Some(version) = self.describe_version(arn).await? {
            return Ok(version);
        }
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
        if arn.split(':').count() != 7 {
            // A version is immutable; an alias is updated by its own action.
            return Err(ServiceError::InvalidArn(arn.to_string()));
        }
        let mut sm = self.describe_state_machine(arn).await?;
        if let Some(d) = req.definition {
            parse_definition(&d)?;
            sm.definition = d;
        }
        let c = &mut sm.configuration;
        for (slot, given) in [
            (&mut c.logging, req.logging),
            (&mut c.tracing, req.tracing),
            (&mut c.encryption, req.encryption),
        ] {
            if given.is_some() {
                *slot = given;
            }
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
        let (region, account) = names::scoped(&c.region, &c.account);
        let arn = names::state_machine_arn(&region, &account, &req.name);
        // Each round loses only to another writer's completed write, so a
        // few rounds settle any race but a pathological one.
        for _ in 0..3 {
            match self.create_state_machine(req.clone()).await {
                Err(ServiceError::StateMachineAlreadyExists(_)) => {}
                // CreateStateMachine ignores another role; this updates it.
                Ok(sm) if sm.role_arn != req.role_arn => {}
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
        if arn.split(':').count() != 7 {
            return Err(ServiceError::InvalidArn(arn.to_string()));
        }
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
    pub(crate) fn seal_page(&self, purpose: &str, position: Option<String>) -> Option<String> {
        self.page_token(purpose, position)
    }

    /// `page` with its token opened (see [`Service::open_page_token`]) and
    /// its size bounded.
    pub(crate) fn open_page(
        &self,
        purpose: &str,
        page: PageRequest,
    ) -> Result<PageRequest, ServiceError> {
        Ok(PageRequest {
            max_results: page_size(page.max_results),
            next_token: self.open_page_token(purpose, page.next_token)?,
        })
    }

    pub(crate) fn page_token(&self, purpose: &str, position: Option<String>) -> Option<String> {
        position.map(|p| token::seal(&self.inner.config.token_key, purpose, &p))
    }

    /// The position in a page token from [`Service::page_token`] for the
    /// same request; `InvalidToken` for any other token.
    pub(crate) fn open_page_token(
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

    pub(crate) async fn machine_for_start_pub(&self, arn: &str) -> Result<Target, ServiceError> {
        self.start_target(arn).await
    }

    pub(crate) fn new_execution_pub(
        &self,
        target: &Target,
        req: &StartExecution,
        arn: String,
        name: String,
    ) -> Result<ExecutionRecord, ServiceError> {
        self.new_execution(target, req, arn, name)
    }

    pub(crate) async fn machine(
        &self,
        revision_id: &str,
    ) -> Result<Arc<StateMachine>, ServiceError> {
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
        target: &Target,
        req: &StartExecution,
        arn: String,
        name: String,
    ) -> Result<ExecutionRecord, ServiceError> {
        let sm = &target.sm;
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
            region: names::region_and_account(&sm.arn)
                .map_or_else(|| self.inner.config.region.clone(), |(r, _)| r.to_string()),
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
                test_case: target.test_case.clone(),
                parent: req.parent.clone(),
                version_arn: target.version_arn.clone(),
                alias_arn: target.alias_arn.clone(),
                trace_header: req.trace_header.clone(),
                redrive_date: None,
                redrive_tokens: Vec::new(),
            },
        })
    }

    /// StartExecution: creates the execution and commits its first step.
    /// Idempotent by name: the same name and input as a running execution
    /// returns it; otherwise a taken name is `ExecutionAlreadyExists`.
    pub async fn start_execution(
        &self,
        req: StartExecution,
    ) -> Result<StartedExecution, ServiceError> {
        let target = self.start_target(&req.state_machine_arn).await?;
        let sm = &target.sm;
        let name = match &req.name {
            Some(n) => {
                check_name(n)?;
                n.clone()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let c = &self.inner.config;
        // The execution is where its state machine is.
        let (region, account) =
            names::region_and_account(&sm.arn).unwrap_or((&c.region, &c.account));
        let arn = match sm.kind {
            WorkflowType::Express => names::express_execution_arn(region, account, &sm.name, &name),
            WorkflowType::Standard => names::execution_arn(region, account, &sm.name, &name),
        };
        let mut rec = self.new_execution(&target, &req, arn.clone(), name)?;
        let machine = self.machine(&sm.revision_id).await?;
        let now = self.inner.clock.now();
        let env = Env {
            now,
            token_key: &c.token_key,
        };
        let step = advance_or_fail(&mut rec.execution, &machine, Event::Start, &env)
            .map_err(|e| ServiceError::Internal(format!("cannot start {arn}: {e}")))?;
        let salt = uuid::Uuid::new_v4().simple().to_string();
        let outbox = self.claimed_outbox(&rec, &step, now, &salt[..8]);
        let write = crate::apply::step_write(&step, &outbox);
        match self.inner.store.create_execution(&rec, &write).await? {
            Created::New => {
                let start_date = rec.execution.info.start_time;
                // Accepted: the caller must not start it again; effects not
                // performed stay in the outbox for the sweep.
                if let Err(e) = self.after_commit(Cached::new(rec), outbox).await {
                    tracing::warn!(execution_arn = %arn, error = %e, "effects left to the outbox sweep");
                }
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
        let rec = self.load_header(arn).await?;
        let mut d = describe(&rec);
        d.redrive_status = Some(crate::redrive_status(&rec, self.inner.clock.now()));
        Ok(d)
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
        // A version or alias ARN lists the executions started on it.
        let (machine, qualified_arn) = match state_machine_arn.split(':').count() {
            8 => (
                state_machine_arn
                    .rsplit_once(':')
                    .map_or(state_machine_arn, |(m, _)| m),
                Some(state_machine_arn.to_string()),
            ),
            _ => (state_machine_arn, None),
        };
        let query = ExecutionQuery {
            state_machine_arn: machine.into(),
            qualified_arn,
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
}

/// The outbox entries of a step: every effect (`Finished` only when it is
/// kept: someone is told of the end), unclaimed, with ids derived from the
/// execution, its new version and, when given, a salt that differs between
/// attempts to commit that version.
pub(crate) fn outbox_entries(
    rec: &ExecutionRecord,
    effects: &[Effect],
    now: i64,
    keep_finished: bool,
    salt: Option<&str>,
) -> Vec<OutboxEntry> {
    let e = &rec.execution;
    effects
        .iter()
        .enumerate()
        .filter(|(_, eff)| keep_finished || !matches!(eff, Effect::Finished { .. }))
        .map(|(i, eff)| OutboxEntry {
            id: match salt {
                Some(salt) => format!("{}#{}#{}.{}", e.info.arn, e.version, i, salt),
                None => format!("{}#{}#{}", e.info.arn, e.version, i),
            },
            execution_arn: e.info.arn.clone(),
            created: now,
            effect: eff.clone(),
            test_case: rec.meta.test_case.clone(),
            claim: Claim::default(),
        })
        .collect()
}

/// The header of a record, for stores (re-exported for convenience).
pub fn header(rec: &ExecutionRecord) -> ExecutionHeader {
    ExecutionHeader::of(rec)
}
