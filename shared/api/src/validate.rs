//! ValidateStateMachineDefinition, computed here: it needs nothing but the
//! language crate and the engine's list of integrations, so every implementation
//! of the actions gets the same answer.
//!
//! Besides the language's own diagnostics, each Task whose resource
//! Flowstate cannot perform on AWS gets a WARNING (the definition is valid
//! Step Functions ASL and runs locally with a handler; on AWS the task
//! fails with `States.TaskFailed`).

use crate::error::ApiError;
use crate::shapes::{
    StateMachineType, ValidateStateMachineDefinitionDiagnostic as Diag,
    ValidateStateMachineDefinitionInput, ValidateStateMachineDefinitionOutput,
    ValidationResultCode, ValidationSeverity,
};
use flowstate_asl::validate::{validate, Diagnostic, Severity};
use flowstate_engine::integration::{aws_supported_summary, AwsSupport, TaskResource};
use serde_json::Value;

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
    let mut all = diagnostics_for(&input.definition, input.r#type.unwrap_or_default());
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
    diagnostics_for(definition, StateMachineType::Standard)
}

/// [`diagnostics`] for a state machine of type `kind`: an Express state
/// machine also may not use what only Standard workflows have.
pub fn diagnostics_for(definition: &str, kind: StateMachineType) -> Vec<Diag> {
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
    let mut all: Vec<Diag> = validate(&value).iter().map(to_wire).collect();
    all.extend(type_diagnostics(&value, kind).iter().map(to_wire));
    let mut extra = Vec::new();
    for_each_task(&value, "", &mut |name, at, resource| {
        unsupported_on_aws(name, at, resource, &mut extra);
    });
    all.extend(extra.iter().map(to_wire));
    all
}

/// The errors of a definition that only its type makes: an Express state
/// machine may not use activities or the `.sync` and `.waitForTaskToken`
/// patterns, in any scope.
pub fn type_diagnostics(definition: &Value, kind: StateMachineType) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if kind == StateMachineType::Express {
        for_each_task(definition, "", &mut |name, at, resource| {
            if let Some(what) = standard_only(resource) {
                out.push(Diagnostic {
                    location: format!("{at}/Resource"),
                    message: format!(
                        "state '{name}': Express state machines do not support {what} ({resource}); use a Standard state machine"
                    ),
                    severity: Severity::Error,
                });
            }
        });
    }
    out
}

/// What in a Task resource only Standard workflows run: activities and the
/// `.sync` and `.waitForTaskToken` integration patterns.
fn standard_only(resource: &str) -> Option<&'static str> {
    if resource.contains(":activity:") {
        Some("activities")
    } else if resource.ends_with(".sync") || resource.contains(".sync:") {
        Some("the Run a Job (.sync) integration pattern")
    } else if resource.ends_with(".waitForTaskToken") {
        Some("the Wait for a Callback (.waitForTaskToken) integration pattern")
    } else {
        None
    }
}

/// Calls `f` with the name, location and `Resource` of each Task in every
/// scope (Parallel branches, Map processors).
fn for_each_task(scope: &Value, pointer: &str, f: &mut dyn FnMut(&str, &str, &str)) {
    let Some(states) = scope.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, state) in states {
        let at = format!("{pointer}/States/{}", escape_pointer(name));
        match state.get("Type").and_then(Value::as_str) {
            Some("Task") => {
                if let Some(resource) = state.get("Resource").and_then(Value::as_str) {
                    f(name, &at, resource);
                }
            }
            Some("Parallel") => {
                if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
                    for (i, branch) in branches.iter().enumerate() {
                        for_each_task(branch, &format!("{at}/Branches/{i}"), f);
                    }
                }
            }
            Some("Map") => {
                for field in ["ItemProcessor", "Iterator"] {
                    if let Some(processor) = state.get(field) {
                        for_each_task(processor, &format!("{at}/{field}"), f);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A warning for a Task whose `Resource` parses but is not performed on
/// AWS. Resources that do not parse are the language validator's business.
fn unsupported_on_aws(name: &str, at: &str, resource: &str, out: &mut Vec<Diagnostic>) {
    let Ok(parsed) = TaskResource::parse(resource) else {
        return;
    };
    if let AwsSupport::Unsupported(reason) = parsed.aws_support() {
        out.push(Diagnostic {
            location: format!("{at}/Resource"),
            message: format!(
                "state '{name}': {resource} cannot run on AWS ({reason}); there the task fails with States.TaskFailed. {}",
                aws_supported_summary()
            ),
            severity: Severity::Warning,
        });
    }
}

/// RFC 6901: `~` and `/` in a state name.
fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn to_wire(d: &Diagnostic) -> Diag {
    let severity = match d.severity {
        Severity::Error => ValidationSeverity::Error,
        Severity::Warning => ValidationSeverity::Warning,
    };
    Diag {
        severity,
        code: diagnostic_code(d).into(),
        message: d.message.clone(),
        location: (!d.location.is_empty()).then(|| d.location.clone()),
    }
}

/// The validator states problems in prose and locates them; AWS's codes are
/// coarser. The mapping keys on the validator's stable phrasings (its own
/// tests pin them) and falls back to the catch-all codes, which AWS also
/// uses for most schema problems. AWS documents these codes as subject to
/// change, so clients must not depend on them either.
pub fn diagnostic_code(d: &Diagnostic) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn warnings(definition: Value) -> Vec<Diag> {
        diagnostics(&definition.to_string())
            .into_iter()
            .filter(|d| d.severity == ValidationSeverity::Warning)
            .collect()
    }

    #[test]
    fn unsupported_task_resources_are_warnings_located_at_the_resource() {
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "M", "Branches": [
                {"StartAt": "Ecs", "States": {"Ecs": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true}}}
            ]},
            "M": {"Type": "Map", "Next": "a/b", "ItemProcessor": {"StartAt": "Sdk", "States": {
                "Sdk": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": true}
            }}},
            "a/b": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.sync", "Next": "Ok"},
            "Ok": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": "q", "MessageBody": "m"}, "End": true}
        }});
        let found = warnings(def);
        let locations: Vec<&str> = found
            .iter()
            .map(|d| d.location.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            locations,
            [
                "/States/P/Branches/0/States/Ecs/Resource",
                "/States/M/ItemProcessor/States/Sdk/Resource",
                "/States/a~1b/Resource",
            ]
        );
        assert!(found[0]
            .message
            .contains("ecs:runTask is not supported on AWS"));
        assert!(found[0].message.contains("Flowstate on AWS supports"));
        assert!(found.iter().all(|d| d.code == "INVALID_RESOURCE"));
    }

    #[test]
    fn activities_run_on_aws_and_are_not_warned_about() {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:approve", "End": true}
        }});
        assert_eq!(warnings(def), []);
    }

    #[test]
    fn unsupported_resources_do_not_fail_validation() {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": true}
        }});
        let out = validate_state_machine_definition(&ValidateStateMachineDefinitionInput {
            definition: def.to_string(),
            severity: Some(ValidationSeverity::Warning),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(out.result, ValidationResultCode::Ok);
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].severity, ValidationSeverity::Warning);
        // Without severity WARNING, warnings are not listed.
        let out = validate_state_machine_definition(&ValidateStateMachineDefinitionInput {
            definition: def.to_string(),
            ..Default::default()
        })
        .unwrap();
        assert!(out.diagnostics.is_empty());
    }

    #[test]
    fn express_state_machines_refuse_what_only_standard_ones_run() {
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "Cb", "States": {
                "Cb": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                       "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}}, "Next": "Job"},
                "Job": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}, "Next": "Act"},
                "Act": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:approve", "End": true}
            }}]}
        }});
        let check = |kind| {
            validate_state_machine_definition(&ValidateStateMachineDefinitionInput {
                definition: def.to_string(),
                r#type: Some(kind),
                ..Default::default()
            })
            .unwrap()
        };
        let standard = check(StateMachineType::Standard);
        assert_eq!(standard.result, ValidationResultCode::Ok, "{standard:?}");
        let express = check(StateMachineType::Express);
        assert_eq!(express.result, ValidationResultCode::Fail);
        let mut located: Vec<(&str, &str)> = express
            .diagnostics
            .iter()
            .map(|d| (d.location.as_deref().unwrap_or(""), d.code.as_str()))
            .collect();
        located.sort();
        assert_eq!(
            located,
            [
                (
                    "/States/P/Branches/0/States/Act/Resource",
                    "INVALID_RESOURCE"
                ),
                (
                    "/States/P/Branches/0/States/Cb/Resource",
                    "INVALID_RESOURCE"
                ),
                (
                    "/States/P/Branches/0/States/Job/Resource",
                    "INVALID_RESOURCE"
                ),
            ]
        );
    }
}
