//! Structure-aware generators: JSON values, JSONata and JSONPath by their
//! grammars, intrinsic-function calls, mutations of recorded definitions,
//! and byte-level mutations of any text. All draw from one seeded
//! [`fastrand::Rng`], so a run is reproducible from its seed.

use fastrand::Rng;
use serde_json::{Map, Value};

/// Keys that recorded definitions and inputs use, so that generated paths
/// and expressions often select something.
const KEYS: &[&str] = &[
    "a",
    "b",
    "x",
    "items",
    "price",
    "qty",
    "name",
    "value",
    "Payload",
    "input",
    "",
    "ä",
    "0",
    "$",
    "a.b",
    "key with space",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "hello world",
    "$",
    "$.a",
    "$$.Execution.Id",
    "{}",
    "[]",
    "{\"a\":1}",
    "null",
    "1e308",
    "-0",
    "𝄞💩",
    "\\",
    "'",
    "\"",
    "{% $ %}",
    "2016-03-14T01:59:00Z",
    "9999-12-31T23:59:59.999Z",
    "aGVsbG8=",
    "States.ALL",
];

/// Numbers at the edges: zero, signs, powers of two, huge, tiny, fractions.
fn number(rng: &mut Rng) -> Value {
    let n: f64 = match rng.u8(0..14) {
        0 => 0.0,
        1 => -1.0,
        2 => rng.i64(-10..100) as f64,
        3 => 1e300,
        4 => -1e300,
        5 => 1e12,
        6 => 2147483648.0,
        7 => 9007199254740993.0,
        8 => 0.5,
        9 => 1e-300,
        10 => 99999999.0,
        11 => 1e5,
        12 => rng.f64() * 1000.0,
        _ => rng.i64(i64::MIN..i64::MAX) as f64,
    };
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A short string: from the dictionary, random ASCII or random Unicode.
pub fn string(rng: &mut Rng) -> String {
    match rng.u8(0..4) {
        0 | 1 => pick(rng, STRINGS).to_string(),
        2 => (0..rng.usize(0..12)).map(|_| rng.alphanumeric()).collect(),
        _ => (0..rng.usize(0..8)).map(|_| any_char(rng)).collect(),
    }
}

fn any_char(rng: &mut Rng) -> char {
    match rng.u8(0..4) {
        0 => char::from_u32(rng.u32(0..0x80)).unwrap_or('a'),
        1 => char::from_u32(rng.u32(0x80..0x800)).unwrap_or('é'),
        2 => char::from_u32(rng.u32(0x1F300..0x1F600)).unwrap_or('💩'),
        _ => pick(
            rng,
            &[
                '{', '}', '[', ']', '\'', '"', '\\', '$', '.', '@', '*', ',', '\n', '\0',
            ],
        ),
    }
}

pub fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(0..items.len())]
}

/// A JSON value of at most `depth` levels.
pub fn value(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth == 0 || rng.u8(0..3) == 0;
    if leaf {
        return match rng.u8(0..5) {
            0 => Value::Null,
            1 => Value::Bool(rng.bool()),
            2 | 3 => number(rng),
            _ => Value::String(string(rng)),
        };
    }
    if rng.bool() {
        Value::Array(
            (0..rng.usize(0..5))
                .map(|_| value(rng, depth - 1))
                .collect(),
        )
    } else {
        let mut m = Map::new();
        for _ in 0..rng.usize(0..5) {
            m.insert(key(rng), value(rng, depth - 1));
        }
        Value::Object(m)
    }
}

fn key(rng: &mut Rng) -> String {
    if rng.u8(0..4) == 0 {
        string(rng)
    } else {
        pick(rng, KEYS).to_string()
    }
}

/// A value nested `levels` deep (arrays or objects), for the depth bounds.
pub fn nested(rng: &mut Rng, levels: usize) -> Value {
    let mut v = value(rng, 0);
    for _ in 0..levels {
        v = if rng.bool() {
            Value::Array(vec![v])
        } else {
            let mut m = Map::new();
            m.insert(key(rng), v);
            Value::Object(m)
        };
    }
    v
}

// ---------------------------------------------------------------- JSONata

const JSONATA_FUNCTIONS: &[&str] = &[
    "count",
    "append",
    "sort",
    "reverse",
    "shuffle",
    "distinct",
    "zip",
    "keys",
    "lookup",
    "spread",
    "merge",
    "each",
    "sift",
    "boolean",
    "not",
    "exists",
    "type",
    "error",
    "assert",
    "map",
    "filter",
    "single",
    "reduce",
    "clone",
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "sum",
    "max",
    "min",
    "average",
    "formatBase",
    "formatNumber",
    "formatInteger",
    "parseInteger",
    "partition",
    "range",
    "hash",
    "random",
    "uuid",
    "parse",
    "now",
    "millis",
    "fromMillis",
    "toMillis",
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "match",
    "replace",
    "encodeUrlComponent",
    "encodeUrl",
    "decodeUrlComponent",
    "decodeUrl",
    "eval",
    "base64encode",
    "base64decode",
    "zip",
    "fromMillis",
];

const JSONATA_BINARY: &[&str] = &[
    "+", "-", "*", "/", "%", "&", "=", "!=", "<", "<=", ">", ">=", "and", "or", "in", "..", "~>",
    "?:", "??",
];

const PICTURES: &[&str] = &[
    "'#,##0.00'",
    "'I'",
    "'w'",
    "'000'",
    "'[Y0001]-[M01]-[D01]'",
    "'#'",
    "'0.0e0'",
    "'%'",
    "'[H01]:[m01]:[s01].[f001]'",
    "'Ww'",
    "'a'",
];

/// A JSONata expression from its grammar, nested at most `depth`.
pub fn jsonata(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.u8(0..4) == 0 {
        return jsonata_leaf(rng);
    }
    let d = depth - 1;
    match rng.u8(0..22) {
        0..=3 => format!(
            "{} {} {}",
            jsonata(rng, d),
            pick(rng, JSONATA_BINARY),
            jsonata(rng, d)
        ),
        4 | 5 => format!("{}.{}", jsonata(rng, d), jsonata(rng, d)),
        6 => format!("{}[{}]", jsonata(rng, d), jsonata(rng, d)),
        7 => {
            let n = rng.usize(0..4);
            let args: Vec<String> = (0..n).map(|_| jsonata(rng, d)).collect();
            format!("[{}]", args.join(", "))
        }
        8 => {
            let n = rng.usize(0..3);
            let pairs: Vec<String> = (0..n)
                .map(|_| format!("{}: {}", jsonata(rng, d), jsonata(rng, d)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        9..=11 => {
            let f = pick(rng, JSONATA_FUNCTIONS);
            let n = rng.usize(0..4);
            let mut args: Vec<String> = (0..n).map(|_| jsonata(rng, d)).collect();
            if f.starts_with("format") && rng.bool() {
                args.push(pick(rng, PICTURES).to_string());
            }
            format!("${f}({})", args.join(", "))
        }
        12 => format!(
            "function($x, $y){{ {} }}",
            jsonata(rng, d).replace("$v", "$x")
        ),
        13 => format!("($v := {}; {})", jsonata(rng, d), jsonata(rng, d)),
        14 => format!(
            "{} ? {} : {}",
            jsonata(rng, d),
            jsonata(rng, d),
            jsonata(rng, d)
        ),
        15 => format!("-{}", jsonata(rng, d)),
        16 => format!("{}^(<{})", jsonata(rng, d), jsonata(rng, d)),
        17 => format!(
            "{}{{{}: {}}}",
            jsonata(rng, d),
            jsonata(rng, d),
            jsonata(rng, d)
        ),
        18 => format!("{}@$e.{}", jsonata(rng, d), jsonata(rng, d)),
        19 => format!("{}#$i[$i > {}]", jsonata(rng, d), jsonata(rng, d)),
        20 => format!(
            "$ ~> |{}|{{{}: {}}}|",
            jsonata(rng, d),
            jsonata(rng, d),
            jsonata(rng, d)
        ),
        // A recursive lambda: the evaluator's depth and step bounds.
        _ => format!(
            "($f := function($n){{ $n > 0 ? $f($n - 1) {} $f($n - 1) : {} }}; $f({}))",
            pick(rng, &["+", "&", ","]),
            jsonata(rng, d),
            jsonata(rng, d)
        ),
    }
}

fn jsonata_leaf(rng: &mut Rng) -> String {
    match rng.u8(0..14) {
        0 => number(rng).to_string(),
        1 => serde_json::to_string(&string(rng)).unwrap_or_default(),
        2 => format!("'{}'", string(rng).replace(['\'', '\\'], "")),
        3 => pick(rng, &["true", "false", "null"]).to_string(),
        4 => pick(
            rng,
            &[
                "$",
                "$$",
                "*",
                "**",
                "%",
                "$v",
                "$x",
                "$states",
                "$states.input",
            ],
        )
        .to_string(),
        5 => pick(rng, &["/a+/", "/[0-9]*/i", "/(x|y)?$/m", "/.*/"]).to_string(),
        6 => format!("[{}..{}]", number(rng), number(rng)),
        7 => pick(rng, &["`a b`", "`$`", "items", "price", "Payload"]).to_string(),
        _ => pick(
            rng,
            &[
                "a", "b", "x", "items", "price", "qty", "name", "value", "Payload",
            ],
        )
        .to_string(),
    }
}

/// A long chain of one operator: the parser's and evaluator's depth bounds.
pub fn jsonata_chain(rng: &mut Rng) -> String {
    let op = pick(rng, &[".", "+", "][", " ~> ", " or ", " & ", ".a."]);
    let n = rng.usize(1..400);
    let seg = pick(rng, &["a", "1", "0", "$", "$string"]);
    let mut s = String::from(seg);
    for _ in 0..n {
        s.push_str(op);
        s.push_str(seg);
    }
    if op == "][" {
        s = format!("a[{s}]");
    }
    let open = rng.usize(0..300);
    let nest = pick(rng, &["(", "[", "{'a':", "-", "$f("]);
    format!("{}{}", nest.repeat(open), s)
}

// ---------------------------------------------------------------- JSONPath

/// A JSONPath from AWS's lenient grammar (dots before brackets, bare words
/// in filters, whitespace), or a corner of it.
pub fn jsonpath(rng: &mut Rng) -> String {
    let mut s = String::from(pick(
        rng,
        &["$", "$", "$$", "$.", "$$.Execution", "$v", " $"],
    ));
    for _ in 0..rng.usize(0..6) {
        s.push_str(&path_segment(rng, 2));
    }
    if rng.u8(0..8) == 0 {
        s.push(' ');
    }
    s
}

fn path_segment(rng: &mut Rng, depth: usize) -> String {
    match rng.u8(0..16) {
        0..=3 => format!(".{}", pick(rng, KEYS)),
        4 => format!("['{}']", pick(rng, KEYS)),
        5 => format!("[\"{}\"]", pick(rng, KEYS)),
        6 => format!("[{}]", rng.i64(-3..5)),
        7 => "[*]".into(),
        8 => ".*".into(),
        9 => format!("..{}", pick(rng, &["a", "*", "price", "[0]"])),
        10 => format!(
            "[{}:{}:{}]",
            rng.i64(-3..4),
            rng.i64(-3..4),
            pick(rng, &["", "1", "2", "-1", "0"])
        ),
        11 => format!("[{},{}]", rng.i64(-2..3), rng.i64(-2..3)),
        12 => format!("[?({})]", filter(rng, depth)),
        13 => ".[0]".into(),
        14 => format!(
            "[{}]",
            pick(rng, &["(@.length-1)", "99999999999", "'a','b'", "-0"])
        ),
        _ => format!(".{}", string(rng)),
    }
}

fn filter(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.bool() {
        let lhs = format!("@{}", path_segment(rng, 0));
        return match rng.u8(0..4) {
            0 => lhs,
            1 => format!(
                "{lhs} {} {}",
                pick(rng, &["==", "!=", "<", "<=", ">", ">="]),
                number(rng)
            ),
            2 => format!(
                "{lhs} == {}",
                pick(rng, &["'x'", "es", "\"a b\"", "true", "null"])
            ),
            _ => format!("{lhs} =~ /a.*/"),
        };
    }
    match rng.u8(0..3) {
        0 => format!("!({})", filter(rng, depth - 1)),
        1 => format!("{} && {}", filter(rng, depth - 1), filter(rng, depth - 1)),
        _ => format!("({}) || {}", filter(rng, depth - 1), filter(rng, depth - 1)),
    }
}

// ---------------------------------------------------------------- intrinsics

const INTRINSICS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// An intrinsic-function call with literal, path and nested-call arguments.
pub fn intrinsic(rng: &mut Rng, depth: usize) -> String {
    let f = pick(rng, INTRINSICS);
    let n = rng.usize(0..5);
    let args: Vec<String> = (0..n).map(|_| intrinsic_arg(rng, depth)).collect();
    format!("{f}({})", args.join(pick(rng, &[", ", ",", " , "])))
}

fn intrinsic_arg(rng: &mut Rng, depth: usize) -> String {
    match rng.u8(0..9) {
        0 if depth > 0 => intrinsic(rng, depth - 1),
        1 | 2 => format!(
            "'{}'",
            pick(
                rng,
                &[
                    "a",
                    "{}",
                    "{} and {}",
                    "\\{\\}",
                    "\\'",
                    "a,b,c",
                    ",",
                    "",
                    "SHA-256",
                    "MD5",
                    "\\\\"
                ]
            )
        ),
        3 => number(rng).to_string(),
        4 => pick(rng, &["true", "false", "null"]).to_string(),
        5 => pick(rng, &["$$.Execution.Id", "$$.State.Name", "$v", "$x"]).to_string(),
        _ => jsonpath(rng),
    }
}

/// Nested calls of one function, to reach the nesting bound and anything
/// that grows with each level (escaping, repetition).
pub fn intrinsic_tower(rng: &mut Rng) -> String {
    let f = pick(
        rng,
        &[
            "States.JsonToString(",
            "States.Format('{}{}', $.a, ",
            "States.Array($, ",
            "States.Base64Encode(",
            "States.ArrayPartition(",
            "States.StringToJson(",
            "States.JsonMerge($, ",
        ],
    );
    let n = rng.usize(1..40);
    let tail = match f {
        "States.ArrayPartition(" => ", 1)",
        "States.JsonMerge($, " => ", false)",
        _ => ")",
    };
    format!("{}$.a{}", f.repeat(n), tail.repeat(n))
}

// ---------------------------------------------------------------- definitions

const FIELDS: &[&str] = &[
    "Type",
    "Next",
    "End",
    "Comment",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Result",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Choices",
    "Default",
    "Branches",
    "Iterator",
    "ItemProcessor",
    "ItemsPath",
    "Items",
    "ItemSelector",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "Error",
    "Cause",
    "ErrorPath",
    "CausePath",
    "Arguments",
    "Output",
    "Assign",
    "QueryLanguage",
    "Variable",
    "StringEquals",
    "NumericGreaterThan",
    "And",
    "Or",
    "Not",
    "Condition",
    "IsPresent",
    "ItemReader",
    "ResultWriter",
    "ItemBatcher",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "ProcessorConfig",
    "Credentials",
    "States",
    "StartAt",
    "ErrorEquals",
    "MaxAttempts",
    "IntervalSeconds",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Label",
    "Version",
    "a.$",
    "x.$",
];

const TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// A value that fits what a definition field expects often enough to get
/// past the first checks.
fn field_value(rng: &mut Rng) -> Value {
    match rng.u8(0..12) {
        0 => Value::String(pick(rng, TYPES).into()),
        1 => Value::String(jsonpath(rng)),
        2 => Value::String(format!("{{% {} %}}", jsonata(rng, 3))),
        3 => Value::String(intrinsic(rng, 2)),
        4 => Value::String("arn:aws:states:::lambda:invoke".into()),
        5 => Value::Bool(rng.bool()),
        6 => number(rng),
        7 => Value::String(pick(rng, &["JSONata", "JSONPath", "States.ALL", "FULL", "A"]).into()),
        _ => value(rng, 2),
    }
}

/// One random mutation of a definition (or any JSON document) in place.
pub fn mutate_value(rng: &mut Rng, v: &mut Value, names: &[String]) {
    let steps = rng.usize(0..8);
    mutate_at(rng, v, steps, names);
}

/// Walks `steps` levels down from `node` (as far as it goes), then changes
/// what it reached.
fn mutate_at(rng: &mut Rng, node: &mut Value, steps: usize, names: &[String]) {
    if steps > 0 {
        let len = match node {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if len > 0 {
            let i = rng.usize(0..len);
            let child = match node {
                Value::Object(m) => m.values_mut().nth(i),
                Value::Array(a) => a.get_mut(i),
                _ => None,
            };
            if let Some(c) = child {
                return mutate_at(rng, c, steps - 1, names);
            }
        }
    }
    match rng.u8(0..10) {
        0 => *node = field_value(rng),
        1 => {
            if let Value::Object(m) = node {
                if !m.is_empty() {
                    let i = rng.usize(0..m.len());
                    let k = m.keys().nth(i).cloned().unwrap_or_default();
                    m.remove(&k);
                }
            }
        }
        2 | 3 => {
            if let Value::Object(m) = node {
                m.insert(pick(rng, FIELDS).into(), field_value(rng));
            }
        }
        4 => {
            // Point a transition at another state, a missing one or itself.
            if let Value::Object(m) = node {
                let target = if names.is_empty() || rng.u8(0..4) == 0 {
                    string(rng)
                } else {
                    names[rng.usize(0..names.len())].clone()
                };
                m.insert(
                    pick(rng, &["Next", "Default", "StartAt"]).into(),
                    target.into(),
                );
            }
        }
        5 => {
            let levels = rng.usize(90..140);
            *node = nested(rng, levels)
        }
        6 => {
            if let Value::Array(a) = node {
                if let Some(first) = a.first().cloned() {
                    a.push(first);
                }
            } else {
                *node = Value::Array(vec![node.take()]);
            }
        }
        7 => {
            // Swap the kind of value: what a field holds turns into text.
            *node = Value::String(node.to_string());
        }
        8 => {
            if let Value::String(s) = node {
                let mut t = std::mem::take(s);
                mutate_text(rng, &mut t);
                *s = t;
            }
        }
        _ => *node = value(rng, 3),
    }
}

/// The names of the states of a definition, anywhere in it.
pub fn state_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(states)) = m.get("States") {
                out.extend(states.keys().cloned());
            }
            m.values().for_each(|c| state_names(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| state_names(c, out)),
        _ => {}
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ":",
    "\"",
    "'",
    "\\",
    "$",
    ".",
    "..",
    "*",
    "@",
    "?",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "- ",
    "\n",
    "\n  ",
    "%",
    "~>",
    "{%",
    "%}",
    "1e999",
    "-0",
    "\u{FEFF}",
    "\0",
    "\t",
    "#",
    "|",
    ">-",
    "---\n",
    "...",
    "&",
    "!",
    "true",
    "null",
    "\"a\":",
];

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One byte-level mutation of text that stays valid UTF-8: insert, delete,
/// duplicate or replace a span, or insert a token of the languages read.
pub fn mutate_text(rng: &mut Rng, s: &mut String) {
    let at = |rng: &mut Rng, s: &String| floor_boundary(s, rng.usize(0..=s.len()));
    match rng.u8(0..6) {
        0 | 1 => {
            let i = at(rng, s);
            s.insert_str(i, pick(rng, TOKENS));
        }
        2 => {
            let i = at(rng, s);
            let j = at(rng, s);
            let (i, j) = (i.min(j), i.max(j));
            let j = floor_boundary(s, j.min(i + 16));
            s.replace_range(i..j, "");
        }
        3 => {
            let i = at(rng, s);
            let j = at(rng, s);
            let (i, j) = (i.min(j), i.max(j));
            let j = floor_boundary(s, j.min(i + 64));
            let span = s[i..j].to_string();
            let k = at(rng, s);
            s.insert_str(k, &span);
        }
        4 => {
            let i = at(rng, s);
            s.insert(i, any_char(rng));
        }
        _ => {
            let i = at(rng, s);
            let token = pick(rng, TOKENS).repeat(rng.usize(1..200));
            s.insert_str(i, &token);
        }
    }
}
