//! Array, object and higher-order functions, plus `$boolean`, `$type` & co.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use super::{arg, boolean, call_hof, cmp_str, num_arg, str_arg, Entry};
use crate::eval::{append, error, type_name, Evaluator, Frame, R};
use crate::value::{deep_equal, Map, Val};
use crate::Error;

pub const ENTRIES: &[Entry] = &[
    ("count", "<a:n>", count),
    ("append", "<xx:a>", append_fn),
    ("sort", "<af?:a>", sort),
    ("reverse", "<a:a>", reverse),
    ("shuffle", "<a:a>", shuffle),
    ("distinct", "<x:x>", distinct),
    ("zip", "<a+>", zip),
    ("keys", "<x-:a<s>>", keys),
    ("lookup", "<x-s:x>", lookup),
    ("spread", "<x-:a<o>>", spread),
    ("merge", "<a<o>:o>", merge),
    ("each", "<o-f:a>", each),
    ("sift", "<o-f?:o>", sift),
    ("boolean", "<x-:b>", boolean_fn),
    ("not", "<x-:b>", not),
    ("exists", "<x:b>", exists),
    ("type", "<x:s>", type_fn),
    ("error", "<s?:x>", error_fn),
    ("assert", "<bs?:x>", assert),
    ("map", "<af>", map),
    ("filter", "<af>", filter),
    ("single", "<af?>", single),
    ("reduce", "<afj?:j>", reduce),
    ("clone", "<(oa)-:o>", clone),
];

type Args<'x> = &'x [Option<Val>];

fn count(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(Some(Val::Num(match arg(a, 0) {
        None => 0.0,
        Some(v) => v.items().len() as f64,
    })))
}

fn append_fn(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let (x, y) = (arg(a, 0), arg(a, 1));
    // appending an array to itself doubles it: measure before copying
    let size = |v: &Option<Val>| v.as_ref().map_or(0, Val::size);
    if size(&x).saturating_add(size(&y)) > ev.limits().max_value_bytes {
        return Err(crate::eval::too_large(ev.limits().max_value_bytes));
    }
    Ok(append(x, y))
}

/// jsonata's stable merge sort: `gt(a, b)` true means `a` goes after `b`.
fn msort(
    items: Vec<Val>,
    gt: &mut dyn FnMut(&Val, &Val) -> Result<bool, Error>,
) -> Result<Vec<Val>, Error> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mid = items.len() / 2;
    let mut left = items;
    let right = left.split_off(mid);
    let l = msort(left, gt)?;
    let r = msort(right, gt)?;
    let mut out = Vec::with_capacity(l.len() + r.len());
    let (mut i, mut j) = (0, 0);
    while i < l.len() && j < r.len() {
        if gt(&l[i], &r[j])? {
            out.push(r[j].clone());
            j += 1;
        } else {
            out.push(l[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&l[i..]);
    out.extend_from_slice(&r[j..]);
    Ok(out)
}

fn sort(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let items = arr.items();
    if items.len() <= 1 {
        return Ok(Some(Val::array(items)));
    }
    let out = match arg(a, 1) {
        None => {
            let all_num = items.iter().all(|v| matches!(v, Val::Num(_)));
            let all_str = items.iter().all(|v| matches!(v, Val::Str(_)));
            if !all_num && !all_str {
                return Err(error("D3070", "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function"));
            }
            msort(items, &mut |x, y| {
                Ok(match (x, y) {
                    (Val::Num(p), Val::Num(q)) => p > q,
                    (Val::Str(p), Val::Str(q)) => cmp_str(p, q) == std::cmp::Ordering::Greater,
                    _ => false,
                })
            })?
        }
        Some(f) => msort(items, &mut |x, y| {
            ev.tick()?;
            let r = ev.apply(&f, vec![Some(x.clone()), Some(y.clone())], None, env, "")?;
            Ok(boolean(r.as_ref()).unwrap_or(false))
        })?,
    };
    Ok(Some(Val::array(out)))
}

fn reverse(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let mut items = arr.items();
    items.reverse();
    Ok(Some(Val::array(items)))
}

fn shuffle(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let mut items = arr.items();
    for i in (1..items.len()).rev() {
        let j = (ev.rng.next_f64() * (i + 1) as f64) as usize;
        items.swap(i, j.min(i));
    }
    Ok(Some(Val::array(items)))
}

fn distinct(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let Val::Arr(items, f) = &arr else {
        return Ok(Some(arr));
    };
    if items.len() <= 1 {
        return Ok(Some(arr.clone()));
    }
    // Deep-equal values have equal fingerprints, so each item is compared
    // only with the earlier items that share its fingerprint: linear for
    // distinct items rather than quadratic.
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::with_capacity(items.len());
    let mut out: Vec<Val> = Vec::new();
    for x in items.iter() {
        let same = seen.entry(fingerprint(x)).or_default();
        if !same
            .iter()
            .any(|&i| out.get(i).is_some_and(|y| deep_equal(x, y)))
        {
            same.push(out.len());
            out.push(x.clone());
        }
    }
    Ok(Some(Val::arr(out, *f)))
}

/// A hash of a value that deep-equal values share (numbers by value, so
/// `0` and `-0` agree; object entries in any order).
fn fingerprint(v: &Val) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hash_into(v, &mut h);
    h.finish()
}

fn hash_into(v: &Val, h: &mut impl Hasher) {
    match v {
        Val::Null => 0u8.hash(h),
        Val::Bool(b) => (1u8, b).hash(h),
        Val::Num(n) => (2u8, if *n == 0.0 { 0 } else { n.to_bits() }).hash(h),
        Val::Str(s) => (3u8, s).hash(h),
        Val::Arr(a, _) => {
            (4u8, a.len()).hash(h);
            for x in a.iter() {
                hash_into(x, h);
            }
        }
        Val::Obj(m) => {
            // order-independent: the sum of each entry's own hash
            let mut sum = 0u64;
            for (k, x) in m.iter() {
                let mut eh = std::collections::hash_map::DefaultHasher::new();
                k.hash(&mut eh);
                hash_into(x, &mut eh);
                sum = sum.wrapping_add(eh.finish());
            }
            (5u8, m.len(), sum).hash(h);
        }
        // functions are equal only to themselves
        Val::Func(f) => (6u8, Rc::as_ptr(f) as *const () as usize).hash(h),
    }
}

fn zip(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let arrays: Vec<Vec<Val>> = a
        .iter()
        .map(|x| x.as_ref().map(|v| v.items()).unwrap_or_default())
        .collect();
    let len = arrays.iter().map(|x| x.len()).min().unwrap_or(0);
    let out = (0..len)
        .map(|i| {
            Val::array(
                arrays
                    .iter()
                    .filter_map(|arr| arr.get(i).cloned())
                    .collect(),
            )
        })
        .collect();
    Ok(Some(Val::array(out)))
}

fn keys(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    // first-seen order, each key once (an IndexSet: linear, not quadratic)
    let mut out: indexmap::IndexSet<Rc<str>> = indexmap::IndexSet::new();
    let mut add = |m: &Map| {
        for k in m.keys() {
            out.insert(k.clone());
        }
    };
    match &v {
        Val::Arr(items, _) => {
            for x in items.iter() {
                if let Val::Obj(m) = x {
                    add(m);
                }
            }
        }
        Val::Obj(m) => add(m),
        _ => {}
    }
    Ok(Some(Val::seq(out.into_iter().map(Val::Str).collect())))
}

fn lookup_in(v: &Val, key: &str) -> Option<Val> {
    match v {
        Val::Arr(items, _) => {
            let mut out = Vec::new();
            for x in items.iter() {
                match lookup_in(x, key) {
                    Some(Val::Arr(y, _)) => out.extend(y.iter().cloned()),
                    Some(y) => out.push(y),
                    None => {}
                }
            }
            Some(Val::seq(out))
        }
        Val::Obj(m) => m.get(key).cloned(),
        _ => None,
    }
}

fn lookup(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    let key = str_arg(a, 1).map(|s| s.to_string()).unwrap_or_default();
    Ok(lookup_in(&v, &key))
}

fn spread(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    fn go(v: &Val, out: &mut Vec<Val>) -> bool {
        match v {
            Val::Arr(items, _) => {
                for x in items.iter() {
                    if !go(x, out) {
                        out.push(x.clone());
                    }
                }
                true
            }
            Val::Obj(m) => {
                for (k, x) in m.iter() {
                    let mut one = Map::new();
                    one.insert(k.clone(), x.clone());
                    out.push(Val::object(one));
                }
                true
            }
            _ => false,
        }
    }
    let mut out = Vec::new();
    if !go(&v, &mut out) {
        return Ok(Some(v));
    }
    Ok(Some(Val::seq(out)))
}

fn merge(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(v) = arg(a, 0) else { return Ok(None) };
    let mut out = Map::new();
    for x in v.items() {
        if let Val::Obj(m) = x {
            for (k, y) in m.iter() {
                out.insert(k.clone(), y.clone());
            }
        }
    }
    Ok(Some(Val::object(out)))
}

fn each(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(Val::Obj(m)) = arg(a, 0) else {
        return Ok(None);
    };
    let Some(f) = arg(a, 1) else { return Ok(None) };
    let mut out = Vec::new();
    let mut budget = ev.budget();
    for (k, v) in m.iter() {
        if let Some(r) = call_hof(
            ev,
            &f,
            v.clone(),
            Some(Val::Str(k.clone())),
            Some(Val::Obj(m.clone())),
            env,
        )? {
            budget.add(&r)?;
            out.push(r);
        }
    }
    Ok(Some(Val::seq(out)))
}

fn sift(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(Val::Obj(m)) = arg(a, 0) else {
        return Ok(None);
    };
    let Some(f) = arg(a, 1) else { return Ok(None) };
    let mut out = Map::new();
    for (k, v) in m.iter() {
        let r = call_hof(
            ev,
            &f,
            v.clone(),
            Some(Val::Str(k.clone())),
            Some(Val::Obj(m.clone())),
            env,
        )?;
        if boolean(r.as_ref()).unwrap_or(false) {
            out.insert(k.clone(), v.clone());
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(Val::object(out)))
}

fn boolean_fn(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(boolean(arg(a, 0).as_ref()).map(Val::Bool))
}

fn not(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(boolean(arg(a, 0).as_ref()).map(|b| Val::Bool(!b)))
}

fn exists(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(Some(Val::Bool(arg(a, 0).is_some())))
}

fn type_fn(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(arg(a, 0).map(|v| Val::str(type_name(&v))))
}

fn error_fn(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let msg = str_arg(a, 0)
        .map(|s| s.to_string())
        .unwrap_or_else(|| "$error() function evaluated".into());
    Err(error("D3137", msg))
}

fn assert(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    if matches!(arg(a, 0), Some(Val::Bool(false))) {
        let msg = str_arg(a, 1)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "$assert() statement failed".into());
        return Err(error("D3141", msg));
    }
    Ok(None)
}

fn map(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let Some(f) = arg(a, 1) else { return Ok(None) };
    let items = arr.items();
    let whole = Val::array(items.clone());
    let mut out = Vec::new();
    let mut budget = ev.budget();
    for (i, x) in items.into_iter().enumerate() {
        if let Some(r) = call_hof(
            ev,
            &f,
            x,
            Some(Val::Num(i as f64)),
            Some(whole.clone()),
            env,
        )? {
            budget.add(&r)?;
            out.push(r);
        }
    }
    Ok(Some(Val::seq(out)))
}

fn filter(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let Some(f) = arg(a, 1) else { return Ok(None) };
    let items = arr.items();
    let whole = Val::array(items.clone());
    let mut out = Vec::new();
    for (i, x) in items.into_iter().enumerate() {
        let r = call_hof(
            ev,
            &f,
            x.clone(),
            Some(Val::Num(i as f64)),
            Some(whole.clone()),
            env,
        )?;
        if boolean(r.as_ref()).unwrap_or(false) {
            out.push(x);
        }
    }
    Ok(Some(Val::seq(out)))
}

fn single(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let f = arg(a, 1);
    let items = arr.items();
    let whole = Val::array(items.clone());
    let mut found: Option<Val> = None;
    for (i, x) in items.into_iter().enumerate() {
        let pass = match &f {
            None => true,
            Some(f) => {
                let r = call_hof(
                    ev,
                    f,
                    x.clone(),
                    Some(Val::Num(i as f64)),
                    Some(whole.clone()),
                    env,
                )?;
                boolean(r.as_ref()).unwrap_or(false)
            }
        };
        if pass {
            if found.is_some() {
                return Err(error("D3138", "The $single() function expected exactly 1 matching result.  Instead it matched more."));
            }
            found = Some(x);
        }
    }
    match found {
        Some(v) => Ok(Some(v)),
        None => Err(error(
            "D3139",
            "The $single() function expected exactly 1 matching result.  Instead it matched 0.",
        )),
    }
}

fn reduce(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, env: &Rc<Frame>) -> R {
    let Some(arr) = arg(a, 0) else {
        return Ok(None);
    };
    let Some(f) = arg(a, 1) else { return Ok(None) };
    let arity = match &f {
        Val::Func(x) => x.arity(),
        _ => 0,
    };
    if arity < 2 {
        return Err(error(
            "D3050",
            "The second argument of reduce function must be a function with at least two arguments",
        ));
    }
    let items = arr.items();
    let init = arg(a, 2);
    let (mut acc, start) = match init {
        None if !items.is_empty() => (items.first().cloned(), 1),
        other => (other, 0),
    };
    let whole = Val::array(items.clone());
    for (i, x) in items.iter().enumerate().skip(start) {
        let mut args = vec![acc, Some(x.clone())];
        if arity >= 3 {
            args.push(Some(Val::Num(i as f64)));
        }
        if arity >= 4 {
            args.push(Some(whole.clone()));
        }
        acc = ev.apply(&f, args, None, env, "")?;
    }
    let _ = num_arg;
    Ok(acc)
}

fn clone(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    Ok(arg(a, 0).map(|v| crate::eval::deep_clone(&v)))
}
