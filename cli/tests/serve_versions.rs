//! Versions, aliases, tags and kept settings through `flowstate serve`,
//! driven by boto3 and the AWS CLI as a deployment tool would (SAM's
//! `AutoPublishAlias`: create with publish, alias, update with publish,
//! shift the alias's routing, start executions on the alias), on the
//! embedded store and on DynamoDB + SQS (moto).

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

use crate::serve_support::{aws_cli as aws, run_boto3_script_with, Server, ROLE};
use serde_json::json;

/// The whole surface through boto3. Executions are Pass states that say
/// which definition ran them, so a start on an alias shows the version
/// it picked in its output as well as in `stateMachineVersionArn`.
const BOTO3_VERSIONS: &str = r#"
import json, sys, time
import boto3
from botocore.config import Config

endpoint, name = sys.argv[1], sys.argv[2]
sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(inject_host_prefix=False))
role = "arn:aws:iam::123456789012:role/flowstate"
def definition(v):
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": v}, "End": True}}})
def expect(code, f, **kw):
    try:
        f(**kw)
    except sfn.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, (code, e.response)
        return e.response["Error"]["Message"]
    raise SystemExit(f"expected {code} from {f.__name__}")

logging = {"level": "ALL", "includeExecutionData": True,
           "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:sfn:*"}}]}
tracing = {"enabled": True}

# A version description without publish is refused.
expect("ValidationException", sfn.create_state_machine, name=name, definition=definition(1),
       roleArn=role, versionDescription="v1")

# Create with publish: version 1, tags and settings kept.
sm = sfn.create_state_machine(name=name, definition=definition(1), roleArn=role, publish=True,
                              versionDescription="first", loggingConfiguration=logging,
                              tracingConfiguration=tracing,
                              tags=[{"key": "team", "value": "orders"}])
arn = sm["stateMachineArn"]
v1 = sm["stateMachineVersionArn"]
assert v1 == arn + ":1", sm
d = sfn.describe_state_machine(stateMachineArn=arn)
assert d["loggingConfiguration"] == logging and d["tracingConfiguration"] == tracing, d

# Idempotency: a different role is still the same request; a different
# logging configuration is not.
again = sfn.create_state_machine(name=name, definition=definition(1), roleArn=role + "-other",
                                 publish=True, versionDescription="first",
                                 loggingConfiguration=logging, tracingConfiguration=tracing)
assert again["stateMachineArn"] == arn and again["stateMachineVersionArn"] == v1, again
expect("StateMachineAlreadyExists", sfn.create_state_machine, name=name, definition=definition(1),
       roleArn=role, tracingConfiguration=tracing)
assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == role

alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
    {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
assert alias == arn + ":live", alias

# Update with publish: version 2; the revision check of a publish.
up = sfn.update_state_machine(stateMachineArn=arn, definition=definition(2), publish=True,
                              versionDescription="second")
v2 = up["stateMachineVersionArn"]
assert v2 == arn + ":2", up
assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == v2
expect("ConflictException", sfn.publish_state_machine_version, stateMachineArn=arn,
       revisionId="not-the-current-one")
expect("ValidationException", sfn.update_state_machine, stateMachineArn=arn,
       definition=definition(3), versionDescription="no publish")

# Versions are immutable: version 1 still describes definition 1.
dv1 = sfn.describe_state_machine(stateMachineArn=v1)
assert dv1["stateMachineArn"] == v1 and json.loads(dv1["definition"])["States"]["P"]["Result"] == {"v": 1}, dv1
assert dv1["description"] == "first" and dv1["loggingConfiguration"] == logging, dv1

# Weights must add up to 100.
expect("ValidationException", sfn.update_state_machine_alias, stateMachineAliasArn=alias,
       routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 50},
                             {"stateMachineVersionArn": v2, "weight": 40}])
sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
    {"stateMachineVersionArn": v1, "weight": 90}, {"stateMachineVersionArn": v2, "weight": 10}])
da = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
assert sorted((r["stateMachineVersionArn"], r["weight"]) for r in da["routingConfiguration"]) == [(v1, 90), (v2, 10)], da

# Starts on the alias run both versions, about 90/10. With 100 starts,
# fewer than 70 on version 1 or none on version 2 has a chance below 1e-4.
counts = {v1: 0, v2: 0}
for i in range(100):
    e = sfn.start_execution(stateMachineArn=alias, name=f"a{i}", traceHeader=f"Root=1-{i}")["executionArn"]
    while True:
        d = sfn.describe_execution(executionArn=e)
        if d["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert d["status"] == "SUCCEEDED", d
    assert d["stateMachineAliasArn"] == alias and d["traceHeader"] == f"Root=1-{i}", d
    version = d["stateMachineVersionArn"]
    assert json.loads(d["output"]) == {"v": 1 if version == v1 else 2}, d
    assert sfn.describe_state_machine_for_execution(executionArn=e)["definition"] == definition(1 if version == v1 else 2)
    counts[version] += 1
assert 70 <= counts[v1] < 100 and counts[v2] >= 1, counts

# A start on a version runs that version; lists by version and alias.
e = sfn.start_execution(stateMachineArn=v2, name="on-v2")["executionArn"]
d = sfn.describe_execution(executionArn=e)
assert d["stateMachineVersionArn"] == v2 and "stateMachineAliasArn" not in d, d
on_alias = [x for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=alias) for x in p["executions"]]
assert len(on_alias) == 100 and all(x["stateMachineAliasArn"] == alias for x in on_alias), len(on_alias)
on_v2 = [x["name"] for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=v2) for x in p["executions"]]
assert len(on_v2) == counts[v2] + 1 and on_v2[0] == "on-v2", on_v2
assert len([x for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn) for x in p["executions"]]) == 101

# Versions newest first, page by page; one an alias routes to cannot go.
first = sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=1)
second = sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=1, nextToken=first["nextToken"])
assert [v["stateMachineVersionArn"] for p in (first, second) for v in p["stateMachineVersions"]] == [v2, v1], (first, second)
assert "nextToken" not in second, second
expect("ConflictException", sfn.delete_state_machine_version, stateMachineVersionArn=v1)
assert [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]] == [alias]

# Tags.
sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
expect("TooManyTags", sfn.tag_resource, resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
expect("ResourceNotFound", sfn.list_tags_for_resource, resourceArn=arn + "-missing")

# The alias goes, then version 1 may; its number is not given again.
sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
expect("ResourceNotFound", sfn.describe_state_machine_alias, stateMachineAliasArn=alias)
sfn.delete_state_machine_version(stateMachineVersionArn=v2)
sfn.update_state_machine(stateMachineArn=arn, definition=definition(4))
v3 = sfn.publish_state_machine_version(stateMachineArn=arn, description="third")["stateMachineVersionArn"]
assert v3 == arn + ":3", v3

# Deleting the state machine deletes its versions.
sfn.delete_state_machine(stateMachineArn=arn)
expect("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=v3)
print("versions ok", counts[v1], counts[v2])
"#;

fn run_boto3(s: &Server, name: &str) -> String {
    run_boto3_script_with(BOTO3_VERSIONS, &[&s.url, name])
}

#[test]
fn boto3_publishes_versions_and_routes_an_alias_on_the_embedded_store() {
    let s = Server::start(&["--memory"]);
    let stdout = run_boto3(&s, "versions");
    assert!(stdout.contains("versions ok"), "{stdout}");
}

#[test]
fn boto3_publishes_versions_and_routes_an_alias_on_dynamodb_and_sqs() {
    let moto = flowstate_testkit::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on_moto(&moto.endpoint, "flowstate-versions", dir.path(), &[]);
    let stdout = run_boto3(&s, "versions-aws");
    assert!(stdout.contains("versions ok"), "{stdout}");
}

#[test]
fn the_aws_cli_publishes_and_routes_an_alias() {
    let s = Server::start(&["--memory"]);
    let def = |v: u32| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": v}, "End": true}}})
            .to_string()
    };
    let sm = aws(
        &s,
        &[
            "create-state-machine",
            "--name",
            "cli-versions",
            "--role-arn",
            ROLE,
            "--definition",
            &def(1),
            "--publish",
            "--version-description",
            "first",
            "--tags",
            "key=team,value=orders",
        ],
    )
    .unwrap();
    let arn = sm["stateMachineArn"].as_str().unwrap().to_string();
    let v1 = sm["stateMachineVersionArn"].as_str().unwrap().to_string();
    assert_eq!(v1, format!("{arn}:1"));
    let routing_v1 = format!("stateMachineVersionArn={v1},weight=100");
    let alias = aws(
        &s,
        &[
            "create-state-machine-alias",
            "--name",
            "live",
            "--routing-configuration",
            &routing_v1,
        ],
    )
    .unwrap()["stateMachineAliasArn"]
        .as_str()
        .unwrap()
        .to_string();
    let up = aws(
        &s,
        &[
            "update-state-machine",
            "--state-machine-arn",
            &arn,
            "--definition",
            &def(2),
            "--publish",
        ],
    )
    .unwrap();
    let v2 = up["stateMachineVersionArn"].as_str().unwrap().to_string();
    assert_eq!(v2, format!("{arn}:2"));
    // All starts to version 2 first: the alias's routing decides.
    let routing_v2 = format!("stateMachineVersionArn={v2},weight=100");
    aws(
        &s,
        &[
            "update-state-machine-alias",
            "--state-machine-alias-arn",
            &alias,
            "--routing-configuration",
            &routing_v2,
        ],
    )
    .unwrap();
    let exec = aws(
        &s,
        &[
            "start-execution",
            "--state-machine-arn",
            &alias,
            "--trace-header",
            "Root=1-abc",
        ],
    )
    .unwrap()["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = s.wait_done(&exec, std::time::Duration::from_secs(30));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let d = aws(&s, &["describe-execution", "--execution-arn", &exec]).unwrap();
    assert_eq!(d["stateMachineVersionArn"], json!(v2), "{d}");
    assert_eq!(d["stateMachineAliasArn"], json!(alias), "{d}");
    assert_eq!(d["traceHeader"], "Root=1-abc", "{d}");
    assert_eq!(d["output"], json!(r#"{"v":2}"#), "{d}");
    let versions = aws(
        &s,
        &["list-state-machine-versions", "--state-machine-arn", &arn],
    )
    .unwrap();
    let listed: Vec<&str> = versions["stateMachineVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stateMachineVersionArn"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [v2.as_str(), v1.as_str()]);
    let err = aws(
        &s,
        &[
            "delete-state-machine-version",
            "--state-machine-version-arn",
            &v2,
        ],
    )
    .unwrap_err();
    assert!(err.contains("ConflictException"), "{err}");
    let tags = aws(&s, &["list-tags-for-resource", "--resource-arn", &arn]).unwrap();
    assert_eq!(tags["tags"], json!([{"key": "team", "value": "orders"}]));
    aws(
        &s,
        &[
            "delete-state-machine-alias",
            "--state-machine-alias-arn",
            &alias,
        ],
    )
    .unwrap();
    aws(
        &s,
        &[
            "delete-state-machine-version",
            "--state-machine-version-arn",
            &v2,
        ],
    )
    .unwrap();
}
