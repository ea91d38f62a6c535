//! An optional cache of recently accepted signatures.
//!
//! SigV4 already bounds replays: the payload hash is signed (a captured
//! signature cannot carry another body) and the timestamp must be within
//! the allowed skew. What remains is replaying the *same* request within
//! that window. This cache refuses a signature seen before, with two limits
//! that keep it opt-in:
//!
//! - it is per process: each Lambda instance has its own, so on AWS it
//!   narrows the window rather than closing it;
//! - SDKs re-sign a retried request, but a retry within the same second
//!   carries the same `X-Amz-Date` and so the same signature: with the cache
//!   on, such a retry (after a timeout, say) is refused. Step Functions
//!   itself has no such cache.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Signatures accepted within their validity window, bounded in size.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_signature: HashMap<String, i64>,
    by_expiry: BTreeSet<(i64, String)>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` signatures; when full, the one
    /// closest to expiry is forgotten first.
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Entries::default()),
        }
    }

    /// Records `signature` as used until `expires_at` (epoch ms). `false`
    /// if it was already recorded and has not expired at `now`.
    pub fn check_and_insert(&self, signature: &str, expires_at: i64, now: i64) -> bool {
        let mut entries = match self.inner.lock() {
            Ok(guard) => guard,
            // The maps are updated together under the lock with no
            // panicking call in between, so a poisoned lock is consistent.
            Err(poisoned) => poisoned.into_inner(),
        };
        // Forget what can no longer be replayed anyway (expired timestamps
        // fail the skew check before reaching the cache).
        while let Some((expiry, sig)) = entries.by_expiry.first().cloned() {
            if expiry >= now && entries.by_expiry.len() < self.capacity {
                break;
            }
            entries.by_expiry.remove(&(expiry, sig.clone()));
            entries.by_signature.remove(&sig);
        }
        if entries.by_signature.contains_key(signature) {
            return false;
        }
        entries
            .by_signature
            .insert(signature.to_owned(), expires_at);
        entries.by_expiry.insert((expires_at, signature.to_owned()));
        true
    }

    pub fn len(&self) -> usize {
        match self.inner.lock() {
            Ok(guard) => guard.by_signature.len(),
            Err(poisoned) => poisoned.into_inner().by_signature.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_signature_twice_until_it_expires() {
        let cache = ReplayCache::new(10);
        assert!(cache.check_and_insert("a", 100, 0));
        assert!(!cache.check_and_insert("a", 100, 50));
        assert!(cache.check_and_insert("a", 300, 101));
    }

    #[test]
    fn stays_bounded() {
        let cache = ReplayCache::new(3);
        for i in 0..10 {
            assert!(cache.check_and_insert(&format!("s{i}"), 1000 + i, 0));
        }
        assert!(cache.len() <= 3);
        assert!(!cache.check_and_insert("s9", 2000, 0));
    }
}
