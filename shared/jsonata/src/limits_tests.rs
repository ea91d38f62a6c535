//! Tests of the evaluation and parse bounds.

use serde_json::{json, Map};

use crate::{Environment, Expression, Limits};

fn env(b: &Map<String, serde_json::Value>) -> Environment<'_> {
    Environment {
        bindings: b,
        now_millis: 0,
        seed: 1,
    }
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_error() {
    let b = Map::new();
    let e = Expression::parse("($f := function($n){ 1 + $f($n + 1) }; $f(0))").unwrap();
    let err = e.evaluate(None, &env(&b)).unwrap_err();
    assert_eq!(err.code, "U1001");
}

#[test]
fn deep_recursion_is_safe_on_a_small_thread_stack() {
    // 128 KiB is far smaller than what 500 levels need without stack growth
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            let b = Map::new();
            let e = Expression::parse(
                "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))",
            )
            .unwrap();
            e.evaluate(None, &env(&b)).map_err(|e| e.code)
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), Err("U1001".to_string()));
}

#[test]
fn tail_calls_do_not_consume_depth() {
    let b = Map::new();
    let e = Expression::parse(
        "($loop := function($n){ $n = 0 ? 'done' : $loop($n - 1) }; $loop(20000))",
    )
    .unwrap();
    assert_eq!(e.evaluate(None, &env(&b)).unwrap(), Some(json!("done")));
}

#[test]
fn infinite_tail_loop_hits_the_step_limit() {
    let b = Map::new();
    let e = Expression::parse("($loop := function(){ $loop() }; $loop())").unwrap();
    let limits = Limits {
        max_depth: 500,
        max_steps: 100_000,
        ..Limits::default()
    };
    let err = e.evaluate_with_limits(None, &env(&b), limits).unwrap_err();
    assert_eq!(err.code, "U1001");
}

#[test]
fn custom_depth_limit_applies() {
    let b = Map::new();
    let e =
        Expression::parse("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(50))").unwrap();
    assert_eq!(e.evaluate(None, &env(&b)).unwrap(), Some(json!(50)));
    let limits = Limits {
        max_depth: 40,
        max_steps: 1_000_000,
        ..Limits::default()
    };
    assert_eq!(
        e.evaluate_with_limits(None, &env(&b), limits)
            .unwrap_err()
            .code,
        "U1001"
    );
}

#[test]
fn huge_ranges_are_rejected() {
    let b = Map::new();
    let e = Expression::parse("[1..100000000]").unwrap();
    assert_eq!(e.evaluate(None, &env(&b)).unwrap_err().code, "D2014");
}

#[test]
fn parse_depth_is_bounded() {
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || Expression::parse(&deep).map(|_| ()).map_err(|e| e.code))
        .unwrap();
    assert_eq!(handle.join().unwrap(), Err("U1001".to_string()));
    let nested = format!("{}1{}", "[".repeat(50), "]".repeat(50));
    assert!(Expression::parse(&nested).is_ok());
}

#[test]
fn never_panics_on_garbage() {
    let b = Map::new();
    for src in [
        "",
        "(",
        ")",
        "[",
        "{",
        "$",
        "a.",
        "..",
        "/",
        "//",
        "/[/",
        "\"",
        "`",
        "1e999",
        "%",
        "a[",
        "function(",
        "|a|",
        "$f(",
        "{'a':}",
        "?",
        "a ~> ",
        "$x:=",
        "λ",
        "**",
        "#$i",
        "@$x",
    ] {
        if let Ok(e) = Expression::parse(src) {
            let _ = e.evaluate(Some(&json!({"a": [1, 2]})), &env(&b));
        }
    }
}

#[test]
fn non_finite_results_are_d1001() {
    let b = Map::new();
    let e = Expression::parse("1e300 * 1e300 * 2").unwrap();
    assert_eq!(e.evaluate(None, &env(&b)).unwrap_err().code, "D1001");
    assert_eq!(
        Expression::parse("1/0")
            .unwrap()
            .evaluate(None, &env(&b))
            .unwrap_err()
            .code,
        "D1001"
    );
}

#[test]
fn integral_numbers_serialise_as_integers() {
    let b = Map::new();
    let e = Expression::parse("[2.0 * 1, 0.5 + 0.25, -0]").unwrap();
    let v = e.evaluate(None, &env(&b)).unwrap().unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap(), "[2,0.75,0]");
}

/// Issue 12: long operator chains crashed the process at 8-18k links (the
/// chain itself does not recurse while parsing, but every pass over the
/// left-deep tree it builds does, dropping it included).
#[test]
fn issue_12_long_chains_are_refused_with_their_position() {
    let chains = [
        format!("a{}", ".a".repeat(20_000)),
        format!("1{}", "+1".repeat(20_000)),
        format!("a{}", "[0]".repeat(20_000)),
        format!("1{}", "~>$string".repeat(20_000)),
        format!("true{}", " or true".repeat(20_000)),
        format!("'a'{}", "&'a'".repeat(20_000)),
        format!("a{{'k': 1}}{}", "^(x)".repeat(20_000)),
        format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000)),
        format!("{}1{}", "{'a':".repeat(20_000), "}".repeat(20_000)),
        format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000)),
        format!("{}1{}", "function($x){".repeat(20_000), "}".repeat(20_000)),
        format!("{}1", "-".repeat(20_000)),
        format!("{}1{}", "$f(".repeat(20_000), ")".repeat(20_000)),
        format!("{}1", "true ? ".repeat(20_000)),
    ];
    // a small stack, as on a server's worker threads
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            chains
                .iter()
                .map(|src| Expression::parse(src).map(|_| ()))
                .collect::<Vec<_>>()
        })
        .unwrap();
    for result in handle.join().unwrap() {
        let e = result.unwrap_err();
        assert_eq!(e.code, "U1001", "{e}");
        assert!(
            e.message.contains("more than 200 levels deep at position"),
            "{e}"
        );
        assert!(e.position.is_some());
    }
}

#[test]
fn chains_up_to_the_bound_parse_and_evaluate() {
    let b = Map::new();
    for src in [
        format!("1{}", "+1".repeat(190)),
        format!("'a'{}", "&'a'".repeat(190)),
        format!("{}1{}", "(".repeat(190), ")".repeat(190)),
        format!("{}1{}", "{'a':".repeat(120), "}".repeat(120)),
        format!("{}1{}", "[".repeat(120), "]".repeat(120)),
    ] {
        let e = Expression::parse(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        e.evaluate(None, &env(&b))
            .unwrap_or_else(|e| panic!("{src}: {e}"));
    }
    // a value deeper than JSON reading allows cannot be returned
    for src in [
        format!("{}1{}", "{'a':".repeat(190), "}".repeat(190)),
        format!("{}1{}", "[".repeat(190), "]".repeat(190)),
    ] {
        let e = Expression::parse(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let err = e.evaluate(None, &env(&b)).unwrap_err();
        assert_eq!(err.code, "U1003");
        assert!(err.message.contains("nested more than 128 levels"), "{err}");
    }
}
