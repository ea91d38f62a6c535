//! Shapes of the version, alias and tag actions.

use super::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PublishStateMachineVersionInput {
    pub state_machine_arn: String,
    pub revision_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishStateMachineVersionOutput {
    pub creation_date: Timestamp,
    pub state_machine_version_arn: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachineVersionsInput {
    pub state_machine_arn: String,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineVersionListItem {
    pub state_machine_version_arn: String,
    pub creation_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachineVersionsOutput {
    pub state_machine_versions: Vec<StateMachineVersionListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStateMachineVersionInput {
    pub state_machine_version_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DeleteStateMachineVersionOutput {}

/// One version of an alias's routing and its weight (0 to 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingConfigurationListItem {
    pub state_machine_version_arn: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachineAliasInput {
    pub description: Option<String>,
    pub name: String,
    pub routing_configuration: Vec<RoutingConfigurationListItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachineAliasOutput {
    pub state_machine_alias_arn: String,
    pub creation_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineAliasInput {
    pub state_machine_alias_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeStateMachineAliasOutput {
    pub state_machine_alias_arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub routing_configuration: Vec<RoutingConfigurationListItem>,
    pub creation_date: Timestamp,
    pub update_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachineAliasInput {
    pub state_machine_alias_arn: String,
    pub description: Option<String>,
    pub routing_configuration: Option<Vec<RoutingConfigurationListItem>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachineAliasOutput {
    pub update_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeleteStateMachineAliasInput {
    pub state_machine_alias_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DeleteStateMachineAliasOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachineAliasesInput {
    pub state_machine_arn: String,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineAliasListItem {
    pub state_machine_alias_arn: String,
    pub creation_date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachineAliasesOutput {
    pub state_machine_aliases: Vec<StateMachineAliasListItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A tag: `key` 1 to 128 characters, `value` up to 256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceInput {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TagResourceOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceInput {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct UntagResourceOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceInput {
    pub resource_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceOutput {
    pub tags: Vec<Tag>,
}
