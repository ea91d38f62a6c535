//! The clock of `flowstate serve` on the embedded store, which tests can
//! move: `--wait-scale` makes time run faster while every execution waits
//! for a timer, and `POST /_flowstate/clock/next-timer` moves it to the
//! next due timer at once, so a one-day Wait is tested in milliseconds.
//!
//! Time is the system clock (with the test clock file's offset, see
//! `flowstate_ports::TEST_CLOCK_FILE_ENV`) plus an offset that only grows:
//! every execution sees the same time, and it never goes back. The clock
//! jumps only to a timer's due time and only while no task is being
//! performed, so a running task never sees its timeout fire early.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use flowstate_ports::{Clock, Invoker, Queue, Store, SystemClock};
use flowstate_runtime::Service;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The route that moves the clock to the next due timer.
pub const NEXT_TIMER_PATH: &str = "/_flowstate/clock/next-timer";

/// How long the pacer sleeps at most before it looks at the queue again
/// (a timer may have been scheduled meanwhile).
const PACE_MS: f64 = 200.0;

/// System time plus a growing offset, shared by clones.
#[derive(Debug, Clone)]
pub struct ServeClock {
    offset_ms: Arc<AtomicI64>,
    /// Real time per unit of execution time while waiting for timers.
    scale: f64,
}

impl ServeClock {
    pub fn new(scale: f64) -> ServeClock {
        ServeClock {
            offset_ms: Arc::new(AtomicI64::new(0)),
            scale,
        }
    }

    /// Moves time on to `at`, if it is later than now.
    fn move_to(&self, at: i64) {
        let now = self.now();
        if at > now {
            self.offset_ms.fetch_add(at - now, Ordering::SeqCst);
        }
    }
}

impl Clock for ServeClock {
    fn now(&self) -> i64 {
        SystemClock
            .now()
            .saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Waits the scaled share of the time to `at`; the rest passes at once.
    fn sleep_until(&self, at: i64) -> impl Future<Output = ()> + Send {
        let wanted = at.saturating_sub(self.now()).max(0) as f64;
        let real = (wanted * self.scale).round() as u64;
        let clock = self.clone();
        async move {
            if real > 0 {
                tokio::time::sleep(Duration::from_millis(real)).await;
            }
            clock.move_to(at);
        }
    }
}

/// Makes execution time run `1/scale` as fast as real time while the next
/// message of the queue is a timer not due yet and no task is being
/// performed. With scale 1 there is nothing to do.
pub async fn pace<S: Store, Q: Queue, I: Invoker>(
    service: Service<S, Q, I, ServeClock>,
    stopped: impl Future<Output = ()>,
) {
    let scale = service.clock().scale;
    if scale >= 1.0 {
        return;
    }
    tokio::pin!(stopped);
    loop {
        let clock = service.clock();
        let due = service.queue().next_due().await.ok().flatten();
        let wait = match due {
            Some(due) if due > clock.now() && !service.is_performing() => {
                let left = (due - clock.now()) as f64;
                let real = (left * scale).min(PACE_MS);
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(Duration::from_millis(real as u64)) => {}
                }
                // What the real time that passed stands for, and no
                // further than the timer.
                let virtual_ms = if scale > 0.0 { real / scale } else { left };
                if !service.is_performing() {
                    let now = clock.now();
                    let step = (virtual_ms - real).max(0.0) as i64;
                    clock.move_to(now.saturating_add(step).min(due));
                    service.wake_worker();
                }
                continue;
            }
            _ => PACE_MS as u64,
        };
        tokio::select! {
            _ = &mut stopped => return,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
    }
}

/// `POST /_flowstate/clock/next-timer`: moves the clock to the next due
/// timer (a Wait, a retry back-off, a timeout) and wakes the worker.
/// Answers `{"now": MS, "timerDue": MS | null}`: `null` when no timer is
/// pending (nothing moved).
pub fn router<S: Store, Q: Queue, I: Invoker>(service: Service<S, Q, I, ServeClock>) -> Router {
    Router::new()
        .route(NEXT_TIMER_PATH, post(next_timer::<S, Q, I>))
        .with_state(service)
}

async fn next_timer<S: Store, Q: Queue, I: Invoker>(
    State(service): State<Service<S, Q, I, ServeClock>>,
) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
    let due = service.queue().next_due().await.map_err(|e| {
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the queue: {e}"),
        )
    })?;
    let clock = service.clock();
    let timer = due.filter(|d| *d > clock.now());
    if let Some(at) = timer {
        clock.move_to(at);
    }
    service.wake_worker();
    Ok(Json(json!({"now": clock.now(), "timerDue": timer})))
}
