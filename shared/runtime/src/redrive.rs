//! RedriveExecution: an ended Standard execution runs again from the state
//! that did not finish, under the same ARN. The point to resume from is
//! rebuilt from the execution's history by the engine
//! ([`flowstate_engine::redrive_point`]); the redrive is one step,
//! committed on the header's version like every other, so a crash after
//! the answer loses nothing.

use crate::cache::Cached;
use crate::service::Service;
use crate::ServiceError;
use flowstate_engine::history::HistoryEvent;
use flowstate_engine::{redrivable, redrive, redrive_point, Env, Execution, NotRedrivable};
use flowstate_ports::{
    Clock, ExecutionRecord, HistoryQuery, Invoker, Queue, Store, StoreError, WorkflowType,
    REDRIVE_TOKENS_KEPT,
};

/// How long after its end an execution may be redriven (AWS: 14 days).
pub const REDRIVE_PERIOD_MS: i64 = 14 * 24 * 3600 * 1000;

/// Commits tried before a redrive gives up on an execution others keep changing.
const MAX_REDRIVE_ATTEMPTS: usize = 5;

/// DescribeExecution's `redriveStatus` and, when not redrivable, its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveStatus {
    Redrivable,
    NotRedrivable(String),
}

impl RedriveStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RedriveStatus::Redrivable => "REDRIVABLE",
            RedriveStatus::NotRedrivable(_) => "NOT_REDRIVABLE",
        }
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            RedriveStatus::Redrivable => None,
            RedriveStatus::NotRedrivable(r) => Some(r),
        }
    }
}

/// What the execution record alone says about redriving it at `now`
/// (the history and the definition are checked by RedriveExecution).
pub fn redrive_status(rec: &ExecutionRecord, now: i64) -> RedriveStatus {
    match check(rec, now) {
        Ok(()) => RedriveStatus::Redrivable,
        Err(NotRedrivable(reason)) => RedriveStatus::NotRedrivable(reason),
    }
}

fn check(rec: &ExecutionRecord, now: i64) -> Result<(), NotRedrivable> {
    if rec.meta.kind == WorkflowType::Express {
        return Err(NotRedrivable(
            "Express executions cannot be redriven.".into(),
        ));
    }
    let e: &Execution = &rec.execution;
    redrivable(e, now)?;
    if e.stop_time
        .is_some_and(|stop| now.saturating_sub(stop) > REDRIVE_PERIOD_MS)
    {
        return Err(NotRedrivable(
            "Execution redrivable period exceeded.".into(),
        ));
    }
    Ok(())
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// RedriveExecution: restarts a FAILED, ABORTED or TIMED_OUT Standard
    /// execution from the state that did not finish; returns the redrive
    /// date. The same `client_token` as one of the latest redrives answers
    /// that redrive's date again. `ExecutionNotRedrivable` with AWS's
    /// reason otherwise.
    pub async fn redrive_execution(
        &self,
        arn: &str,
        client_token: Option<&str>,
    ) -> Result<i64, ServiceError> {
        crate::names::check_execution_arn(arn)?;
        for _ in 0..MAX_REDRIVE_ATTEMPTS {
            let mut rec = self
                .inner
                .store
                .load_execution(arn, true)
                .await?
                .ok_or_else(|| ServiceError::ExecutionDoesNotExist(arn.into()))?;
            if let (Some(token), Some(date)) = (client_token, rec.meta.redrive_date) {
                if rec.meta.redrive_tokens.iter().any(|t| t == token) {
                    return Ok(date);
                }
            }
            let now = self.inner.clock.now();
            check(&rec, now).map_err(not_redrivable)?;
            if self
                .inner
                .store
                .get_state_machine(&rec.execution.info.state_machine_arn)
                .await?
                .is_none()
            {
                return Err(not_redrivable(NotRedrivable(
                    "State machine is in DELETING status.".into(),
                )));
            }
            let machine = self.machine(&rec.meta.revision_id).await?;
            let history = self.whole_history(arn).await?;
            let point = redrive_point(&machine, &history).map_err(not_redrivable)?;
            let expected = rec.execution.version;
            let env = Env {
                now,
                token_key: &self.inner.config.token_key,
            };
            let step =
                redrive(&mut rec.execution, &machine, point, &env).map_err(not_redrivable)?;
            rec.meta.redrive_date = Some(now);
            if let Some(token) = client_token {
                rec.meta.redrive_tokens.push(token.to_string());
                let excess = rec
                    .meta
                    .redrive_tokens
                    .len()
                    .saturating_sub(REDRIVE_TOKENS_KEPT);
                rec.meta.redrive_tokens.drain(..excess);
            }
            let salt = uuid::Uuid::new_v4().simple().to_string();
            let outbox = self.claimed_outbox(&rec, &step, now, &salt[..8]);
            let write = crate::apply::step_write(&step, &outbox);
            // A copy cached from before would be behind the store.
            self.inner.cache.remove(arn);
            match self.inner.store.commit_step(&rec, expected, &write).await {
                Ok(()) => {}
                // Someone else changed it (another redrive): decide again.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
            tracing::info!(execution_arn = %arn, redrive_count = rec.execution.redrive_count, "execution redriven");
            // Accepted: what is not performed now stays in the outbox.
            if let Err(e) = self.after_commit(Cached::new(rec), outbox).await {
                tracing::warn!(execution_arn = %arn, error = %e, "effects left to the outbox sweep");
            }
            return Ok(now);
        }
        Err(ServiceError::Internal(format!(
            "{arn}: too many concurrent updates"
        )))
    }

    /// Every history event of an execution, oldest first.
    async fn whole_history(&self, arn: &str) -> Result<Vec<HistoryEvent>, ServiceError> {
        const PAGE: usize = 1000;
        let mut all: Vec<HistoryEvent> = Vec::new();
        loop {
            let query = HistoryQuery {
                after: all.last().map(|e| e.id),
                limit: PAGE,
                reverse: false,
            };
            let page = self.inner.store.history(arn, &query).await?;
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }
}

fn not_redrivable(e: NotRedrivable) -> ServiceError {
    ServiceError::ExecutionNotRedrivable(e.0)
}
