//! [`Queue`] on an SQS standard queue.
//!
//! A message body is small JSON: the [`QueueMessage`] (ids and the event),
//! its due time and a send sequence number. `DelaySeconds` is the time to
//! the due time by the wall clock, at most 900 s. A message due later
//! than that waits in the table's timer store (`timers.rs`) until a sweep
//! sends it; a message received before it is due (clock skew, or a timer
//! whose bucket was already swept) is sent again with the remaining delay
//! and the received copy deleted — a fresh message each time, so it never
//! approaches the dead-letter queue's receive count. Bodies over
//! [`SPILL_BYTES`] (a task result near the 256 KiB payload limit) are
//! stored in the table and the message carries only their key.
//!
//! The wall clock is [`SystemClock`]'s, so a process whose clock a test
//! shifts (`FLOWSTATE_TEST_CLOCK_FILE`) computes delays in its own time.
//!
//! **Whose time.** The ports give the queue the caller's clock (`now` in
//! [`Queue::receive`]), which is the wall clock in production and a
//! simulated one in tests. SQS counts delays and visibility timeouts in
//! wall-clock seconds. The queue reconciles the two with what this
//! process knows of the messages it sent and received ([`Local`]):
//! dueness is always decided against the caller's `now`; a message this
//! process delivered becomes visible again when the caller's time passes
//! its visibility deadline (`ChangeMessageVisibility` to 0) even if SQS's
//! whole-second timeout has not run out; [`Queue::next_due`] is exact for
//! the messages this process sent. With the wall clock this is SQS's own
//! behaviour with millisecond precision; with a simulated clock set in the
//! past (delays are then zero) it is the embedded queue's.
//!
//! **Duplicates.** A send whose id this process has queued and not acked
//! is dropped, and copies of one id received in one batch (or while
//! another copy is in flight here) are deleted. Across processes duplicates can remain;
//! the runtime drops events that no longer apply, so they cost a receive,
//! never a transition.

use crate::codec::{key, Item};
use crate::{backend_error, corrupt, AwsBackend};
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::operation::delete_message::DeleteMessageError;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use flowstate_ports::{Clock, Delivery, Queue, QueueMessage, StoreError, SystemClock};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// SQS's limit on `DelaySeconds`.
pub const MAX_DELAY_SECONDS: i64 = 900;
/// Bodies larger than this go to the table (SQS takes 256 KiB, and a task
/// result may be that large by itself).
pub const SPILL_BYTES: usize = 64 * 1024;
/// SQS's limit on a visibility timeout (12 hours).
const MAX_VISIBILITY_SECONDS: i64 = 43_200;
/// A queued message this long overdue that a receive did not return was
/// consumed by another process or dead-lettered: forget it.
const FORGET_AFTER_MS: i64 = 60_000;
/// ReceiveMessage calls one [`Queue::receive`] makes at most.
const MAX_RECEIVE_CALLS: usize = 10;

/// The body of an SQS message.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    id: String,
    due: i64,
    /// Send order among messages due at the same time.
    seq: u64,
    /// The message, unless it was spilled to the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<QueueMessage>,
}

/// What this process knows of messages it sent or received and has not
/// acked: their due times and, when delivered here, the receipt handle and
/// the caller-time end of their invisibility.
#[derive(Debug, Default)]
pub(crate) struct Local {
    entries: HashMap<String, Entry>,
    last_seq: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    due: i64,
    spilled: bool,
    /// Receipt handle and caller-time end of invisibility, while a copy
    /// delivered here is being processed.
    in_flight: Option<(String, i64)>,
    /// SQS's id of that copy: the same message received again (its SQS
    /// timeout ran out first) is a redelivery, another one a duplicate.
    message_id: Option<String>,
    /// Sent to the timer store: a receive that reaches its due time
    /// sweeps the store first.
    stored: bool,
}

fn wall_ms() -> i64 {
    SystemClock.now()
}

/// Whole seconds until `due` by the wall clock, rounded up (never early),
/// within SQS's 0..=900.
fn delay_seconds(due: i64) -> i32 {
    delay_from(due, wall_ms())
}

/// Whole seconds from `now` until `due`, rounded up, within SQS's 0..=900.
pub(crate) fn delay_from(due: i64, now: i64) -> i32 {
    let ms = due.saturating_sub(now);
    (ms.max(0) + 999).div_euclid(1000).min(MAX_DELAY_SECONDS) as i32
}

fn spill_pk(id: &str) -> String {
    format!("QB#{id}")
}

fn spill_key(id: &str) -> Item {
    key(spill_pk(id), "QB")
}

/// A received message before it is delivered.
struct Candidate {
    message_id: Option<String>,
    due: i64,
    seq: u64,
    handle: String,
    message: QueueMessage,
    attempts: u32,
    spilled: bool,
}

impl AwsBackend {
    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        // A poisoned lock only means another thread panicked mid-update of
        // a cache of hints; the data is still usable.
        self.inner
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) async fn queue_url(&self) -> Result<&str, StoreError> {
        let url = self
            .inner
            .queue_url
            .get_or_try_init(|| async {
                let out = self
                    .inner
                    .sqs
                    .get_queue_url()
                    .queue_name(&self.inner.settings.queue)
                    .send()
                    .await
                    .map_err(|e| match e.into_service_error() {
                        GetQueueUrlError::QueueDoesNotExist(_) => StoreError::Backend(format!(
                            "SQS queue '{}' does not exist (create it, or use --create-resources)",
                            self.inner.settings.queue
                        )),
                        other => backend_error("GetQueueUrl", other),
                    })?;
                out.queue_url
                    .ok_or_else(|| StoreError::Backend("GetQueueUrl: no URL".into()))
            })
            .await?;
        Ok(url)
    }

    /// Sets the queue's URL when it is already known (a Lambda function's
    /// settings name it), sparing a GetQueueUrl call on a cold start.
    pub fn set_queue_url(&self, url: String) {
        // Already set means resolved earlier to the same queue.
        let _ = self.inner.queue_url.set(url);
    }

    fn next_seq(&self) -> u64 {
        // Wall-clock microseconds keep the order across processes roughly;
        // the counter makes it strict within one.
        let mut local = self.local();
        let now = wall_ms().max(0) as u64 * 1000;
        local.last_seq = now.max(local.last_seq + 1);
        local.last_seq
    }

    async fn send_raw(&self, body: String, delay: i32) -> Result<(), StoreError> {
        let url = self.queue_url().await?;
        self.inner
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|e| backend_error("SendMessage", e))?;
        Ok(())
    }

    async fn delete_raw(&self, handle: &str) -> Result<(), StoreError> {
        let url = self.queue_url().await?;
        match self
            .inner
            .sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                // The handle is stale: the message was received again (and
                // will be processed and dropped as stale) or is gone.
                DeleteMessageError::ReceiptHandleIsInvalid(_) => Ok(()),
                other => Err(backend_error("DeleteMessage", other)),
            },
        }
    }

    /// Makes a received message visible again at once. Failures are left
    /// to SQS's own visibility timeout, which ends a little later.
    async fn release(&self, handle: &str) {
        let Ok(url) = self.queue_url().await else {
            return;
        };
        let result = self
            .inner
            .sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
        // Not in flight any more, a stale handle, or a failed call: in
        // each case SQS's own timeout (or an ack) settles the message.
        drop(result);
    }

    /// Decodes a received body; `Ok(None)` for a spilled body that is gone
    /// (its message was acked: this is a late duplicate).
    async fn decode(&self, body: &str) -> Result<Option<(Wire, QueueMessage, bool)>, StoreError> {
        let mut wire: Wire = serde_json::from_str(body).map_err(|e| corrupt("queue message", e))?;
        if let Some(m) = wire.m.take() {
            return Ok(Some((wire, m, false)));
        }
        match self.get_item(&spill_pk(&wire.id), "QB").await? {
            Some(item) => {
                let bytes = self.read_body(&item).await?;
                let m = serde_json::from_str(&bytes).map_err(|e| corrupt("queue message", e))?;
                Ok(Some((wire, m, true)))
            }
            None => Ok(None),
        }
    }
}

/// Messages delivered by Lambda's SQS event source (the stepper function):
/// SQS deletes a record when the function reports it done, so there is no
/// ack here.
impl AwsBackend {
    /// The message in a record's body if it is due at `now`. A message not
    /// due yet (a timer longer than 900 s) is sent again with the remaining
    /// delay and `None` returned: the caller reports the record done. `None`
    /// also for a late duplicate whose spilled body is gone.
    pub async fn accept_record(
        &self,
        body: &str,
        now: i64,
    ) -> Result<Option<QueueMessage>, StoreError> {
        let Some((wire, message, _)) = self.decode(body).await? else {
            return Ok(None);
        };
        if wire.due > now {
            self.defer(&wire.id, body, wire.due).await?;
            return Ok(None);
        }
        Ok(Some(message))
    }

    /// Sends a body again that is not due yet: to the timer store when it
    /// is due beyond SQS's delay, else to SQS with the remaining delay.
    async fn defer(&self, id: &str, body: &str, due: i64) -> Result<(), StoreError> {
        let now = wall_ms();
        let refused = if crate::timers::is_long(due, now) {
            let timer = crate::timers::Timer { id, body, due };
            self.store_timers(std::slice::from_ref(&timer), now).await?
        } else {
            vec![(body.to_string(), due)]
        };
        for (body, due) in refused {
            self.send_raw(body, delay_seconds(due)).await?;
        }
        Ok(())
    }

    /// After a record's message was handled: deletes its spilled body, if
    /// it had one.
    pub async fn finish_record(&self, body: &str) -> Result<(), StoreError> {
        let wire: Wire = serde_json::from_str(body).map_err(|e| corrupt("queue message", e))?;
        if wire.m.is_none() {
            self.batch_write(Vec::new(), vec![spill_key(&wire.id)])
                .await?;
        }
        Ok(())
    }
}

/// A message ready to go: its SQS body, due time and whether its
/// message went to the table.
struct Outgoing {
    id: String,
    body: String,
    due: i64,
    spilled: bool,
}

/// SendMessageBatch's limits: 10 messages, 256 KiB in all.
const SEND_BATCH: usize = 10;
const SEND_BATCH_BYTES: usize = 250_000;

impl AwsBackend {
    /// The SQS body of `message`; a large message is stored in the table
    /// first and the body names it.
    async fn outgoing(&self, message: &QueueMessage) -> Result<Outgoing, StoreError> {
        let json = crate::codec::to_json(message)?;
        let seq = self.next_seq();
        let spilled = json.len() > SPILL_BYTES;
        let wire = Wire {
            id: message.id.clone(),
            due: message.due,
            seq,
            m: (!spilled).then(|| message.clone()),
        };
        if spilled {
            let encoded = crate::codec::encode(&spill_pk(&message.id), "QB", Item::new(), &json);
            self.batch_write(encoded.into_items().collect(), Vec::new())
                .await?;
        }
        let body = serde_json::to_string(&wire).map_err(|e| corrupt("queue message", e))?;
        Ok(Outgoing {
            id: message.id.clone(),
            body,
            due: message.due,
            spilled,
        })
    }

    /// Sends up to 10 bodies (with their delays in seconds) in one call; a
    /// message SQS refused is sent again on its own.
    async fn send_raw_batch(&self, batch: Vec<(String, i32)>) -> Result<(), StoreError> {
        if let [(body, delay)] = batch.as_slice() {
            return self.send_raw(body.clone(), *delay).await;
        }
        let url = self.queue_url().await?;
        let mut entries = Vec::with_capacity(batch.len());
        for (i, (body, delay)) in batch.iter().enumerate() {
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .delay_seconds(*delay)
                    .build()
                    .map_err(|e| backend_error("SendMessageBatchRequestEntry", e))?,
            );
        }
        let out = self
            .inner
            .sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| backend_error("SendMessageBatch", e))?;
        for failed in out.failed() {
            let Some((body, delay)) = failed.id().parse::<usize>().ok().and_then(|i| batch.get(i))
            else {
                continue;
            };
            self.send_raw(body.clone(), *delay).await?;
        }
        Ok(())
    }

    /// Sends bodies with their delays in batches of up to 10 messages and
    /// 256 KiB, the batches concurrently.
    pub(crate) async fn send_bodies(&self, bodies: Vec<(String, i32)>) -> Result<(), StoreError> {
        let mut batches: Vec<Vec<(String, i32)>> = Vec::new();
        let mut bytes = 0;
        for (body, delay) in bodies {
            let fits = batches
                .last()
                .is_some_and(|b| b.len() < SEND_BATCH && bytes + body.len() <= SEND_BATCH_BYTES);
            if !fits {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += body.len();
            if let Some(batch) = batches.last_mut() {
                batch.push((body, delay));
            }
        }
        let sends: Vec<_> = batches
            .into_iter()
            .map(|batch| {
                let this = self.clone();
                async move { this.send_raw_batch(batch).await }
            })
            .collect();
        crate::table::concurrently(sends).await.map(drop)
    }

    fn remember_sent(&self, sent: &[Outgoing], stored: &HashSet<&str>) {
        if !self.inner.settings.track_messages {
            return;
        }
        let mut local = self.local();
        for m in sent {
            local.entries.insert(
                m.id.clone(),
                Entry {
                    due: m.due,
                    spilled: m.spilled,
                    in_flight: None,
                    message_id: None,
                    stored: stored.contains(m.id.as_str()),
                },
            );
        }
    }
}

impl Queue for AwsBackend {
    async fn send(&self, message: &QueueMessage) -> Result<(), StoreError> {
        self.send_batch(std::slice::from_ref(message)).await
    }

    async fn send_batch(&self, messages: &[QueueMessage]) -> Result<(), StoreError> {
        let tracked = self.inner.settings.track_messages;
        let mut outgoing = Vec::with_capacity(messages.len());
        let mut ids = HashSet::new();
        for message in messages {
            if tracked && self.local().entries.contains_key(&message.id) {
                continue;
            }
            if ids.insert(message.id.clone()) {
                outgoing.push(self.outgoing(message).await?);
            }
        }
        // Long timers wait in the table; the rest (and timers whose bucket
        // was swept already) go to SQS.
        let now = wall_ms();
        let long: Vec<crate::timers::Timer<'_>> = outgoing
            .iter()
            .filter(|m| crate::timers::is_long(m.due, now))
            .map(|m| crate::timers::Timer {
                id: &m.id,
                body: &m.body,
                due: m.due,
            })
            .collect();
        let refused = if long.is_empty() {
            Vec::new()
        } else {
            self.store_timers(&long, now).await?
        };
        let stored: HashSet<&str> = long
            .iter()
            .filter(|t| !refused.iter().any(|(body, _)| body == t.body))
            .map(|t| t.id)
            .collect();
        let bodies: Vec<(String, i32)> = outgoing
            .iter()
            .filter(|m| !crate::timers::is_long(m.due, now))
            .map(|m| (m.body.clone(), m.due))
            .chain(refused)
            .map(|(body, due)| (body, delay_seconds(due)))
            .collect();
        self.send_bodies(bodies).await?;
        self.remember_sent(&outgoing, &stored);
        Ok(())
    }

    async fn sweep_timers(&self, now: i64) -> Result<usize, StoreError> {
        let sent = self.sweep_timer_store(now).await?;
        let mut local = self.local();
        for entry in local.entries.values_mut() {
            if entry.stored && !crate::timers::is_long(entry.due, now) {
                entry.stored = false;
            }
        }
        Ok(sent)
    }

    async fn retry(&self, receipt: &str, now: i64, delay_ms: i64) -> Result<(), StoreError> {
        let (handle, id) = receipt.split_once('\n').unwrap_or((receipt, ""));
        let url = self.queue_url().await?;
        let seconds = ((delay_ms.max(0) + 999) / 1000).min(MAX_VISIBILITY_SECONDS) as i32;
        match self
            .inner
            .sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => match e.into_service_error() {
                // Received again meanwhile, or gone: nothing to delay.
                ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_)
                | ChangeMessageVisibilityError::MessageNotInflight(_) => return Ok(()),
                other => return Err(backend_error("ChangeMessageVisibility", other)),
            },
        }
        if let Some(entry) = self.local().entries.get_mut(id) {
            // Back in the caller's time too (see "Whose time" above).
            entry.in_flight = Some((handle.to_string(), now.saturating_add(delay_ms.max(0))));
        }
        Ok(())
    }

    async fn receive(
        &self,
        now: i64,
        max: usize,
        visibility_ms: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let url = self.queue_url().await?.to_string();
        let max = max.max(1);
        // Messages delivered here whose invisibility ended in the caller's
        // time come back now.
        let expired: Vec<String> = {
            let mut local = self.local();
            local
                .entries
                .values_mut()
                .filter(|e| e.in_flight.as_ref().is_some_and(|(_, until)| *until <= now))
                .filter_map(|e| e.in_flight.take().map(|(h, _)| h))
                .collect()
        };
        for handle in &expired {
            self.release(handle).await;
        }
        // A timer this process stored that is due within SQS's delay: the
        // store is swept now rather than at the next minute's sweep.
        let sweep = self
            .local()
            .entries
            .values()
            .any(|e| e.stored && !crate::timers::is_long(e.due, now));
        if sweep {
            self.sweep_timers(now).await?;
        }
        let visibility = ((visibility_ms.max(0) + 999) / 1000).min(MAX_VISIBILITY_SECONDS) as i32;
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut drained = false;
        // Batches of up to 10, plus one: a call that returned only
        // messages not yet due (re-sent below) does not count, up to
        // MAX_RECEIVE_CALLS in all, so that a queue of long timers neither
        // hides due messages behind them nor makes one receive unbounded.
        let mut budget = max.div_ceil(10) + 1;
        let mut calls = 0;
        while budget > 0 && calls < MAX_RECEIVE_CALLS {
            if candidates.len() >= max {
                break;
            }
            calls += 1;
            let before = candidates.len();
            let want = (max - candidates.len()).min(10) as i32;
            let out = self
                .inner
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(want)
                .visibility_timeout(visibility)
                .wait_time_seconds(0)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| backend_error("ReceiveMessage", e))?;
            let messages = out.messages.unwrap_or_default();
            let got = messages.len();
            let mut resent = false;
            for m in messages {
                let message_id = m.message_id;
                let (Some(handle), Some(body)) = (m.receipt_handle, m.body) else {
                    continue;
                };
                let attempts = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                let (wire, message, spilled) = match self.decode(&body).await {
                    Ok(Some(decoded)) => decoded,
                    Ok(None) => {
                        self.delete_raw(&handle).await?;
                        continue;
                    }
                    // A body nobody can read is a poison message: left
                    // in flight, SQS moves it to the dead-letter queue
                    // after the redrive policy's receive count.
                    Err(_) => continue,
                };
                if wire.due > now {
                    // Not due: a fresh copy with the remaining delay.
                    self.defer(&wire.id, &body, wire.due).await?;
                    self.delete_raw(&handle).await?;
                    // This process now knows the copy: `next_due` is exact
                    // for messages other processes sent once seen here
                    // (without it a process taking over after a crash
                    // could only answer "visible now" by the wall clock),
                    // and a send of the same id is a duplicate.
                    self.local().entries.entry(wire.id).or_insert(Entry {
                        due: wire.due,
                        spilled,
                        in_flight: None,
                        message_id: None,
                        stored: crate::timers::is_long(wire.due, wall_ms()),
                    });
                    resent = true;
                    continue;
                }
                let duplicate_of_in_flight = self.local().entries.get(&wire.id).is_some_and(|e| {
                    e.in_flight.is_some() && message_id.is_some() && e.message_id != message_id
                });
                if duplicate_of_in_flight || !seen.insert(wire.id.clone()) {
                    self.delete_raw(&handle).await?;
                    continue;
                }
                candidates.push(Candidate {
                    message_id,
                    due: wire.due,
                    seq: wire.seq,
                    handle,
                    message,
                    attempts,
                    spilled,
                });
            }
            if got < want as usize {
                drained = true;
                break;
            }
            if candidates.len() > before || !resent {
                budget -= 1;
            }
        }
        candidates.sort_by_key(|c| (c.due, c.seq));
        let extra = if candidates.len() > max {
            candidates.split_off(max)
        } else {
            Vec::new()
        };
        for c in &extra {
            self.release(&c.handle).await;
        }
        let mut local = self.local();
        if drained {
            local.entries.retain(|_, e| {
                e.in_flight.is_some() || e.due >= now.saturating_sub(FORGET_AFTER_MS)
            });
        }
        let mut deliveries = Vec::with_capacity(candidates.len());
        for c in candidates {
            let entry = local.entries.entry(c.message.id.clone()).or_insert(Entry {
                due: c.due,
                spilled: c.spilled,
                in_flight: None,
                message_id: None,
                stored: false,
            });
            entry.in_flight = Some((c.handle.clone(), now.saturating_add(visibility_ms)));
            entry.message_id = c.message_id;
            entry.spilled |= c.spilled;
            deliveries.push(Delivery {
                // The id rides along so that `ack` can forget the message
                // without a lookup (handles contain no newline).
                receipt: format!("{}\n{}", c.handle, c.message.id),
                message: c.message,
                attempts: c.attempts,
            });
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        let (handle, id) = receipt.split_once('\n').unwrap_or((receipt, ""));
        self.delete_raw(handle).await?;
        let entry = self.local().entries.remove(id);
        if entry.is_some_and(|e| e.spilled) {
            self.batch_write(Vec::new(), vec![spill_key(id)]).await?;
        }
        Ok(())
    }

    async fn next_due(&self) -> Result<Option<i64>, StoreError> {
        let known = {
            let local = self.local();
            local
                .entries
                .values()
                .map(|e| match &e.in_flight {
                    Some((_, until)) => *until,
                    None => e.due,
                })
                .min()
        };
        if known.is_some() {
            return Ok(known);
        }
        // Nothing sent from here: ask SQS whether anything is queued at
        // all (sent by another process, or before a restart).
        let url = self.queue_url().await?;
        let out = self
            .inner
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| backend_error("GetQueueAttributes", e))?;
        let attrs = out.attributes.unwrap_or_default();
        let count = |name: QueueAttributeName| -> u64 {
            attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        let visible = count(QueueAttributeName::ApproximateNumberOfMessages);
        let later = count(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
        Ok(if visible > 0 {
            Some(wall_ms())
        } else if later > 0 {
            // Unknown exactly; a second is SQS's own granularity.
            Some(wall_ms() + 1000)
        } else {
            None
        })
    }

    async fn release_all(&self) -> Result<(), StoreError> {
        let handles: Vec<String> = self
            .local()
            .entries
            .values_mut()
            .filter_map(|e| e.in_flight.take().map(|(h, _)| h))
            .collect();
        for handle in &handles {
            self.release(handle).await;
        }
        Ok(())
    }
}
