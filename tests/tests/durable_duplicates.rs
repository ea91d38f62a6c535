//! Duplicate delivery of every message produces no duplicate transition
//! (issue #3): every queue message is sent twice.

use crate::durable_support::*;
use serde_json::json;

#[tokio::test]
async fn every_message_delivered_twice_changes_nothing() {
    let inputs = [json!({"k": 1}), json!({"k": 2}), json!({"k": 3})];
    let (clean, _, _) = run(WORKFLOW, &inputs, None, false).await;
    let (dup, _, _) = run(WORKFLOW, &inputs, None, true).await;
    assert_eq!(dup, clean);
    for o in &dup {
        let ids: Vec<u64> = o.history.iter().map(|h| h.0).collect();
        assert_eq!(
            ids,
            (1..=ids.len() as u64).collect::<Vec<_>>(),
            "ids are consecutive: nothing twice"
        );
    }
}
