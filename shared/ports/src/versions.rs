//! Records of state machine versions, aliases and tags.

use serde::{Deserialize, Serialize};

/// A published version: an immutable pointer to one revision of a state
/// machine (whose record keeps its definition, role, type and
/// configuration), numbered from 1. Numbers only grow: one is never used
/// again, also after its version is deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `{state machine ARN}:{number}`.
    pub arn: String,
    pub state_machine_arn: String,
    pub number: u64,
    pub revision_id: String,
    pub description: Option<String>,
    /// Epoch ms.
    pub creation_date: i64,
}

/// One version an alias routes to, and the percentage of starts it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    pub version_arn: String,
    pub weight: u32,
}

/// An alias: a name that routes StartExecution to one or two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    /// `{state machine ARN}:{name}`.
    pub arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub description: Option<String>,
    pub routing: Vec<RouteRecord>,
    /// Epoch ms.
    pub creation_date: i64,
    pub update_date: i64,
}

/// The ARN of version `number` of a state machine.
pub fn version_arn(state_machine_arn: &str, number: u64) -> String {
    format!("{state_machine_arn}:{number}")
}

/// Splits a version ARN into its state machine ARN and number; `None`
/// when the last part is not a number (an alias, or no qualifier).
pub fn split_version_arn(arn: &str) -> Option<(&str, u64)> {
    let (sm, q) = arn.rsplit_once(':')?;
    if !q.bytes().all(|b| b.is_ascii_digit()) || q.is_empty() {
        return None;
    }
    Some((sm, q.parse().ok()?))
}
