//! The SQS queue seen from a process that did not send the messages (a
//! stepper taking over after a crash): it learns the due times of the
//! messages it receives early, and finds due messages queued behind
//! messages that are not due yet.

// Test code: helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

use flowstate_aws::{AwsBackend, Settings};
use flowstate_engine::Event;
use flowstate_ports::{MessageBody, Queue, QueueMessage};

/// A caller's clock in the past: SQS delays are then zero, and dueness is
/// decided by the caller's time alone.
const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

pub(crate) fn message(id: &str, due: i64) -> QueueMessage {
    QueueMessage {
        id: id.into(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:M:e".into(),
        due,
        body: MessageBody::Event(Event::Stop {
            error: None,
            cause: None,
        }),
    }
}

/// Another process's view of the same table and queue: nothing known of
/// what `sender` sent.
pub(crate) async fn other_process(
    moto: &flowstate_testkit::Moto,
    sender: &AwsBackend,
) -> AwsBackend {
    let settings: Settings = sender.settings().clone();
    AwsBackend::new(&moto.sdk_config().await, settings)
}

#[tokio::test]
async fn a_process_learns_the_due_time_of_a_message_it_received_early() {
    let moto = flowstate_testkit::Moto::start();
    let sender = moto.backend().await;
    sender.send(&message("timer", NOW + HOUR)).await.unwrap();
    let taker = other_process(&moto, &sender).await;
    assert!(taker.receive(NOW, 10, 30_000).await.unwrap().is_empty());
    assert_eq!(taker.next_due().await.unwrap(), Some(NOW + HOUR));
    let due = taker.receive(NOW + HOUR, 10, 30_000).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message.id, "timer");
}

#[tokio::test]
async fn a_due_message_behind_messages_not_yet_due_is_received() {
    let moto = flowstate_testkit::Moto::start();
    let sender = moto.backend().await;
    for i in 0..4 {
        sender
            .send(&message(&format!("later-{i}"), NOW + HOUR))
            .await
            .unwrap();
    }
    sender.send(&message("now", NOW)).await.unwrap();
    let taker = other_process(&moto, &sender).await;
    let got = taker.receive(NOW, 1, 30_000).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|d| d.message.id.as_str())
            .collect::<Vec<_>>(),
        ["now"]
    );
    taker.ack(&got[0].receipt).await.unwrap();
    assert_eq!(taker.next_due().await.unwrap(), Some(NOW + HOUR));
}
