//! [`StepFunctionsActions`] for the runtime's [`Service`]: the wire shapes to the
//! Service's requests and back, and [`ServiceError`]s to [`ApiError`]s.
//!
//! Generic over the ports, so the local server (embedded store) and the
//! API Lambda (DynamoDB + SQS) share it.

use crate::error::{ApiError, ErrorCode};
use crate::shapes::*;
use crate::StepFunctionsActions;
use flowstate_engine::Status;
use flowstate_ports::{
    Clock, InvokeContext, Invoker, MachineConfiguration, PageRequest, Queue, StateMachineRecord,
    Store, WorkflowType,
};
use flowstate_runtime::{
    CreateStateMachine, ExecutionDescription, HistoryRequest, Service, ServiceError,
    StartExecution, UpdateStateMachine,
};
use serde_json::{json, Value};

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let code = ErrorCode::from_name(e.code()).unwrap_or(if e.is_client_error() {
            ErrorCode::ValidationException
        } else {
            ErrorCode::InternalFailure
        });
        ApiError::new(code, e.to_string())
    }
}

fn kind(t: Option<StateMachineType>) -> WorkflowType {
    match t.unwrap_or_default() {
        StateMachineType::Standard => WorkflowType::Standard,
        StateMachineType::Express => WorkflowType::Express,
    }
}

fn wire_type(k: WorkflowType) -> StateMachineType {
    match k {
        WorkflowType::Standard => StateMachineType::Standard,
        WorkflowType::Express => StateMachineType::Express,
    }
}

fn wire_status(s: Status) -> ExecutionStatus {
    match s {
        Status::Running => ExecutionStatus::Running,
        Status::Succeeded => ExecutionStatus::Succeeded,
        Status::Failed => ExecutionStatus::Failed,
        Status::TimedOut => ExecutionStatus::TimedOut,
        Status::Aborted => ExecutionStatus::Aborted,
    }
}

/// `maxResults` as a page size: the router has bounded it to 0..=1000,
/// and 0 means the Service's default.
pub(crate) fn page(max_results: Option<i64>, next_token: Option<String>) -> PageRequest {
    PageRequest {
        max_results: max_results.unwrap_or(0).clamp(0, 1000) as usize,
        next_token,
    }
}

/// What Step Functions reports for a state machine created without logging
/// or tracing settings; tools that read these members expect them present.
fn default_logging() -> Value {
    json!({"level": "OFF", "includeExecutionData": false})
}

fn default_tracing() -> Value {
    json!({"enabled": false})
}

fn details(included: bool) -> Option<CloudWatchEventsExecutionDataDetails> {
    Some(CloudWatchEventsExecutionDataDetails { included })
}

/// Input and output members of DescribeExecution and StartSyncExecution:
/// `METADATA_ONLY` leaves the data out and says so in the `*Details`.
fn data(
    d: &ExecutionDescription,
    included: Option<IncludedData>,
) -> (Option<String>, Option<String>, bool) {
    let all = included.unwrap_or_default() == IncludedData::AllData;
    let input = all.then(|| d.input.to_string());
    let output = match (&d.output, d.status) {
        (Some(o), Status::Succeeded) if all => Some(o.to_string()),
        _ => None,
    };
    (input, output, all)
}

/// The settings a state machine was given, or Step Functions' defaults.
fn settings(sm: &StateMachineRecord) -> (Value, Value, Option<Value>) {
    let c = &sm.configuration;
    (
        c.logging.clone().unwrap_or_else(default_logging),
        c.tracing.clone().unwrap_or_else(default_tracing),
        c.encryption.clone(),
    )
}

/// `versionDescription` is only for a publishing request.
fn check_publish(publish: Option<bool>, description: &Option<String>) -> Result<(), ApiError> {
    if description.is_some() && !publish.unwrap_or(false) {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    crate::check_len("versionDescription", description.as_deref(), 256)
}

/// With `publish`, the version of the revision `sm` just stored (the
/// revision checked, so that a concurrent update is not published as it).
async fn publish<S: Store, Q: Queue, I: Invoker, C: Clock>(
    service: &Service<S, Q, I, C>,
    publish: Option<bool>,
    sm: &StateMachineRecord,
    description: Option<String>,
) -> Result<Option<String>, ApiError> {
    if publish != Some(true) {
        return Ok(None);
    }
    let v = service
        .publish_state_machine_version(&sm.arn, Some(&sm.revision_id), description)
        .await?;
    Ok(Some(v.arn))
}

fn describe_machine(sm: StateMachineRecord) -> DescribeStateMachineOutput {
    let (logging, tracing, encryption) = settings(&sm);
    DescribeStateMachineOutput {
        state_machine_arn: sm.arn,
        name: sm.name,
        status: Some(StateMachineStatus::Active),
        definition: sm.definition,
        role_arn: sm.role_arn,
        r#type: wire_type(sm.kind),
        creation_date: Timestamp(sm.creation_date),
        logging_configuration: Some(logging),
        tracing_configuration: Some(tracing),
        label: None,
        revision_id: Some(sm.revision_id),
        description: sm.description,
        encryption_configuration: encryption,
    }
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> StepFunctionsActions for Service<S, Q, I, C> {
    async fn create_state_machine(
        &self,
        i: CreateStateMachineInput,
    ) -> Result<CreateStateMachineOutput, ApiError> {
        check_publish(i.publish, &i.version_description)?;
        let tags = crate::versions::tag_map(i.tags.unwrap_or_default());
        if tags.len() > flowstate_runtime::MAX_TAGS {
            return Err(ServiceError::TooManyTags(i.name).into());
        }
        let configuration = MachineConfiguration {
            logging: i.logging_configuration,
            tracing: i.tracing_configuration,
            encryption: i.encryption_configuration,
        };
        let (sm, created) = Service::create_configured_state_machine(
            self,
            CreateStateMachine {
                name: i.name,
                definition: i.definition,
                role_arn: i.role_arn,
                kind: kind(i.r#type),
                description: None,
            },
            configuration,
        )
        .await?;
        // Tags of a repeated (idempotent) request are not applied, as on AWS.
        if created && !tags.is_empty() {
            Service::tag_resource(self, &sm.arn, tags).await?;
        }
        let version = publish(self, i.publish, &sm, i.version_description).await?;
        Ok(CreateStateMachineOutput {
            state_machine_arn: sm.arn,
            creation_date: Timestamp(sm.creation_date),
            state_machine_version_arn: version,
        })
    }

    async fn describe_state_machine(
        &self,
        i: DescribeStateMachineInput,
    ) -> Result<DescribeStateMachineOutput, ApiError> {
        Ok(describe_machine(
            Service::describe_state_machine(self, &i.state_machine_arn).await?,
        ))
    }

    async fn update_state_machine(
        &self,
        i: UpdateStateMachineInput,
    ) -> Result<UpdateStateMachineOutput, ApiError> {
        check_publish(i.publish, &i.version_description)?;
        if i.definition.is_none()
            && i.role_arn.is_none()
            && i.logging_configuration.is_none()
            && i.tracing_configuration.is_none()
            && i.encryption_configuration.is_none()
        {
            // As Step Functions: an update must change something.
            return Err(ApiError::new(
                ErrorCode::MissingRequiredParameter,
                "Either the definition, the roleArn, the loggingConfiguration or the tracingConfiguration must be specified",
            ));
        }
        let sm = Service::update_state_machine(
            self,
            &i.state_machine_arn,
            UpdateStateMachine {
                definition: i.definition,
                role_arn: i.role_arn,
                description: None,
                logging: i.logging_configuration,
                tracing: i.tracing_configuration,
                encryption: i.encryption_configuration,
            },
        )
        .await?;
        let version = publish(self, i.publish, &sm, i.version_description).await?;
        Ok(UpdateStateMachineOutput {
            update_date: Timestamp(sm.update_date),
            revision_id: Some(sm.revision_id),
            state_machine_version_arn: version,
        })
    }

    async fn delete_state_machine(
        &self,
        i: DeleteStateMachineInput,
    ) -> Result<DeleteStateMachineOutput, ApiError> {
        Service::delete_state_machine(self, &i.state_machine_arn).await?;
        Ok(DeleteStateMachineOutput {})
    }

    async fn list_state_machines(
        &self,
        i: ListStateMachinesInput,
    ) -> Result<ListStateMachinesOutput, ApiError> {
        let p = Service::list_state_machines(self, page(i.max_results, i.next_token)).await?;
        Ok(ListStateMachinesOutput {
            state_machines: p
                .items
                .into_iter()
                .map(|sm| StateMachineListItem {
                    state_machine_arn: sm.arn,
                    name: sm.name,
                    r#type: wire_type(sm.kind),
                    creation_date: Timestamp(sm.creation_date),
                })
                .collect(),
            next_token: p.next_token,
        })
    }

    async fn start_execution(
        &self,
        i: StartExecutionInput,
    ) -> Result<StartExecutionOutput, ApiError> {
        let started = Service::start_execution(
            self,
            StartExecution {
                state_machine_arn: i.state_machine_arn,
                name: i.name,
                input: i.input,
                parent: None,
                trace_header: i.trace_header,
            },
        )
        .await?;
        Ok(StartExecutionOutput {
            execution_arn: started.execution_arn,
            start_date: Timestamp(started.start_date),
        })
    }

    async fn start_sync_execution(
        &self,
        i: StartSyncExecutionInput,
    ) -> Result<StartSyncExecutionOutput, ApiError> {
        let d = Service::start_sync_execution(
            self,
            StartExecution {
                state_machine_arn: i.state_machine_arn,
                name: i.name,
                input: i.input,
                parent: None,
                trace_header: i.trace_header.clone(),
            },
        )
        .await?;
        let status = match d.status {
            Status::Succeeded => SyncExecutionStatus::Succeeded,
            Status::TimedOut => SyncExecutionStatus::TimedOut,
            // A sync execution cannot be stopped from outside; anything
            // else that ended it is a failure as far as the caller knows.
            Status::Failed | Status::Aborted | Status::Running => SyncExecutionStatus::Failed,
        };
        let (input, output, all) = data(&d, i.included_data);
        let stop = d.stop_date.unwrap_or(d.start_date);
        Ok(StartSyncExecutionOutput {
            execution_arn: d.execution_arn,
            state_machine_arn: Some(d.state_machine_arn),
            name: Some(d.name),
            start_date: Timestamp(d.start_date),
            stop_date: Timestamp(stop),
            status,
            error: d.error,
            cause: d.cause,
            input,
            input_details: details(all),
            output_details: output
                .as_ref()
                .map(|_| CloudWatchEventsExecutionDataDetails { included: true }),
            output,
            trace_header: i.trace_header,
            // Express bills 64 MB steps by the millisecond, at least 100 ms.
            billing_details: Some(BillingDetails {
                billed_memory_used_in_mb: 64,
                billed_duration_in_milliseconds: (stop - d.start_date).max(100),
            }),
        })
    }

    async fn describe_execution(
        &self,
        i: DescribeExecutionInput,
    ) -> Result<DescribeExecutionOutput, ApiError> {
        let d = Service::describe_execution(self, &i.execution_arn).await?;
        let (input, output, all) = data(&d, i.included_data);
        let succeeded = d.status == Status::Succeeded;
        Ok(DescribeExecutionOutput {
            execution_arn: d.execution_arn,
            state_machine_arn: d.state_machine_arn,
            name: Some(d.name),
            status: wire_status(d.status),
            start_date: Timestamp(d.start_date),
            stop_date: d.stop_date.map(Timestamp),
            input,
            input_details: details(all),
            output,
            output_details: if succeeded { details(all) } else { None },
            trace_header: d.trace_header,
            map_run_arn: None,
            error: d.error,
            cause: d.cause,
            state_machine_version_arn: d.version_arn,
            state_machine_alias_arn: d.alias_arn,
            redrive_count: Some(i64::from(d.redrive_count)),
            redrive_date: d.redrive_date.map(Timestamp),
            redrive_status: d.redrive_status.as_ref().map(|r| r.as_str().to_string()),
            redrive_status_reason: d
                .redrive_status
                .as_ref()
                .and_then(|r| r.reason())
                .map(str::to_string),
        })
    }

    async fn redrive_execution(
        &self,
        i: RedriveExecutionInput,
    ) -> Result<RedriveExecutionOutput, ApiError> {
        let date =
            Service::redrive_execution(self, &i.execution_arn, i.client_token.as_deref()).await?;
        Ok(RedriveExecutionOutput {
            redrive_date: Timestamp(date),
        })
    }

    async fn list_executions(
        &self,
        i: ListExecutionsInput,
    ) -> Result<ListExecutionsOutput, ApiError> {
        let Some(arn) = i.state_machine_arn else {
            // Map Runs belong to Distributed Maps, whose iterations run as
            // frames of the parent execution here: there are none to list.
            return Err(ApiError::new(
                ErrorCode::ResourceNotFound,
                "Map Runs are not kept as resources of their own by this server; list by stateMachineArn",
            ));
        };
        // As Step Functions: Express executions are not listed.
        if Service::describe_state_machine(self, &arn).await?.kind == WorkflowType::Express {
            return Err(ApiError::new(
                ErrorCode::StateMachineTypeNotSupported,
                "This operation is not supported by this type of state machine",
            ));
        }
        let status = match i.status_filter {
            None => None,
            Some(ExecutionStatus::Running) => Some(Status::Running),
            Some(ExecutionStatus::Succeeded) => Some(Status::Succeeded),
            Some(ExecutionStatus::Failed) => Some(Status::Failed),
            Some(ExecutionStatus::TimedOut) => Some(Status::TimedOut),
            Some(ExecutionStatus::Aborted) => Some(Status::Aborted),
            // No execution is ever redrivable here.
            Some(ExecutionStatus::PendingRedrive) => {
                Service::describe_state_machine(self, &arn).await?;
                return Ok(ListExecutionsOutput {
                    executions: vec![],
                    next_token: None,
                });
            }
        };
        let p =
            Service::list_executions(self, &arn, status, page(i.max_results, i.next_token)).await?;
        Ok(ListExecutionsOutput {
            executions: p
                .items
                .into_iter()
                .map(|e| ExecutionListItem {
                    execution_arn: e.execution_arn,
                    state_machine_arn: e.state_machine_arn,
                    name: e.name,
                    status: wire_status(e.status),
                    start_date: Timestamp(e.start_date),
                    stop_date: e.stop_date.map(Timestamp),
                    map_run_arn: None,
                    item_count: None,
                    state_machine_version_arn: e.version_arn,
                    state_machine_alias_arn: e.alias_arn,
                    redrive_count: None,
                    redrive_date: None,
                })
                .collect(),
            next_token: p.next_token,
        })
    }

    async fn get_execution_history(
        &self,
        i: GetExecutionHistoryInput,
    ) -> Result<GetExecutionHistoryOutput, ApiError> {
        let req = HistoryRequest {
            max_results: i.max_results.unwrap_or(0).clamp(0, 1000) as usize,
            next_token: i.next_token,
            reverse_order: i.reverse_order.unwrap_or(false),
            include_execution_data: i.include_execution_data.unwrap_or(true),
        };
        let p = Service::get_execution_history(self, &i.execution_arn, req).await?;
        Ok(GetExecutionHistoryOutput {
            events: p.events,
            next_token: p.next_token,
        })
    }

    async fn stop_execution(&self, i: StopExecutionInput) -> Result<StopExecutionOutput, ApiError> {
        let stop = Service::stop_execution(self, &i.execution_arn, i.error, i.cause).await?;
        Ok(StopExecutionOutput {
            stop_date: Timestamp(stop),
        })
    }

    async fn send_task_success(
        &self,
        i: SendTaskSuccessInput,
    ) -> Result<SendTaskSuccessOutput, ApiError> {
        Service::send_task_success(self, &i.task_token, &i.output).await?;
        Ok(SendTaskSuccessOutput {})
    }

    async fn send_task_failure(
        &self,
        i: SendTaskFailureInput,
    ) -> Result<SendTaskFailureOutput, ApiError> {
        Service::send_task_failure(self, &i.task_token, i.error, i.cause).await?;
        Ok(SendTaskFailureOutput {})
    }

    async fn send_task_heartbeat(
        &self,
        i: SendTaskHeartbeatInput,
    ) -> Result<SendTaskHeartbeatOutput, ApiError> {
        Service::send_task_heartbeat(self, &i.task_token).await?;
        Ok(SendTaskHeartbeatOutput {})
    }

    async fn create_activity(
        &self,
        i: CreateActivityInput,
    ) -> Result<CreateActivityOutput, ApiError> {
        crate::activities::create_activity(self, i).await
    }

    async fn describe_activity(
        &self,
        i: DescribeActivityInput,
    ) -> Result<DescribeActivityOutput, ApiError> {
        crate::activities::describe_activity(self, i).await
    }

    async fn delete_activity(
        &self,
        i: DeleteActivityInput,
    ) -> Result<DeleteActivityOutput, ApiError> {
        crate::activities::delete_activity(self, i).await
    }

    async fn list_activities(
        &self,
        i: ListActivitiesInput,
    ) -> Result<ListActivitiesOutput, ApiError> {
        crate::activities::list_activities(self, i).await
    }

    async fn get_activity_task(
        &self,
        i: GetActivityTaskInput,
    ) -> Result<GetActivityTaskOutput, ApiError> {
        crate::activities::get_activity_task(self, i).await
    }

    async fn describe_state_machine_for_execution(
        &self,
        i: DescribeStateMachineForExecutionInput,
    ) -> Result<DescribeStateMachineForExecutionOutput, ApiError> {
        let sm = Service::describe_state_machine_for_execution(self, &i.execution_arn).await?;
        let (logging, tracing, encryption) = settings(&sm);
        Ok(DescribeStateMachineForExecutionOutput {
            state_machine_arn: sm.arn,
            name: sm.name,
            definition: sm.definition,
            role_arn: sm.role_arn,
            update_date: Timestamp(sm.update_date),
            logging_configuration: Some(logging),
            tracing_configuration: Some(tracing),
            map_run_arn: None,
            label: None,
            revision_id: Some(sm.revision_id),
            encryption_configuration: encryption,
        })
    }

    async fn publish_state_machine_version(
        &self,
        i: PublishStateMachineVersionInput,
    ) -> Result<PublishStateMachineVersionOutput, ApiError> {
        let v = Service::publish_state_machine_version(
            self,
            &i.state_machine_arn,
            i.revision_id.as_deref(),
            i.description,
        )
        .await?;
        Ok(PublishStateMachineVersionOutput {
            creation_date: Timestamp(v.creation_date),
            state_machine_version_arn: v.arn,
        })
    }

    async fn list_state_machine_versions(
        &self,
        i: ListStateMachineVersionsInput,
    ) -> Result<ListStateMachineVersionsOutput, ApiError> {
        let p = Service::list_state_machine_versions(
            self,
            &i.state_machine_arn,
            page(i.max_results, i.next_token),
        )
        .await?;
        Ok(ListStateMachineVersionsOutput {
            state_machine_versions: p
                .items
                .into_iter()
                .map(|v| StateMachineVersionListItem {
                    state_machine_version_arn: v.arn,
                    creation_date: Timestamp(v.creation_date),
                })
                .collect(),
            next_token: p.next_token,
        })
    }

    async fn delete_state_machine_version(
        &self,
        i: DeleteStateMachineVersionInput,
    ) -> Result<DeleteStateMachineVersionOutput, ApiError> {
        Service::delete_state_machine_version(self, &i.state_machine_version_arn).await?;
        Ok(DeleteStateMachineVersionOutput {})
    }

    async fn create_state_machine_alias(
        &self,
        i: CreateStateMachineAliasInput,
    ) -> Result<CreateStateMachineAliasOutput, ApiError> {
        let a = Service::create_state_machine_alias(
            self,
            &i.name,
            i.description,
            crate::versions::routes(i.routing_configuration),
        )
        .await?;
        Ok(CreateStateMachineAliasOutput {
            state_machine_alias_arn: a.arn,
            creation_date: Timestamp(a.creation_date),
        })
    }

    async fn describe_state_machine_alias(
        &self,
        i: DescribeStateMachineAliasInput,
    ) -> Result<DescribeStateMachineAliasOutput, ApiError> {
        let a = Service::describe_state_machine_alias(self, &i.state_machine_alias_arn).await?;
        Ok(crate::versions::describe_alias(a))
    }

    async fn update_state_machine_alias(
        &self,
        i: UpdateStateMachineAliasInput,
    ) -> Result<UpdateStateMachineAliasOutput, ApiError> {
        let a = Service::update_state_machine_alias(
            self,
            &i.state_machine_alias_arn,
            i.description,
            i.routing_configuration.map(crate::versions::routes),
        )
        .await?;
        Ok(UpdateStateMachineAliasOutput {
            update_date: Timestamp(a.update_date),
        })
    }

    async fn delete_state_machine_alias(
        &self,
        i: DeleteStateMachineAliasInput,
    ) -> Result<DeleteStateMachineAliasOutput, ApiError> {
        Service::delete_state_machine_alias(self, &i.state_machine_alias_arn).await?;
        Ok(DeleteStateMachineAliasOutput {})
    }

    async fn list_state_machine_aliases(
        &self,
        i: ListStateMachineAliasesInput,
    ) -> Result<ListStateMachineAliasesOutput, ApiError> {
        let p = Service::list_state_machine_aliases(
            self,
            &i.state_machine_arn,
            page(i.max_results, i.next_token),
        )
        .await?;
        Ok(ListStateMachineAliasesOutput {
            state_machine_aliases: p
                .items
                .into_iter()
                .map(|a| StateMachineAliasListItem {
                    state_machine_alias_arn: a.arn,
                    creation_date: Timestamp(a.creation_date),
                })
                .collect(),
            next_token: p.next_token,
        })
    }

    async fn tag_resource(&self, i: TagResourceInput) -> Result<TagResourceOutput, ApiError> {
        Service::tag_resource(self, &i.resource_arn, crate::versions::tag_map(i.tags)).await?;
        Ok(TagResourceOutput {})
    }

    async fn untag_resource(&self, i: UntagResourceInput) -> Result<UntagResourceOutput, ApiError> {
        Service::untag_resource(self, &i.resource_arn, i.tag_keys).await?;
        Ok(UntagResourceOutput {})
    }

    async fn list_tags_for_resource(
        &self,
        i: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let tags = Service::list_tags_for_resource(self, &i.resource_arn).await?;
        Ok(ListTagsForResourceOutput {
            tags: crate::versions::tag_list(tags),
        })
    }

    /// TestState, a Task without a mock performed by this service's
    /// invoker (local handlers, the mock config, AWS) as an execution's.
    async fn test_state(&self, i: TestStateInput) -> Result<TestStateOutput, ApiError> {
        let config = self.config();
        let (region, account) = flowstate_runtime::names::scoped(&config.region, &config.account);
        let env = crate::test_state::TestStateEnv {
            region,
            account,
            now: self.clock().now(),
        };
        let invoker = self.invoker();
        crate::test_state::test_state(i, env, |task| async move {
            let context = InvokeContext {
                execution_arn: task.execution_arn.clone(),
                invocation_id: uuid::Uuid::new_v4().to_string(),
                test_case: None,
            };
            invoker.invoke(&context, &task).await
        })
        .await
    }
}
