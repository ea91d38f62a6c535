//! The [`StepFunctionsActions`] trait: what the router needs from a runtime.

use crate::error::ApiError;
use crate::shapes::*;
use std::future::Future;

/// One async method per Step Functions action, over the wire shapes.
///
/// The router has already checked what the wire protocol checks (JSON
/// shape, required members, `maxResults` ranges); an implementation checks what
/// needs its data (ARNs, names, definitions, tokens) and answers with the
/// Step Functions error code for it.
///
/// Methods return `impl Future + Send` so that the router stays generic
/// (no boxing per request) and its handlers can run on a multi-threaded
/// runtime.
pub trait StepFunctionsActions: Send + Sync + 'static {
    fn create_state_machine(
        &self,
        input: CreateStateMachineInput,
    ) -> impl Future<Output = Result<CreateStateMachineOutput, ApiError>> + Send;

    fn describe_state_machine(
        &self,
        input: DescribeStateMachineInput,
    ) -> impl Future<Output = Result<DescribeStateMachineOutput, ApiError>> + Send;

    fn update_state_machine(
        &self,
        input: UpdateStateMachineInput,
    ) -> impl Future<Output = Result<UpdateStateMachineOutput, ApiError>> + Send;

    fn delete_state_machine(
        &self,
        input: DeleteStateMachineInput,
    ) -> impl Future<Output = Result<DeleteStateMachineOutput, ApiError>> + Send;

    fn list_state_machines(
        &self,
        input: ListStateMachinesInput,
    ) -> impl Future<Output = Result<ListStateMachinesOutput, ApiError>> + Send;

    /// Idempotent by name: the same name with the same input returns the
    /// existing execution while it runs; a different input, or a name
    /// whose execution has ended, is `ExecutionAlreadyExists`.
    fn start_execution(
        &self,
        input: StartExecutionInput,
    ) -> impl Future<Output = Result<StartExecutionOutput, ApiError>> + Send;

    /// Runs an Express execution to its end and returns its result.
    fn start_sync_execution(
        &self,
        input: StartSyncExecutionInput,
    ) -> impl Future<Output = Result<StartSyncExecutionOutput, ApiError>> + Send;

    fn describe_execution(
        &self,
        input: DescribeExecutionInput,
    ) -> impl Future<Output = Result<DescribeExecutionOutput, ApiError>> + Send;

    fn list_executions(
        &self,
        input: ListExecutionsInput,
    ) -> impl Future<Output = Result<ListExecutionsOutput, ApiError>> + Send;

    fn get_execution_history(
        &self,
        input: GetExecutionHistoryInput,
    ) -> impl Future<Output = Result<GetExecutionHistoryOutput, ApiError>> + Send;

    fn stop_execution(
        &self,
        input: StopExecutionInput,
    ) -> impl Future<Output = Result<StopExecutionOutput, ApiError>> + Send;

    fn send_task_success(
        &self,
        input: SendTaskSuccessInput,
    ) -> impl Future<Output = Result<SendTaskSuccessOutput, ApiError>> + Send;

    fn send_task_failure(
        &self,
        input: SendTaskFailureInput,
    ) -> impl Future<Output = Result<SendTaskFailureOutput, ApiError>> + Send;

    fn send_task_heartbeat(
        &self,
        input: SendTaskHeartbeatInput,
    ) -> impl Future<Output = Result<SendTaskHeartbeatOutput, ApiError>> + Send;

    fn describe_state_machine_for_execution(
        &self,
        input: DescribeStateMachineForExecutionInput,
    ) -> impl Future<Output = Result<DescribeStateMachineForExecutionOutput, ApiError>> + Send;

    /// RedriveExecution; a runtime without it answers `UnknownOperationException`.
    fn redrive_execution(
        &self,
        _input: RedriveExecutionInput,
    ) -> impl Future<Output = Result<RedriveExecutionOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("RedriveExecution")))
    }

    // Versions, aliases and tags: a runtime without them answers
    // `UnknownOperationException`, as for any action it lacks.

    fn publish_state_machine_version(
        &self,
        _input: PublishStateMachineVersionInput,
    ) -> impl Future<Output = Result<PublishStateMachineVersionOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("PublishStateMachineVersion")))
    }

    fn list_state_machine_versions(
        &self,
        _input: ListStateMachineVersionsInput,
    ) -> impl Future<Output = Result<ListStateMachineVersionsOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("ListStateMachineVersions")))
    }

    fn delete_state_machine_version(
        &self,
        _input: DeleteStateMachineVersionInput,
    ) -> impl Future<Output = Result<DeleteStateMachineVersionOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("DeleteStateMachineVersion")))
    }

    fn create_state_machine_alias(
        &self,
        _input: CreateStateMachineAliasInput,
    ) -> impl Future<Output = Result<CreateStateMachineAliasOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("CreateStateMachineAlias")))
    }

    fn describe_state_machine_alias(
        &self,
        _input: DescribeStateMachineAliasInput,
    ) -> impl Future<Output = Result<DescribeStateMachineAliasOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("DescribeStateMachineAlias")))
    }

    fn update_state_machine_alias(
        &self,
        _input: UpdateStateMachineAliasInput,
    ) -> impl Future<Output = Result<UpdateStateMachineAliasOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("UpdateStateMachineAlias")))
    }

    fn delete_state_machine_alias(
        &self,
        _input: DeleteStateMachineAliasInput,
    ) -> impl Future<Output = Result<DeleteStateMachineAliasOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("DeleteStateMachineAlias")))
    }

    fn list_state_machine_aliases(
        &self,
        _input: ListStateMachineAliasesInput,
    ) -> impl Future<Output = Result<ListStateMachineAliasesOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("ListStateMachineAliases")))
    }

    fn tag_resource(
        &self,
        _input: TagResourceInput,
    ) -> impl Future<Output = Result<TagResourceOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("TagResource")))
    }

    fn untag_resource(
        &self,
        _input: UntagResourceInput,
    ) -> impl Future<Output = Result<UntagResourceOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("UntagResource")))
    }

    fn list_tags_for_resource(
        &self,
        _input: ListTagsForResourceInput,
    ) -> impl Future<Output = Result<ListTagsForResourceOutput, ApiError>> + Send {
        std::future::ready(Err(ApiError::unsupported("ListTagsForResource")))
    }

    /// Pure by default ([`crate::validate_state_machine_definition`]): a
    /// runtime overrides it only to add checks of its own.
    fn validate_state_machine_definition(
        &self,
        input: ValidateStateMachineDefinitionInput,
    ) -> impl Future<Output = Result<ValidateStateMachineDefinitionOutput, ApiError>> + Send {
        std::future::ready(crate::validate::validate_state_machine_definition(&input))
    }

    /// TestState with mocks only ([`crate::test_state`]): a Task without a
    /// mock fails, since this implementation performs no tasks. A runtime
    /// overrides it to perform them with its invoker.
    fn test_state(
        &self,
        input: TestStateInput,
    ) -> impl Future<Output = Result<TestStateOutput, ApiError>> + Send {
        let (region, account) = flowstate_runtime::names::scoped("us-east-1", "123456789012");
        let env = crate::test_state::TestStateEnv {
            region,
            account,
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        };
        crate::test_state::test_state(input, env, crate::test_state::no_invoker)
    }

    // ---- activities (`activities.rs`): a runtime without them answers
    // `UnknownOperationException`, as the router does for any action it
    // does not know.

    fn create_activity(
        &self,
        input: CreateActivityInput,
    ) -> impl Future<Output = Result<CreateActivityOutput, ApiError>> + Send {
        let _ = input;
        std::future::ready(Err(ApiError::unsupported("CreateActivity")))
    }

    fn describe_activity(
        &self,
        input: DescribeActivityInput,
    ) -> impl Future<Output = Result<DescribeActivityOutput, ApiError>> + Send {
        let _ = input;
        std::future::ready(Err(ApiError::unsupported("DescribeActivity")))
    }

    fn delete_activity(
        &self,
        input: DeleteActivityInput,
    ) -> impl Future<Output = Result<DeleteActivityOutput, ApiError>> + Send {
        let _ = input;
        std::future::ready(Err(ApiError::unsupported("DeleteActivity")))
    }

    fn list_activities(
        &self,
        input: ListActivitiesInput,
    ) -> impl Future<Output = Result<ListActivitiesOutput, ApiError>> + Send {
        let _ = input;
        std::future::ready(Err(ApiError::unsupported("ListActivities")))
    }

    /// Long-polls (up to 60 seconds) for a task of the activity.
    fn get_activity_task(
        &self,
        input: GetActivityTaskInput,
    ) -> impl Future<Output = Result<GetActivityTaskOutput, ApiError>> + Send {
        let _ = input;
        std::future::ready(Err(ApiError::unsupported("GetActivityTask")))
    }
}
