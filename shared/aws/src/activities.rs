//! [`ActivityStore`] on the table (no table of its own):
//!
//! | record | PK | SK | other attributes |
//! | --- | --- | --- | --- |
//! | activity | `ACT` | ARN | `d` (the record) |
//! | waiting activity task | `AT#{activity ARN}` | `{created ms:015}#{task id}` | `d` (the task), `ex` (expires, ms), `ttl` |
//!
//! - All activities share one partition, sorted by ARN, as state machines
//!   do: ListActivities is one Query.
//! - An activity's waiting tasks are one partition sorted by age: a claim
//!   queries its oldest few and deletes one with a conditional delete
//!   (`attribute_exists(PK)`). Of two processes deleting the same task,
//!   DynamoDB lets one succeed; the other moves on to the next task.
//! - The task's key depends only on the step that scheduled it (its
//!   commit time and id), so performing it again writes the same item.
//! - A poller cannot hear of tasks written by other processes (the API
//!   function, workers): it queries again after the back-off the runtime
//!   chooses, one small Query per wait.

use crate::codec::{get_n, get_s, key, n, s, token_decode, token_encode, Item};
use crate::table::QuerySpec;
use crate::{backend_error, corrupt, AwsBackend};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValue;
use flowstate_ports::{ActivityRecord, ActivityStore, ActivityTask, Page, PageRequest, StoreError};
use std::time::Duration;

const ACTIVITIES_PK: &str = "ACT";
/// Tasks read per claim attempt: enough to step over a few taken by
/// others at the same moment.
const CLAIM_PAGE: i32 = 8;
/// Expired tasks are kept a day past their expiry before DynamoDB's TTL
/// may remove them (claims skip them before that).
const TASK_TTL_MARGIN_S: i64 = 86_400;

fn tasks_pk(activity_arn: &str) -> String {
    format!("AT#{activity_arn}")
}

fn task_sk(task: &ActivityTask) -> String {
    format!("{:015}#{}", task.created.max(0), task.id)
}

fn body(item: &Item) -> Result<&str, StoreError> {
    get_s(item, "d").ok_or_else(|| corrupt("activity item", "no 'd' attribute"))
}

impl AwsBackend {
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        match self
            .ddb()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(backend_error("PutItem", other)),
            },
        }
    }

    /// Deletes an item if it is there; the item as it was, or `None` when
    /// it was not (someone else deleted it first).
    async fn take_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        match self
            .ddb()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await
        {
            Ok(out) => Ok(out.attributes),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(None),
                other => Err(backend_error("DeleteItem", other)),
            },
        }
    }
}

impl ActivityStore for AwsBackend {
    async fn create_activity(&self, activity: &ActivityRecord) -> Result<(), StoreError> {
        let mut item = key(ACTIVITIES_PK, &activity.arn);
        item.insert("d".into(), s(crate::codec::to_json(activity)?));
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists(activity.arn.clone()))
        }
    }

    async fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>, StoreError> {
        match self.get_item(ACTIVITIES_PK, arn).await? {
            Some(item) => Ok(Some(crate::codec::from_json("activity", body(&item)?)?)),
            None => Ok(None),
        }
    }

    async fn delete_activity(&self, arn: &str) -> Result<bool, StoreError> {
        Ok(self.take_item(ACTIVITIES_PK, arn).await?.is_some())
    }

    async fn list_activities(
        &self,
        page: &PageRequest,
    ) -> Result<Page<ActivityRecord>, StoreError> {
        let after = page.next_token.as_deref().map(token_decode).transpose()?;
        let (items, more) = self
            .partition_page(ACTIVITIES_PK, after, page.max_results.max(1))
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(crate::codec::from_json::<ActivityRecord>(
                "activity",
                body(item)?,
            )?);
        }
        let next_token = if more {
            out.last().map(|a| token_encode(&a.arn))
        } else {
            None
        };
        Ok(Page {
            items: out,
            next_token,
        })
    }

    async fn put_activity_task(&self, task: &ActivityTask) -> Result<(), StoreError> {
        let mut item = key(tasks_pk(&task.activity_arn), task_sk(task));
        item.insert("d".into(), s(crate::codec::to_json(task)?));
        item.insert("ex".into(), n(task.expires));
        item.insert(
            "ttl".into(),
            n(task
                .expires
                .div_euclid(1000)
                .saturating_add(TASK_TTL_MARGIN_S)),
        );
        // Written again (an outbox entry performed twice): the same item.
        self.put_new(item).await?;
        Ok(())
    }

    async fn claim_activity_task(
        &self,
        activity_arn: &str,
        now: i64,
    ) -> Result<Option<ActivityTask>, StoreError> {
        let pk = tasks_pk(activity_arn);
        let mut start = None;
        loop {
            let (items, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk",
                    filter: None,
                    names: vec![],
                    values: vec![(":pk", s(pk.clone()))],
                    forward: true,
                    limit: Some(CLAIM_PAGE),
                    start,
                })
                .await?;
            for item in items {
                let Some(sk) = get_s(&item, "SK").map(str::to_string) else {
                    continue;
                };
                if get_n(&item, "ex").is_some_and(|ex| ex <= now) {
                    // No one waits for it any more.
                    self.take_item(&pk, &sk).await?;
                    continue;
                }
                if let Some(taken) = self.take_item(&pk, &sk).await? {
                    return Ok(Some(crate::codec::from_json(
                        "activity task",
                        body(&taken)?,
                    )?));
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(None),
            }
        }
    }

    async fn wait_for_activity_task(&self, _activity_arn: &str, within_ms: u64) {
        tokio::time::sleep(Duration::from_millis(within_ms)).await;
    }
}
