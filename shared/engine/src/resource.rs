//! How a Task's `Resource` appears in history events.

/// `resourceType`/`resource` of Task history events, or the legacy
/// `LambdaFunction*` events of a plain function ARN.
pub struct ResourceKind {
    pub resource_type: String,
    pub resource: String,
    pub lambda_legacy: bool,
}

pub fn integration_kind(resource: &str) -> ResourceKind {
    // arn:aws:states:::lambda:invoke(.waitForTaskToken) → ("lambda", "invoke...")
    if let Some(rest) = resource.split_once(":states:::").map(|(_, r)| r) {
        if let Some((service, action)) = rest.split_once(':') {
            return ResourceKind { resource_type: service.to_string(), resource: action.to_string(), lambda_legacy: false };
        }
    }
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[2] == "lambda" && parts[5] == "function" {
        return ResourceKind { resource_type: "lambda".into(), resource: resource.to_string(), lambda_legacy: true };
    }
    if parts.len() >= 7 && parts[2] == "states" && parts[5] == "activity" {
        return ResourceKind { resource_type: "activity".into(), resource: resource.to_string(), lambda_legacy: false };
    }
    ResourceKind { resource_type: "unknown".into(), resource: resource.to_string(), lambda_legacy: false }
}
