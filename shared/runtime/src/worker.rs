//! The worker: polls the queue for due messages and processes them.

use crate::{Applied, Service, ServiceError};
use flowstate_ports::{Clock, Invoker, Queue, Store};
use std::sync::Arc;
use std::time::Duration;

/// What [`Service::run_until_idle`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdleReport {
    pub processed: usize,
    pub committed: usize,
    pub dropped: usize,
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// Processes messages one at a time, in due order, until none is left;
    /// with a simulated clock, jumps time to the next due message instead
    /// of waiting. Deterministic: for tests and `flowstate run`. Stops at
    /// the first port failure (the caller may then [`Service::recover`]).
    /// `max_messages` bounds the work, to catch livelock.
    pub async fn run_until_idle(&self, max_messages: usize) -> Result<IdleReport, ServiceError> {
        self.drain(max_messages, true).await
    }

    /// Like [`Service::run_until_idle`] but never moves time: processes
    /// the messages due now, then returns (tests answer callbacks between).
    pub async fn run_due(&self, max_messages: usize) -> Result<IdleReport, ServiceError> {
        self.drain(max_messages, false).await
    }

    async fn drain(&self, max_messages: usize, jump: bool) -> Result<IdleReport, ServiceError> {
        let mut report = IdleReport::default();
        let inner = &self.inner;
        while report.processed < max_messages {
            let now = inner.clock.now();
            let batch = inner
                .queue
                .receive(now, 1, inner.config.visibility_ms)
                .await?;
            let Some(delivery) = batch.into_iter().next() else {
                match inner.queue.next_due().await? {
                    Some(due) if jump && inner.clock.is_simulated() && due > now => {
                        inner.clock.advance_to(due);
                        continue;
                    }
                    Some(due) if !inner.clock.is_simulated() && due <= now + 50 => {
                        inner.clock.sleep_until(due).await;
                        continue;
                    }
                    _ => return Ok(report),
                }
            };
            report.processed += 1;
            match self.process(&delivery).await? {
                Applied::Committed => report.committed += 1,
                Applied::Dropped => report.dropped += 1,
            }
        }
        Ok(report)
    }

    /// The worker loop: receives due messages and processes up to
    /// `config.concurrency` of them at once (steps of one execution still
    /// run one at a time; its events that arrive together commit
    /// together), sleeping until the next due message or a send. A message
    /// that fails comes back after a jittered back-off of seconds. Sweeps
    /// the outbox every minute for effects whose claim lapsed, and the
    /// queue's long timers ([`Queue::sweep_timers`]). Returns when
    /// `shutdown` resolves.
    pub async fn run_worker(&self, shutdown: impl std::future::Future<Output = ()>) {
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.inner.config.concurrency.max(1),
        ));
        let mut last_sweep = self.inner.clock.now();
        tokio::pin!(shutdown);
        loop {
            let now = self.inner.clock.now();
            if now - last_sweep > 60_000 {
                last_sweep = now;
                if let Err(e) = self.sweep_outbox(now).await {
                    tracing::warn!(error = %e, "outbox sweep failed; tried again in a minute");
                }
                if let Err(e) = self.inner.queue.sweep_timers(now).await {
                    tracing::warn!(error = %e, "timer sweep failed; tried again in a minute");
                }
            }
            let free = permits.available_permits().max(1);
            // A failing queue is retried on the next turn of the loop.
            let batch = self
                .inner
                .queue
                .receive(now, free, self.inner.config.visibility_ms)
                .await
                .unwrap_or_default();
            let got = batch.len();
            for delivery in batch {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let this = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = this.process(&delivery).await {
                        tracing::warn!(message_id = %delivery.message.id, error = %e, "message failed; retried after a back-off");
                        // If even that fails, the visibility timeout brings it back.
                        let _ = this.retry_later(&delivery.receipt, delivery.attempts).await;
                    }
                    drop(permit);
                });
            }
            if got > 0 {
                continue;
            }
            let next = self.inner.queue.next_due().await.ok().flatten();
            let wait_ms = next
                .map(|d| (d - self.inner.clock.now()).clamp(1, 1000))
                .unwrap_or(1000);
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
            }
        }
    }
}
