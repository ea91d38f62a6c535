//! The contract of versions, aliases, tags, and executions that record
//! the version and alias they were started on.

use super::{machine_record, ok, started, write, WAITS};
use flowstate_ports::{
    AliasRecord, ExecutionQuery, PageRequest, RouteRecord, Store, StoreError, VersionRecord,
};
use std::collections::BTreeMap;
use std::future::Future;

/// Every rule of this module, each on a fresh backend. Each is boxed: the
/// AWS backend's futures are large, and one async state machine holding
/// them all overflowed a test thread's stack.
pub(super) async fn run_all<B, F, Fut>(make: &F)
where
    B: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    Box::pin(versions_are_numbered_and_never_reused(&make().await)).await;
    Box::pin(aliases(&make().await)).await;
    Box::pin(tags(&make().await)).await;
    Box::pin(a_deleted_state_machine_takes_its_versions_aliases_and_tags(
        &make().await,
    ))
    .await;
    Box::pin(executions_by_version_and_alias(&make().await)).await;
}

fn page(max_results: usize, next_token: Option<String>) -> PageRequest {
    PageRequest {
        max_results,
        next_token,
    }
}

fn version_of(sm_arn: &str, revision: &str, at: i64) -> VersionRecord {
    VersionRecord {
        arn: String::new(),
        state_machine_arn: sm_arn.into(),
        number: 0,
        revision_id: revision.into(),
        description: Some(format!("from {revision}")),
        creation_date: at,
    }
}

/// Numbers from 1, one more each time, never given again after a delete;
/// newest first, page by page; of an absent state machine, `NotFound`.
pub(super) async fn versions_are_numbered_and_never_reused<B: Store>(b: &B) {
    let sm = machine_record("V", "v-rev-1", WAITS);
    ok(b.create_state_machine(&sm).await, "create state machine");
    let v1 = ok(
        b.create_version(&version_of(&sm.arn, "v-rev-1", 10)).await,
        "publish 1",
    );
    let v2 = ok(
        b.create_version(&version_of(&sm.arn, "v-rev-2", 20)).await,
        "publish 2",
    );
    assert_eq!(
        (v1.number, v2.number),
        (1, 2),
        "contract: versions count from 1"
    );
    assert_eq!(v1.arn, format!("{}:1", sm.arn), "contract: a version's ARN");
    assert_eq!(
        ok(b.get_version(&v2.arn).await, "get version"),
        Some(v2.clone()),
        "contract: a version reads back as written"
    );
    let first = ok(b.list_versions(&sm.arn, &page(1, None)).await, "list 1");
    assert_eq!(first.items, vec![v2.clone()], "contract: newest first");
    let second = ok(
        b.list_versions(&sm.arn, &page(1, first.next_token.clone()))
            .await,
        "list 2",
    );
    assert_eq!(second.items, vec![v1.clone()], "contract: the next page");
    assert!(
        first.next_token.is_some() && second.next_token.is_none(),
        "contract: a token while more versions follow, none after the last"
    );
    assert!(ok(b.delete_version(&v2.arn).await, "delete v2"));
    assert!(
        !ok(b.delete_version(&v2.arn).await, "delete v2 again"),
        "contract: deleting a deleted version says it did not exist"
    );
    assert_eq!(ok(b.get_version(&v2.arn).await, "get deleted"), None);
    let v3 = ok(
        b.create_version(&version_of(&sm.arn, "v-rev-3", 30)).await,
        "publish 3",
    );
    assert_eq!(
        v3.number, 3,
        "contract: a deleted version's number is not given again"
    );
    let absent = version_of(
        "arn:aws:states:us-east-1:123456789012:stateMachine:Absent",
        "x",
        1,
    );
    assert!(
        matches!(
            b.create_version(&absent).await,
            Err(StoreError::NotFound(_))
        ),
        "contract: publishing a version of an absent state machine is NotFound"
    );
}

fn alias(sm_arn: &str, name: &str, version: &str) -> AliasRecord {
    AliasRecord {
        arn: format!("{sm_arn}:{name}"),
        state_machine_arn: sm_arn.into(),
        name: name.into(),
        description: None,
        routing: vec![RouteRecord {
            version_arn: version.into(),
            weight: 100,
        }],
        creation_date: 5,
        update_date: 5,
    }
}

/// Create once, update what exists, list by name page by page, delete once.
pub(super) async fn aliases<B: Store>(b: &B) {
    let sm = machine_record("Al", "al-rev", WAITS);
    ok(b.create_state_machine(&sm).await, "create state machine");
    let v1 = format!("{}:1", sm.arn);
    let prod = alias(&sm.arn, "prod", &v1);
    ok(b.create_alias(&prod).await, "create alias");
    assert_eq!(
        b.create_alias(&prod).await,
        Err(StoreError::AlreadyExists(prod.arn.clone())),
        "contract: a second alias of one name is AlreadyExists"
    );
    let mut moved = prod.clone();
    moved.routing = vec![
        RouteRecord {
            version_arn: v1.clone(),
            weight: 90,
        },
        RouteRecord {
            version_arn: format!("{}:2", sm.arn),
            weight: 10,
        },
    ];
    moved.update_date = 9;
    ok(b.update_alias(&moved).await, "update alias");
    assert_eq!(
        ok(b.get_alias(&prod.arn).await, "get alias"),
        Some(moved.clone()),
        "contract: an update replaces the alias"
    );
    let ghost = alias(&sm.arn, "ghost", &v1);
    assert_eq!(
        b.update_alias(&ghost).await,
        Err(StoreError::NotFound(ghost.arn.clone())),
        "contract: updating an absent alias is NotFound"
    );
    let beta = alias(&sm.arn, "beta", &v1);
    ok(b.create_alias(&beta).await, "create beta");
    let first = ok(b.list_aliases(&sm.arn, &page(1, None)).await, "list 1");
    assert_eq!(first.items, vec![beta.clone()], "contract: aliases by name");
    let second = ok(
        b.list_aliases(&sm.arn, &page(1, first.next_token.clone()))
            .await,
        "list 2",
    );
    assert_eq!(second.items, vec![moved.clone()]);
    assert_eq!(second.next_token, None);
    assert!(ok(b.delete_alias(&beta.arn).await, "delete beta"));
    assert!(
        !ok(b.delete_alias(&beta.arn).await, "delete beta again"),
        "contract: deleting a deleted alias says it did not exist"
    );
    assert_eq!(ok(b.get_alias(&beta.arn).await, "get deleted"), None);
}

/// Tags are set and removed by key, for any resource ARN.
pub(super) async fn tags<B: Store>(b: &B) {
    let arn = "arn:aws:states:us-east-1:123456789012:activity:any-resource";
    assert!(
        ok(b.list_tags(arn).await, "no tags").is_empty(),
        "contract: a resource never tagged has no tags"
    );
    let set: BTreeMap<String, String> = [("team", "a"), ("env", "dev"), ("cost", "1")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    ok(b.update_tags(arn, &set, &[]).await, "tag");
    assert_eq!(ok(b.list_tags(arn).await, "list"), set);
    let change: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
    ok(
        b.update_tags(arn, &change, &["cost".to_string(), "absent".to_string()])
            .await,
        "retag",
    );
    let want: BTreeMap<String, String> = [("env", "prod"), ("team", "a")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    assert_eq!(
        ok(b.list_tags(arn).await, "list"),
        want,
        "contract: set replaces a value, remove drops a key, an absent key is ignored"
    );
}

/// Deleting a state machine deletes its versions, aliases and tags.
pub(super) async fn a_deleted_state_machine_takes_its_versions_aliases_and_tags<B: Store>(b: &B) {
    let sm = machine_record("D", "d-rev", WAITS);
    ok(b.create_state_machine(&sm).await, "create state machine");
    let v = ok(
        b.create_version(&version_of(&sm.arn, "d-rev", 1)).await,
        "publish",
    );
    let a = alias(&sm.arn, "live", &v.arn);
    ok(b.create_alias(&a).await, "alias");
    let tags: BTreeMap<String, String> = [("k".to_string(), "v".to_string())].into();
    ok(b.update_tags(&sm.arn, &tags, &[]).await, "tag");
    assert!(ok(b.delete_state_machine(&sm.arn).await, "delete"));
    assert_eq!(ok(b.get_version(&v.arn).await, "version"), None);
    assert_eq!(ok(b.get_alias(&a.arn).await, "alias"), None);
    assert!(
        ok(b.list_versions(&sm.arn, &page(10, None)).await, "versions")
            .items
            .is_empty(),
        "contract: a deleted state machine has no versions"
    );
    assert!(
        ok(b.list_aliases(&sm.arn, &page(10, None)).await, "aliases")
            .items
            .is_empty()
    );
    assert!(
        ok(b.list_tags(&sm.arn).await, "tags").is_empty(),
        "contract: a deleted state machine has no tags"
    );
    assert_eq!(
        ok(b.get_revision("d-rev").await, "revision").map(|r| r.revision_id),
        Some("d-rev".to_string()),
        "contract: its revisions stay for running executions"
    );
}

/// ListExecutions of a version or alias ARN lists the executions started
/// on it (an alias's run by the version too), each naming both.
pub(super) async fn executions_by_version_and_alias<B: Store>(b: &B) {
    let sm_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:M";
    let v1 = format!("{sm_arn}:1");
    let live = format!("{sm_arn}:live");
    let origins = [
        ("plain", None, None),
        ("on-version", Some(v1.clone()), None),
        ("on-alias", Some(v1.clone()), Some(live.clone())),
    ];
    for (i, (name, version, alias)) in origins.iter().enumerate() {
        let (mut rec, step, outbox, _) = started(WAITS, name, 1000 + i as i64);
        rec.meta.version_arn = version.clone();
        rec.meta.alias_arn = alias.clone();
        rec.meta.trace_header = Some(format!("Root=1-{i}"));
        ok(
            b.create_execution(&rec, &write(&step, &outbox)).await,
            "create",
        );
    }
    let list = |qualified: Option<String>| ExecutionQuery {
        state_machine_arn: sm_arn.into(),
        qualified_arn: qualified,
        status: None,
        page: page(100, None),
    };
    let names = |p: flowstate_ports::Page<flowstate_ports::ExecutionSummary>| {
        p.items.into_iter().map(|e| e.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(ok(b.list_executions(&list(None)).await, "all")),
        ["on-alias", "on-version", "plain"],
        "contract: the state machine's ARN lists all its executions"
    );
    assert_eq!(
        names(ok(b.list_executions(&list(Some(v1.clone()))).await, "v1")),
        ["on-alias", "on-version"],
        "contract: a version's ARN lists the executions it ran"
    );
    let on_alias = ok(b.list_executions(&list(Some(live.clone()))).await, "alias");
    assert_eq!(
        on_alias.items.len(),
        1,
        "contract: an alias's ARN lists its own"
    );
    let e = &on_alias.items[0];
    assert_eq!(
        (
            e.version_arn.as_deref(),
            e.alias_arn.as_deref(),
            e.state_machine_arn.as_str()
        ),
        (Some(v1.as_str()), Some(live.as_str()), sm_arn),
        "contract: a summary names the version and alias"
    );
    let arn = e.execution_arn.clone();
    let header = ok(b.load_execution(&arn, false).await, "load").map(|r| r.meta);
    assert_eq!(
        header.map(|m| (m.version_arn, m.alias_arn, m.trace_header)),
        Some((Some(v1), Some(live), Some("Root=1-2".to_string()))),
        "contract: the execution keeps its version, alias and trace header"
    );
}
