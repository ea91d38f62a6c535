//! StartSyncExecution: an Express execution run to its end in memory. No
//! durable rows; callbacks reach it through the service's waiter map.

use crate::service::{lock_waiters, outbox_entries, ExecutionDescription, StartExecution};
use crate::{names, Service, ServiceError};
use flowstate_engine::{advance, Effect, EngineError, Env, Event, Status};
use flowstate_ports::{Clock, InvokeContext, Invoker, Queue, Store, TaskResult, WorkflowType};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Steps after which a sync execution is stopped as a livelock.
const MAX_STEPS: u64 = 10_000_000;

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// StartSyncExecution: runs an EXPRESS state machine to its end and
    /// returns the outcome. `StateMachineTypeNotSupported` for STANDARD.
    /// Waits use the clock (simulated clocks jump); `.waitForTaskToken`
    /// tasks wait for `send_task_*`.
    pub async fn start_sync_execution(
        &self,
        req: StartExecution,
    ) -> Result<ExecutionDescription, ServiceError> {
        let (sm, test_case) = self.machine_for_start_pub(&req.state_machine_arn).await?;
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
        let arn = format!(
            "arn:aws:states:{}:{}:express:{}:{}:{}",
            c.region,
            c.account,
            sm.name,
            name,
            uuid::Uuid::new_v4()
        );
        let mut rec = self.new_execution_pub(&sm, &req, test_case.as_deref(), arn.clone(), name)?;
        let machine = self.machine_pub(&sm.revision_id).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        lock_waiters(&self.inner.sync_waiters).insert(arn.clone(), tx);
        let _cleanup = Cleanup {
            service: self,
            arn: &arn,
        };

        let mut tasks = VecDeque::new();
        let mut timers = BinaryHeap::new();
        let mut order = 0u64;
        let mut next = Some(Event::Start);
        let mut steps = 0u64;
        while rec.execution.status == Status::Running {
            let event = match next.take() {
                Some(e) => e,
                None => {
                    if let Some((frame, seq, invocation, id)) = tasks.pop_front() {
                        let ctx = InvokeContext {
                            execution_arn: arn.clone(),
                            invocation_id: id,
                            test_case: test_case.clone(),
                        };
                        match self.invoker().invoke(&ctx, &invocation).await {
                            TaskResult::Succeeded(output) => {
                                Event::TaskSucceeded { frame, seq, output }
                            }
                            TaskResult::Failed(f) => Event::TaskFailed {
                                frame,
                                seq,
                                error: f.error,
                                cause: f.cause,
                            },
                            TaskResult::AwaitingCallback => continue,
                        }
                    } else if let Ok(e) = rx.try_recv() {
                        e
                    } else if let Some(Reverse((at, _, frame, seq, timer))) = timers.peek().cloned()
                    {
                        tokio::select! {
                            e = rx.recv() => match e { Some(e) => e, None => continue },
                            _ = self.clock().sleep_until(at) => {
                                timers.pop();
                                Event::TimerFired { frame, seq, timer: timer_of(timer) }
                            }
                        }
                    } else {
                        match rx.recv().await {
                            Some(e) => e,
                            None => break,
                        }
                    }
                }
            };
            steps += 1;
            let event = if steps > MAX_STEPS {
                Event::Stop {
                    error: Some("States.Runtime".into()),
                    cause: Some("step budget exhausted".into()),
                }
            } else {
                event
            };
            let now = self.clock().now();
            let env = Env {
                now,
                token_key: &c.token_key,
            };
            let mut candidate = rec.clone();
            match advance(&mut candidate.execution, &machine, event, &env) {
                Ok(step) => {
                    rec = candidate;
                    for entry in outbox_entries(&rec, &step.effects, now, false) {
                        match entry.effect {
                            Effect::InvokeTask {
                                frame,
                                seq,
                                invocation,
                            } => tasks.push_back((frame, seq, invocation, entry.id)),
                            Effect::ScheduleTimer {
                                frame,
                                seq,
                                timer,
                                at,
                            } => {
                                order += 1;
                                timers.push(Reverse((at, order, frame, seq, timer_key(timer))));
                            }
                            Effect::Finished { .. } => {}
                        }
                    }
                }
                Err(EngineError::Stale { .. }) => {}
                Err(e) => return Err(ServiceError::Internal(format!("{arn}: {e}"))),
            }
        }
        Ok(crate::service::describe_pub(&rec))
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

fn timer_key(t: flowstate_engine::Timer) -> u8 {
    use flowstate_engine::Timer::*;
    match t {
        WaitState => 0,
        Retry => 1,
        TaskTimeout => 2,
        Heartbeat => 3,
        ExecutionTimeout => 4,
    }
}

fn timer_of(k: u8) -> flowstate_engine::Timer {
    use flowstate_engine::Timer::*;
    match k {
        0 => WaitState,
        1 => Retry,
        2 => TaskTimeout,
        3 => Heartbeat,
        _ => ExecutionTimeout,
    }
}
