//! Real time for `flowstate run`, optionally scaled so that Waits and retry
//! back-offs pass faster (like Step Functions Local's `WAIT_TIME_SCALE`).

use flowstate_engine::driver::RunClock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Execution time runs at `1/scale` of wall time: with scale 0.1 a 10 s
/// Wait takes 1 s; with scale 0 it takes none.
pub struct ScaledClock {
    start_wall: Instant,
    start_epoch_ms: i64,
    scale: f64,
    /// Time skipped by sleeps that were shortened.
    skipped_ms: i64,
}

impl ScaledClock {
    pub fn new(scale: f64) -> ScaledClock {
        let start_epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        ScaledClock {
            start_wall: Instant::now(),
            start_epoch_ms,
            scale,
            skipped_ms: 0,
        }
    }
}

impl RunClock for ScaledClock {
    fn now(&self) -> i64 {
        self.start_epoch_ms + self.start_wall.elapsed().as_millis() as i64 + self.skipped_ms
    }

    fn sleep_until(&mut self, at: i64) {
        let now = self.now();
        if at <= now {
            return;
        }
        let wanted = (at - now) as f64;
        let real = (wanted * self.scale).max(0.0);
        if real > 0.0 {
            std::thread::sleep(Duration::from_millis(real as u64));
        }
        // The part of the wait that the scale removed still counts as passed.
        self.skipped_ms += (wanted - real).round() as i64;
        let after = self.now();
        if after < at {
            self.skipped_ms += at - after;
        }
    }
}
