//! ValidateStateMachineDefinition, computed here: it needs nothing but the
//! language crate, so every backend gets the same answer.

use crate::error::ApiError;
use crate::shapes::{
    ValidateStateMachineDefinitionDiagnostic as Diag, ValidateStateMachineDefinitionInput,
    ValidateStateMachineDefinitionOutput, ValidationResultCode, ValidationSeverity,
};
use flowstate_asl::validate::{validate, Diagnostic, Severity};

/// AWS's default and largest page of diagnostics.
const MAX_DIAGNOSTICS: usize = 100;

/// Validates a definition as the ValidateStateMachineDefinition action does:
/// `FAIL` when any error is found; warnings are listed only when
/// `severity` is `WARNING`.
pub fn validate_state_machine_definition(
    input: &ValidateStateMachineDefinitionInput,
) -> Result<ValidateStateMachineDefinitionOutput, ApiError> {
    let limit = match input.max_results {
        None | Some(0) => MAX_DIAGNOSTICS,
        Some(n @ 1..=100) => n as usize,
        Some(n) => {
            return Err(ApiError::constraint(
                "maxResults",
                n,
                "Member must have value less than or equal to 100",
            ))
        }
    };
    let with_warnings = input.severity == Some(ValidationSeverity::Warning);
    let mut all = diagnostics(&input.definition);
    let failed = all.iter().any(|d| d.severity == ValidationSeverity::Error);
    if !with_warnings {
        all.retain(|d| d.severity == ValidationSeverity::Error);
    }
    let truncated = all.len() > limit;
    all.truncate(limit);
    Ok(ValidateStateMachineDefinitionOutput {
        result: if failed {
            ValidationResultCode::Fail
        } else {
            ValidationResultCode::Ok
        },
        diagnostics: all,
        truncated,
    })
}

/// Every diagnostic of a definition text, with AWS's diagnostic codes.
pub fn diagnostics(definition: &str) -> Vec<Diag> {
    if definition.trim().is_empty() {
        return vec![Diag {
            severity: ValidationSeverity::Error,
            code: "MISSING_DESCRIPTION".into(),
            message: "the definition is empty".into(),
            location: None,
        }];
    }
    let value: serde_json::Value = match serde_json::from_str(definition) {
        Ok(v) => v,
        Err(e) => {
            return vec![Diag {
                severity: ValidationSeverity::Error,
                code: "INVALID_JSON_DESCRIPTION".into(),
                message: format!("the definition is not valid JSON: {e}"),
                location: None,
            }]
        }
    };
    validate(&value).iter().map(to_wire).collect()
}

fn to_wire(d: &Diagnostic) -> Diag {
    let severity = match d.severity {
        Severity::Error => ValidationSeverity::Error,
        Severity::Warning => ValidationSeverity::Warning,
    };
    Diag {
        severity,
        code: code_for(d).into(),
        message: d.message.clone(),
        location: (!d.location.is_empty()).then(|| d.location.clone()),
    }
}

/// The validator states problems in prose and locates them; AWS's codes are
/// coarser. The mapping keys on the validator's stable phrasings (its own
/// tests pin them) and falls back to the catch-all codes, which AWS also
/// uses for most schema problems. AWS documents these codes as subject to
/// change, so clients must not depend on them either.
fn code_for(d: &Diagnostic) -> &'static str {
    let m = d.message.as_str();
    if m.contains("which does not exist") || m.contains("is not reachable") {
        "MISSING_TRANSITION_TARGET"
    } else if m.contains("no terminal state") {
        "MISSING_END_STATE"
    } else if m.contains("the name is already used") {
        "DUPLICATE_STATE_NAME"
    } else if m.contains("the name has")
        || m.contains("state name must not be empty")
        || m.contains("control character")
    {
        "INVALID_STATE_NAME"
    } else if d.location.ends_with("/Resource") {
        "INVALID_RESOURCE"
    } else {
        "SCHEMA_VALIDATION_FAILED"
    }
}
