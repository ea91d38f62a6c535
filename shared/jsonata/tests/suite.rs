//! The official JSONata test suite (`tests/data/jsonata-test-suite`), run as
//! one test against a checked-in list of known failures (which may only
//! shrink).
//!
//! Set `JSONATA_SUITE_FILTER=group/case` to run a subset and print details.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use flowstate_jsonata::{Environment, Expression, Limits};
use serde_json::Value;

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/data/jsonata-test-suite"
);
const KNOWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/known-failures.txt");

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => p == q || ((p - q).abs() <= 1e-12 * p.abs().max(q.abs())),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Runs one case; `Err` describes the mismatch.
fn run_case(case: &Value, suite: &Path) -> Result<(), String> {
    if let Some(e) = case.get("unreadable") {
        return Err(format!("case file unreadable: {e}"));
    }
    let expr_text = match (case.get("expr"), case.get("expr-file"), case.get("_dir")) {
        (Some(Value::String(e)), _, _) => e.clone(),
        (_, Some(Value::String(f)), Some(Value::String(dir))) => {
            fs::read_to_string(Path::new(dir).join(f)).map_err(|e| format!("{f}: {e}"))?
        }
        _ => return Err("no expr".into()),
    };
    let expr = expr_text.as_str();
    let input: Option<Value> = if let Some(d) = case.get("data") {
        Some(d.clone())
    } else {
        match case.get("dataset") {
            Some(Value::String(name)) => {
                let p = suite.join("datasets").join(format!("{name}.json"));
                let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                Some(serde_json::from_str(&text).map_err(|e| e.to_string())?)
            }
            _ => None,
        }
    };
    let bindings = match case.get("bindings") {
        Some(Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let env = Environment {
        bindings: &bindings,
        now_millis: 1_500_000_000_000,
        seed: 42,
    };
    let mut limits = Limits::default();
    if let Some(d) = case.get("depth").and_then(Value::as_u64) {
        limits.max_depth = d as usize;
    }
    let outcome =
        Expression::parse(expr).and_then(|e| e.evaluate_with_limits(input.as_ref(), &env, limits));
    let code = case
        .get("code")
        .or_else(|| case.get("error").and_then(|e| e.get("code")))
        .and_then(Value::as_str);
    if let Some(code) = code {
        return match outcome {
            Err(e) if e.code == code => Ok(()),
            Err(e) => Err(format!("expected error {code}, got error {e}")),
            Ok(v) => Err(format!("expected error {code}, got {v:?}")),
        };
    }
    if case.get("undefinedResult").and_then(Value::as_bool) == Some(true) {
        return match outcome {
            Ok(None) => Ok(()),
            other => Err(format!("expected undefined, got {other:?}")),
        };
    }
    if let Some(expected) = case.get("result") {
        return match outcome {
            Ok(Some(v)) if json_eq(&v, expected) => Ok(()),
            other => Err(format!("expected {expected}, got {other:?}")),
        };
    }
    // cases with neither field expect undefined in jsonata-js's harness
    match outcome {
        Ok(None) => Ok(()),
        other => Err(format!("expected undefined, got {other:?}")),
    }
}

/// Remembers the group folder so `expr-file` can be resolved.
fn with_dir(mut c: Value, dir: &Path) -> Value {
    if let Value::Object(m) = &mut c {
        m.insert(
            "_dir".into(),
            Value::String(dir.to_string_lossy().into_owned()),
        );
    }
    c
}

fn collect(suite: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let groups = suite.join("groups");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&groups)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", groups.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let group = dir
            .file_name()
            .expect("group folder name")
            .to_string_lossy()
            .to_string();
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("readable group folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("case"))
                    && p.extension().is_some_and(|x| x == "json")
            })
            .collect();
        files.sort();
        for f in files {
            let stem = f
                .file_stem()
                .expect("case file name")
                .to_string_lossy()
                .to_string();
            let text = fs::read_to_string(&f).expect("readable case file");
            // a few files hold lone UTF-16 surrogates, which serde_json rejects
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| serde_json::json!({ "unreadable": e.to_string() }));
            match v {
                Value::Array(cases) => {
                    for (i, c) in cases.into_iter().enumerate() {
                        out.push((format!("{group}/{stem}[{i}]"), with_dir(c, &dir)));
                    }
                }
                c => out.push((format!("{group}/{stem}"), with_dir(c, &dir))),
            }
        }
    }
    out
}

#[test]
fn official_suite() {
    let suite = PathBuf::from(SUITE);
    assert!(
        suite.join("groups").is_dir(),
        "JSONata test suite not found at {} (the project keeps it in tests/data)",
        suite.display()
    );
    let filter = std::env::var("JSONATA_SUITE_FILTER").ok();
    let known: BTreeMap<String, String> = fs::read_to_string(KNOWN)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, why) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (id.to_string(), why.trim().to_string())
        })
        .collect();
    let cases = collect(&suite);
    let mut passed = 0usize;
    let mut total = 0usize;
    let mut unexpected_fail = Vec::new();
    let mut unexpected_pass = Vec::new();
    for (id, case) in &cases {
        if let Some(f) = &filter {
            if !id.starts_with(f.as_str()) {
                continue;
            }
        }
        total += 1;
        let r = std::panic::catch_unwind(|| run_case(case, &suite))
            .unwrap_or_else(|_| Err("panicked".to_string()));
        if filter.is_some() {
            println!(
                "{id}: {:?}\n  expr: {}",
                r,
                case.get("expr").and_then(Value::as_str).unwrap_or("")
            );
        }
        match (r, known.contains_key(id)) {
            (Ok(()), false) => passed += 1,
            (Ok(()), true) => {
                passed += 1;
                unexpected_pass.push(id.clone());
            }
            (Err(e), false) => unexpected_fail.push(format!("{id}  {e}")),
            (Err(_), true) => {}
        }
    }
    println!(
        "JSONata suite: {passed}/{total} cases pass ({:.1}%)",
        100.0 * passed as f64 / total.max(1) as f64
    );
    if filter.is_some() {
        return;
    }
    if !unexpected_fail.is_empty() {
        println!("unexpected failures:\n{}", unexpected_fail.join("\n"));
    }
    if !unexpected_pass.is_empty() {
        println!(
            "now passing (remove from known-failures.txt):\n{}",
            unexpected_pass.join("\n")
        );
    }
    assert!(unexpected_fail.is_empty() && unexpected_pass.is_empty());
}
