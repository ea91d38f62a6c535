//! ARNs and names, as Step Functions spells and checks them.

use crate::ServiceError;

/// Step Functions' rule for state machine and execution names: 1 to 80
/// characters, no whitespace, no control characters and none of
/// `< > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /`.
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    let bad =
        |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    let len = name.chars().count();
    if len == 0 || len > 80 || name.chars().any(bad) {
        return Err(ServiceError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// The region and account a request names (its SigV4 credential scope),
/// which new ARNs take instead of the configured ones, so that they match
/// what the client builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestScope {
    pub region: Option<String>,
    pub account: Option<String>,
}

tokio::task_local! {
    static REQUEST_SCOPE: RequestScope;
}

/// Runs `f` with `scope` as the request's.
pub async fn in_request_scope<F: std::future::Future>(scope: RequestScope, f: F) -> F::Output {
    REQUEST_SCOPE.scope(scope, f).await
}

/// The region and account of new ARNs: the request's where it names
/// them, else `region` and `account`.
pub fn scoped(region: &str, account: &str) -> (String, String) {
    let scope = REQUEST_SCOPE.try_with(Clone::clone).unwrap_or_default();
    (
        scope.region.unwrap_or_else(|| region.to_string()),
        scope.account.unwrap_or_else(|| account.to_string()),
    )
}

/// The region and account of a state machine ARN
/// (`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`).
pub fn region_and_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let region = parts.nth(3)?;
    let account = parts.next()?;
    Some((region, account))
}

pub fn state_machine_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account}:stateMachine:{name}")
}

pub fn execution_arn(region: &str, account: &str, machine: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account}:execution:{machine}:{name}")
}

/// An Express execution's ARN, as Step Functions spells it:
/// `arn:aws:states:R:A:express:MACHINE:NAME:UUID`.
pub fn express_execution_arn(region: &str, account: &str, machine: &str, name: &str) -> String {
    format!(
        "arn:aws:states:{region}:{account}:express:{machine}:{name}:{}",
        uuid::Uuid::new_v4()
    )
}

/// Splits `arn:aws:states:R:A:stateMachine:NAME[#TestCase]` into the
/// state machine ARN and the test case.
pub fn split_test_case(arn: &str) -> (&str, Option<&str>) {
    match arn.split_once('#') {
        Some((a, t)) if !t.is_empty() => (a, Some(t)),
        Some((a, _)) => (a, None),
        None => (arn, None),
    }
}

/// Checks the shape of a state machine ARN.
pub fn check_state_machine_arn(arn: &str) -> Result<(), ServiceError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7
        || parts[0] != "arn"
        || parts[2] != "states"
        || parts[5] != "stateMachine"
        || parts[6].is_empty()
    {
        return Err(ServiceError::InvalidArn(arn.to_string()));
    }
    Ok(())
}

/// Checks the shape of an execution ARN (Standard or Express).
pub fn check_execution_arn(arn: &str) -> Result<(), ServiceError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 8
        || parts[0] != "arn"
        || parts[2] != "states"
        || !matches!(parts[5], "execution" | "express")
    {
        return Err(ServiceError::InvalidArn(arn.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_step_functions_rules() {
        assert!(check_name("order-42_a.b").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("a#b").is_err());
        assert!(check_name(&"x".repeat(81)).is_err());
    }

    #[test]
    fn test_case_suffix_is_split_off() {
        assert_eq!(
            split_test_case("arn:aws:states:r:1:stateMachine:M#Happy"),
            ("arn:aws:states:r:1:stateMachine:M", Some("Happy"))
        );
        assert_eq!(
            split_test_case("arn:aws:states:r:1:stateMachine:M"),
            ("arn:aws:states:r:1:stateMachine:M", None)
        );
    }
}
