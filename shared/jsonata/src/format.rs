//! Number formatting: `$formatNumber` (XPath `format-number` pictures),
//! `$formatInteger` and `$parseInteger` (XPath `format-integer` pictures).

use std::rc::Rc;

use crate::eval::{error, Evaluator, Frame, R};
use crate::functions::{arg, num_arg, str_arg};
use crate::value::Val;

type Args<'x> = &'x [Option<Val>];

/// Longest `$formatNumber` picture: the formatting inserts padding and
/// separators one at a time (as jsonata-js does), which is quadratic in the
/// picture's length. Real pictures are a few dozen characters.
const MAX_PICTURE: usize = 10_000;

pub fn format_number(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(n) = num_arg(a, 0) else {
        return Ok(None);
    };
    let Some(picture) = str_arg(a, 1) else {
        return Ok(None);
    };
    if picture.chars().count() > MAX_PICTURE {
        return Err(error(
            "U1003",
            format!("The picture string of $formatNumber is longer than {MAX_PICTURE} characters"),
        ));
    }
    let mut props = Props::default();
    if let Some(Val::Obj(m)) = arg(a, 2) {
        for (k, v) in m.iter() {
            let Some(s) = v.as_str() else { continue };
            let c = s.chars().next().unwrap_or(' ');
            match &**k {
                "decimal-separator" => props.decimal = c,
                "grouping-separator" => props.grouping = c,
                "exponent-separator" => props.exponent = c,
                "minus-sign" => props.minus = s.to_string(),
                "percent" => props.percent = s.to_string(),
                "per-mille" => props.per_mille = s.to_string(),
                "zero-digit" => props.zero = c,
                "digit" => props.digit = c,
                "pattern-separator" => props.pattern = c,
                _ => {}
            }
        }
    }
    Ok(Some(Val::string(picture_number(n, &picture, &props)?)))
}

pub struct Props {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    percent: String,
    per_mille: String,
    zero: char,
    digit: char,
    pattern: char,
}

impl Default for Props {
    fn default() -> Self {
        Props {
            decimal: '.',
            grouping: ',',
            exponent: 'e',
            minus: "-".into(),
            percent: "%".into(),
            per_mille: "\u{2030}".into(),
            zero: '0',
            digit: '#',
            pattern: ';',
        }
    }
}

struct Parts {
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fractional: Vec<char>,
    sub: Vec<char>,
}

fn find(h: &[char], c: char, from: usize) -> Option<usize> {
    h.iter().skip(from).position(|&x| x == c).map(|p| p + from)
}

fn find_str(h: &[char], n: &str) -> Option<usize> {
    let n: Vec<char> = n.chars().collect();
    if n.is_empty() || n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()] == n[..])
}

fn rfind_str(h: &[char], n: &str) -> Option<usize> {
    let n: Vec<char> = n.chars().collect();
    if n.is_empty() || n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| h[i..i + n.len()] == n[..])
}

/// XPath `format-number`, following jsonata-js step by step (including its
/// treatment of prefixes, suffixes and grouping positions).
pub fn picture_number(value: f64, picture: &str, p: &Props) -> Result<String, crate::Error> {
    let family: Vec<char> = (0..10)
        .filter_map(|i| char::from_u32(p.zero as u32 + i))
        .collect();
    let is_digit = |c: char| family.contains(&c);
    let active_chars: Vec<char> = family
        .iter()
        .copied()
        .chain([p.decimal, p.exponent, p.grouping, p.digit, p.pattern])
        .collect();
    let is_active = |c: char| active_chars.contains(&c);
    let pic: Vec<char> = picture.chars().collect();
    let subs: Vec<Vec<char>> = pic.split(|&c| c == p.pattern).map(|s| s.to_vec()).collect();
    if subs.len() > 2 {
        return Err(error(
            "D3080",
            "The picture string must not contain more than one pattern separator",
        ));
    }
    let split_parts = |sub: Vec<char>| -> Parts {
        let pre_end = sub
            .iter()
            .position(|&c| is_active(c) && c != p.exponent)
            .unwrap_or(sub.len());
        let suf_start = sub
            .iter()
            .rposition(|&c| is_active(c) && c != p.exponent)
            .map(|i| i + 1)
            .unwrap_or(sub.len());
        let prefix = sub[..pre_end].to_vec();
        let suffix = if suf_start >= pre_end {
            sub[suf_start..].to_vec()
        } else {
            Vec::new()
        };
        let active: Vec<char> = if suf_start >= pre_end {
            sub[pre_end..suf_start].to_vec()
        } else {
            Vec::new()
        };
        let epos = find(&sub, p.exponent, prefix.len());
        let (mantissa, exponent) = match epos {
            Some(e) if e <= sub.len() - suffix.len() => {
                let e = e.min(active.len());
                (
                    active[..e].to_vec(),
                    Some(active.get(e + 1..).map(|x| x.to_vec()).unwrap_or_default()),
                )
            }
            _ => (active.clone(), None),
        };
        let (integer, fractional) = match find(&mantissa, p.decimal, 0) {
            None => (mantissa.clone(), suffix.clone()),
            Some(d) => (mantissa[..d].to_vec(), mantissa[d + 1..].to_vec()),
        };
        Parts {
            prefix,
            suffix,
            active,
            mantissa,
            exponent,
            integer,
            fractional,
            sub,
        }
    };
    let parts: Vec<Parts> = subs.into_iter().map(split_parts).collect();
    for pt in &parts {
        let sub = &pt.sub;
        let mut code = None;
        let dpos = find(sub, p.decimal, 0);
        if dpos != sub.iter().rposition(|&c| c == p.decimal) {
            code = Some("D3081");
        }
        if find_str(sub, &p.percent) != rfind_str(sub, &p.percent) {
            code = Some("D3082");
        }
        if find_str(sub, &p.per_mille) != rfind_str(sub, &p.per_mille) {
            code = Some("D3083");
        }
        if find_str(sub, &p.percent).is_some() && find_str(sub, &p.per_mille).is_some() {
            code = Some("D3084");
        }
        if !pt.mantissa.iter().any(|&c| is_digit(c) || c == p.digit) {
            code = Some("D3085");
        }
        if pt.active.iter().any(|&c| !is_active(c)) {
            code = Some("D3086");
        }
        match dpos {
            Some(d) => {
                if (d > 0 && sub.get(d - 1) == Some(&p.grouping))
                    || sub.get(d + 1) == Some(&p.grouping)
                {
                    code = Some("D3087");
                }
            }
            None => {
                if pt.integer.last() == Some(&p.grouping) {
                    code = Some("D3088");
                }
            }
        }
        if sub
            .windows(2)
            .any(|w| w[0] == p.grouping && w[1] == p.grouping)
        {
            code = Some("D3089");
        }
        if let Some(o) = find(&pt.integer, p.digit, 0) {
            if pt.integer[..o].iter().any(|&c| is_digit(c)) {
                code = Some("D3090");
            }
        }
        if let Some(o) = pt.fractional.iter().rposition(|&c| c == p.digit) {
            if pt.fractional[o..].iter().any(|&c| is_digit(c)) {
                code = Some("D3091");
            }
        }
        if let Some(e) = &pt.exponent {
            if !e.is_empty()
                && (find_str(sub, &p.percent).is_some() || find_str(sub, &p.per_mille).is_some())
            {
                code = Some("D3092");
            }
            if e.is_empty() || e.iter().any(|&c| !is_digit(c)) {
                code = Some("D3093");
            }
        }
        if let Some(c) = code {
            return Err(error(c, "Invalid picture string for $formatNumber"));
        }
    }
    struct Pic {
        int_groups: Vec<usize>,
        regular: usize,
        min_int: usize,
        scaling: usize,
        prefix: String,
        frac_groups: Vec<usize>,
        min_frac: usize,
        max_frac: usize,
        min_exp: usize,
        suffix: String,
        picture: Vec<char>,
    }
    let analyse = |pt: &Parts| -> Pic {
        let groups = |part: &[char], to_left: bool| -> Vec<usize> {
            let mut out = Vec::new();
            let mut gp = find(part, p.grouping, 0);
            while let Some(g) = gp {
                let seg: &[char] = if to_left { &part[..g] } else { &part[g..] };
                out.push(seg.iter().filter(|&&c| is_digit(c) || c == p.digit).count());
                gp = find(&pt.integer, p.grouping, g + 1);
            }
            out
        };
        let int_groups = groups(&pt.integer, false);
        let regular = if int_groups.is_empty() {
            0
        } else {
            fn gcd(a: usize, b: usize) -> usize {
                if b == 0 {
                    a
                } else {
                    gcd(b, a % b)
                }
            }
            let f = int_groups.iter().copied().fold(0, gcd);
            if f == 0 || (1..=int_groups.len()).any(|i| !int_groups.contains(&(i * f))) {
                0
            } else {
                f
            }
        };
        let frac_groups = groups(&pt.fractional, true);
        let mut min_int = pt.integer.iter().filter(|&&c| is_digit(c)).count();
        let scaling = min_int;
        let mut min_frac = pt.fractional.iter().filter(|&&c| is_digit(c)).count();
        let mut max_frac = pt
            .fractional
            .iter()
            .filter(|&&c| is_digit(c) || c == p.digit)
            .count();
        let exp = pt.exponent.is_some();
        if min_int == 0 && max_frac == 0 {
            if exp {
                min_frac = 1;
                max_frac = 1;
            } else {
                min_int = 1;
            }
        }
        if exp && min_int == 0 && pt.integer.contains(&p.digit) {
            min_int = 1;
        }
        if min_int == 0 && min_frac == 0 {
            min_frac = 1;
        }
        let min_exp = pt
            .exponent
            .as_ref()
            .map(|e| e.iter().filter(|&&c| is_digit(c)).count())
            .unwrap_or(0);
        Pic {
            int_groups,
            regular,
            min_int,
            scaling,
            prefix: pt.prefix.iter().collect(),
            frac_groups,
            min_frac,
            max_frac,
            min_exp,
            suffix: pt.suffix.iter().collect(),
            picture: pt.sub.clone(),
        }
    };
    let mut pics: Vec<Pic> = parts.iter().map(analyse).collect();
    if pics.len() == 1 {
        let mut neg = analyse(&parts[0]);
        neg.prefix = format!("{}{}", p.minus, neg.prefix);
        pics.push(neg);
    }
    let pic = if value >= 0.0 { &pics[0] } else { &pics[1] };
    let adjusted = if find_str(&pic.picture, &p.percent).is_some() {
        value * 100.0
    } else if find_str(&pic.picture, &p.per_mille).is_some() {
        value * 1000.0
    } else {
        value
    };
    if !adjusted.is_finite() {
        return Err(error("D1001", "Number out of range"));
    }
    let mut mantissa = adjusted;
    let mut exponent: Option<i32> = None;
    if pic.min_exp != 0 {
        // scaled by its magnitude: the sign comes from the picture (jsonata-js
        // scales a negative number until it is -Infinity, and never stops)
        mantissa = mantissa.abs();
        let max_m = 10f64.powi(pic.scaling as i32);
        let min_m = 10f64.powi(pic.scaling as i32 - 1);
        let mut e = 0;
        if mantissa != 0.0 {
            while mantissa < min_m {
                mantissa *= 10.0;
                e -= 1;
            }
            while mantissa > max_m {
                mantissa /= 10.0;
                e += 1;
            }
        }
        exponent = Some(e);
    }
    let rounded = crate::functions::round_half_even(mantissa, pic.max_frac as i32);
    let make_string = |v: f64, dp: usize| -> Vec<char> {
        format!("{:.*}", dp, v.abs())
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    family.get(c as usize - 48).copied().unwrap_or(c)
                } else {
                    c
                }
            })
            .collect()
    };
    let mut sv = make_string(rounded, pic.max_frac);
    match sv.iter().position(|&c| c == '.') {
        None => sv.push(p.decimal),
        Some(i) => sv[i] = p.decimal,
    }
    while sv.first() == Some(&p.zero) {
        sv.remove(0);
    }
    while sv.last() == Some(&p.zero) {
        sv.pop();
    }
    let dpos = find(&sv, p.decimal, 0).unwrap_or(sv.len());
    let pad_left = pic.min_int as isize - dpos as isize;
    let pad_right = pic.min_frac as isize - (sv.len() as isize - dpos as isize - 1);
    if pad_left > 0 {
        for _ in 0..pad_left {
            sv.insert(0, p.zero);
        }
    }
    if pad_right > 0 {
        for _ in 0..pad_right {
            sv.push(p.zero);
        }
    }
    let mut dpos = find(&sv, p.decimal, 0).unwrap_or(sv.len());
    if let Some(count) = dpos.saturating_sub(1).checked_div(pic.regular) {
        for g in 1..=count {
            let at = dpos - g * pic.regular;
            sv.insert(at, p.grouping);
        }
    } else {
        for &pos in &pic.int_groups {
            if pos <= dpos {
                sv.insert(dpos - pos, p.grouping);
                dpos += 1;
            }
        }
    }
    let dpos = find(&sv, p.decimal, 0).unwrap_or(sv.len());
    for &pos in &pic.frac_groups {
        let at = (pos + dpos + 1).min(sv.len());
        sv.insert(at, p.grouping);
    }
    let dpos = find(&sv, p.decimal, 0);
    if pic.frac_groups.is_empty() && dpos == Some(sv.len().saturating_sub(1)) {
        sv.pop();
    }
    let mut out: String = sv.into_iter().collect();
    if let Some(e) = exponent {
        let mut es: String = make_string(e as f64, 0).into_iter().collect();
        let len = es.chars().count();
        if pic.min_exp > len {
            es = format!("{}{es}", p.zero.to_string().repeat(pic.min_exp - len));
        }
        out = format!(
            "{out}{}{}{es}",
            p.exponent,
            if e < 0 { p.minus.as_str() } else { "" }
        );
    }
    Ok(format!("{}{out}{}", pic.prefix, pic.suffix))
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn words(n: u64) -> String {
    if n < 20 {
        return ONES[n as usize].to_string();
    }
    if n < 100 {
        let t = TENS[(n / 10) as usize];
        return if n.is_multiple_of(10) {
            t.to_string()
        } else {
            format!("{t}-{}", ONES[(n % 10) as usize])
        };
    }
    let scales: [(u64, &str); 4] = [
        (1_000_000_000_000_000_000, "quintillion"),
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
    ];
    for (v, name) in scales {
        if n >= v {
            let rest = n % v;
            let head = format!("{} {name}", words(n / v));
            return if rest == 0 {
                head
            } else if rest < 100 {
                format!("{head} and {}", words(rest))
            } else {
                format!("{head}, {}", words(rest))
            };
        }
    }
    if n >= 1000 {
        let rest = n % 1000;
        let head = format!("{} thousand", words(n / 1000));
        return if rest == 0 {
            head
        } else if rest < 100 {
            format!("{head} and {}", words(rest))
        } else {
            format!("{head}, {}", words(rest))
        };
    }
    let rest = n % 100;
    let head = format!("{} hundred", ONES[(n / 100) as usize]);
    if rest == 0 {
        head
    } else {
        format!("{head} and {}", words(rest))
    }
}

fn ordinal_words(n: u64) -> String {
    let w = words(n);
    let (head, last) = match w.rfind([' ', '-']) {
        Some(i) => (&w[..=i], &w[i + 1..]),
        None => ("", w.as_str()),
    };
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        l if l.ends_with('y') => format!("{}ieth", &l[..l.len() - 1]),
        l => format!("{l}th"),
    };
    format!("{head}{last}")
}

fn roman(mut n: u64) -> String {
    let table = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut out = String::new();
    for (v, s) in table {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    out
}

fn letters(mut n: u64) -> String {
    let mut out = Vec::new();
    while n > 0 {
        let d = ((n - 1) % 26) as u8;
        out.push((b'a' + d) as char);
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

fn ordinal_suffix(n: u64) -> &'static str {
    match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    }
}

/// XPath `format-integer`. `max` bounds the result's length: a roman
/// numeral is a thousandth as long as its number (`1e12` would be a billion
/// `M`s), so it is measured before it is built.
pub fn integer_picture(n: f64, picture: &str, max: usize) -> Result<String, crate::Error> {
    let (pic, modifier) = match picture.rsplit_once(';') {
        Some((p, m)) => (p, m),
        None => (picture, ""),
    };
    let ordinal = modifier.starts_with('o');
    let neg = n < 0.0;
    let v = n.abs().trunc() as u64;
    if matches!(pic, "i" | "I") && v / 1000 > max as u64 {
        return Err(crate::eval::too_large(max));
    }
    let sign = if neg { "-" } else { "" };
    let body = match pic {
        "w" | "W" | "Ww" => {
            let w = if ordinal { ordinal_words(v) } else { words(v) };
            match pic {
                "W" => w.to_uppercase(),
                "Ww" => w
                    .split(' ')
                    .map(|p| {
                        let mut c = p.chars();
                        match c.next() {
                            Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                            None => String::new(),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => w,
            }
        }
        "i" => roman(v),
        "I" => roman(v).to_uppercase(),
        "a" => letters(v),
        "A" => letters(v).to_uppercase(),
        _ => {
            let digits = pic.chars().filter(|c| c.is_ascii_digit()).count();
            let s = v.to_string();
            let mut s = if s.len() < digits {
                format!("{}{s}", "0".repeat(digits - s.len()))
            } else {
                s
            };
            if let Some(g) = pic.rfind(|c: char| !c.is_ascii_digit() && c != '#') {
                let sep = pic[g..].chars().next().unwrap_or(',');
                let size = pic.len() - g - sep.len_utf8();
                if size > 0 {
                    let chars: Vec<char> = s.chars().collect();
                    let mut out = String::new();
                    for (i, c) in chars.iter().enumerate() {
                        if i > 0 && (chars.len() - i).is_multiple_of(size) {
                            out.push(sep);
                        }
                        out.push(*c);
                    }
                    s = out;
                }
            }
            if ordinal {
                s.push_str(ordinal_suffix(v));
            }
            s
        }
    };
    Ok(format!("{sign}{body}"))
}

pub fn format_integer(ev: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(n) = num_arg(a, 0) else {
        return Ok(None);
    };
    let Some(picture) = str_arg(a, 1) else {
        return Ok(None);
    };
    let max = ev.limits().max_value_bytes;
    Ok(Some(Val::string(integer_picture(n, &picture, max)?)))
}

pub fn parse_integer(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    let picture = str_arg(a, 1).map(|p| p.to_string()).unwrap_or_default();
    let pic = picture.split(';').next().unwrap_or("");
    let v = match pic {
        "i" | "I" => {
            let mut total = 0i64;
            let mut prev = 0i64;
            for c in s.to_lowercase().chars().rev() {
                let d = match c {
                    'i' => 1,
                    'v' => 5,
                    'x' => 10,
                    'l' => 50,
                    'c' => 100,
                    'd' => 500,
                    'm' => 1000,
                    _ => return Err(error("D3130", "Unable to parse integer")),
                };
                if d < prev {
                    total -= d
                } else {
                    total += d;
                    prev = d;
                }
            }
            total as f64
        }
        "a" | "A" => {
            let mut total = 0f64;
            for c in s.to_lowercase().chars() {
                total = total * 26.0 + (c as u32 as f64 - 'a' as u32 as f64 + 1.0);
            }
            total
        }
        _ => {
            let digits: String = s
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            digits
                .parse::<f64>()
                .map_err(|_| error("D3130", "Unable to parse integer"))?
        }
    };
    Ok(Some(Val::Num(v)))
}
