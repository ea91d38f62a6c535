//! Support for the end-to-end tests in `tests/`: where the project's test
//! data lives (`tests/data/`), and the recorded conformance corpus — its
//! case model, the one comparison every conformance test uses, and a runner
//! that drives any endpoint speaking the Step Functions API.
//!
//! - [`conformance::Case`] is one recorded case; [`conformance::load_cases`]
//!   reads a folder of them.
//! - [`conformance::Case::check`] compares what an execution did (an
//!   [`conformance::Observed`]) with what AWS recorded. The in-memory test
//!   (`tests/tests/conformance.rs`) feeds it the engine's result; the
//!   endpoint runner ([`conformance::endpoint`]) feeds it
//!   DescribeExecution and GetExecutionHistory.
//! - The `conformance` binary runs the corpus against any endpoint:
//!
//! ```text
//! cargo run -p flowstate-tests --bin conformance -- --endpoint http://127.0.0.1:8083 [--filter map] [--jobs 8]
//! ```

use std::path::PathBuf;

pub mod conformance;

/// The project's test data: `tests/data/` (the conformance corpus, the
/// benchmark workloads, the JSONata test suite; each folder has a README
/// naming its origin and licence).
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}
