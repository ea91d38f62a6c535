//! Item I/O on the table, below the store's records: reads (one item, a
//! batch of items, a query), writes in batches of 25 sent concurrently,
//! transactions, and record bodies split over chunk items (`codec.rs`).

use crate::codec::{chunk_pk, chunk_sk, first_chunk, from_json, get_s, key, s, Item};
use crate::{backend_error, corrupt, AwsBackend};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Put, PutRequest, TransactWriteItem,
    WriteRequest,
};
use flowstate_ports::StoreError;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// BatchWriteItem's limit.
const BATCH: usize = 25;
/// BatchGetItem's limit.
const BATCH_GET: usize = 100;
/// Batch calls in flight at once: a large step's writes go out together.
const PARALLEL: usize = 8;

/// How a transaction failed.
pub(crate) enum TxFail {
    /// A condition failed, or another transaction held an item: someone
    /// else wrote this record first.
    Condition,
    Other(StoreError),
}

/// One Query call's parameters.
pub(crate) struct QuerySpec<'a> {
    pub index: Option<&'a str>,
    pub key_condition: &'a str,
    pub filter: Option<&'a str>,
    pub names: Vec<(&'a str, &'a str)>,
    pub values: Vec<(&'a str, AttributeValue)>,
    pub forward: bool,
    pub limit: Option<i32>,
    pub start: Option<Item>,
}

/// Runs `tasks` with at most [`PARALLEL`] in flight; the first error wins
/// (the others still finish: a write sent is not taken back).
pub(crate) async fn concurrently<T, F>(tasks: Vec<F>) -> Result<Vec<T>, StoreError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(tasks.len());
    let mut first_error = None;
    let mut record = |joined: Result<Result<T, StoreError>, tokio::task::JoinError>| match joined {
        Ok(Ok(v)) => out.push(v),
        Ok(Err(e)) => {
            first_error.get_or_insert(e);
        }
        Err(e) => {
            first_error.get_or_insert(StoreError::Backend(format!("a write task failed: {e}")));
        }
    };
    for task in tasks {
        if set.len() >= PARALLEL {
            if let Some(joined) = set.join_next().await {
                record(joined);
            }
        }
        set.spawn(task);
    }
    while let Some(joined) = set.join_next().await {
        record(joined);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

impl AwsBackend {
    pub(crate) fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.dynamo
    }

    pub(crate) async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .ddb()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend_error("GetItem", e))?;
        Ok(out.item)
    }

    /// Items by key, strongly consistent, in one round trip when they are
    /// at most 100 (unprocessed keys are asked for again). Keyed by `SK`
    /// within one `PK`: callers ask for items of one partition.
    pub(crate) async fn batch_get(
        &self,
        keys: Vec<Item>,
    ) -> Result<HashMap<(String, String), Item>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(BATCH_GET) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| backend_error("KeysAndAttributes", e))?;
            let mut attempt = 0u32;
            loop {
                let out = self
                    .ddb()
                    .batch_get_item()
                    .request_items(self.table(), pending)
                    .send()
                    .await
                    .map_err(|e| backend_error("BatchGetItem", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(self.table()))
                    .unwrap_or_default()
                {
                    if let (Some(pk), Some(sk)) = (get_s(&item, "PK"), get_s(&item, "SK")) {
                        found.insert((pk.to_string(), sk.to_string()), item);
                    }
                }
                match out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(self.table()))
                    .filter(|k| !k.keys().is_empty())
                {
                    Some(rest) => {
                        attempt += 1;
                        if attempt > 8 {
                            return Err(StoreError::Backend(
                                "BatchGetItem: keys still unprocessed after 8 retries".into(),
                            ));
                        }
                        tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                        pending = rest;
                    }
                    None => break,
                }
            }
        }
        Ok(found)
    }

    /// One Query call; strongly consistent on the table (not on an index,
    /// where DynamoDB does not offer it).
    pub(crate) async fn query_once(
        &self,
        q: QuerySpec<'_>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut req = self
            .ddb()
            .query()
            .table_name(self.table())
            .key_condition_expression(q.key_condition)
            .scan_index_forward(q.forward)
            .set_limit(q.limit)
            .set_exclusive_start_key(q.start)
            .set_filter_expression(q.filter.map(str::to_string))
            .consistent_read(q.index.is_none())
            .set_index_name(q.index.map(str::to_string));
        for (k, v) in q.names {
            req = req.expression_attribute_names(k, v);
        }
        for (k, v) in q.values {
            req = req.expression_attribute_values(k, v);
        }
        let out = req.send().await.map_err(|e| backend_error("Query", e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Up to `limit` items of partition `pk` in sort key order, after the
    /// sort key `after`, and whether more follow (a list action's page:
    /// state machines, activities).
    pub(crate) async fn partition_page(
        &self,
        pk: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let mut start = after.map(|sk| key(pk, sk));
        let mut items = Vec::new();
        // One more than asked tells whether a next page exists.
        while items.len() <= limit {
            let (mut got, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk",
                    filter: None,
                    names: vec![],
                    values: vec![(":pk", s(pk))],
                    forward: true,
                    limit: Some((limit + 1 - items.len()) as i32),
                    start,
                })
                .await?;
            items.append(&mut got);
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }

    /// Every item of `pk` whose sort key lies in `[from, to]`, in order.
    pub(crate) async fn query_range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (mut page, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk AND SK BETWEEN :a AND :b",
                    filter: None,
                    names: vec![],
                    values: vec![
                        (":pk", AttributeValue::S(pk.into())),
                        (":a", AttributeValue::S(from.into())),
                        (":b", AttributeValue::S(to.into())),
                    ],
                    forward: true,
                    limit: None,
                    start,
                })
                .await?;
            items.append(&mut page);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// The whole body of a record from its main item (reading its extra
    /// chunks when it has some).
    pub(crate) async fn read_body(&self, item: &Item) -> Result<String, StoreError> {
        let (first, count) = first_chunk(item)?;
        if count == 1 {
            return Ok(first.to_string());
        }
        let (pk, sk) = match (get_s(item, "PK"), get_s(item, "SK")) {
            (Some(pk), Some(sk)) => (pk, sk),
            _ => return Err(corrupt("item", "no key")),
        };
        let chunks = self
            .query_range(&chunk_pk(pk), &chunk_sk(sk, 1), &chunk_sk(sk, count - 1))
            .await?;
        if chunks.len() != count - 1 {
            return Err(corrupt(sk, "missing chunks"));
        }
        let mut body = first.to_string();
        for c in &chunks {
            body.push_str(first_chunk(c)?.0);
        }
        Ok(body)
    }

    pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        item: &Item,
    ) -> Result<T, StoreError> {
        from_json(what, &self.read_body(item).await?)
    }

    /// Puts and deletes in batches of 25, several batches at once,
    /// retrying unprocessed items with back-off (DynamoDB returns them
    /// under throttling).
    pub(crate) async fn batch_write(
        &self,
        puts: Vec<Item>,
        deletes: Vec<Item>,
    ) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(puts.len() + deletes.len());
        for item in puts {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| backend_error("PutRequest", e))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for k in deletes {
            let del = DeleteRequest::builder()
                .set_key(Some(k))
                .build()
                .map_err(|e| backend_error("DeleteRequest", e))?;
            requests.push(WriteRequest::builder().delete_request(del).build());
        }
        let batches: Vec<_> = requests
            .chunks(BATCH)
            .map(|batch| {
                let this = self.clone();
                let batch = batch.to_vec();
                async move { this.write_batch(batch).await }
            })
            .collect();
        concurrently(batches).await.map(drop)
    }

    async fn write_batch(&self, mut pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = self
                .ddb()
                .batch_write_item()
                .request_items(self.table(), pending)
                .send()
                .await
                .map_err(|e| backend_error("BatchWriteItem", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(self.table()))
                .unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Backend(
                        "BatchWriteItem: items still unprocessed after 8 retries".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
        }
        Ok(())
    }

    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TxFail> {
        match self
            .ddb()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let lost = c.cancellation_reasons().iter().any(|r| {
                        matches!(
                            r.code(),
                            Some("ConditionalCheckFailed") | Some("TransactionConflict")
                        )
                    });
                    if lost {
                        Err(TxFail::Condition)
                    } else {
                        Err(TxFail::Other(backend_error("TransactWriteItems", c)))
                    }
                }
                other => Err(TxFail::Other(backend_error("TransactWriteItems", other))),
            },
        }
    }

    pub(crate) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|e| backend_error("Put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
