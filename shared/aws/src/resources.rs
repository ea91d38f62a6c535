//! Creates the table and the queues when they are missing (`flowstate serve
//! --create-resources`, tests). Deployments create them with the SAM
//! template instead, which adds point-in-time recovery, KMS and alarms.

use crate::{AwsBackend, Error};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::Duration;

fn table_error(table: &str, message: impl std::fmt::Display) -> Error {
    Error::Table {
        table: table.to_string(),
        message: message.to_string(),
    }
}

fn queue_error(queue: &str, message: impl std::fmt::Display) -> Error {
    Error::Queue {
        queue: queue.to_string(),
        message: message.to_string(),
    }
}

/// A string attribute of the table's keys.
fn string_attribute(table: &str, name: &str) -> Result<AttributeDefinition, Error> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| table_error(table, e))
}

fn key_element(table: &str, name: &str, kind: KeyType) -> Result<KeySchemaElement, Error> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| table_error(table, e))
}

/// What the execution indexes copy: the summary ListExecutions returns.
fn summary_projection() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::Include)
        .set_non_key_attributes(Some(
            ["nm", "sm", "st", "sd", "pd"].map(String::from).to_vec(),
        ))
        .build()
}

fn ctx<E: std::error::Error + Send + Sync + 'static>(e: E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}

impl AwsBackend {
    /// Creates what is missing: the table (on-demand, with `GSI1` and the
    /// status index `GSI2`, TTL on
    /// the `ttl` attribute), the dead-letter queue, and the queue with a redrive policy to it. Safe
    /// to call when everything exists.
    pub async fn create_resources(&self) -> Result<(), Error> {
        self.create_table().await?;
        self.create_queues().await
    }

    async fn create_table(&self) -> Result<(), Error> {
        let table = self.table();
        let ddb = &self.inner.dynamo;
        match ddb.describe_table().table_name(table).send().await {
            Ok(out) => {
                self.wait_active().await?;
                // A table created before the status index and TTL were
                // used gets them too.
                let indexes = out
                    .table
                    .map(|t| t.global_secondary_indexes.unwrap_or_default())
                    .unwrap_or_default();
                if !indexes.iter().any(|i| i.index_name() == Some("GSI2")) {
                    self.add_status_index().await?;
                }
                return self.enable_ttl().await;
            }
            Err(e) => match e.into_service_error() {
                DescribeTableError::ResourceNotFoundException(_) => {}
                other => return Err(table_error(table, ctx(other))),
            },
        }
        let attr = |name: &str| string_attribute(table, name);
        let key = |name: &str, kind: KeyType| key_element(table, name, kind);
        // Only the summary attributes are copied to the indexes: listing
        // executions never reads their (possibly large) bodies.
        let gsi = |name: &str, pk: &str, sk: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(summary_projection())
                .build()
                .map_err(|e| table_error(table, e))
        };
        let created = ddb
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("PK")?)
            .attribute_definitions(attr("SK")?)
            .attribute_definitions(attr("GSI1PK")?)
            .attribute_definitions(attr("GSI1SK")?)
            .attribute_definitions(attr("GSI2PK")?)
            .attribute_definitions(attr("GSI2SK")?)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi("GSI1", "GSI1PK", "GSI1SK")?)
            .global_secondary_indexes(gsi("GSI2", "GSI2PK", "GSI2SK")?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) => match e.into_service_error() {
                // Created concurrently by another process: fine.
                CreateTableError::ResourceInUseException(_) => {}
                other => return Err(table_error(table, ctx(other))),
            },
        }
        self.wait_active().await?;
        self.enable_ttl().await
    }

    /// Adds `GSI2` (ListExecutions by status) to a table made before it.
    async fn add_status_index(&self) -> Result<(), Error> {
        let table = self.table();
        let attr = |name: &str| string_attribute(table, name);
        let key = |name: &str, kind: KeyType| key_element(table, name, kind);
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name("GSI2")
            .key_schema(key("GSI2PK", KeyType::Hash)?)
            .key_schema(key("GSI2SK", KeyType::Range)?)
            .projection(summary_projection())
            .build()
            .map_err(|e| table_error(table, e))?;
        self.inner
            .dynamo
            .update_table()
            .table_name(table)
            .attribute_definitions(attr("GSI2PK")?)
            .attribute_definitions(attr("GSI2SK")?)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| table_error(table, ctx(e)))?;
        self.wait_active().await
    }

    /// DynamoDB deletes items whose `ttl` (epoch seconds) has passed, free
    /// of charge: sent long timers (`timers.rs`).
    async fn enable_ttl(&self) -> Result<(), Error> {
        let table = self.table();
        let spec = TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(|e| table_error(table, e))?;
        let ddb = &self.inner.dynamo;
        let status = ddb
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| table_error(table, ctx(e)))?
            .time_to_live_description
            .and_then(|d| d.time_to_live_status);
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        match ddb
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let message = ctx(e);
                // Enabled meanwhile by a concurrent call.
                if message.contains("already enabled") {
                    Ok(())
                } else {
                    Err(table_error(table, message))
                }
            }
        }
    }

    async fn wait_active(&self) -> Result<(), Error> {
        let table = self.table();
        for _ in 0..120 {
            let out = self
                .inner
                .dynamo
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| table_error(table, ctx(e)))?;
            let status = out.table.and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(table_error(table, "not ACTIVE after 60 s"))
    }

    async fn create_queues(&self) -> Result<(), Error> {
        let settings = &self.inner.settings;
        let sqs = &self.inner.sqs;
        let dlq = &settings.dead_letter_queue;
        let dlq_url = sqs
            .create_queue()
            .queue_name(dlq)
            // The longest SQS keeps messages: time to inspect poison ones.
            .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
            .send()
            .await
            .map_err(|e| queue_error(dlq, ctx(e)))?
            .queue_url
            .ok_or_else(|| queue_error(dlq, "CreateQueue returned no URL"))?;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| queue_error(dlq, ctx(e)))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| queue_error(dlq, "no QueueArn"))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": settings.max_receive_count.to_string(),
        });
        let url = sqs
            .create_queue()
            .queue_name(&settings.queue)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(|e| queue_error(&settings.queue, ctx(e)))?
            .queue_url
            .ok_or_else(|| queue_error(&settings.queue, "CreateQueue returned no URL"))?;
        self.set_queue_url(url);
        Ok(())
    }
}
