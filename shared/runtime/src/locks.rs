//! One lock per execution, so that this process never runs two steps of
//! the same execution at once (the store's compare-and-set covers other
//! processes). Entries disappear when nobody holds or waits for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Map = Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>;

#[derive(Default)]
pub(crate) struct ExecLocks {
    map: Map,
}

pub(crate) struct ExecGuard {
    guard: Option<OwnedMutexGuard<()>>,
    arn: String,
    map: Map,
}

impl ExecLocks {
    pub(crate) async fn lock(&self, arn: &str) -> ExecGuard {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(arn.to_string()).or_default().clone()
        };
        let guard = m.lock_owned().await;
        ExecGuard {
            guard: Some(guard),
            arn: arn.to_string(),
            map: self.map.clone(),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

impl Drop for ExecGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // Waiters clone the entry under the map's lock, so a count of one
        // (the map's own) means nobody holds or waits for it.
        if map
            .get(&self.arn)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            map.remove(&self.arn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn locks_are_removed_when_released() {
        let locks = ExecLocks::default();
        {
            let _a = locks.lock("a").await;
            assert_eq!(locks.len(), 1);
        }
        assert_eq!(locks.len(), 0);
    }
}
