//! Step Functions' JSONata extensions (`$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`) and the clock functions, which read the
//! environment rather than the system clock.

use std::rc::Rc;

use md5::Digest as _;

use super::{arg, num_arg, str_arg, Entry};
use crate::eval::{error, Evaluator, Frame, R};
use crate::value::{Flags, Val};

pub const ENTRIES: &[Entry] = &[
    ("partition", "<an:a>", partition),
    ("range", "<nnn?:a>", range),
    ("hash", "<s-s?:s>", hash),
    ("random", "<n?:n>", random),
    ("uuid", "<:s>", uuid),
    ("parse", "<s-:x>", parse),
    ("now", "<s?s?:s>", now),
    ("millis", "<:n>", millis),
    ("fromMillis", "<n-s?s?:s>", crate::datetime::from_millis),
    ("toMillis", "<s-s?:n>", crate::datetime::to_millis),
];

type Args<'x> = &'x [Option<Val>];

/// Largest array the extensions will build, so `$range(0, 1e12)` fails
/// instead of exhausting memory.
const MAX_ITEMS: f64 = 1e7;

fn partition(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let size = num_arg(a, 1).unwrap_or(0.0);
    if size < 1.0 || size.fract() != 0.0 {
        return Err(error(
            "D3300",
            "The size argument of $partition must be a positive integer",
        ));
    }
    let items = arr.items();
    let chunks = items
        .chunks(size.min(MAX_ITEMS) as usize)
        .map(|c| Val::array(c.to_vec()))
        .collect();
    Ok(Some(Val::array(chunks)))
}

fn range(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let (Some(start), Some(end)) = (num_arg(a, 0), num_arg(a, 1)) else {
        return Ok(None);
    };
    let step = num_arg(a, 2).unwrap_or(1.0);
    if step == 0.0 || !step.is_finite() {
        return Err(error(
            "D3301",
            "The step argument of $range must be a non-zero number",
        ));
    }
    let count = ((end - start) / step).floor() + 1.0;
    if count > MAX_ITEMS {
        return Err(error(
            "D3302",
            format!("$range would produce {count} items; the limit is {MAX_ITEMS}"),
        ));
    }
    let mut out = Vec::new();
    let mut i = 0.0;
    while i < count {
        out.push(Val::Num(start + i * step));
        i += 1.0;
    }
    ev.tick()?;
    // A sequence, not an array: a one-item result collapses to the item, as
    // Step Functions returns it (`$range(1, 9, 9)` is `1`).
    Ok(Some(Val::arr(out, Flags::SEQUENCE.with(Flags::RANGE))))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let alg = str_arg(a, 1)
        .map(|x| x.to_string())
        .unwrap_or_else(|| "SHA-256".into());
    let data = s.as_bytes();
    let out = match alg.as_str() {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(error(
                "D3303",
                format!(
                "Unsupported hash algorithm: {other}; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            ),
            ))
        }
    };
    Ok(Some(Val::string(out)))
}

fn random(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let r = match num_arg(a, 0) {
        Some(seed) => {
            let z = crate::random::mix(seed.to_bits() ^ 0x5DEE_CE66_D1CE_4E5B);
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
        None => ev.rng.next_f64(),
    };
    Ok(Some(Val::Num(r)))
}

fn uuid(ev: &mut Evaluator<'_>, _: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&ev.rng.next_u64().to_be_bytes());
    b[8..].copy_from_slice(&ev.rng.next_u64().to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(Some(Val::string(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))))
}

fn parse(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(&s)
        .map_err(|e| error("D3304", format!("$parse: invalid JSON: {e}")))?;
    Ok(Some(ev.from_json(&v)?))
}

fn now(ev: &mut Evaluator<'_>, a: Args<'_>, input: Option<&Val>, env: &Rc<Frame>) -> R {
    let ms = ev.env.now_millis as f64;
    let args = vec![Some(Val::Num(ms)), arg(a, 0), arg(a, 1)];
    crate::datetime::from_millis(ev, &args, input, env)
}

fn millis(ev: &mut Evaluator<'_>, _: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(Some(Val::Num(ev.env.now_millis as f64)))
}

#[cfg(test)]
mod tests {
    use crate::{Environment, Expression};
    use serde_json::{json, Map, Value};

    fn run(expr: &str, seed: u64) -> Result<Option<Value>, crate::Error> {
        let b = Map::new();
        let env = Environment {
            bindings: &b,
            now_millis: 1_700_000_000_000,
            seed,
        };
        Expression::parse(expr)?.evaluate(None, &env)
    }

    #[test]
    fn partition_chunks() {
        assert_eq!(
            run("$partition([1,2,3,4,5], 2)", 0).unwrap(),
            Some(json!([[1, 2], [3, 4], [5]]))
        );
        assert_eq!(run("$partition([1], 0)", 0).unwrap_err().code, "D3300");
    }

    #[test]
    fn range_inclusive_with_step() {
        assert_eq!(
            run("$range(0, 10, 2)", 0).unwrap(),
            Some(json!([0, 2, 4, 6, 8, 10]))
        );
        assert_eq!(run("$range(5, 1, -2)", 0).unwrap(), Some(json!([5, 3, 1])));
        assert!(run("$range(0, 1e12, 1)", 0).is_err());
    }

    #[test]
    fn hash_algorithms() {
        assert_eq!(
            run("$hash('abc', 'MD5')", 0).unwrap(),
            Some(json!("900150983cd24fb0d6963f7d28e17f72"))
        );
        assert_eq!(
            run("$hash('abc', 'SHA-1')", 0).unwrap(),
            Some(json!("a9993e364706816aba3e25717850c26c9cd0d89d"))
        );
        assert_eq!(
            run("$hash('abc', 'SHA-256')", 0).unwrap(),
            Some(json!(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ))
        );
        assert_eq!(
            run("$length($hash('abc', 'SHA-384'))", 0).unwrap(),
            Some(json!(96))
        );
        assert_eq!(
            run("$length($hash('abc', 'SHA-512'))", 0).unwrap(),
            Some(json!(128))
        );
        assert!(run("$hash('abc', 'CRC32')", 0).is_err());
    }

    #[test]
    fn random_is_deterministic() {
        let a = run("[$random(), $random()]", 7).unwrap();
        assert_eq!(a, run("[$random(), $random()]", 7).unwrap());
        assert_ne!(a, run("[$random(), $random()]", 8).unwrap());
        assert_eq!(
            run("$random(42)", 1).unwrap(),
            run("$random(42)", 2).unwrap()
        );
        let v = run("$random()", 3)
            .unwrap()
            .and_then(|v| v.as_f64())
            .unwrap();
        assert!((0.0..1.0).contains(&v));
    }

    #[test]
    fn uuid_is_v4_shaped_and_seeded() {
        let u = run("$uuid()", 9).unwrap().unwrap();
        let s = u.as_str().unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(Some(u.clone()), run("$uuid()", 9).unwrap());
        assert_ne!(Some(u), run("$uuid()", 10).unwrap());
    }

    #[test]
    fn parse_json() {
        assert_eq!(
            run("$parse('{\"a\":[1,2]}').a[1]", 0).unwrap(),
            Some(json!(2))
        );
        assert!(run("$parse('{')", 0).is_err());
    }

    #[test]
    fn clock_comes_from_environment() {
        assert_eq!(
            run("$millis()", 0).unwrap(),
            Some(json!(1_700_000_000_000i64))
        );
        assert_eq!(
            run("$now()", 0).unwrap(),
            Some(json!("2023-11-14T22:13:20.000Z"))
        );
    }

    #[test]
    fn eval_is_disabled() {
        assert!(run("$eval('1+1')", 0).is_err());
    }
}
