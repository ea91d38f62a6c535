//! Performing effects: outbox entries committed with their step.
//!
//! - **Claims.** An entry is performed at most once per claim
//!   ([`Claim`]): the process that commits a step writes its entries
//!   claimed by itself and performs them; a deferred task's entry is
//!   claimed by the queue ([`Claim::QUEUED`]) and then by whichever process
//!   receives its `Perform` message — a duplicate of that message finds
//!   the entry claimed and does nothing. The sweep takes only entries
//!   whose claim lapsed (their process died, or took longer than
//!   `Config::claim_ms`), and each of them once per sweep: it ends.
//! - **The frame decides.** A task is performed only while its frame still
//!   waits for it (same frame, same `seq`, execution running): work queued
//!   for an execution that was stopped or failed since, or for a frame that
//!   moved on, is dropped without invoking anything.
//! - **Chains.** The process that performs a deferred task and commits its
//!   result performs the next task of the execution too, when that step
//!   makes one, within a [`ChainBudget`] (see `chain.rs`).
//! - **Failed messages** come back after a jittered back-off of seconds
//!   ([`Service::retry_later`]), not after the queue's visibility timeout.

use crate::apply::Next;
use crate::cache::Cached;
use crate::chain::ChainBudget;
use crate::retry::backoff_ms;
use crate::service::lock;
use crate::{Applied, Service, ServiceError};
use flowstate_engine::{Effect, Event, FrameId, Timer, Waiting};
use flowstate_ports::{
    Claim, Clock, Delivery, ExecutionRecord, InvokeContext, Invoker, MessageBody, OutboxEntry,
    Queue, QueueMessage, Store,
};
use std::collections::HashSet;

/// A chain so far: tasks performed, and the longest of them.
struct Link {
    performed: u32,
    longest: std::time::Duration,
}

/// Entries a sweep reads at a time.
const SWEEP_PAGE: usize = 256;
/// Back-off of a failed message: the first retry within a second, then
/// growing fourfold up to the 30 minutes of the step queue's visibility
/// timeout — seconds for a passing failure, yet ten deliveries (the
/// dead-letter queue's count) still span about two hours of an outage.
const RETRY_BASE_MS: i64 = 1_000;
const RETRY_CAP_MS: i64 = 1_800_000;

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// The claim an entry gets when this process commits or sweeps it: a
    /// deferred task is handed to the queue, anything else this process
    /// performs.
    pub(crate) fn claim_for(&self, effect: &Effect, now: i64) -> Claim {
        let deferred = self.inner.config.defer_tasks && matches!(effect, Effect::InvokeTask { .. });
        Claim {
            owner: if deferred {
                Claim::QUEUED.to_string()
            } else {
                self.inner.id.clone()
            },
            until: now.saturating_add(self.inner.config.claim_ms),
        }
    }

    /// Performs outbox entries this process holds the claims of, then
    /// deletes them. Timers become queue messages; tasks are invoked and
    /// their results queued, or handed to the queue (`defer_tasks`).
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
        let now = self.inner.clock.now();
        let mut messages = Vec::new();
        let mut done = Vec::new();
        let mut tasks = Vec::new();
        for entry in outbox {
            match &entry.effect {
                Effect::ScheduleTimer {
                    frame,
                    seq,
                    timer,
                    at,
                } => {
                    messages.push(QueueMessage {
                        id: entry.id.clone(),
                        execution_arn: entry.execution_arn.clone(),
                        due: *at,
                        body: MessageBody::Event(Event::TimerFired {
                            frame: *frame,
                            seq: *seq,
                            timer: *timer,
                        }),
                    });
                    done.push(entry.id);
                }
                // The entry stays until the worker that claims it from the
                // message has performed it.
                Effect::InvokeTask { .. } if entry.claim.owner == Claim::QUEUED => {
                    messages.push(QueueMessage {
                        id: format!("{}#perform", entry.id),
                        execution_arn: entry.execution_arn.clone(),
                        due: now,
                        body: MessageBody::Perform {
                            outbox_id: entry.id.clone(),
                        },
                    });
                }
                Effect::InvokeTask { .. } => tasks.push(entry),
                Effect::Finished { .. } => {
                    self.finished(&entry, ended.as_ref()).await?;
                    done.push(entry.id);
                }
            }
        }
        if !messages.is_empty() {
            self.inner.queue.send_batch(&messages).await?;
            self.inner.wake.notify_one();
        }
        if !done.is_empty() {
            self.inner.store.complete_outbox(&done).await?;
        }
        for entry in tasks {
            if self.inner.config.spawn_tasks {
                if !lock(&self.inner.in_flight).insert(entry.id.clone()) {
                    continue;
                }
                let this = self.clone();
                tokio::spawn(async move {
                    let id = entry.id.clone();
                    // A failure leaves the entry for the sweep.
                    if let Err(e) = this.invoke_task(entry).await {
                        tracing::warn!(outbox_id = %id, error = %e, "task left to the outbox sweep");
                    }
                    lock(&this.inner.in_flight).remove(&id);
                });
            } else {
                self.invoke_task(entry).await?;
            }
        }
        Ok(())
    }

    /// Performs a task this process holds the claim of, queues its result,
    /// and deletes the entry.
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

    /// Performs a Task invocation if its frame still waits for it; the
    /// event that answers it, or `None` while the task waits for a callback
    /// (or for a child execution), or when it is no longer expected.
    async fn task_outcome(&self, entry: &OutboxEntry) -> Result<Option<Event>, ServiceError> {
        let Effect::InvokeTask {
            frame,
            seq,
            invocation,
        } = &entry.effect
        else {
            return Ok(None);
        };
        if !self
            .task_expected(&entry.execution_arn, *frame, *seq)
            .await?
        {
            tracing::info!(outbox_id = %entry.id, "task no longer expected: not performed");
            return Ok(None);
        }
        if crate::activities::is_activity(&invocation.resource) {
            // Boxed: a store's write future is large, and this one holds
            // the invoker's too.
            Box::pin(self.schedule_activity_task(
                &entry.execution_arn,
                *frame,
                *seq,
                invocation,
                entry.created,
            ))
            .await?;
            return Ok(None);
        }
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

    /// Whether frame `frame` of the execution still waits for the task it
    /// was given at `seq`. This process's decoded copy decides when no
    /// other process advances executions; else the store does.
    async fn task_expected(
        &self,
        arn: &str,
        frame: FrameId,
        seq: u64,
    ) -> Result<bool, ServiceError> {
        if self.inner.config.sole_writer {
            if let Some(wait) = self.inner.cache.frame_wait(arn, frame) {
                return Ok(wait == Some((seq, true)));
            }
        }
        let frame = self.inner.store.load_frame(arn, frame).await?;
        Ok(frame.is_some_and(|f| f.seq == seq && matches!(f.waiting, Waiting::Task(_))))
    }

    /// A `Perform` message: claims the deferred task's entry from the
    /// queue, performs the task and applies its result right here (no
    /// second message), then the tasks that result leads to, as long as
    /// `budget` allows. A duplicate of the message, or one for a task no
    /// longer expected, does nothing.
    async fn perform_deferred(
        &self,
        outbox_id: &str,
        budget: &ChainBudget,
    ) -> Result<Applied, ServiceError> {
        let now = self.inner.clock.now();
        let mine = Claim {
            owner: self.inner.id.clone(),
            until: now.saturating_add(self.inner.config.claim_ms),
        };
        let Some(entry) = self
            .inner
            .store
            .claim_outbox(outbox_id, Some(Claim::QUEUED), now, &mine)
            .await?
        else {
            return Ok(Applied::Dropped);
        };
        let mut chain = Link {
            performed: 1,
            longest: std::time::Duration::ZERO,
        };
        let (applied, mut next) = self.perform_link(entry, None, budget, &mut chain).await?;
        while let Some(Next { entry, cached }) = next {
            chain.performed += 1;
            let id = entry.id.clone();
            next = match self.perform_link(entry, cached, budget, &mut chain).await {
                Ok((_, next)) => next,
                Err(e) => {
                    // This message's own task is done: the chained one is
                    // the sweep's, at once rather than when its claim lapses.
                    tracing::warn!(outbox_id = %id, error = %e, "chained task left to the outbox sweep");
                    self.release(&id).await;
                    None
                }
            };
        }
        Ok(applied)
    }

    /// Performs one task this process holds the claim of and applies its
    /// result; the next task of the chain when `budget` allows another
    /// after `chain`'s.
    async fn perform_link(
        &self,
        entry: OutboxEntry,
        carried: Option<Cached>,
        budget: &ChainBudget,
        chain: &mut Link,
    ) -> Result<(Applied, Option<Next>), ServiceError> {
        let started = tokio::time::Instant::now();
        let done = std::slice::from_ref(&entry.id);
        let Some(event) = self.task_outcome(&entry).await? else {
            self.inner.store.complete_outbox(done).await?;
            return Ok((Applied::Dropped, None));
        };
        chain.longest = chain.longest.max(started.elapsed());
        let chains = budget.allows(chain.performed, chain.longest);
        // Once the result's step is committed the task is done; its
        // effects left unperformed wait in the outbox for the sweep.
        let (applied, next) = match self
            .apply_chained(&entry.execution_arn, event.clone(), chains, carried)
            .await
        {
            Ok(outcome) => outcome,
            Err(ServiceError::ExecutionDoesNotExist(_)) => (Applied::Dropped, None),
            Err(e) => {
                // The task was performed: keep its result for a later
                // step rather than perform it again.
                tracing::warn!(outbox_id = %entry.id, error = %e, "result queued for a later step");
                let msg = QueueMessage {
                    id: format!("{}#result", entry.id),
                    execution_arn: entry.execution_arn.clone(),
                    due: self.inner.clock.now(),
                    body: MessageBody::Event(event),
                };
                if let Err(send) = self.inner.queue.send(&msg).await {
                    self.release(&entry.id).await;
                    return Err(send.into());
                }
                (Applied::Dropped, None)
            }
        };
        if let Err(e) = self.inner.store.complete_outbox(done).await {
            let Some(next) = next else {
                return Err(e.into());
            };
            // The task's result is committed: its entry, left claimed, is
            // dropped by the sweep once its claim lapses (its frame has
            // moved on), while the chain goes on.
            tracing::warn!(outbox_id = %entry.id, error = %e, "performed entry left to the outbox sweep");
            return Ok((applied, Some(next)));
        }
        Ok((applied, next))
    }

    /// Gives a task entry this process claimed back to the queue: a
    /// `Perform` message's retry claims it again, and the sweep takes it
    /// at once (its claim has lapsed).
    async fn release(&self, outbox_id: &str) {
        let now = self.inner.clock.now();
        let back = Claim {
            owner: Claim::QUEUED.into(),
            until: now,
        };
        let _ = self
            .inner
            .store
            .claim_outbox(outbox_id, Some(&self.inner.id), now, &back)
            .await;
    }

    /// Performs the outbox entries whose claim lapsed by `lapsed_by`
    /// (epoch ms) and that this process is not performing already: the
    /// effects of steps whose process died between committing and
    /// performing them. Each entry is claimed first (another sweep at the
    /// same time takes different ones), and taken once per sweep. Returns
    /// how many it claimed.
    pub async fn sweep_outbox(&self, lapsed_by: i64) -> Result<usize, ServiceError> {
        let mut seen = HashSet::new();
        loop {
            let entries = self
                .inner
                .store
                .pending_outbox(lapsed_by, SWEEP_PAGE)
                .await?;
            let fresh: Vec<OutboxEntry> = {
                let in_flight = lock(&self.inner.in_flight);
                entries
                    .into_iter()
                    .filter(|e| !in_flight.contains(&e.id) && !seen.contains(&e.id))
                    .collect()
            };
            if fresh.is_empty() {
                return Ok(seen.len());
            }
            let now = self.inner.clock.now();
            let mut claimed = Vec::with_capacity(fresh.len());
            for entry in fresh {
                seen.insert(entry.id.clone());
                // Claimed past `lapsed_by`, so the next page skips it.
                let mut claim = self.claim_for(&entry.effect, now.max(lapsed_by));
                claim.until = claim.until.max(lapsed_by.saturating_add(1));
                if let Some(entry) = self
                    .inner
                    .store
                    .claim_outbox(&entry.id, None, lapsed_by, &claim)
                    .await?
                {
                    claimed.push(entry);
                }
            }
            self.perform(claimed, None).await?;
        }
    }

    /// Recovery at start: makes this process's in-flight messages visible
    /// again and performs the pending outbox — all of it when this process
    /// is the only writer (nothing can be in flight in a process that just
    /// started), else what other processes' lapsed claims left.
    pub async fn recover(&self) -> Result<usize, ServiceError> {
        self.inner.queue.release_all().await?;
        let now = self.inner.clock.now();
        let lapsed_by = if self.inner.config.sole_writer {
            // Every claim made before now, by an earlier run of this process.
            now.saturating_add(self.inner.config.claim_ms)
        } else {
            now
        };
        self.sweep_outbox(lapsed_by).await
    }

    /// Processes one received message: applies its event and acks it.
    /// Messages for executions that no longer exist are acked and dropped.
    pub async fn process(&self, delivery: &Delivery) -> Result<Applied, ServiceError> {
        let applied = self.handle(&delivery.message).await?;
        self.inner.queue.ack(&delivery.receipt).await?;
        Ok(applied)
    }

    /// Does what a queue message asks, without acknowledging it (a Lambda
    /// event source deletes the messages of a successful batch itself); a
    /// task it performs may chain the next ones until the message's
    /// visibility ends (see [`Service::handle_within`]).
    pub async fn handle(&self, message: &QueueMessage) -> Result<Applied, ServiceError> {
        let visible =
            std::time::Duration::from_millis(self.inner.config.visibility_ms.max(0) as u64);
        let budget = ChainBudget::until(tokio::time::Instant::now() + visible);
        self.handle_within(message, &budget).await
    }

    /// [`Service::handle`] within `budget`: a task the message performs
    /// is followed by the tasks its result leads to while the budget
    /// allows (the stepper passes its invocation's deadline).
    pub async fn handle_within(
        &self,
        message: &QueueMessage,
        budget: &ChainBudget,
    ) -> Result<Applied, ServiceError> {
        match &message.body {
            MessageBody::Event(event) => {
                if self.timer_is_stale(&message.execution_arn, event).await? {
                    tracing::debug!(execution_arn = %message.execution_arn, "stale timer dropped");
                    return Ok(Applied::Dropped);
                }
                match self.apply(&message.execution_arn, event.clone()).await {
                    Ok(a) => Ok(a),
                    Err(ServiceError::ExecutionDoesNotExist(_)) => Ok(Applied::Dropped),
                    Err(e) => Err(e),
                }
            }
            MessageBody::Perform { outbox_id } => self.perform_deferred(outbox_id, budget).await,
        }
    }

    /// Whether `event` is a timer that no longer applies: its execution
    /// ended, its frame is gone, or (a timer of a frame's state) the frame
    /// moved on since it was set. Decided by one small read (the header
    /// and the frame's state), not a load of the whole execution: a
    /// stale timer — every execution that ends before its year leaves
    /// one — costs that read. What this cannot tell, the engine does.
    async fn timer_is_stale(&self, arn: &str, event: &Event) -> Result<bool, ServiceError> {
        let Event::TimerFired { frame, seq, timer } = event else {
            return Ok(false);
        };
        Ok(match self.inner.store.load_frame(arn, *frame).await? {
            None => true,
            Some(f) => {
                matches!(
                    timer,
                    Timer::WaitState | Timer::Retry | Timer::TaskTimeout | Timer::Heartbeat
                ) && f.seq != *seq
            }
        })
    }

    /// A received message whose processing failed (`attempts` deliveries
    /// so far) comes back after a jittered back-off — within a second at
    /// first, growing fourfold up to 30 minutes — rather than after the
    /// queue's visibility timeout. `receipt` as the queue gave it (or, for
    /// SQS messages handed over by Lambda's event source, the receipt
    /// handle).
    pub async fn retry_later(&self, receipt: &str, attempts: u32) -> Result<(), ServiceError> {
        // Fourfold: two doublings per attempt.
        let delay = backoff_ms(
            attempts.max(1).saturating_mul(2) - 1,
            RETRY_BASE_MS,
            RETRY_CAP_MS,
        );
        let now = self.inner.clock.now();
        Ok(self.inner.queue.retry(receipt, now, delay).await?)
    }
}
