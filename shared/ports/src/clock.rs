//! Time for the runtime: the system clock (which a test may shift, see
//! [`TEST_CLOCK_FILE_ENV`]), or simulated time for tests.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
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

/// Names a file holding an offset in seconds (e.g. `7200`, `-30`, `1.5`)
/// that [`SystemClock`] adds to the system time, read again on every
/// `now()`: a testing aid that lets a test move several processes (e.g.
/// `flowstate worker`s) hours ahead without waiting. Unset in production;
/// a missing or unreadable file means no offset.
pub const TEST_CLOCK_FILE_ENV: &str = "FLOWSTATE_TEST_CLOCK_FILE";

/// The system clock (plus the offset of [`TEST_CLOCK_FILE_ENV`], when a
/// test set it). `sleep_until` uses tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        system.saturating_add(test_offset_ms())
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

/// The test clock's offset, 0 unless [`TEST_CLOCK_FILE_ENV`] is set.
fn test_offset_ms() -> i64 {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    match FILE.get_or_init(|| std::env::var_os(TEST_CLOCK_FILE_ENV).map(PathBuf::from)) {
        Some(path) => offset_ms_in(path),
        None => 0,
    }
}

/// The offset a test clock file holds, in milliseconds; 0 when the file
/// is missing or holds no number of seconds.
pub fn offset_ms_in(path: &Path) -> i64 {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => (seconds * 1000.0).round() as i64,
        _ => 0,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_file_holds_seconds_and_anything_else_is_no_offset() {
        let dir = std::env::temp_dir().join(format!("flowstate-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("offset");
        for (text, ms) in [
            ("7200", 7_200_000),
            (" -1.5\n", -1_500),
            ("soon", 0),
            ("inf", 0),
        ] {
            std::fs::write(&file, text).unwrap();
            assert_eq!(offset_ms_in(&file), ms, "{text:?}");
        }
        assert_eq!(offset_ms_in(&dir.join("missing")), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
