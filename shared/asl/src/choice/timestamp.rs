//! Timestamps as Step Functions reads them in Choice rules (and Wait states):
//! the RFC 3339 profile of ISO 8601 with an uppercase `T` between date and time
//! and either an uppercase `Z` or a numeric `±hh:mm` offset.
//!
//! AWS documents that profile and the conformance cases confirm the edges:
//! `2012-10-09T19:00:55` (no offset), `2023-02-24` (no time) and
//! `2016-12-05 21:29:29Z` (space separator) are not timestamps. Parsing is by
//! hand over bytes: it is on the Choice hot path and must not allocate.

use std::fmt;

/// An instant, comparable across offsets (`20:00:55+01:00` equals `19:00:55Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        // Shortest form: "YYYY-MM-DDThh:mm:ssZ" is 20 bytes.
        if b.len() < 20 {
            return None;
        }
        let year = digits(b, 0, 4)? as i64;
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Java's OffsetDateTime (what the service parses with) has no leap second.
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return None;
            }
            nanos = digits(b, start, n)? * 10u32.pow((9 - n) as u32);
        }
        let offset_secs: i64 = match b.get(i)? {
            b'Z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if i + 6 == b.len() => {
                let oh = digits(b, i + 1, 2)? as i64;
                let om = digits(b, i + 4, 2)? as i64;
                if b[i + 3] != b':' || oh > 18 || om > 59 || (oh == 18 && om > 0) {
                    return None;
                }
                let off = oh * 3600 + om * 60;
                if *sign == b'-' {
                    -off
                } else {
                    off
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
                - offset_secs;
        Some(Timestamp { secs, nanos })
    }

    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}s since the epoch", self.secs, self.nanos)
    }
}

/// `n` ASCII digits at `at`, or `None`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_rfc3339_profile() {
        let t = Timestamp::parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!((t.unix_seconds(), t.subsec_nanos()), (0, 0));
        let t = Timestamp::parse("2016-03-05T21:29:29.243167252Z").unwrap();
        assert_eq!(t.subsec_nanos(), 243_167_252);
        assert_eq!(t.unix_seconds(), 1_457_213_369);
        assert_eq!(
            Timestamp::parse("2012-10-09T20:00:55+01:00"),
            Timestamp::parse("2012-10-09T19:00:55Z")
        );
        assert!(
            Timestamp::parse("2012-10-09T19:00:55.5Z") > Timestamp::parse("2012-10-09T19:00:55Z")
        );
        assert!(Timestamp::parse("2024-02-29T00:00:00-05:30").is_some());
    }

    #[test]
    fn rejects_what_the_service_rejects() {
        for s in [
            "2012-10-09T19:00:55",
            "2023-02-24",
            "2016-12-05 21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05t21:29:29Z",
            "2016-12-05T21:29:29z",
            "2023-02-29T00:00:00Z",
            "2016-12-05T21:29:29.Z",
            "2016-12-05T21:29:29.1234567890Z",
            "2016-12-05T21:29:29+0100",
            "2016-12-05T21:29:29Zjunk",
            "2023-02-24 12:15:56.832957",
            "",
            "é023-02-24T12:15:56Z",
        ] {
            assert_eq!(Timestamp::parse(s), None, "{s}");
        }
    }
}
