//! [`LocalInvoker`]: the runtime's [`Invoker`] port over local handlers and
//! mocked responses, for a server (`flowstate serve`) that performs the
//! tasks of many executions at once.

use std::future::Future;
use std::sync::Arc;

use flowstate_asl::errors::{Failure, StatesError};
use flowstate_engine::{TaskInvocation, TaskResult};
use flowstate_ports::{InvokeContext, Invoker};

use crate::mock::{InvocationCounters, MockConfig};
use crate::{HandlerLog, LocalTasks, TaskConfig};

/// Performs Task states: a mocked response when the execution runs a test
/// case that mocks the state, else the `flowstate.toml` handler (on a
/// blocking thread: handlers run processes and make blocking HTTP calls).
///
/// Unlike `flowstate run`, a server has callers who can answer: a
/// `.waitForTaskToken` task that no entry handles waits for
/// SendTaskSuccess/Failure with its token instead of failing. A mapped
/// handler still answers for the callback, as with `flowstate run`.
#[derive(Debug)]
pub struct LocalInvoker {
    tasks: TaskConfig,
    /// The mock config and, per execution and state, how many times each
    /// was invoked (which mocked response answers).
    mocks: Option<Arc<(MockConfig, InvocationCounters)>>,
    log: HandlerLog,
}

impl LocalInvoker {
    /// Executions started on `STATE_MACHINE_ARN#TestCase` are answered
    /// from `mocks`. Handlers' stderr lines go to `tracing`.
    pub fn new(tasks: TaskConfig, mocks: Option<MockConfig>) -> LocalInvoker {
        LocalInvoker {
            tasks,
            mocks: mocks.map(|config| Arc::new((config, InvocationCounters::new()))),
            log: HandlerLog::default(),
        }
    }

    /// Sends command handlers' stderr lines to `log` instead.
    pub fn with_log(mut self, log: HandlerLog) -> LocalInvoker {
        self.log = log;
        self
    }

    /// The mocked answer, or `None` when the real handler performs the task.
    fn mocked(&self, context: &InvokeContext, task: &TaskInvocation) -> Option<TaskResult> {
        let case = context.test_case.as_deref()?;
        let Some(mocks) = &self.mocks else {
            return Some(TaskResult::Failed(Failure::states(
                StatesError::Runtime,
                format!("the execution runs test case '{case}' but flowstate serve was started without --mock-config"),
            )));
        };
        let (config, counters) = &**mocks;
        // arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME
        let machine = context.execution_arn.split(':').nth(6).unwrap_or_default();
        match config.for_execution(machine, case) {
            Ok(case) if case.mocks(&task.state_name) => {
                let n = counters.next(
                    &context.execution_arn,
                    &task.state_name,
                    &context.invocation_id,
                );
                case.answer(&task.state_name, n)
            }
            Ok(_) => None,
            Err(e) => Some(TaskResult::Failed(Failure::states(
                StatesError::Runtime,
                e.to_string(),
            ))),
        }
    }
}

impl Invoker for LocalInvoker {
    fn invoke(
        &self,
        context: &InvokeContext,
        task: &TaskInvocation,
    ) -> impl Future<Output = TaskResult> + Send {
        let mocked = self.mocked(context, task);
        let tasks = self.tasks.clone();
        let log = self.log.clone();
        let task = task.clone();
        async move {
            if let Some(r) = mocked {
                return r;
            }
            let waits = task.task_token.is_some();
            let performed = tokio::task::spawn_blocking(move || {
                LocalTasks::new(tasks).with_log(log).perform(&task)
            })
            .await;
            match performed {
                Ok(Ok(result)) => result,
                Ok(Err(_unmapped)) if waits => TaskResult::AwaitingCallback,
                Ok(Err(unmapped)) => TaskResult::Failed(unmapped.into_failure()),
                Err(e) => TaskResult::Failed(Failure::states(
                    StatesError::TaskFailed,
                    format!("the task handler stopped unexpectedly: {e}"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn task(resource: &str, task_token: Option<&str>) -> TaskInvocation {
        TaskInvocation {
            resource: resource.into(),
            parameters: json!({}),
            task_token: task_token.map(str::to_string),
            state_name: "Ask".into(),
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:e1".into(),
            timeout_seconds: None,
            heartbeat_seconds: None,
        }
    }

    fn context(test_case: Option<&str>) -> InvokeContext {
        InvokeContext {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:e1".into(),
            invocation_id: "i1".into(),
            test_case: test_case.map(str::to_string),
        }
    }

    fn invoker(mocks: Option<MockConfig>) -> LocalInvoker {
        LocalInvoker::new(TaskConfig::empty("/project/flowstate.toml"), mocks)
            .with_log(HandlerLog::Discard)
    }

    #[tokio::test]
    async fn an_unmapped_callback_task_waits_and_any_other_fails() {
        let invoker = invoker(None);
        let waits = invoker
            .invoke(
                &context(None),
                &task(
                    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    Some("t"),
                ),
            )
            .await;
        assert_eq!(waits, TaskResult::AwaitingCallback);
        let TaskResult::Failed(failure) = invoker
            .invoke(
                &context(None),
                &task("arn:aws:states:::sqs:sendMessage", None),
            )
            .await
        else {
            panic!("an unmapped task without a token must fail")
        };
        assert_eq!(failure.error, "States.TaskFailed");
        assert!(failure
            .cause
            .is_some_and(|c| c.starts_with("No local handler for the resource")));
    }

    #[tokio::test]
    async fn test_cases_are_answered_from_the_mock_config() {
        let mocks = MockConfig::parse(
            &json!({
                "StateMachines": {"M": {"TestCases": {"T": {"Ask": "Yes"}}}},
                "MockedResponses": {"Yes": {"0": {"Return": {"ok": true}}}}
            })
            .to_string(),
            Path::new("/project/MockConfigFile.json"),
        )
        .unwrap();
        let mocked = invoker(Some(mocks))
            .invoke(
                &context(Some("T")),
                &task("arn:aws:states:::sqs:sendMessage", None),
            )
            .await;
        assert_eq!(mocked, TaskResult::Succeeded(json!({"ok": true})));
        let TaskResult::Failed(failure) = invoker(None)
            .invoke(
                &context(Some("T")),
                &task("arn:aws:states:::sqs:sendMessage", None),
            )
            .await
        else {
            panic!("a test case without a mock config must fail")
        };
        assert_eq!(failure.error, "States.Runtime");
    }
}
