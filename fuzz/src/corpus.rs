//! Seed corpora: the recorded conformance cases (definitions, inputs, and
//! the JSONPath paths, intrinsic calls and JSONata expressions inside
//! them) and JSONata's own test suite (expressions and their data).

use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the generators start from.
#[derive(Debug, Default, Clone)]
pub struct Corpus {
    pub definitions: Vec<Value>,
    pub inputs: Vec<Value>,
    pub paths: Vec<String>,
    pub intrinsics: Vec<String>,
    pub jsonata: Vec<String>,
    /// Data documents of the JSONata suite and the cases' inputs.
    pub documents: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no conformance cases under {0}")]
    Empty(PathBuf),
}

/// `tests/data` of this workspace.
pub fn default_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data")
}

impl Corpus {
    /// Loads the seeds under `data` (`tests/data`): `conformance/cases` and
    /// `jsonata-test-suite`.
    pub fn load(data: &Path) -> Result<Corpus, CorpusError> {
        let mut c = Corpus::default();
        let cases = data.join("conformance/cases");
        for file in json_files(&cases)? {
            let Some(case) = read_json(&file)? else {
                continue;
            };
            if let Some(d) = case.get("definition") {
                let d = match d {
                    Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                    other => other.clone(),
                };
                if d.is_object() {
                    harvest(&d, &mut c);
                    c.definitions.push(d);
                }
            }
            if let Some(i) = case.get("input") {
                c.inputs.push(i.clone());
                c.documents.push(i.clone());
            }
        }
        if c.definitions.is_empty() {
            return Err(CorpusError::Empty(cases));
        }
        let suite = data.join("jsonata-test-suite");
        for file in json_files(&suite.join("datasets"))? {
            if let Some(d) = read_json(&file)? {
                c.documents.push(d);
            }
        }
        for file in json_files(&suite.join("groups"))? {
            let Some(case) = read_json(&file)? else {
                continue;
            };
            let cases = match case {
                Value::Array(a) => a,
                other => vec![other],
            };
            for case in cases {
                if let Some(e) = case.get("expr").and_then(Value::as_str) {
                    c.jsonata.push(e.to_string());
                }
                if let Some(d) = case.get("data") {
                    c.documents.push(d.clone());
                }
            }
        }
        c.paths.sort();
        c.paths.dedup();
        c.intrinsics.sort();
        c.intrinsics.dedup();
        Ok(c)
    }
}

/// Collects paths, intrinsic calls and JSONata expressions from a definition.
fn harvest(v: &Value, c: &mut Corpus) {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if let Some(e) = t.strip_prefix("{%").and_then(|r| r.strip_suffix("%}")) {
                c.jsonata.push(e.to_string());
            } else if t.starts_with("States.") && t.contains('(') {
                c.intrinsics.push(s.clone());
            } else if t.starts_with('$') {
                c.paths.push(s.clone());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| harvest(x, c)),
        Value::Object(m) => m.values().for_each(|x| harvest(x, c)),
        _ => {}
    }
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| CorpusError::Read {
            path: d.clone(),
            source,
        })?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A JSON file's value; `None` for a file that is not JSON (the suite has a
/// few on purpose).
fn read_json(path: &Path) -> Result<Option<Value>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(serde_json::from_str(&text).ok())
}
