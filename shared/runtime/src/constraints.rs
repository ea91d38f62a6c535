//! What Step Functions accepts in a request before anything else happens:
//! definitions up to 1 MiB, execution inputs and task outputs up to
//! 256 KiB, and — Flowstate's own bound — JSON nested no deeper than the
//! engine keeps ([`MAX_DEPTH`]), so that nothing accepted is ever stored
//! unreadable.
//!
//! The size limits are the API model's member constraints, checked before
//! the action runs (a StartExecution with a 300 KB input is refused even
//! when its state machine does not exist), with Step Functions' message:
//! the router checks them on every request, the Service again for callers
//! that do not come through it (`flowstate serve --load`, a parent's
//! `states:startExecution` task, `flowstate run`).

use crate::ServiceError;
use flowstate_engine::limits::{nests_deeper_than, MAX_DEPTH, PAYLOAD_BYTES};
use serde_json::Value;

/// The longest definition: 1,048,576 characters (UTF-16 units, as the
/// service counts a string's length).
pub const DEFINITION_CHARS: usize = 1024 * 1024;

/// `ValidationException` for one violated member constraint. Sensitive
/// members (definitions, inputs, outputs) are named without their value.
fn violated(member: &str, constraint: String) -> ServiceError {
    ServiceError::ValidationException(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// A definition's length (CreateStateMachine, UpdateStateMachine,
/// ValidateStateMachineDefinition).
pub fn check_definition_length(definition: &str) -> Result<(), ServiceError> {
    if definition.len() > DEFINITION_CHARS && definition.encode_utf16().count() > DEFINITION_CHARS {
        return Err(violated(
            "definition",
            format!("Member must have length less than or equal to {DEFINITION_CHARS}"),
        ));
    }
    Ok(())
}

/// A payload member's size: an execution's `input`, a task's `output`.
pub fn check_payload_size(member: &str, text: &str) -> Result<(), ServiceError> {
    if text.len() > PAYLOAD_BYTES {
        return Err(violated(
            member,
            format!("Member must have size less than or equal to {PAYLOAD_BYTES} bytes in UTF-8 encoding"),
        ));
    }
    Ok(())
}

/// Why a parsed payload cannot be kept, if it cannot: it nests deeper than
/// [`MAX_DEPTH`] levels.
pub fn payload_too_deep(value: &Value) -> Option<String> {
    nests_deeper_than(value, MAX_DEPTH).then(|| {
        format!("it nests arrays and objects more than {MAX_DEPTH} levels deep, deeper than Flowstate keeps")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_12_sizes_are_refused_with_step_functions_message() {
        let input = "x".repeat(PAYLOAD_BYTES + 1);
        assert_eq!(
            check_payload_size("input", &input).map_err(|e| e.to_string()),
            Err("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding".into())
        );
        assert!(check_payload_size("input", &input[1..]).is_ok());
        // Bytes, not characters: 'é' is two.
        assert!(check_payload_size("output", &"é".repeat(PAYLOAD_BYTES / 2 + 1)).is_err());
        let definition = "x".repeat(DEFINITION_CHARS + 1);
        let e = check_definition_length(&definition).unwrap_err();
        assert_eq!(e.code(), "ValidationException");
        assert!(e.to_string().ends_with(
            "Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to 1048576"
        ));
        // Characters, not bytes: a definition of 600,000 'é' is 1.2 MB.
        assert!(check_definition_length(&"é".repeat(600_000)).is_ok());
    }
}
