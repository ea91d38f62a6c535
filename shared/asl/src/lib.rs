//! The Amazon States Language, as AWS Step Functions accepts and evaluates it.
//!
//! This crate is pure: no I/O, no clock, no randomness except what callers pass
//! in. It owns
//!
//! - [`definition`]: the typed model of a state machine, parsed from JSON or YAML;
//! - [`validate`]: every problem of a definition at once, each located by a JSON
//!   pointer (`/States/Charge/Next`);
//! - the data-flow pieces a state is made of: [`jsonpath`], payload templates
//!   ([`template`]), [`intrinsics`] (`States.Format`, ...), Choice rules
//!   ([`choice`]), JSONata expressions in `{% %}` ([`jsonata`]);
//! - [`errors`]: the predefined `States.*` error names and error matching.
//!
//! Everything that reads data beyond a state's input does so through a
//! [`Scope`]: the context object (`$$`) and the workflow variables (`$name`).
//!
//! ```
//! use flowstate_asl::definition::StateMachine;
//! let sm = StateMachine::from_json_str(r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#).unwrap();
//! assert_eq!(sm.start_at(), "A");
//! ```

pub mod choice;
pub mod context;
pub mod definition;
pub mod errors;
pub mod intrinsics;
pub mod jsonata;
pub mod jsonpath;
pub mod template;
pub mod validate;
pub mod yaml;

/// The project's test data (`tests/data`), for the unit tests that check
/// the recorded corpus; a missing folder fails them rather than skipping.
#[cfg(test)]
fn test_data_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data"));
    assert!(
        dir.join("conformance/cases").is_dir(),
        "the conformance cases are missing from {}",
        dir.display()
    );
    dir
}

pub use context::{Scope, StaticScope};
