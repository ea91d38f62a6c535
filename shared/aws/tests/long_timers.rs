//! Long timers on AWS wait in the table, not in SQS: no message while they
//! wait, found by any process's sweep, and never lost to a sweep that got
//! to their bucket first.

// Test code: helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

use crate::queue_takeover::{message, other_process};
use flowstate_aws::AwsBackend;
use flowstate_ports::{Clock, Queue, SystemClock};

const DAY: i64 = 86_400_000;

/// Messages in SQS, visible, delayed or in flight.
async fn messages_in_sqs(moto: &flowstate_testkit::Moto, backend: &AwsBackend) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let url = sqs
        .get_queue_url()
        .queue_name(&backend.settings().queue)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesDelayed,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| {
        attrs
            .get(a)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}

#[tokio::test]
async fn a_day_long_timer_is_no_sqs_message_until_a_sweep_near_its_due_time() {
    let moto = flowstate_testkit::Moto::start();
    let sender = moto.backend().await;
    let now = SystemClock.now();
    let due = now + DAY;
    sender.send(&message("day", due)).await.unwrap();
    assert_eq!(
        messages_in_sqs(&moto, &sender).await,
        0,
        "a timer a day away must not sit in SQS (re-sent every 900 s)"
    );
    // Another process (the stepper's schedule) sweeps: nothing is due
    // within 900 s yet, then the timer is.
    let sweeper = other_process(&moto, &sender).await;
    assert_eq!(sweeper.sweep_timers(now).await.unwrap(), 0);
    assert_eq!(sweeper.sweep_timers(now + 60_000).await.unwrap(), 0);
    assert_eq!(messages_in_sqs(&moto, &sender).await, 0);
    assert_eq!(sweeper.sweep_timers(due).await.unwrap(), 1);
    assert_eq!(sweeper.sweep_timers(due).await.unwrap(), 0, "swept once");
    let got = sweeper.receive(due, 10, 30_000).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, message("day", due));
}

#[tokio::test]
async fn a_timer_whose_bucket_was_swept_already_goes_to_sqs_instead() {
    let moto = flowstate_testkit::Moto::start();
    let sender = moto.backend().await;
    let now = SystemClock.now();
    // A sweeper whose clock is days ahead seals the buckets up to then.
    let sweeper = other_process(&moto, &sender).await;
    sender.send(&message("first", now + DAY)).await.unwrap();
    assert_eq!(sweeper.sweep_timers(now + 3 * DAY).await.unwrap(), 1);
    assert_eq!(messages_in_sqs(&moto, &sender).await, 1);
    // A timer in a swept bucket is refused by the store: SQS carries it
    // (re-sent until due), it is not lost in a bucket nobody reads again.
    sender.send(&message("late", now + DAY)).await.unwrap();
    assert_eq!(messages_in_sqs(&moto, &sender).await, 2);
    assert_eq!(sweeper.sweep_timers(now + 3 * DAY).await.unwrap(), 0);
}
