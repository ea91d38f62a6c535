//! What happens when an execution ends, beyond its final step: a `.sync`
//! parent's task is answered, and the status change is published. Both run
//! from the `Finished` outbox entry, so they happen at least once even if
//! the process dies right after the final commit.

use crate::children::child_outcome;
use crate::{Service, ServiceError};
use flowstate_engine::{Event, Status};
use flowstate_ports::{
    Clock, ExecutionRecord, Invoker, MessageBody, OutboxEntry, Queue, QueueMessage, StatusChange,
    Store,
};

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// Whether a step that ends `rec` keeps its `Finished` effect in the
    /// outbox (only when someone is told: the write costs on DynamoDB).
    pub(crate) fn keeps_finished(&self, rec: &ExecutionRecord) -> bool {
        rec.meta.parent.is_some() || self.inner.notifier.get().is_some()
    }

    /// Performs a `Finished` outbox entry, from `ended` when that is the
    /// execution's final record (the step that ended it), else from the
    /// stored header.
    pub(crate) async fn finished(
        &self,
        entry: &OutboxEntry,
        ended: Option<&ExecutionRecord>,
    ) -> Result<(), ServiceError> {
        let loaded;
        let rec = match ended.filter(|r| r.execution.info.arn == entry.execution_arn) {
            Some(rec) => rec,
            None => match self
                .inner
                .store
                .load_execution(&entry.execution_arn, false)
                .await?
            {
                Some(stored) => {
                    loaded = stored;
                    &loaded
                }
                None => return Ok(()),
            },
        };
        if rec.execution.status == Status::Running {
            // Not an end: an entry no committed step made.
            tracing::warn!(execution_arn = %entry.execution_arn, "a Finished entry of a running execution: ignored");
            return Ok(());
        }
        if let Some(parent) = &rec.meta.parent {
            let outcome = child_outcome(rec, parent.json_output);
            let event = match rec.execution.status {
                Status::Succeeded => Event::TaskSucceeded {
                    frame: parent.frame,
                    seq: parent.seq,
                    output: outcome,
                },
                // Step Functions fails a `.sync` task whose child did not
                // succeed with States.TaskFailed, the child's description
                // as the cause.
                _ => Event::TaskFailed {
                    frame: parent.frame,
                    seq: parent.seq,
                    error: "States.TaskFailed".into(),
                    cause: Some(outcome.to_string()),
                },
            };
            let message = QueueMessage {
                id: format!("{}#parent", rec.execution.info.arn),
                execution_arn: parent.execution_arn.clone(),
                due: self.inner.clock.now(),
                body: MessageBody::Event(event),
            };
            self.inner.queue.send(&message).await?;
            self.inner.wake.notify_one();
        }
        if let Some(notifier) = self.inner.notifier.get() {
            notifier.notify(&status_change(rec)).await?;
        }
        Ok(())
    }
}

/// The published status change of an ended execution.
pub fn status_change(rec: &ExecutionRecord) -> StatusChange {
    let e = &rec.execution;
    StatusChange {
        execution_arn: e.info.arn.clone(),
        state_machine_arn: e.info.state_machine_arn.clone(),
        name: e.info.name.clone(),
        status: e.status.as_str().to_string(),
        start_date: e.info.start_time,
        stop_date: e.stop_time,
        input: Some(e.info.input.to_string()),
        output: e.output.as_ref().map(|o| o.to_string()),
        error: e.error.clone(),
        cause: e.cause.clone(),
    }
}
