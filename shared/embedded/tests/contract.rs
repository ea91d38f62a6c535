//! The embedded backend passes the Store/Queue contract, on a file and in memory.

use flowstate_embedded::Embedded;

#[tokio::test]
async fn memory_backend_passes_the_contract() {
    flowstate_runtime::contract::run_all(|| async { Embedded::memory().unwrap() }).await;
}

#[tokio::test]
async fn file_backend_passes_the_contract() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    flowstate_runtime::contract::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = root.path().join(format!("db{n}"));
        async move { Embedded::open(dir).unwrap() }
    })
    .await;
}

#[tokio::test]
async fn a_file_backend_keeps_its_data_across_reopen() {
    use flowstate_ports::{MessageBody, Queue, QueueMessage};
    let root = tempfile::tempdir().unwrap();
    {
        let db = Embedded::open(root.path()).unwrap();
        let m = QueueMessage {
            id: "x".into(),
            execution_arn: "arn".into(),
            due: 5,
            body: MessageBody::Event(flowstate_engine::Event::Start),
        };
        db.send(&m).await.unwrap();
    }
    let db = Embedded::open(root.path()).unwrap();
    assert_eq!(db.next_due().await.unwrap(), Some(5));
}
