//! A function's settings, read from the environment `template.yaml` gives
//! every function: each variable checked, a missing one named.

/// A variable missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    #[error("environment variable {0} is not set (template.yaml sets it for every function)")]
    Missing(&'static str),
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// The functions' settings, as `template.yaml` passes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaEnv {
    /// `FLOWSTATE_TABLE`
    pub table: String,
    /// `FLOWSTATE_QUEUE_URL`
    pub queue_url: String,
    /// `FLOWSTATE_DLQ_URL`; `None` in a process the stack did not start
    /// (`flowstate worker`).
    pub dlq_url: Option<String>,
    /// `FLOWSTATE_TOPIC_ARN`: where status changes are published; `None`
    /// in a process started without one (`flowstate worker` with no
    /// `--topic-arn`), which publishes nothing.
    pub topic_arn: Option<String>,
    /// `FLOWSTATE_EVENT_BUS_NAME`; `None` when unset or empty.
    pub event_bus_name: Option<String>,
    /// `FLOWSTATE_KEYS_KMS_KEY`: seals access-key secrets and the task
    /// token key.
    pub kms_key: String,
    /// `AWS_REGION` (set by Lambda): ARNs, and the region requests must be
    /// signed for.
    pub region: String,
    /// `FLOWSTATE_ACCOUNT_ID`: the account in the ARNs Flowstate makes.
    pub account: String,
}

impl LambdaEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<LambdaEnv, EnvError> {
        LambdaEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<LambdaEnv, EnvError> {
        let required = |name: &'static str| match get(name) {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            _ => Err(EnvError::Missing(name)),
        };
        let auth = required("FLOWSTATE_AUTH")?;
        if auth != "sigv4" {
            // The API has no unauthenticated mode on AWS.
            return Err(EnvError::Invalid {
                name: "FLOWSTATE_AUTH",
                value: auth,
                reason: "the only supported value is \"sigv4\"".into(),
            });
        }
        let account = check_account(required("FLOWSTATE_ACCOUNT_ID")?)?;
        let queue_url = required("FLOWSTATE_QUEUE_URL")?;
        if queue_name(&queue_url).is_none() {
            return Err(EnvError::Invalid {
                name: "FLOWSTATE_QUEUE_URL",
                value: queue_url,
                reason: "expected an SQS queue URL such as https://sqs.REGION.amazonaws.com/ACCOUNT/NAME".into(),
            });
        }
        Ok(LambdaEnv {
            table: required("FLOWSTATE_TABLE")?,
            queue_url,
            dlq_url: Some(required("FLOWSTATE_DLQ_URL")?),
            topic_arn: Some(required("FLOWSTATE_TOPIC_ARN")?),
            event_bus_name: get("FLOWSTATE_EVENT_BUS_NAME").filter(|v| !v.trim().is_empty()),
            kms_key: required("FLOWSTATE_KEYS_KMS_KEY")?,
            region: required("AWS_REGION")?,
            account,
        })
    }
}

/// `account` if it is an AWS account id (12 digits).
pub(crate) fn check_account(account: String) -> Result<String, EnvError> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EnvError::Invalid {
            name: "FLOWSTATE_ACCOUNT_ID",
            value: account,
            reason: "an AWS account id is 12 digits".into(),
        });
    }
    Ok(account)
}

/// The last path segment of a queue URL: the queue's name.
pub(crate) fn queue_name(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let name = rest.trim_end_matches('/').rsplit('/').next()?;
    (rest.contains('/') && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> HashMap<&'static str, String> {
        HashMap::from([
            ("FLOWSTATE_TABLE", "t".to_string()),
            (
                "FLOWSTATE_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/steps".to_string(),
            ),
            (
                "FLOWSTATE_DLQ_URL",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq".to_string(),
            ),
            (
                "FLOWSTATE_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:123456789012:t".to_string(),
            ),
            ("FLOWSTATE_EVENT_BUS_NAME", String::new()),
            (
                "FLOWSTATE_KEYS_KMS_KEY",
                "arn:aws:kms:eu-west-1:123456789012:key/k".to_string(),
            ),
            ("FLOWSTATE_AUTH", "sigv4".to_string()),
            ("FLOWSTATE_ACCOUNT_ID", "123456789012".to_string()),
            ("AWS_REGION", "eu-west-1".to_string()),
        ])
    }

    fn read(vars: &HashMap<&'static str, String>) -> Result<LambdaEnv, EnvError> {
        LambdaEnv::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_template_variables_make_settings() {
        let env = read(&full()).unwrap();
        assert_eq!(env.table, "t");
        assert_eq!(env.region, "eu-west-1");
        assert_eq!(env.event_bus_name, None);
        assert_eq!(queue_name(&env.queue_url), Some("steps"));
    }

    #[test]
    fn a_missing_variable_is_named() {
        for name in [
            "FLOWSTATE_TABLE",
            "FLOWSTATE_QUEUE_URL",
            "FLOWSTATE_KEYS_KMS_KEY",
            "FLOWSTATE_ACCOUNT_ID",
            "AWS_REGION",
        ] {
            let mut vars = full();
            vars.remove(name);
            let err = read(&vars).unwrap_err();
            assert_eq!(err, EnvError::Missing(name));
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn auth_cannot_be_turned_off() {
        let mut vars = full();
        vars.insert("FLOWSTATE_AUTH", "none".into());
        let err = read(&vars).unwrap_err();
        assert!(err.to_string().contains("FLOWSTATE_AUTH"), "{err}");
    }

    #[test]
    fn bad_account_and_queue_url_are_refused() {
        let mut vars = full();
        vars.insert("FLOWSTATE_ACCOUNT_ID", "12345".into());
        assert!(matches!(
            read(&vars),
            Err(EnvError::Invalid {
                name: "FLOWSTATE_ACCOUNT_ID",
                ..
            })
        ));
        let mut vars = full();
        vars.insert("FLOWSTATE_QUEUE_URL", "steps".into());
        assert!(matches!(
            read(&vars),
            Err(EnvError::Invalid {
                name: "FLOWSTATE_QUEUE_URL",
                ..
            })
        ));
    }
}
