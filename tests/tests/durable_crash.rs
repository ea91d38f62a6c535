//! Crash safety of the durable runtime (issue #3): a crash at every I/O
//! point of every step, then a restart on the same data, ends every
//! execution with the same output and the same history as a run without
//! a crash.

use crate::durable_support::*;
use serde_json::json;

#[tokio::test]
async fn a_crash_at_any_io_point_changes_nothing() {
    let inputs = [json!({"k": 1}), json!({"k": 2})];
    let (clean, total, _) = run(WORKFLOW, &inputs, None, false).await;
    for o in &clean {
        assert_eq!(
            o.status,
            flowstate_engine::Status::Succeeded,
            "{:#?}",
            o.history.last()
        );
        assert!(o.history.len() > 40);
    }
    assert!(total > 50, "the workflow makes many I/O calls ({total})");
    let mut crashes = 0;
    for n in 1..=total {
        for mode in [CrashMode::Before, CrashMode::After] {
            let (outcomes, _, crashed) = run(WORKFLOW, &inputs, Some((n, mode)), false).await;
            assert!(crashed, "I/O call {n} happens in the crashed run too");
            crashes += 1;
            assert_eq!(outcomes.len(), clean.len());
            for (o, c) in outcomes.iter().zip(&clean) {
                assert_eq!(o.status, c.status, "crash at {n} {mode:?}");
                assert_eq!(o.output, c.output, "crash at {n} {mode:?}");
                if o.history != c.history {
                    let first = o.history.iter().zip(&c.history).position(|(a, b)| a != b);
                    panic!(
                        "crash at {n} {mode:?}: histories differ at {first:?}: {:#?} vs {:#?}",
                        first.map(|i| &o.history[i]),
                        first.map(|i| &c.history[i])
                    );
                }
            }
        }
    }
    assert_eq!(crashes, 2 * total);
}
