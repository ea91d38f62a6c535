//! State machine versions, aliases and tags in the table.
//!
//! | record | PK | SK | other attributes |
//! | --- | --- | --- | --- |
//! | version counter | `SMV#{state machine ARN}` | `N` | `last` = the highest number ever given |
//! | version | `SMV#{state machine ARN}` | `V#{number:010}` | |
//! | alias | `SMA#{state machine ARN}` | `A#{name}` | |
//! | tag | `TAG#{resource ARN}` | `T#{key}` | `v` = value |
//!
//! A state machine's versions are one Query (newest first), its aliases
//! another; a resource's tags a third. The counter is an atomic `ADD`, so
//! two publishes at once get two numbers and a deleted version's number
//! is never given again.

use crate::codec::{encode, get_n, get_s, key, n, s, to_json, token_decode, token_encode, Item};
use crate::table::{QuerySpec, TxFail};
use crate::{backend_error, AwsBackend};
use aws_sdk_dynamodb::types::ReturnValue;
use flowstate_ports::{
    split_version_arn, version_arn, AliasRecord, Page, PageRequest, StoreError, VersionRecord,
};
use std::collections::BTreeMap;

fn versions_pk(sm_arn: &str) -> String {
    format!("SMV#{sm_arn}")
}

fn version_sk(number: u64) -> String {
    format!("V#{number:010}")
}

fn aliases_pk(sm_arn: &str) -> String {
    format!("SMA#{sm_arn}")
}

fn tags_pk(arn: &str) -> String {
    format!("TAG#{arn}")
}

impl AwsBackend {
    /// Every item of partition `pk` whose sort key starts with `prefix`,
    /// one page: (items, the key to go on from).
    async fn query_prefix(
        &self,
        pk: &str,
        prefix: &str,
        forward: bool,
        limit: Option<i32>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        self.query_once(QuerySpec {
            index: None,
            key_condition: "PK = :pk AND begins_with(SK, :p)",
            filter: None,
            names: vec![],
            values: vec![(":pk", s(pk)), (":p", s(prefix))],
            forward,
            limit,
            start,
        })
        .await
    }

    /// Deletes every item of partition `pk` (a deleted state machine's
    /// versions, aliases and tags).
    pub(crate) async fn delete_partition(&self, pk: &str) -> Result<(), StoreError> {
        let mut start = None;
        loop {
            let (items, next) = self
                .query_once(QuerySpec {
                    index: None,
                    key_condition: "PK = :pk",
                    filter: None,
                    names: vec![],
                    values: vec![(":pk", s(pk))],
                    forward: true,
                    limit: None,
                    start,
                })
                .await?;
            let keys = items
                .iter()
                .filter_map(|i| Some(key(get_s(i, "PK")?, get_s(i, "SK")?)))
                .collect();
            self.batch_write(vec![], keys).await?;
            match next {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }

    /// A page of `prefix` records of partition `pk` as JSON bodies, with
    /// the token of the next page.
    async fn record_page<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        forward: bool,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let limit = page.max_results.max(1);
        let mut start = match &page.next_token {
            Some(t) => Some(key(pk, token_decode(t)?)),
            None => None,
        };
        let mut items = Vec::new();
        // One more than asked tells whether a next page exists.
        while items.len() <= limit {
            let want = (limit + 1 - items.len()) as i32;
            let (mut got, next) = self
                .query_prefix(pk, prefix, forward, Some(want), start)
                .await?;
            items.append(&mut got);
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(self.read_json(prefix, item).await?);
        }
        let next_token = match (more, items.last()) {
            (true, Some(item)) => get_s(item, "SK").map(token_encode),
            _ => None,
        };
        Ok(Page {
            items: out,
            next_token,
        })
    }

    pub(crate) async fn put_version(
        &self,
        version: &VersionRecord,
    ) -> Result<VersionRecord, StoreError> {
        if self
            .get_item("SM", &version.state_machine_arn)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(version.state_machine_arn.clone()));
        }
        let pk = versions_pk(&version.state_machine_arn);
        let out = self
            .ddb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(&pk, "N")))
            .update_expression("ADD #last :one")
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| backend_error("UpdateItem", e))?;
        let number = out
            .attributes
            .as_ref()
            .and_then(|a| get_n(a, "last"))
            .ok_or_else(|| StoreError::Backend("UpdateItem: no version number".into()))?
            as u64;
        let mut v = version.clone();
        v.number = number;
        v.arn = version_arn(&v.state_machine_arn, number);
        let item = encode(&pk, &version_sk(number), Item::new(), &to_json(&v)?);
        let tx = item
            .into_items()
            .map(|i| self.put(i, None))
            .collect::<Result<Vec<_>, _>>()?;
        match self.transact(tx).await {
            Ok(()) => Ok(v),
            Err(TxFail::Condition) => Err(StoreError::Conflict),
            Err(TxFail::Other(e)) => Err(e),
        }
    }

    pub(crate) async fn read_version(
        &self,
        arn: &str,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let Some((sm, number)) = split_version_arn(arn) else {
            return Ok(None);
        };
        match self.get_item(&versions_pk(sm), &version_sk(number)).await? {
            Some(item) => Ok(Some(self.read_json("version", &item).await?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn version_page(
        &self,
        sm_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<VersionRecord>, StoreError> {
        self.record_page(&versions_pk(sm_arn), "V#", false, page)
            .await
    }

    /// Deletes the item at `pk`/`sk`; whether it existed.
    async fn delete_one(&self, pk: &str, sk: &str) -> Result<bool, StoreError> {
        let out = self
            .ddb()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| backend_error("DeleteItem", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    pub(crate) async fn remove_version(&self, arn: &str) -> Result<bool, StoreError> {
        let Some((sm, number)) = split_version_arn(arn) else {
            return Ok(false);
        };
        self.delete_one(&versions_pk(sm), &version_sk(number)).await
    }

    pub(crate) async fn put_alias(
        &self,
        alias: &AliasRecord,
        create: bool,
    ) -> Result<(), StoreError> {
        let item = encode(
            &aliases_pk(&alias.state_machine_arn),
            &format!("A#{}", alias.name),
            Item::new(),
            &to_json(alias)?,
        );
        let condition = if create {
            "attribute_not_exists(PK)"
        } else {
            "attribute_exists(PK)"
        };
        let mut first = true;
        let mut tx = Vec::new();
        for i in item.into_items() {
            tx.push(self.put(i, first.then_some(condition))?);
            first = false;
        }
        match self.transact(tx).await {
            Ok(()) => Ok(()),
            Err(TxFail::Condition) if create => Err(StoreError::AlreadyExists(alias.arn.clone())),
            Err(TxFail::Condition) => Err(StoreError::NotFound(alias.arn.clone())),
            Err(TxFail::Other(e)) => Err(e),
        }
    }

    pub(crate) async fn read_alias(&self, arn: &str) -> Result<Option<AliasRecord>, StoreError> {
        let Some((sm, name)) = arn.rsplit_once(':') else {
            return Ok(None);
        };
        match self.get_item(&aliases_pk(sm), &format!("A#{name}")).await? {
            Some(item) => Ok(Some(self.read_json("alias", &item).await?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn alias_page(
        &self,
        sm_arn: &str,
        page: &PageRequest,
    ) -> Result<Page<AliasRecord>, StoreError> {
        self.record_page(&aliases_pk(sm_arn), "A#", true, page)
            .await
    }

    pub(crate) async fn remove_alias(&self, arn: &str) -> Result<bool, StoreError> {
        let Some((sm, name)) = arn.rsplit_once(':') else {
            return Ok(false);
        };
        self.delete_one(&aliases_pk(sm), &format!("A#{name}")).await
    }

    pub(crate) async fn write_tags(
        &self,
        arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<(), StoreError> {
        let pk = tags_pk(arn);
        let puts = set
            .iter()
            .map(|(k, v)| {
                let mut item = key(&pk, format!("T#{k}"));
                item.insert("v".into(), s(v));
                item
            })
            .collect();
        // A key both set and removed is set (BatchWriteItem refuses two
        // requests for one item).
        let deletes = remove
            .iter()
            .filter(|k| !set.contains_key(*k))
            .map(|k| key(&pk, format!("T#{k}")))
            .collect();
        self.batch_write(puts, deletes).await
    }

    pub(crate) async fn read_tags(
        &self,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let pk = tags_pk(arn);
        let mut tags = BTreeMap::new();
        let mut start = None;
        loop {
            let (items, next) = self.query_prefix(&pk, "T#", true, None, start).await?;
            for item in &items {
                if let (Some(k), Some(v)) = (
                    get_s(item, "SK").and_then(|sk| sk.strip_prefix("T#")),
                    get_s(item, "v"),
                ) {
                    tags.insert(k.to_string(), v.to_string());
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(tags),
            }
        }
    }

    /// What a state machine owns besides its record.
    pub(crate) async fn delete_machine_parts(&self, sm_arn: &str) -> Result<(), StoreError> {
        self.delete_partition(&versions_pk(sm_arn)).await?;
        self.delete_partition(&aliases_pk(sm_arn)).await?;
        self.delete_partition(&tags_pk(sm_arn)).await
    }
}
