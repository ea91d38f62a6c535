//! Versions, aliases and tags on the wire: the protocol checks of their
//! requests, and the runtime's records in their shapes.

use crate::error::ApiError;
use crate::shapes::*;
use crate::{check_len, check_max_results, CheckInput};
use flowstate_ports::{AliasRecord, RouteRecord};
use std::collections::BTreeMap;

/// `description` of versions and aliases: at most 256 characters.
fn check_description(d: Option<&str>) -> Result<(), ApiError> {
    check_len("description", d, 256)
}

/// Weights are 0 to 100 on the wire; one or two routes.
fn check_routing(routing: &[RoutingConfigurationListItem]) -> Result<(), ApiError> {
    if routing.is_empty() || routing.len() > 2 {
        return Err(ApiError::constraint(
            "routingConfiguration",
            routing.len(),
            "Member must have length between 1 and 2",
        ));
    }
    for r in routing {
        if !(0..=100).contains(&r.weight) {
            return Err(ApiError::constraint(
                "routingConfiguration.member.weight",
                r.weight,
                "Member must have value between 0 and 100",
            ));
        }
    }
    Ok(())
}

/// Tags: keys of 1 to 128 characters, values of up to 256.
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), ApiError> {
    for t in tags {
        if t.key.is_empty() {
            return Err(ApiError::constraint(
                "tags.member.key",
                "''",
                "Member must have length greater than or equal to 1",
            ));
        }
        check_len("tags.member.key", Some(&t.key), 128)?;
        check_len("tags.member.value", Some(&t.value), 256)?;
    }
    Ok(())
}

impl CheckInput for PublishStateMachineVersionInput {
    fn check(&self) -> Result<(), ApiError> {
        check_description(self.description.as_deref())
    }
}
impl CheckInput for ListStateMachineVersionsInput {
    fn check(&self) -> Result<(), ApiError> {
        check_max_results(self.max_results)
    }
}
impl CheckInput for DeleteStateMachineVersionInput {}
impl CheckInput for CreateStateMachineAliasInput {
    fn check(&self) -> Result<(), ApiError> {
        check_description(self.description.as_deref())?;
        check_routing(&self.routing_configuration)
    }
}
impl CheckInput for DescribeStateMachineAliasInput {}
impl CheckInput for UpdateStateMachineAliasInput {
    fn check(&self) -> Result<(), ApiError> {
        check_description(self.description.as_deref())?;
        match &self.routing_configuration {
            Some(r) => check_routing(r),
            None => Ok(()),
        }
    }
}
impl CheckInput for DeleteStateMachineAliasInput {}
impl CheckInput for ListStateMachineAliasesInput {
    fn check(&self) -> Result<(), ApiError> {
        check_max_results(self.max_results)
    }
}
impl CheckInput for TagResourceInput {
    fn check(&self) -> Result<(), ApiError> {
        check_tags(&self.tags)
    }
}
impl CheckInput for UntagResourceInput {}
impl CheckInput for ListTagsForResourceInput {}

/// The routes of a request (weights were checked to be 0..=100).
pub(crate) fn routes(routing: Vec<RoutingConfigurationListItem>) -> Vec<RouteRecord> {
    routing
        .into_iter()
        .map(|r| RouteRecord {
            version_arn: r.state_machine_version_arn,
            weight: r.weight.clamp(0, 100) as u32,
        })
        .collect()
}

pub(crate) fn describe_alias(a: AliasRecord) -> DescribeStateMachineAliasOutput {
    DescribeStateMachineAliasOutput {
        state_machine_alias_arn: a.arn,
        name: a.name,
        description: a.description,
        routing_configuration: a
            .routing
            .into_iter()
            .map(|r| RoutingConfigurationListItem {
                state_machine_version_arn: r.version_arn,
                weight: r.weight as i64,
            })
            .collect(),
        creation_date: Timestamp(a.creation_date),
        update_date: Timestamp(a.update_date),
    }
}

/// Tags of a request as a map (a key given twice keeps its last value).
pub(crate) fn tag_map(tags: Vec<Tag>) -> BTreeMap<String, String> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

pub(crate) fn tag_list(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}
