//! Versions, aliases and tags of state machines: PublishStateMachineVersion,
//! List/DeleteStateMachineVersion(s), the alias operations, the tag
//! operations, and what StartExecution and DescribeStateMachine do with a
//! version or alias ARN (`{state machine ARN}:{number}`,
//! `{state machine ARN}:{alias name}`).

use crate::names;
use crate::{Service, ServiceError};
use flowstate_ports::{
    split_version_arn, AliasRecord, Clock, Invoker, Page, PageRequest, Queue, RouteRecord,
    StateMachineRecord, Store, StoreError, VersionRecord,
};
use std::collections::BTreeMap;

/// Step Functions' limit on tags per resource.
pub const MAX_TAGS: usize = 50;

/// What StartExecution runs: the revision, and the version and alias it
/// was started on.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) sm: StateMachineRecord,
    pub(crate) test_case: Option<String>,
    pub(crate) version_arn: Option<String>,
    pub(crate) alias_arn: Option<String>,
}

/// What a state machine ARN names.
enum Qualified<'a> {
    Machine,
    Version { machine: &'a str },
    Alias,
}

/// Tells a state machine ARN (7 parts) from a version or alias ARN (8).
fn qualified(arn: &str) -> Result<Qualified<'_>, ServiceError> {
    names::check_state_machine_arn(arn)?;
    match arn.split(':').count() {
        7 => Ok(Qualified::Machine),
        8 => match split_version_arn(arn) {
            Some((machine, _)) => Ok(Qualified::Version { machine }),
            None => Ok(Qualified::Alias),
        },
        _ => Err(ServiceError::InvalidArn(arn.to_string())),
    }
}

/// An unqualified state machine ARN, or `InvalidArn`.
fn machine_arn(arn: &str) -> Result<(), ServiceError> {
    match qualified(arn)? {
        Qualified::Machine => Ok(()),
        _ => Err(ServiceError::InvalidArn(arn.to_string())),
    }
}

/// Step Functions' rule for alias names: 1 to 80 of letters, digits, `-`,
/// `_` and `.`, not all digits (that would read as a version).
fn check_alias_name(name: &str) -> Result<(), ServiceError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let not_number = name.chars().any(|c| !c.is_ascii_digit());
    if name.is_empty() || name.chars().count() > 80 || !ok_chars || !not_number {
        return Err(ServiceError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// The version picked for a start on an alias: `roll` (0..100) falls in
/// one route's share of 100.
pub(crate) fn pick_route(routing: &[RouteRecord], roll: u32) -> Option<&RouteRecord> {
    let mut upto = 0;
    for r in routing {
        upto += r.weight;
        if roll < upto {
            return Some(r);
        }
    }
    routing.iter().rev().find(|r| r.weight > 0)
}

impl<S: Store, Q: Queue, I: Invoker, C: Clock> Service<S, Q, I, C> {
    /// The revision StartExecution runs for `arn_with_case` (a state
    /// machine, version or alias ARN, maybe with a `#TestCase`): an alias
    /// picks one of its versions by weight.
    pub(crate) async fn start_target(&self, arn_with_case: &str) -> Result<Target, ServiceError> {
        let (arn, test_case) = names::split_test_case(arn_with_case);
        let test_case = test_case.map(str::to_string);
        let missing = || ServiceError::StateMachineDoesNotExist(arn.into());
        let (version_arn, alias_arn) = match qualified(arn)? {
            Qualified::Machine => {
                let sm = self.inner.store.get_state_machine(arn).await?;
                return Ok(Target {
                    sm: sm.ok_or_else(missing)?,
                    test_case,
                    version_arn: None,
                    alias_arn: None,
                });
            }
            Qualified::Version { .. } => (arn.to_string(), None),
            Qualified::Alias => {
                let alias = self.inner.store.get_alias(arn).await?.ok_or_else(missing)?;
                // Randomness of the service's own (never the engine's):
                // which version a start on an alias runs.
                let roll = (uuid::Uuid::new_v4().as_u128() % 100) as u32;
                let route = pick_route(&alias.routing, roll).ok_or_else(missing)?;
                (route.version_arn.clone(), Some(alias.arn))
            }
        };
        let version = self
            .inner
            .store
            .get_version(&version_arn)
            .await?
            .ok_or_else(missing)?;
        let sm = self
            .inner
            .store
            .get_revision(&version.revision_id)
            .await?
            .ok_or_else(missing)?;
        Ok(Target {
            sm,
            test_case,
            version_arn: Some(version_arn),
            alias_arn,
        })
    }

    /// DescribeStateMachine of a version ARN: the version's revision, under
    /// the version's ARN, description and creation date. `None` for an
    /// unqualified ARN.
    pub(crate) async fn describe_version(
        &self,
        arn: &str,
    ) -> Result<Option<StateMachineRecord>, ServiceError> {
        let missing = || ServiceError::StateMachineDoesNotExist(arn.into());
        let version_arn = match qualified(arn)? {
            Qualified::Machine => return Ok(None),
            Qualified::Version { .. } => arn.to_string(),
            // An alias describes as the version most of its starts run.
            Qualified::Alias => {
                let alias = self.inner.store.get_alias(arn).await?.ok_or_else(missing)?;
                let top = alias.routing.iter().max_by_key(|r| r.weight);
                top.ok_or_else(missing)?.version_arn.clone()
            }
        };
        let v = self
            .inner
            .store
            .get_version(&version_arn)
            .await?
            .ok_or_else(missing)?;
        let mut sm = self
            .inner
            .store
            .get_revision(&v.revision_id)
            .await?
            .ok_or_else(missing)?;
        sm.arn = v.arn;
        sm.description = v.description;
        sm.creation_date = v.creation_date;
        Ok(Some(sm))
    }

    /// PublishStateMachineVersion: a version of the current revision.
    /// `ConflictException` when `revision_id` is given and is not the
    /// current one; the current revision published already returns that
    /// version, as Step Functions does.
    pub async fn publish_state_machine_version(
        &self,
        arn: &str,
        revision_id: Option<&str>,
        description: Option<String>,
    ) -> Result<VersionRecord, ServiceError> {
        machine_arn(arn)?;
        let sm = self.describe_state_machine(arn).await?;
        if let Some(r) = revision_id {
            if r != sm.revision_id {
                return Err(ServiceError::Conflict(format!(
                    "Failed to publish the State Machine version for revision {r}. The current State Machine revision is {}.",
                    sm.revision_id
                )));
            }
        }
        let latest = self
            .inner
            .store
            .list_versions(
                arn,
                &PageRequest {
                    max_results: 1,
                    next_token: None,
                },
            )
            .await?;
        if let Some(v) = latest.items.into_iter().next() {
            if v.revision_id == sm.revision_id {
                return Ok(v);
            }
        }
        let version = VersionRecord {
            arn: String::new(),
            state_machine_arn: sm.arn.clone(),
            number: 0,
            revision_id: sm.revision_id,
            description,
            creation_date: self.inner.clock.now(),
        };
        match self.inner.store.create_version(&version).await {
            Ok(v) => Ok(v),
            Err(StoreError::NotFound(_)) => Err(ServiceError::StateMachineDoesNotExist(sm.arn)),
            Err(e) => Err(e.into()),
        }
    }

    /// ListStateMachineVersions: newest first.
    pub async fn list_state_machine_versions(
        &self,
        arn: &str,
        page: PageRequest,
    ) -> Result<Page<VersionRecord>, ServiceError> {
        machine_arn(arn)?;
        let purpose = format!("ListStateMachineVersions {arn}");
        let page = self.open_page(&purpose, page)?;
        let mut found = self.inner.store.list_versions(arn, &page).await?;
        found.next_token = self.seal_page(&purpose, found.next_token);
        Ok(found)
    }

    /// DeleteStateMachineVersion: refused while an alias routes to the
    /// version; a version that does not exist is deleted already.
    pub async fn delete_state_machine_version(&self, arn: &str) -> Result<(), ServiceError> {
        let Qualified::Version { machine } = qualified(arn)? else {
            return Err(ServiceError::InvalidArn(arn.to_string()));
        };
        let routed: Vec<String> = self
            .all_aliases(machine)
            .await?
            .into_iter()
            .filter(|a| a.routing.iter().any(|r| r.version_arn == arn))
            .map(|a| a.arn)
            .collect();
        if !routed.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                routed.join(", ")
            )));
        }
        self.inner.store.delete_version(arn).await?;
        Ok(())
    }

    async fn all_aliases(&self, machine: &str) -> Result<Vec<AliasRecord>, ServiceError> {
        let mut out = Vec::new();
        let mut page = PageRequest {
            max_results: 1000,
            next_token: None,
        };
        loop {
            let p = self.inner.store.list_aliases(machine, &page).await?;
            out.extend(p.items);
            match p.next_token {
                Some(t) => page.next_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Checks a routing configuration: one or two distinct versions of
    /// the state machine `machine`, that exist, with weights summing to 100.
    async fn check_routing(
        &self,
        machine: &str,
        routing: &[RouteRecord],
    ) -> Result<(), ServiceError> {
        let invalid = |m: &str| ServiceError::ValidationException(m.to_string());
        if routing.is_empty() || routing.len() > 2 {
            return Err(invalid(
                "Routing configuration must contain one or two state machine versions",
            ));
        }
        if routing.len() == 2 && routing[0].version_arn == routing[1].version_arn {
            return Err(invalid(
                "Routing configuration must contain distinct state machine version ARNs",
            ));
        }
        if routing.iter().any(|r| r.weight > 100) {
            return Err(invalid(
                "Routing configuration weights must be between 0 and 100",
            ));
        }
        if routing.iter().map(|r| r.weight).sum::<u32>() != 100 {
            return Err(invalid(
                "Sum of routing configuration weights must be equal to 100",
            ));
        }
        for r in routing {
            match qualified(&r.version_arn)? {
                Qualified::Version { machine: m } if m == machine => {}
                _ => {
                    return Err(invalid(&format!(
                        "Routing configuration must contain state machine version ARNs of '{machine}': '{}' is not one",
                        r.version_arn
                    )))
                }
            }
            if self
                .inner
                .store
                .get_version(&r.version_arn)
                .await?
                .is_none()
            {
                return Err(ServiceError::ResourceNotFound(format!(
                    "Resource not found: '{}'",
                    r.version_arn
                )));
            }
        }
        Ok(())
    }

    /// CreateStateMachineAlias. The same alias again returns it;
    /// another of that name is a `ConflictException`.
    pub async fn create_state_machine_alias(
        &self,
        name: &str,
        description: Option<String>,
        routing: Vec<RouteRecord>,
    ) -> Result<AliasRecord, ServiceError> {
        check_alias_name(name)?;
        let first = routing
            .first()
            .map(|r| r.version_arn.clone())
            .unwrap_or_default();
        let machine = match qualified(&first) {
            Ok(Qualified::Version { machine }) => machine.to_string(),
            _ => {
                return Err(ServiceError::ValidationException(
                    "Routing configuration must contain state machine version ARNs".into(),
                ))
            }
        };
        self.check_routing(&machine, &routing).await?;
        let now = self.inner.clock.now();
        let alias = AliasRecord {
            arn: format!("{machine}:{name}"),
            state_machine_arn: machine,
            name: name.to_string(),
            description,
            routing,
            creation_date: now,
            update_date: now,
        };
        match self.inner.store.create_alias(&alias).await {
            Ok(()) => Ok(alias),
            Err(StoreError::AlreadyExists(_)) => match self.inner.store.get_alias(&alias.arn).await? {
                Some(a) if a.routing == alias.routing && a.description == alias.description => {
                    Ok(a)
                }
                _ => Err(ServiceError::Conflict(format!(
                    "Failed to create alias because an alias with the same name and a different routing configuration already exists: '{}'",
                    alias.arn
                ))),
            },
            Err(e) => Err(e.into()),
        }
    }

    fn alias_missing(arn: &str) -> ServiceError {
        ServiceError::ResourceNotFound(format!("Resource not found: '{arn}'"))
    }

    /// DescribeStateMachineAlias.
    pub async fn describe_state_machine_alias(
        &self,
        arn: &str,
    ) -> Result<AliasRecord, ServiceError> {
        let Qualified::Alias = qualified(arn)? else {
            return Err(ServiceError::InvalidArn(arn.to_string()));
        };
        self.inner
            .store
            .get_alias(arn)
            .await?
            .ok_or_else(|| Self::alias_missing(arn))
    }

    /// UpdateStateMachineAlias: a new description and/or routing.
    pub async fn update_state_machine_alias(
        &self,
        arn: &str,
        description: Option<String>,
        routing: Option<Vec<RouteRecord>>,
    ) -> Result<AliasRecord, ServiceError> {
        let mut alias = self.describe_state_machine_alias(arn).await?;
        if description.is_none() && routing.is_none() {
            return Err(ServiceError::ValidationException(
                "Either the description or the RoutingConfiguration must be specified".into(),
            ));
        }
        if let Some(routing) = routing {
            self.check_routing(&alias.state_machine_arn, &routing)
                .await?;
            alias.routing = routing;
        }
        if description.is_some() {
            alias.description = description;
        }
        alias.update_date = self.inner.clock.now().max(alias.update_date);
        match self.inner.store.update_alias(&alias).await {
            Ok(()) => Ok(alias),
            Err(StoreError::NotFound(_)) => Err(Self::alias_missing(arn)),
            Err(e) => Err(e.into()),
        }
    }

    /// DeleteStateMachineAlias (executions started on it go on).
    pub async fn delete_state_machine_alias(&self, arn: &str) -> Result<(), ServiceError> {
        let Qualified::Alias = qualified(arn)? else {
            return Err(ServiceError::InvalidArn(arn.to_string()));
        };
        if !self.inner.store.delete_alias(arn).await? {
            return Err(Self::alias_missing(arn));
        }
        Ok(())
    }

    /// ListStateMachineAliases, by name; of a version ARN, the aliases
    /// that route to it.
    pub async fn list_state_machine_aliases(
        &self,
        arn: &str,
        page: PageRequest,
    ) -> Result<Page<AliasRecord>, ServiceError> {
        let (machine, version) = match qualified(arn)? {
            Qualified::Machine => (arn, None),
            Qualified::Version { machine } => (machine, Some(arn)),
            Qualified::Alias => return Err(ServiceError::InvalidArn(arn.to_string())),
        };
        self.describe_state_machine(machine).await?;
        let Some(version) = version else {
            let purpose = format!("ListStateMachineAliases {arn}");
            let page = self.open_page(&purpose, page)?;
            let mut found = self.inner.store.list_aliases(machine, &page).await?;
            found.next_token = self.seal_page(&purpose, found.next_token);
            return Ok(found);
        };
        // A state machine has few aliases: those of one version are
        // filtered from all of them, in one page.
        let items = self
            .all_aliases(machine)
            .await?
            .into_iter()
            .filter(|a| a.routing.iter().any(|r| r.version_arn == version))
            .collect();
        Ok(Page {
            items,
            next_token: None,
        })
    }

    /// The resource a tag operation names must exist: a state machine
    /// (tags of other resources are keyed by their ARN the same way).
    async fn check_taggable(&self, arn: &str) -> Result<(), ServiceError> {
        let missing = || ServiceError::ResourceNotFound(format!("Resource not found: '{arn}'"));
        if arn.split(':').nth(5) == Some("activity") {
            crate::activities::check_activity_arn(arn)?;
            return match self.inner.store.get_activity(arn).await? {
                Some(_) => Ok(()),
                None => Err(missing()),
            };
        }
        match qualified(arn) {
            Ok(Qualified::Machine) => match self.inner.store.get_state_machine(arn).await? {
                Some(_) => Ok(()),
                None => Err(missing()),
            },
            Ok(_) => Err(missing()),
            Err(_) => Err(ServiceError::InvalidArn(arn.to_string())),
        }
    }

    /// TagResource: adds or replaces tags; `TooManyTags` past 50.
    pub async fn tag_resource(
        &self,
        arn: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), ServiceError> {
        self.check_taggable(arn).await?;
        let current = self.inner.store.list_tags(arn).await?;
        let after = current
            .keys()
            .chain(tags.keys())
            .collect::<std::collections::BTreeSet<_>>();
        if after.len() > MAX_TAGS {
            return Err(ServiceError::TooManyTags(arn.to_string()));
        }
        self.inner.store.update_tags(arn, &tags, &[]).await?;
        Ok(())
    }

    /// UntagResource: removes tags by key (absent keys are ignored).
    pub async fn untag_resource(&self, arn: &str, keys: Vec<String>) -> Result<(), ServiceError> {
        self.check_taggable(arn).await?;
        self.inner
            .store
            .update_tags(arn, &BTreeMap::new(), &keys)
            .await?;
        Ok(())
    }

    /// ListTagsForResource.
    pub async fn list_tags_for_resource(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, ServiceError> {
        self.check_taggable(arn).await?;
        Ok(self.inner.store.list_tags(arn).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(v: &str, weight: u32) -> RouteRecord {
        RouteRecord {
            version_arn: v.into(),
            weight,
        }
    }

    #[test]
    fn a_roll_picks_the_route_whose_share_it_falls_in() {
        let r = [route("a", 90), route("b", 10)];
        assert_eq!(pick_route(&r, 0).map(|r| &*r.version_arn), Some("a"));
        assert_eq!(pick_route(&r, 89).map(|r| &*r.version_arn), Some("a"));
        assert_eq!(pick_route(&r, 90).map(|r| &*r.version_arn), Some("b"));
        assert_eq!(pick_route(&r, 99).map(|r| &*r.version_arn), Some("b"));
        let zero = [route("a", 100), route("b", 0)];
        assert!((0..100).all(|roll| pick_route(&zero, roll).map(|r| &*r.version_arn) == Some("a")));
    }

    #[test]
    fn alias_names_are_not_numbers() {
        assert!(check_alias_name("PROD").is_ok());
        assert!(check_alias_name("v1.2-live_x").is_ok());
        assert!(check_alias_name("12").is_err());
        assert!(check_alias_name("a:b").is_err());
        assert!(check_alias_name("").is_err());
    }
}
