//! A Map over 10,000 items, with tasks and MaxConcurrency, survives a
//! crash mid-way and duplicate delivery with the same output and history.
//! Run as an EXPRESS machine (durably, through start_execution): 10,000
//! inline iterations write ~70,000 history events, past STANDARD's limit
//! of 25,000 (such an execution fails, as in Step Functions).

use crate::durable_support::*;
use flowstate_ports::WorkflowType;
use serde_json::json;

const MAP: &str = r#"{
  "StartAt": "Each",
  "States": {
    "Each": {
      "Type": "Map", "MaxConcurrency": 100,
      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                 "Parameters": {"item.$": "$"}, "End": true}}},
      "End": true
    }
  }
}"#;

async fn map_survives_a_crash_and_duplicates(n: u32) {
    let items: Vec<u32> = (0..n).collect();
    let inputs = [json!(items)];
    let (clean, total, _) = run_kind(MAP, &inputs, None, false, WorkflowType::Express).await;
    assert_eq!(clean[0].status, flowstate_engine::Status::Succeeded);
    let out = clean[0]
        .output
        .as_ref()
        .and_then(|o| o.as_array())
        .map(|a| a.len());
    assert_eq!(out, Some(n as usize));
    let crash = Some((total / 2, CrashMode::After));
    let (crashed, _, did) = run_kind(MAP, &inputs, crash, true, WorkflowType::Express).await;
    assert!(did);
    assert_eq!(crashed[0].output, clean[0].output);
    assert!(
        crashed[0].history == clean[0].history,
        "same history after a crash with duplicates"
    );
}

#[tokio::test]
async fn a_map_over_1000_items_survives_a_crash_and_duplicates() {
    map_survives_a_crash_and_duplicates(1_000).await;
}

/// Each step's work does not grow with the Map's size (the execution's
/// input is stored once, a frame's data only when it changes, and a
/// duplicate delivery keeps the execution decoded), so this runs by
/// default: ~20,000 task steps, twice, in seconds.
#[tokio::test]
async fn a_map_over_10000_items_survives_a_crash_and_duplicates() {
    map_survives_a_crash_and_duplicates(10_000).await;
}
