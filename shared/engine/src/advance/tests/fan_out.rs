//! Parallel and Map.

use super::*;

fn work_task() -> Value {
    json!({"Type": "Task", "Resource": LAMBDA, "End": true})
}

#[test]
fn parallel_starts_each_branch_as_a_frame_and_joins_their_outputs_in_branch_order() {
    let sm = machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": work_task()}},
            {"StartAt": "B", "States": {"B": work_task()}}
        ]}
    }}));
    let (mut exec, step) = start(&sm, json!({"n": 1}));
    let calls = invocations(&step);
    let frames: Vec<_> = calls.iter().map(|(f, s, _)| (*f, *s)).collect();
    assert_eq!(frames, [(1, 1), (2, 1)]);
    assert!(calls
        .iter()
        .all(|(_, _, c)| c.parameters == json!({"n": 1})));
    assert_eq!(exec.frames[&1].parent, Some((ROOT, 0)));
    assert_eq!(exec.frames[&2].parent, Some((ROOT, 1)));
    assert!(matches!(&exec.frames[&ROOT].waiting, Waiting::Children(j) if j.total == 2 && !j.map));
    assert_eq!(
        &types(&step)[..3],
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted"
        ]
    );

    // The second branch answers first; the output still follows branch order.
    let step = apply(&mut exec, &sm, succeeded(2, 1, json!("b")), NOW);
    assert_eq!(exec.status, Status::Running);
    assert!(!types(&step).contains(&"ParallelStateSucceeded"));
    let step = apply(&mut exec, &sm, succeeded(1, 1, json!("a")), NOW);
    assert_eq!(output(&exec), Some(&json!(["a", "b"])));
    assert!(types(&step).ends_with(&[
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded"
    ]));
}

#[test]
fn a_failing_branch_fails_the_parallel_and_aborts_the_other_branches() {
    let sm = machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Hold"}],
            "Branches": [
                {"StartAt": "A", "States": {"A": work_task()}},
                {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "branch"}}}
            ]},
        "Done": {"Type": "Succeed"},
        "Hold": {"Type": "Wait", "Seconds": 60, "End": true}
    }}));
    let (mut exec, step) = start(&sm, json!({}));
    assert!(types(&step).contains(&"ParallelStateFailed"));
    assert_eq!(exec.frames[&ROOT].state, state(&sm, "Hold"));
    assert_eq!(
        exec.frames[&ROOT].input.as_ref(),
        &json!({"error": {"Error": "Broken", "Cause": "branch"}})
    );
    assert!(step.frames_removed.contains(&1) && step.frames_removed.contains(&2));
    assert_eq!(exec.frames.len(), 1);
    // The running branch's task answers later: its frame is gone.
    let before = exec.clone();
    assert!(matches!(
        try_apply(&mut exec, &sm, succeeded(1, 1, json!("late")), NOW),
        Err(EngineError::Stale { frame: 1, .. })
    ));
    assert_eq!(exec, before);
}

fn map_of_tasks(max_concurrency: u64) -> StateMachine {
    machine(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": max_concurrency, "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "W", "States": {"W": work_task()}}}
    }}))
}

#[test]
fn map_runs_no_more_iterations_at_once_than_max_concurrency() {
    let sm = map_of_tasks(2);
    let (mut exec, step) = start(&sm, json!([10, 20, 30, 40]));
    let started: Vec<_> = invocations(&step).iter().map(|(f, _, _)| *f).collect();
    assert_eq!(started, [1, 2]);
    // Iterations not started yet have no frame: their inputs wait in the
    // Map's frame.
    assert!(!exec.frames.contains_key(&3) && !exec.frames.contains_key(&4));
    assert_eq!(
        exec.frames[&ROOT].iteration_inputs.as_deref(),
        Some(&vec![json!(10), json!(20), json!(30), json!(40)])
    );
    assert_eq!(exec.next_frame_id, 5, "the iterations' ids are reserved");

    // One iteration ending lets exactly one more start.
    let step = apply(&mut exec, &sm, succeeded(2, 1, json!(2)), NOW);
    let started: Vec<_> = invocations(&step)
        .iter()
        .map(|(f, _, c)| (*f, c.parameters.clone()))
        .collect();
    assert_eq!(started, [(3, json!(30))]);
    assert!(types(&step).contains(&"MapIterationSucceeded"));
    assert!(types(&step).contains(&"MapIterationStarted"));
}

#[test]
fn map_results_come_back_in_item_order_whatever_the_order_of_answers() {
    let sm = map_of_tasks(0);
    let (mut exec, step) = start(&sm, json!(["a", "b", "c"]));
    assert_eq!(invocations(&step).len(), 3);
    for (frame, answer) in [(3, "C"), (1, "A"), (2, "B")] {
        apply(&mut exec, &sm, succeeded(frame, 1, json!(answer)), NOW);
    }
    assert_eq!(exec.status, Status::Succeeded);
    assert_eq!(output(&exec), Some(&json!(["A", "B", "C"])));
}

#[test]
fn a_map_over_no_items_succeeds_with_an_empty_array() {
    let sm = map_of_tasks(0);
    let (exec, step) = start(&sm, json!([]));
    assert_eq!(output(&exec), Some(&json!([])));
    assert!(invocations(&step).is_empty());
}

#[test]
fn map_items_that_are_not_an_array_fail_with_states_runtime() {
    let sm = map_of_tasks(0);
    let (exec, _) = start(&sm, json!({"not": "an array"}));
    assert_eq!(exec.error.as_deref(), Some("States.Runtime"));
    assert!(exec
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("Map state input must be an array")));
}

fn checking_map(tolerance: Value) -> StateMachine {
    let mut map = json!({"Type": "Map", "End": true,
    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$", "StringEquals": "bad", "Next": "Reject"}
        ], "Default": "Accept"},
        "Reject": {"Type": "Fail", "Error": "Bad", "Cause": "rejected"},
        "Accept": {"Type": "Pass", "End": true}
    }}});
    if let (Some(m), Some(t)) = (map.as_object_mut(), tolerance.as_object()) {
        m.extend(t.clone());
    }
    machine(json!({"StartAt": "M", "States": {"M": map}}))
}

#[test]
fn a_failed_iteration_within_the_tolerated_count_leaves_its_error_in_the_results() {
    let sm = checking_map(json!({"ToleratedFailureCount": 1}));
    let (exec, step) = start(&sm, json!(["ok", "bad", "fine"]));
    assert_eq!(
        output(&exec),
        Some(&json!(["ok", {"Error": "Bad", "Cause": "rejected"}, "fine"]))
    );
    assert!(types(&step).contains(&"MapIterationFailed"));
}

#[test]
fn failures_beyond_the_tolerated_count_fail_the_map() {
    let sm = checking_map(json!({"ToleratedFailureCount": 1}));
    let (exec, step) = start(&sm, json!(["bad", "bad", "ok"]));
    assert_eq!(
        exec.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert!(types(&step).contains(&"MapStateFailed"));
}

#[test]
fn without_a_tolerance_an_iteration_failure_is_the_map_failure() {
    let sm = checking_map(json!({}));
    let (exec, _) = start(&sm, json!(["ok", "bad"]));
    assert_eq!(exec.error.as_deref(), Some("Bad"));
    assert_eq!(exec.cause.as_deref(), Some("rejected"));
}

#[test]
fn item_selector_sees_the_item_and_its_index() {
    let sm = machine(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "End": true, "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": true}}}}
    }}));
    let (exec, _) = start(&sm, json!({"items": ["x", "y"], "tag": "t"}));
    assert_eq!(
        output(&exec),
        Some(&json!([
            {"item": "x", "index": 0, "tag": "t"},
            {"item": "y", "index": 1, "tag": "t"}
        ]))
    );
}

#[test]
fn an_inline_map_runs_at_most_40_iterations_at_once_whatever_its_max_concurrency() {
    for max_concurrency in [0, 100] {
        let sm = map_of_tasks(max_concurrency);
        let items: Vec<u32> = (0..100).collect();
        let (mut exec, step) = start(&sm, json!(items));
        let started: Vec<FrameId> = invocations(&step).iter().map(|(f, _, _)| *f).collect();
        assert_eq!(started, (1..=40).collect::<Vec<_>>(), "{max_concurrency}");
        assert_eq!(exec.frames.len(), 41, "the Map and 40 iterations");
        // Each iteration that ends lets one more start, never more.
        let step = apply(&mut exec, &sm, succeeded(7, 1, json!(7)), NOW);
        let started: Vec<_> = invocations(&step)
            .iter()
            .map(|(f, _, c)| (*f, c.parameters.clone()))
            .collect();
        assert_eq!(started, [(41, json!(40))]);
    }
}

#[test]
fn a_distributed_map_is_not_held_to_the_inline_limit() {
    let sm = machine(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "W", "States": {"W": work_task()}}}
    }}));
    let items: Vec<u32> = (0..50).collect();
    let (_, step) = start(&sm, json!(items));
    assert_eq!(invocations(&step).len(), 50);
}

#[test]
fn a_map_of_pass_states_over_more_than_40_items_keeps_item_order() {
    let sm = machine(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": true}}}}
    }}));
    let items: Vec<u32> = (0..100).collect();
    let (exec, step) = start(&sm, json!(items));
    assert_eq!(output(&exec), Some(&json!(items)));
    let started = types(&step)
        .iter()
        .filter(|t| **t == "MapIterationStarted")
        .count();
    assert_eq!(started, 100);
}

#[test]
fn steps_applied_one_after_the_other_merge_into_one() {
    let sm = machine(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": work_task()}},
            {"StartAt": "B", "States": {"B": work_task()}}
        ]}
    }}));
    let (mut exec, _) = start(&sm, json!({}));
    let first = apply(&mut exec, &sm, succeeded(1, 1, json!("a")), NOW);
    assert!(
        first.frames_changed.contains(&1),
        "the first answer changes its branch"
    );
    let second = apply(&mut exec, &sm, succeeded(2, 1, json!("b")), NOW);
    let history: Vec<u64> = first
        .history
        .iter()
        .chain(&second.history)
        .map(|e| e.id)
        .collect();
    let merged = Step::merge([first, second], &exec);
    assert_eq!(
        merged.history.iter().map(|e| e.id).collect::<Vec<_>>(),
        history
    );
    // Branch 1 changed in the first step and is gone after the second.
    assert_eq!(merged.frames_removed, [0, 1, 2]);
    assert!(merged.frames_changed.is_empty());
    assert_eq!(
        merged.effects,
        [Effect::Finished {
            status: Status::Succeeded
        }]
    );
}
