//! Advancing executions: events in, steps committed, effects performed.
//!
//! This process runs one step of an execution at a time. Events for an
//! execution that arrive while one of its steps is being committed (task
//! results of one SQS batch, callbacks at once) wait, and are then applied
//! one after the other to one decoded copy and committed together: one
//! compare-and-set and one header write for all of them, where they would
//! otherwise race each other. A commit that loses to another process is
//! retried on the stored execution after a jittered back-off.

use crate::cache::Cached;
use crate::retry::backoff_ms;
use crate::service::{lock, outbox_entries};
use crate::{Applied, Service, ServiceError};
use flowstate_engine::{advance_or_fail, Effect, EngineError, Env, Event, Status, Step};
use flowstate_ports::{
    Claim, Clock, ExecutionRecord, Invoker, OutboxEntry, Queue, StepWrite, Store, StoreError,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// Commits of one execution tried before giving up (the caller's message
/// is then retried later): each after a back-off, so busy executions
/// settle instead of colliding again.
const MAX_COMMIT_ATTEMPTS: u32 = 16;
/// First back-off after a conflict, and the longest.
const CONFLICT_BACKOFF_MS: i64 = 20;
const CONFLICT_BACKOFF_CAP_MS: i64 = 2_000;

/// An event waiting for its execution's step, and who waits for the outcome.
pub(crate) struct Pending {
    event: Event,
    /// The caller's request is done once the step is committed (see
    /// [`Service::apply_accepted`]); else performing the effects must
    /// succeed too.
    accepted: bool,
    /// The caller performs a task of this step next, if the step makes
    /// one (see `chain.rs`).
    chains: bool,
    /// The caller's decoded copy of the execution, handed to it with the
    /// task it performed.
    carried: Option<Cached>,
    reply: tokio::sync::oneshot::Sender<Result<(Applied, Option<Next>), ServiceError>>,
}

/// A task handed to the caller of a step to perform next: its outbox
/// entry, committed claimed by this process, and the execution as that
/// step left it (when it was not needed for other events).
pub(crate) struct Next {
    pub(crate) entry: OutboxEntry,
    pub(crate) cached: Option<Cached>,
}

/// Events waiting, per execution. An execution is present while one of
/// its steps is being applied (by the task that leads it).
#[derive(Default)]
pub(crate) struct PendingEvents {
    map: Mutex<HashMap<String, Vec<Pending>>>,
}

impl PendingEvents {
    /// Queues an event; true when no step of the execution is under way:
    /// the caller must start one.
    fn push(&self, arn: &str, pending: Pending) -> bool {
        let mut map = lock(&self.map);
        match map.get_mut(arn) {
            Some(waiting) => {
                waiting.push(pending);
                false
            }
            None => {
                map.insert(arn.to_string(), vec![pending]);
                true
            }
        }
    }

    /// The events to apply next, or `None` (and the execution is no longer
    /// under way) when none is left.
    fn next(&self, arn: &str) -> Option<Vec<Pending>> {
        let mut map = lock(&self.map);
        let waiting = map.get_mut(arn)?;
        if waiting.is_empty() {
            map.remove(arn);
            return None;
        }
        Some(std::mem::take(waiting))
    }
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// Feeds one event to a durable execution: load, advance, commit with
    /// compare-and-set (reloading on conflict), then perform the effects.
    /// Never runs two steps of the same execution at once in this process;
    /// events that arrive meanwhile are committed together.
    pub async fn apply(&self, arn: &str, event: Event) -> Result<Applied, ServiceError> {
        self.apply_with(arn, event, false).await
    }

    /// [`Service::apply`] for a client's request (SendTask*, StopExecution):
    /// once the step is committed the request succeeded, even if performing
    /// its effects failed — they stay in the outbox for the sweep, and an
    /// error would make the client retry what is already done.
    pub(crate) async fn apply_accepted(
        &self,
        arn: &str,
        event: Event,
    ) -> Result<Applied, ServiceError> {
        self.apply_with(arn, event, true).await
    }

    async fn apply_with(
        &self,
        arn: &str,
        event: Event,
        accepted: bool,
    ) -> Result<Applied, ServiceError> {
        let (applied, _) = self.apply_step(arn, event, accepted, false, None).await?;
        Ok(applied)
    }

    /// Applies the result of a task this process performed (accepted once
    /// committed, as [`Service::apply_accepted`]) and, when `chains` and
    /// the step makes the execution wait for a task, hands that task to
    /// the caller to perform next, with the decoded execution; `carried`:
    /// the copy the previous link of the chain handed over.
    pub(crate) async fn apply_chained(
        &self,
        arn: &str,
        event: Event,
        chains: bool,
        carried: Option<Cached>,
    ) -> Result<(Applied, Option<Next>), ServiceError> {
        self.apply_step(arn, event, true, chains, carried).await
    }

    async fn apply_step(
        &self,
        arn: &str,
        event: Event,
        accepted: bool,
        chains: bool,
        carried: Option<Cached>,
    ) -> Result<(Applied, Option<Next>), ServiceError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let pending = Pending {
            event,
            accepted,
            chains,
            carried,
            reply,
        };
        if self.inner.pending.push(arn, pending) {
            // Led by a task of its own: a caller that goes away (a client
            // hanging up) must not strand the events queued behind it.
            let this = self.clone();
            let arn = arn.to_string();
            tokio::spawn(async move {
                while let Some(batch) = this.inner.pending.next(&arn) {
                    this.apply_batch(&arn, batch).await;
                }
            });
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(ServiceError::Internal(format!("{arn}: step abandoned"))))
    }

    /// Applies `batch` to the execution and commits it as one step, then
    /// answers each event's caller.
    async fn apply_batch(&self, arn: &str, mut batch: Vec<Pending>) {
        let mut trust_cache = true;
        let mut attempt = 0;
        // A copy this process's cache has is at least as recent as one a
        // chain carried (it was put there after the chain took its own).
        let mut carried = batch.iter_mut().find_map(|p| p.carried.take());
        for p in &mut batch {
            p.carried = None;
        }
        loop {
            let cached = if trust_cache {
                self.inner.cache.take(arn).or_else(|| carried.take())
            } else {
                carried = None;
                None
            };
            let from_cache = cached.is_some();
            let mut cached = match cached {
                Some(c) => c,
                None => match self.inner.store.load_execution(arn, true).await {
                    Ok(Some(rec)) => Cached::new(rec),
                    Ok(None) => {
                        return reply_all(
                            batch,
                            Err(ServiceError::ExecutionDoesNotExist(arn.into())),
                        )
                    }
                    Err(e) => return reply_all(batch, Err(e.into())),
                },
            };
            let machine = match self.machine(&cached.rec.meta.revision_id).await {
                Ok(m) => m,
                Err(e) => return reply_all(batch, Err(e)),
            };
            let expected = cached.rec.execution.version;
            let now = self.inner.clock.now();
            let env = Env {
                now,
                token_key: &self.inner.config.token_key,
            };
            let salt = uuid::Uuid::new_v4().simple().to_string();
            let mut steps = Vec::with_capacity(batch.len());
            let mut outbox = Vec::new();
            let mut applied = Vec::with_capacity(batch.len());
            let mut retry_on_store = false;
            let mut broken = None;
            for (i, p) in batch.iter().enumerate() {
                let rec = &mut cached.rec;
                match advance_or_fail(&mut rec.execution, &machine, p.event.clone(), &env) {
                    Ok(step) => {
                        outbox.extend(self.claimed_outbox(rec, &step, now, &salt[..8]));
                        steps.push(step);
                        applied.push(Applied::Committed);
                    }
                    // `advance` checks these before it changes anything.
                    // Another process (the stepper, when this is the API
                    // function) may have advanced the execution: decide on
                    // the stored one, not on this process's copy.
                    Err(
                        EngineError::Stale { .. }
                        | EngineError::Ended(_)
                        | EngineError::AlreadyStarted,
                    ) if from_cache && !self.inner.config.sole_writer => {
                        retry_on_store = true;
                        break;
                    }
                    Err(
                        EngineError::Stale { .. }
                        | EngineError::Ended(_)
                        | EngineError::AlreadyStarted,
                    ) => applied.push(Applied::Dropped),
                    // Any other failure may leave a half-advanced value: it
                    // is dropped, and the others are applied on the stored one.
                    Err(e) => {
                        broken = Some((i, e));
                        break;
                    }
                }
            }
            if retry_on_store {
                trust_cache = false;
                continue;
            }
            if let Some((i, e)) = broken {
                let p = batch.remove(i);
                let _ = p
                    .reply
                    .send(Err(ServiceError::Internal(format!("{arn}: {e}"))));
                trust_cache = false;
                continue;
            }
            if !applied.contains(&Applied::Committed) {
                // Nothing applied: the copy is still the stored one.
                self.inner.cache.put(cached);
                return reply_all(batch, Ok(Applied::Dropped));
            }
            // Callers that chain take a task of this step each, claimed by
            // this process as it is committed; the others go to the queue.
            let mut chained: Vec<Option<usize>> = vec![None; batch.len()];
            let mut queued = outbox.iter().enumerate().filter(|(_, o)| {
                matches!(o.effect, Effect::InvokeTask { .. }) && o.claim.owner == Claim::QUEUED
            });
            for (p, slot) in batch.iter().zip(chained.iter_mut()) {
                if p.chains {
                    *slot = queued.next().map(|(i, _)| i);
                }
            }
            for i in chained.iter().flatten() {
                outbox[*i].claim = Claim {
                    owner: self.inner.id.clone(),
                    until: now.saturating_add(self.inner.config.claim_ms),
                };
            }
            let step = Step::merge(steps, &cached.rec.execution);
            let write = step_write(&step, &outbox);
            match self
                .inner
                .store
                .commit_step(&cached.rec, expected, &write)
                .await
            {
                Ok(()) => {}
                // This process's copy was behind the store: another
                // process advanced the execution, which says nothing of
                // contention. Again at once, from the store.
                Err(StoreError::Conflict) if from_cache => {
                    trust_cache = false;
                    continue;
                }
                Err(StoreError::Conflict) => {
                    attempt += 1;
                    if attempt >= MAX_COMMIT_ATTEMPTS {
                        return reply_all(
                            batch,
                            Err(ServiceError::Internal(format!(
                                "{arn}: too many concurrent updates"
                            ))),
                        );
                    }
                    let wait = backoff_ms(attempt, CONFLICT_BACKOFF_MS, CONFLICT_BACKOFF_CAP_MS);
                    tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
                    trust_cache = false;
                    continue;
                }
                Err(e) => return reply_all(batch, Err(e.into())),
            }
            cached.remeasure(
                step.frames_changed
                    .iter()
                    .chain(&step.frames_removed)
                    .copied(),
            );
            // The chained entries are performed by their callers, not here.
            let mut handed: Vec<Option<OutboxEntry>> = Vec::with_capacity(batch.len());
            let mut taken = vec![false; outbox.len()];
            for slot in &chained {
                handed.push(slot.map(|i| {
                    taken[i] = true;
                    outbox[i].clone()
                }));
            }
            let rest: Vec<OutboxEntry> = outbox
                .into_iter()
                .zip(taken)
                .filter_map(|(o, taken)| (!taken).then_some(o))
                .collect();
            // The first chain's next step goes on from this copy, not a reload.
            let mut handed_copy = None;
            let performed = if handed.iter().any(Option::is_some)
                && cached.rec.execution.status == Status::Running
            {
                handed_copy = Some(cached);
                self.perform(rest, None).await
            } else {
                self.after_commit(cached, rest).await
            };
            if let Err(e) = &performed {
                tracing::warn!(execution_arn = %arn, error = %e, "effects left to the outbox sweep");
            }
            for ((p, outcome), next) in batch.into_iter().zip(applied).zip(handed) {
                let answer = match (&performed, outcome) {
                    (Err(e), Applied::Committed) if !p.accepted => Err(e.clone()),
                    _ => Ok((
                        outcome,
                        next.map(|entry| Next {
                            entry,
                            cached: handed_copy.take(),
                        }),
                    )),
                };
                let _ = p.reply.send(answer);
            }
            return;
        }
    }

    /// After a commit: keeps a running execution decoded for its next
    /// step, then performs the effects.
    pub(crate) async fn after_commit(
        &self,
        cached: Cached,
        outbox: Vec<OutboxEntry>,
    ) -> Result<(), ServiceError> {
        if cached.rec.execution.status == Status::Running {
            self.inner.cache.put(cached);
            self.perform(outbox, None).await
        } else {
            // Its `Finished` entry is performed from this record, not a reload.
            self.inner.cache.remove(&cached.rec.execution.info.arn);
            self.perform(outbox, Some(cached.rec)).await
        }
    }

    /// The outbox entries of a step this process committed, claimed as
    /// they will be performed: by this process, or by whoever receives the
    /// `Perform` message of a deferred task.
    pub(crate) fn claimed_outbox(
        &self,
        rec: &ExecutionRecord,
        step: &Step,
        now: i64,
        salt: &str,
    ) -> Vec<OutboxEntry> {
        let mut entries = outbox_entries(
            rec,
            &step.effects,
            now,
            self.keeps_finished(rec),
            Some(salt),
        );
        for entry in &mut entries {
            entry.claim = self.claim_for(&entry.effect, now);
        }
        entries
    }
}

/// What committing `step` writes besides the execution header.
pub(crate) fn step_write<'a>(step: &'a Step, outbox: &'a [OutboxEntry]) -> StepWrite<'a> {
    StepWrite {
        frames_changed: &step.frames_changed,
        frames_removed: &step.frames_removed,
        history: &step.history,
        outbox,
    }
}

fn reply_all(batch: Vec<Pending>, outcome: Result<Applied, ServiceError>) {
    for p in batch {
        let _ = p.reply.send(outcome.clone().map(|a| (a, None)));
    }
}
