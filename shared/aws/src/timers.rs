//! Long timers: a message due more than SQS's 900 s ahead waits in the
//! table, not in the queue, and costs nothing while it waits.
//!
//! **Layout.** Timers are items keyed by the minute they are due in (a
//! bucket): `PK = TM#<bucket>`, `SK = <due, 20 digits>#<message id>`, the
//! SQS body in `b`, and a `ttl` a day after the due time (DynamoDB deletes
//! them for free once sent). A bucket's seal, `SK = !`, marks it swept. One
//! cursor item, `PK = SK = TM#sweep`, holds `done`: every bucket up to it
//! has been sealed and its timers sent.
//!
//! **Writing** (from [`Queue::send`](flowstate_ports::Queue::send), i.e.
//! when a committed step's outbox is performed — the outbox entry is
//! deleted only after this write succeeded): one `TransactWriteItems` per
//! bucket, its timers plus a `ConditionCheck` that the bucket is not
//! sealed. A bucket sealed already (a writer whose clock is far behind the
//! sweeper's) refuses, and those timers go to SQS with the longest delay,
//! re-sent until due as before: late, never lost.
//!
//! **Sweeping** (the stepper's one-minute schedule, a worker's minute
//! tick): for each bucket after `done` that ends within 900 s of `now`,
//! seal it, read it, send its timers to SQS with their remaining delay,
//! then advance `done`. A sweep that dies part-way leaves `done` behind,
//! and the next one seals, reads and sends that bucket again: duplicate
//! timer messages, which the runtime drops (a timer names the frame and
//! its sequence number; once fired, the frame has moved on).
//!
//! A stale timer (its execution or its task ended) is sent once and
//! dropped on delivery after one read of the execution's header.

use crate::codec::{get_n, get_s, key, n, s};
use crate::table::{QuerySpec, TxFail};
use crate::{backend_error, AwsBackend};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use flowstate_ports::StoreError;
use std::collections::BTreeMap;

/// Width of a bucket: the sweep's own period.
pub(crate) const BUCKET_MS: i64 = 60_000;
/// What SQS can delay by itself.
const HORIZON_MS: i64 = crate::sqs::MAX_DELAY_SECONDS * 1000;
/// A sent timer stays this long before TTL deletes it.
const KEEP_SECONDS: i64 = 86_400;
/// Buckets one sweep handles at most (a week of minutes after an outage);
/// the next sweep goes on from there.
const MAX_BUCKETS_PER_SWEEP: i64 = 7 * 24 * 60;
/// Timers per transaction, beside the bucket's condition (limit 100).
const PER_TRANSACTION: usize = 99;

const CURSOR: &str = "TM#sweep";
const SEAL: &str = "!";

fn bucket(due: i64) -> i64 {
    due.div_euclid(BUCKET_MS)
}

fn bucket_pk(bucket: i64) -> String {
    format!("TM#{bucket}")
}

/// Whether a message due at `due` goes to the timer store rather than
/// SQS, at `now`: due beyond SQS's delay and a bucket's width (so that a
/// sweep at `now` has not reached its bucket).
pub(crate) fn is_long(due: i64, now: i64) -> bool {
    due.saturating_sub(now) > HORIZON_MS + BUCKET_MS
}

/// The last bucket a sweep at `now` handles: it ends within SQS's delay.
fn horizon(now: i64) -> i64 {
    bucket(now.saturating_add(HORIZON_MS)) - 1
}

/// A message on its way: its id, SQS body and due time.
pub(crate) struct Timer<'a> {
    pub id: &'a str,
    pub body: &'a str,
    pub due: i64,
}

impl AwsBackend {
    /// Writes long timers to the store, each bucket in one transaction
    /// conditioned on the bucket not being sealed. Returns the (body, due)
    /// of the timers whose bucket was sealed: the caller sends them to SQS.
    pub(crate) async fn store_timers(
        &self,
        timers: &[Timer<'_>],
        now: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        self.ensure_cursor(now).await?;
        let mut by_bucket: BTreeMap<i64, Vec<&Timer<'_>>> = BTreeMap::new();
        for t in timers {
            by_bucket.entry(bucket(t.due)).or_default().push(t);
        }
        let mut refused = Vec::new();
        for (b, list) in by_bucket {
            for chunk in list.chunks(PER_TRANSACTION) {
                let mut items = Vec::with_capacity(chunk.len() + 1);
                let check = ConditionCheck::builder()
                    .table_name(self.table())
                    .set_key(Some(key(bucket_pk(b), SEAL)))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(|e| backend_error("ConditionCheck", e))?;
                items.push(TransactWriteItem::builder().condition_check(check).build());
                for t in chunk {
                    let mut item = key(bucket_pk(b), format!("{:020}#{}", t.due.max(0), t.id));
                    item.insert("b".into(), s(t.body));
                    item.insert("due".into(), n(t.due));
                    item.insert("ttl".into(), n(t.due.div_euclid(1000) + KEEP_SECONDS));
                    items.push(self.put(item, None)?);
                }
                match self.transact(items).await {
                    Ok(()) => {}
                    // Sealed (or being sealed this instant): SQS's delay
                    // and re-sends carry these instead.
                    Err(TxFail::Condition) => {
                        tracing::info!(
                            bucket = b,
                            timers = chunk.len(),
                            "timer bucket already swept; timers sent to the queue"
                        );
                        refused.extend(chunk.iter().map(|t| (t.body.to_string(), t.due)));
                    }
                    Err(TxFail::Other(e)) => return Err(e),
                }
            }
        }
        Ok(refused)
    }

    /// Creates the sweep cursor if there is none, just before `now`'s
    /// bucket (no timer was stored before it existed). Once per process.
    async fn ensure_cursor(&self, now: i64) -> Result<(), StoreError> {
        self.inner
            .timer_cursor
            .get_or_try_init(|| self.create_cursor(bucket(now) - 1))
            .await
            .map(drop)
    }

    async fn create_cursor(&self, done: i64) -> Result<(), StoreError> {
        let mut item = key(CURSOR, CURSOR);
        item.insert("done".into(), n(done));
        match self
            .ddb()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(backend_error("PutItem", other)),
            },
        }
    }

    /// Sends the stored timers due within SQS's delay of `now` (the
    /// caller's time) to the queue; how many were sent.
    pub(crate) async fn sweep_timer_store(&self, now: i64) -> Result<usize, StoreError> {
        let done = match self.get_item(CURSOR, CURSOR).await? {
            Some(item) => get_n(&item, "done").unwrap_or(i64::MIN),
            // No timer was ever stored.
            None => return Ok(0),
        };
        let last = horizon(now).min(done.saturating_add(MAX_BUCKETS_PER_SWEEP));
        let mut sent = 0;
        let mut b = done;
        while b < last {
            b += 1;
            sent += self.sweep_bucket(b, now).await?;
            self.advance_cursor(b).await?;
        }
        if sent > 0 {
            tracing::info!(sent, through_bucket = b, "stored timers sent to the queue");
        }
        Ok(sent)
    }

    /// Seals bucket `b`, then sends every timer in it.
    async fn sweep_bucket(&self, b: i64, now: i64) -> Result<usize, StoreError> {
        let pk = bucket_pk(b);
        let mut seal = key(&pk, SEAL);
        seal.insert("ttl".into(), n((b + 1) * BUCKET_MS / 1000 + KEEP_SECONDS));
        self.ddb()
            .put_item()
            .table_name(self.table())
            .set_item(Some(seal))
            .send()
            .await
            .map_err(|e| backend_error("PutItem", e))?;
        let mut start = None;
        let mut sent = 0;
        loop {
            let (items, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk AND SK > :seal",
                    filter: None,
                    names: vec![],
                    values: vec![
                        (":pk", AttributeValue::S(pk.clone())),
                        (":seal", AttributeValue::S(SEAL.into())),
                    ],
                    forward: true,
                    limit: None,
                    start,
                })
                .await?;
            let batch: Vec<(String, i32)> = items
                .iter()
                .filter_map(|item| {
                    let body = get_s(item, "b")?;
                    let due = get_n(item, "due")?;
                    Some((body.to_string(), crate::sqs::delay_from(due, now)))
                })
                .collect();
            sent += batch.len();
            self.send_bodies(batch).await?;
            match next {
                Some(k) => start = Some(k),
                None => return Ok(sent),
            }
        }
    }

    async fn advance_cursor(&self, b: i64) -> Result<(), StoreError> {
        match self
            .ddb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(CURSOR, CURSOR)))
            .update_expression("SET done = :b")
            .condition_expression("done < :b")
            .expression_attribute_values(":b", n(b))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                // Another sweep got there first.
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(backend_error("UpdateItem", other)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_never_picks_a_bucket_a_sweep_at_the_same_time_handles() {
        for now in [0, 59_999, 60_000, 1_765_000_123_456] {
            let due = now + HORIZON_MS + BUCKET_MS + 1;
            assert!(is_long(due, now));
            assert!(bucket(due) > horizon(now), "now {now}");
            assert!(!is_long(now + HORIZON_MS, now));
        }
    }

    #[test]
    fn a_sweep_reaches_a_bucket_once_all_of_it_is_within_sqs_delay() {
        let now = 1_765_000_000_000;
        let b = horizon(now);
        assert!((b + 1) * BUCKET_MS <= now + HORIZON_MS);
        assert!((b + 2) * BUCKET_MS > now + HORIZON_MS);
    }
}
