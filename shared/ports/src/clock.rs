//! Time for the runtime: the system clock, or simulated time for tests.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Time as the runtime sees it, in epoch milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> i64;
    /// Waits until `at` (or returns at once if simulated).
    fn sleep_until(&self, at: i64) -> impl Future<Output = ()> + Send;
    /// Whether time only moves when told to (tests): the worker then jumps
    /// the clock to the next due message instead of sleeping.
    fn is_simulated(&self) -> bool {
        false
    }
    /// Moves simulated time forward to `at`; no-op for real clocks.
    fn advance_to(&self, _at: i64) {}
}

/// The system clock. `sleep_until` uses tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn sleep_until(&self, at: i64) -> impl Future<Output = ()> + Send {
        let ms = at.saturating_sub(self.now()).max(0) as u64;
        async move {
            if ms > 0 {
                tokio_sleep(ms).await;
            }
        }
    }
}

async fn tokio_sleep(ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Time that moves only when told to: a one-year Wait takes no time.
#[derive(Debug, Clone, Default)]
pub struct SimulatedClock(Arc<AtomicI64>);

impl SimulatedClock {
    pub fn new(start: i64) -> SimulatedClock {
        SimulatedClock(Arc::new(AtomicI64::new(start)))
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn sleep_until(&self, at: i64) -> impl Future<Output = ()> + Send {
        self.advance_to(at);
        std::future::ready(())
    }
    fn is_simulated(&self) -> bool {
        true
    }
    fn advance_to(&self, at: i64) {
        self.0.fetch_max(at, Ordering::SeqCst);
    }
}
