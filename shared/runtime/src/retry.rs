//! Jittered exponential back-off: retries that many processes make at
//! once (a commit conflict on a busy execution, a failed queue message)
//! spread out instead of colliding again.

/// The delay before retry number `attempt` (1 for the first): between
/// half and all of `base_ms · 2^(attempt-1)`, capped at `cap_ms`.
pub(crate) fn backoff_ms(attempt: u32, base_ms: i64, cap_ms: i64) -> i64 {
    let doubling = attempt.saturating_sub(1).min(30);
    let ceiling = base_ms
        .max(1)
        .saturating_mul(1 << doubling)
        .min(cap_ms.max(1));
    ceiling / 2 + random_below(ceiling - ceiling / 2 + 1)
}

/// A random number in `0..n` (`n > 0`), from the operating system's
/// randomness that UUIDs already use.
fn random_below(n: i64) -> i64 {
    (uuid::Uuid::new_v4().as_u128() % n.max(1) as u128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_their_jitter_and_stop_at_the_cap() {
        for _ in 0..200 {
            let first = backoff_ms(1, 1000, 60_000);
            assert!((500..=1000).contains(&first), "{first}");
            let third = backoff_ms(3, 1000, 60_000);
            assert!((2000..=4000).contains(&third), "{third}");
            let late = backoff_ms(40, 1000, 60_000);
            assert!((30_000..=60_000).contains(&late), "{late}");
        }
        let spread: std::collections::HashSet<i64> =
            (0..50).map(|_| backoff_ms(5, 1000, 60_000)).collect();
        assert!(spread.len() > 10, "jittered: {spread:?}");
    }
}
