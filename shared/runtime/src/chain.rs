//! Chaining tasks within one invocation: when the step that applies a
//! performed task's result makes the execution wait for another task, the
//! process that performed the first performs the next one too — its
//! outbox entry is committed already claimed by this process, so there is
//! no `Perform` message (send, receive, delete), no claim write and no
//! reload of the execution between the two. A chain of N Lambda Tasks
//! costs one queue message, not N.
//!
//! Every guarantee of a deferred task holds for a chained one: its entry
//! is in the outbox, committed with the step (a process that dies
//! mid-chain leaves it claimed; once the claim lapses the sweep performs
//! it); the frame must still wait for it when it is performed (a
//! StopExecution committed meanwhile cancels it); its result is committed
//! with a compare-and-set like any other.
//!
//! A chain is bounded ([`ChainBudget`]), and the next task is chained only
//! while the budget allows it; otherwise its entry goes to the queue as
//! usual. The bounds, and why:
//!
//! - **the deadline** of the invocation (the Lambda function's remaining
//!   time, or a worker's message visibility) less [`CHAIN_MARGIN`], and
//!   less twice the longest task of the chain so far (the next is
//!   expected to take about as long): an invocation that times out brings
//!   back every record of its batch;
//! - **a time slice** ([`CHAIN_SLICE`]) from the chain's start: the
//!   batch's response — and with it the deletion of its other records and
//!   this instance's next batch — waits for its longest chain;
//! - **a count** ([`CHAIN_TASKS`]): a loop of fast tasks (a Task in a
//!   Choice loop) gives its instance back to the queue regularly instead
//!   of holding it for the whole slice every time.

use std::time::Duration;
use tokio::time::Instant;

/// Tasks one message performs at most (its own and the chained ones).
pub const CHAIN_TASKS: u32 = 32;
/// How long a chain may go on from its start.
pub const CHAIN_SLICE: Duration = Duration::from_secs(60);
/// Time kept back before the deadline for committing the last result,
/// deleting the entry and answering.
pub const CHAIN_MARGIN: Duration = Duration::from_secs(10);

/// What a chain may still do: until when, and how many tasks in all.
#[derive(Debug, Clone, Copy)]
pub struct ChainBudget {
    /// The invocation's deadline (a monotonic instant, independent of the
    /// service's clock, which tests move).
    deadline: Instant,
    started: Instant,
    max_tasks: u32,
}

impl ChainBudget {
    /// A chain starting now, in an invocation that must end by `deadline`.
    pub fn until(deadline: Instant) -> ChainBudget {
        ChainBudget {
            deadline,
            started: Instant::now(),
            max_tasks: CHAIN_TASKS,
        }
    }

    /// No chaining at all: every task goes through the queue.
    pub fn none() -> ChainBudget {
        ChainBudget {
            deadline: Instant::now(),
            started: Instant::now(),
            max_tasks: 1,
        }
    }

    /// Whether another task may be chained after `performed` tasks, the
    /// longest of which took `longest`.
    pub(crate) fn allows(&self, performed: u32, longest: Duration) -> bool {
        self.allows_at(Instant::now(), performed, longest)
    }

    fn allows_at(&self, now: Instant, performed: u32, longest: Duration) -> bool {
        if performed >= self.max_tasks {
            return false;
        }
        let Some(by_deadline) = self.deadline.checked_sub(CHAIN_MARGIN) else {
            return false;
        };
        now + longest.saturating_mul(2) <= by_deadline.min(self.started + CHAIN_SLICE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_stops_at_its_count_its_slice_and_before_the_deadline() {
        let start = Instant::now();
        let budget = ChainBudget {
            deadline: start + Duration::from_secs(300),
            started: start,
            max_tasks: CHAIN_TASKS,
        };
        let quick = Duration::from_millis(50);
        assert!(budget.allows_at(start, 1, quick));
        assert!(budget.allows_at(start, CHAIN_TASKS - 1, quick));
        assert!(!budget.allows_at(start, CHAIN_TASKS, quick), "the count");
        assert!(
            !budget.allows_at(start + CHAIN_SLICE, 2, quick),
            "the slice"
        );
        // The next task is expected to take as long as the longest so far.
        assert!(budget.allows_at(start, 1, Duration::from_secs(29)));
        assert!(!budget.allows_at(start, 1, Duration::from_secs(31)));

        let near = ChainBudget {
            deadline: start + CHAIN_MARGIN + Duration::from_secs(1),
            ..budget
        };
        assert!(near.allows_at(start, 1, Duration::ZERO));
        assert!(
            !near.allows_at(start + Duration::from_secs(2), 1, Duration::ZERO),
            "within the margin of the deadline"
        );
        let past = ChainBudget {
            deadline: start,
            ..budget
        };
        assert!(!past.allows_at(start, 1, Duration::ZERO));
        assert!(!ChainBudget::none().allows(1, Duration::ZERO));
    }
}
