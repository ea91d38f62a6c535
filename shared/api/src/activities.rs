//! The activity actions over the runtime's [`Service`]: wire shapes to the
//! Service's requests and back, and the checks the wire protocol makes
//! (lengths, `maxResults`, the number of tags).

use crate::error::{ApiError, ErrorCode};
use crate::shapes::*;
use crate::{check_len, check_max_results, CheckInput};
use flowstate_ports::{Clock, Invoker, Queue, Store};
use flowstate_runtime::{CreateActivity, Service};
use std::time::Duration;

/// Tags one resource may have (AWS's quota).
const MAX_TAGS: usize = 50;

impl CheckInput for CreateActivityInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("name", Some(&self.name), 80)?;
        let tags = self.tags.as_deref().unwrap_or_default();
        if tags.len() > MAX_TAGS {
            return Err(ApiError::new(
                ErrorCode::TooManyTags,
                format!(
                    "Too many tags: {} (a resource may have at most {MAX_TAGS})",
                    tags.len()
                ),
            ));
        }
        for t in tags {
            check_len("tags.member.key", Some(&t.key), 128)?;
            check_len("tags.member.value", Some(&t.value), 256)?;
        }
        Ok(())
    }
}
impl CheckInput for DescribeActivityInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("activityArn", Some(&self.activity_arn), 256)
    }
}
impl CheckInput for DeleteActivityInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("activityArn", Some(&self.activity_arn), 256)
    }
}
impl CheckInput for ListActivitiesInput {
    fn check(&self) -> Result<(), ApiError> {
        check_max_results(self.max_results)
    }
}
impl CheckInput for GetActivityTaskInput {
    fn check(&self) -> Result<(), ApiError> {
        check_len("activityArn", Some(&self.activity_arn), 256)?;
        check_len("workerName", self.worker_name.as_deref(), 80)
    }
}

pub(crate) async fn create_activity<S: Store, Q: Queue, I: Invoker, C: Clock>(
    service: &Service<S, Q, I, C>,
    i: CreateActivityInput,
) -> Result<CreateActivityOutput, ApiError> {
    let a = service
        .create_activity(CreateActivity {
            name: i.name,
            tags: i
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect(),
            encryption_configuration: i.encryption_configuration,
        })
        .await?;
    Ok(CreateActivityOutput {
        activity_arn: a.arn,
        creation_date: Timestamp(a.creation_date),
    })
}

pub(crate) async fn describe_activity<S: Store, Q: Queue, I: Invoker, C: Clock>(
    service: &Service<S, Q, I, C>,
    i: DescribeActivityInput,
) -> Result<DescribeActivityOutput, ApiError> {
    let a = service.describe_activity(&i.activity_arn).await?;
    Ok(DescribeActivityOutput {
        activity_arn: a.arn,
        name: a.name,
        creation_date: Timestamp(a.creation_date),
        encryption_configuration: a.encryption_configuration,
    })
}

pub(crate) async fn delete_activity<S: Store, Q: Queue, I: Invoker, C: Clock>(
    service: &Service<S, Q, I, C>,
    i: DeleteActivityInput,
) -> Result<DeleteActivityOutput, ApiError> {
    service.delete_activity(&i.activity_arn).await?;
    Ok(DeleteActivityOutput {})
}

pub(crate) async fn list_activities<S: Store, Q: Queue, I: Invoker, C: Clock>(
    service: &Service<S, Q, I, C>,
    i: ListActivitiesInput,
) -> Result<ListActivitiesOutput, ApiError> {
    let p = service
        .list_activities(crate::service::page(i.max_results, i.next_token))
        .await?;
    Ok(ListActivitiesOutput {
        activities: p
            .items
            .into_iter()
            .map(|a| ActivityListItem {
                activity_arn: a.arn,
                name: a.name,
                creation_date: Timestamp(a.creation_date),
            })
            .collect(),
        next_token: p.next_token,
    })
}

pub(crate) async fn get_activity_task<S: Store, Q: Queue, I: Invoker, C: Clock>(
    service: &Service<S, Q, I, C>,
    i: GetActivityTaskInput,
) -> Result<GetActivityTaskOutput, ApiError> {
    let task = service
        .get_activity_task(
            &i.activity_arn,
            i.worker_name,
            Duration::from_millis(service.config().activity_poll_ms),
        )
        .await?;
    Ok(match task {
        Some(t) => GetActivityTaskOutput {
            task_token: Some(t.task_token),
            input: Some(t.input),
        },
        None => GetActivityTaskOutput::default(),
    })
}
