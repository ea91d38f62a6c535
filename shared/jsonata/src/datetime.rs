//! `$fromMillis` / `$toMillis` / `$now`: ISO 8601 by default, XPath
//! `format-dateTime` picture strings for the common components.

use std::rc::Rc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::eval::{error, Evaluator, Frame, R};
use crate::functions::{num_arg, str_arg};
use crate::value::Val;

type Args<'x> = &'x [Option<Val>];

fn parse_tz(tz: &str) -> Option<FixedOffset> {
    let t = tz.trim();
    if t.is_empty() || t == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = if t.starts_with('-') { -1 } else { 1 };
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let (h, m) = match digits.len() {
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        _ => return None,
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

pub fn from_millis(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(ms) = num_arg(a, 0) else {
        return Ok(None);
    };
    let utc = Utc
        .timestamp_millis_opt(ms as i64)
        .single()
        .ok_or_else(|| error("D3110", "Timestamp out of range"))?;
    let tz = str_arg(a, 2).map(|s| s.to_string());
    let offset = match &tz {
        Some(t) => parse_tz(t).ok_or_else(|| error("D3134", "Invalid timezone"))?,
        None => FixedOffset::east_opt(0).ok_or_else(|| error("D3134", "Invalid timezone"))?,
    };
    let dt = utc.with_timezone(&offset);
    match str_arg(a, 1) {
        None => {
            if tz.is_some() {
                Ok(Some(Val::string(
                    dt.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
                )))
            } else {
                Ok(Some(Val::string(
                    utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                )))
            }
        }
        Some(p) => Ok(Some(Val::string(format_picture(&dt, &p)?))),
    }
}

fn format_component(dt: &DateTime<FixedOffset>, comp: &str) -> Result<String, crate::Error> {
    let mut chars = comp.chars();
    let spec = chars.next().unwrap_or(' ');
    let rest: String = chars.collect();
    let (pres, _width) = match rest.split_once(',') {
        Some((p, w)) => (p.to_string(), Some(w.to_string())),
        None => (rest, None),
    };
    let num = |v: i64, default: &str| -> Result<String, crate::Error> {
        let p = if pres.is_empty() {
            default
        } else {
            pres.as_str()
        };
        // date components are small numbers
        crate::format::integer_picture(v as f64, p, usize::MAX)
    };
    let month_names = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let day_names = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let name = |n: &str| -> String {
        let (p, w) = (pres.as_str(), n);
        let s = match p.chars().next() {
            Some('N') if p.starts_with("Nn") => w.to_string(),
            Some('N') => w.to_uppercase(),
            Some('n') => w.to_lowercase(),
            _ => w.to_string(),
        };
        s
    };
    Ok(match spec {
        'Y' => num(dt.year() as i64, "1")?,
        'M' if pres.starts_with('N') || pres.starts_with('n') => {
            name(month_names.get(dt.month0() as usize).copied().unwrap_or(""))
        }
        'M' => num(dt.month() as i64, "1")?,
        'D' => num(dt.day() as i64, "1")?,
        'd' => num(dt.ordinal() as i64, "1")?,
        'F' if pres.is_empty() || pres.starts_with('N') || pres.starts_with('n') => {
            let n = day_names
                .get(dt.weekday().num_days_from_monday() as usize)
                .copied()
                .unwrap_or("");
            if pres.is_empty() {
                n.to_string()
            } else {
                name(n)
            }
        }
        'F' => num(dt.weekday().number_from_monday() as i64, "1")?,
        'H' => num(dt.hour() as i64, "1")?,
        'h' => {
            let h = dt.hour() % 12;
            num(if h == 0 { 12 } else { h } as i64, "1")?
        }
        'P' => {
            let s = if dt.hour() < 12 { "am" } else { "pm" };
            if pres.starts_with('N') {
                s.to_uppercase()
            } else {
                s.to_string()
            }
        }
        'm' => num(dt.minute() as i64, "01")?,
        's' => num(dt.second() as i64, "01")?,
        'f' => {
            let ms = dt.timestamp_subsec_millis() as i64;
            num(ms, "001")?
        }
        'Z' | 'z' => {
            let secs = dt.offset().local_minus_utc();
            let sign = if secs < 0 { '-' } else { '+' };
            let h = secs.abs() / 3600;
            let m = (secs.abs() % 3600) / 60;
            let body = if pres == "0" && m == 0 {
                format!("{sign}{h}")
            } else if pres == "01:01" || pres.is_empty() && spec == 'Z' {
                format!("{sign}{h:02}:{m:02}")
            } else {
                format!("{sign}{h:02}{m:02}")
            };
            if spec == 'z' {
                format!("GMT{body}")
            } else if pres == "Z" && secs == 0 {
                "Z".into()
            } else {
                body
            }
        }
        _ => {
            return Err(error(
                "D3133",
                format!("Unknown component specifier {spec} in date/time picture string"),
            ))
        }
    })
}

fn format_picture(dt: &DateTime<FixedOffset>, picture: &str) -> Result<String, crate::Error> {
    let mut out = String::new();
    let chars: Vec<char> = picture.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            if chars.get(i + 1) == Some(&'[') {
                out.push('[');
                i += 2;
                continue;
            }
            let end = chars[i..]
                .iter()
                .position(|&x| x == ']')
                .map(|p| p + i)
                .ok_or_else(|| {
                    error(
                        "D3135",
                        "No matching closing bracket ']' in date/time picture string",
                    )
                })?;
            let comp: String = chars[i + 1..end]
                .iter()
                .filter(|c| !c.is_whitespace())
                .collect();
            out.push_str(&format_component(dt, &comp)?);
            i = end + 1;
        } else if c == ']' && chars.get(i + 1) == Some(&']') {
            out.push(']');
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

pub fn to_millis(_: &mut Evaluator<'_>, a: Args<'_>, _: Option<&Val>, _: &Rc<Frame>) -> R {
    let Some(s) = str_arg(a, 0) else {
        return Ok(None);
    };
    if str_arg(a, 1).is_some() {
        return Err(error(
            "D3136",
            "Picture strings for $toMillis are not supported",
        ));
    }
    Ok(Some(Val::Num(
        parse_iso(&s)
            .ok_or_else(|| error("D3110", format!("The timestamp {s} cannot be parsed")))?
            as f64,
    )))
}

fn parse_iso(s: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%dT%H:%M:%S%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Some(dt.timestamp_millis());
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|x| x.and_utc().timestamp_millis());
    }
    if s.len() == 7 {
        if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|x| x.and_utc().timestamp_millis());
        }
    }
    if s.len() == 4 {
        if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01-01"), "%Y-%m-%d") {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|x| x.and_utc().timestamp_millis());
        }
    }
    None
}
