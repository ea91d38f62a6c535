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

/// A data directory of schema version 2 (no outbox claims) opens: its
/// pending outbox entries become unclaimed ones, which a sweep takes.
#[tokio::test]
async fn a_version_2_data_directory_is_migrated() {
    use flowstate_ports::{Claim, Store};
    let root = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(root.path().join("flowstate.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE executions(id INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE,
                sm_arn TEXT NOT NULL, status TEXT NOT NULL, start_time INTEGER NOT NULL,
                version INTEGER NOT NULL, header TEXT NOT NULL, input TEXT NOT NULL);
             CREATE TABLE outbox(id TEXT PRIMARY KEY, created INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE INDEX outbox_by_created ON outbox(created);
             PRAGMA user_version=2;",
        )
        .unwrap();
        // An entry as version 2 wrote it: no claim.
        let body = serde_json::json!({
            "id": "arn#1#0", "execution_arn": "arn", "created": 5,
            "effect": {"Finished": {"status": "SUCCEEDED"}}, "test_case": null
        });
        conn.execute(
            "INSERT INTO outbox(id, created, body) VALUES ('arn#1#0', 5, ?1)",
            [body.to_string()],
        )
        .unwrap();
    }
    let db = Embedded::open(root.path()).unwrap();
    let pending = db.pending_outbox(0, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].claim, Claim::default());
    let claim = Claim {
        owner: "sweeper".into(),
        until: 100,
    };
    let claimed = db.claim_outbox("arn#1#0", None, 0, &claim).await.unwrap();
    assert_eq!(claimed.map(|e| e.claim), Some(claim));
}
