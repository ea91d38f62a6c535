//! StartSyncExecution: an Express execution run to its end in memory. No
//! durable rows; callbacks reach it through the service's waiter map.
//! Pending tasks and timers, the step budget and task answers are the
//! engine's [`flowstate_engine::effect_loop`], as in its in-memory driver;
//! what this loop adds is waiting for a callback as well as for the next
//! timer.

use crate::service::{lock_waiters, outbox_entries, ExecutionDescription, StartExecution};
use crate::{names, Service, ServiceError};
use flowstate_engine::effect_loop::{PendingEffects, StepBudget};
use flowstate_engine::{advance_or_fail, EngineError, Env, Event, Status};
use flowstate_ports::{Clock, InvokeContext, Invoker, Queue, Store, WorkflowType};
use tokio::sync::mpsc::UnboundedReceiver;

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// StartSyncExecution: runs an EXPRESS state machine to its end and
    /// returns the outcome. `StateMachineTypeNotSupported` for STANDARD.
    /// Waits use the clock (simulated clocks jump); `.waitForTaskToken`
    /// tasks wait for `send_task_*`.
    pub async fn start_sync_execution(
        &self,
        req: StartExecution,
    ) -> Result<ExecutionDescription, ServiceError> {
        let target = self.machine_for_start_pub(&req.state_machine_arn).await?;
        let sm = &target.sm;
        if sm.kind != WorkflowType::Express {
            return Err(ServiceError::StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine".into(),
            ));
        }
        let name = match &req.name {
            Some(n) => {
                names::check_name(n)?;
                n.clone()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let c = self.config().clone();
        let (region, account) =
            names::region_and_account(&sm.arn).unwrap_or((&c.region, &c.account));
        let arn = names::express_execution_arn(region, account, &sm.name, &name);
        let mut rec = self.new_execution_pub(&target, &req, arn.clone(), name)?;
        let machine = self.machine_pub(&sm.revision_id).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        lock_waiters(&self.inner.sync_waiters).insert(arn.clone(), tx);
        let _cleanup = Cleanup {
            service: self,
            arn: &arn,
        };

        let mut pending = PendingEffects::new();
        let mut budget = StepBudget::default();
        let mut next = Some(Event::Start);
        while rec.execution.status == Status::Running {
            let event = match next.take() {
                Some(e) => e,
                None => match self
                    .next_from_world(&arn, target.test_case.as_deref(), &mut pending, &mut rx)
                    .await
                {
                    Some(e) => e,
                    None => break,
                },
            };
            let now = self.clock().now();
            let env = Env {
                now,
                token_key: &c.token_key,
            };
            let mut candidate = rec.clone();
            match advance_or_fail(
                &mut candidate.execution,
                &machine,
                budget.admit(event),
                &env,
            ) {
                Ok(step) => {
                    rec = candidate;
                    for entry in outbox_entries(&rec, &step.effects, now, false, None) {
                        pending.push(entry.effect, entry.id);
                    }
                }
                Err(EngineError::Stale { .. }) => {}
                Err(e) => return Err(ServiceError::Internal(format!("{arn}: {e}"))),
            }
            // A loop of Pass states waits for nothing between its steps:
            // let the server's other work run in between.
            tokio::task::yield_now().await;
        }
        Ok(crate::service::describe_pub(&rec))
    }

    /// The next event from the world: the next task's answer (tasks waiting
    /// for a callback give none), else a callback, else the next timer or a
    /// callback, whichever comes first. `None` once no callback can come.
    async fn next_from_world(
        &self,
        arn: &str,
        test_case: Option<&str>,
        pending: &mut PendingEffects<String>,
        callbacks: &mut UnboundedReceiver<Event>,
    ) -> Option<Event> {
        loop {
            while let Some(task) = pending.next_task() {
                if crate::activities::is_activity(&task.invocation.resource) {
                    // Its answer comes from a worker, through `callbacks`.
                    let now = self.clock().now();
                    let scheduled = Box::pin(self.schedule_activity_task(
                        arn,
                        task.frame,
                        task.seq,
                        &task.invocation,
                        now,
                    ))
                    .await;
                    if let Err(e) = scheduled {
                        return Some(Event::TaskFailed {
                            frame: task.frame,
                            seq: task.seq,
                            error: flowstate_asl::errors::StatesError::Runtime.name().into(),
                            cause: Some(format!("the activity task cannot be scheduled: {e}")),
                        });
                    }
                    continue;
                }
                let ctx = InvokeContext {
                    execution_arn: arn.to_string(),
                    invocation_id: task.tag,
                    test_case: test_case.map(str::to_string),
                };
                let result = self.invoker().invoke(&ctx, &task.invocation).await;
                if let Some(event) = result.into_event(task.frame, task.seq, &task.invocation) {
                    return Some(event);
                }
            }
            if let Ok(event) = callbacks.try_recv() {
                return Some(event);
            }
            let Some(at) = pending.next_timer().map(|t| t.at) else {
                return callbacks.recv().await;
            };
            tokio::select! {
                event = callbacks.recv() => if event.is_some() {
                    return event;
                },
                _ = self.clock().sleep_until(at) => if let Some(timer) = pending.pop_timer() {
                    return Some(timer.fired());
                },
            }
        }
    }
}

struct Cleanup<'a, S, Q, I, C> {
    service: &'a Service<S, Q, I, C>,
    arn: &'a str,
}

impl<S, Q, I, C> Drop for Cleanup<'_, S, Q, I, C> {
    fn drop(&mut self) {
        lock_waiters(&self.service.inner.sync_waiters).remove(self.arn);
    }
}
