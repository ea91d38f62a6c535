//! Access keys and the task token key on moto (DynamoDB + KMS).

#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use flowstate_auth::{KeyStatus, KeyStore};
use flowstate_aws::token_key::load_or_create_task_token_key;
use flowstate_aws::{DynamoKeyStore, KeysError, PURPOSE_KEY};
use flowstate_testkit::Moto;
use std::time::Duration;

async fn kms_key(moto: &Moto) -> String {
    let config = moto.sdk_config().await;
    let meta = aws_sdk_kms::Client::new(&config)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    meta.arn.unwrap()
}

async fn raw_item(
    moto: &Moto,
    table: &str,
    pk: &str,
    sk: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    let config = moto.sdk_config().await;
    aws_sdk_dynamodb::Client::new(&config)
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

#[tokio::test]
async fn access_keys_are_stored_sealed_and_looked_up_decrypted() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let table = backend.settings().table.clone();
    let key_arn = kms_key(&moto).await;
    let config = moto.sdk_config().await;
    let store = DynamoKeyStore::new(&config, &table, &key_arn);

    let (issued, info) = store.create("ci").await.unwrap();
    assert_eq!(info.status, KeyStatus::Active);
    let found = store.lookup(&issued.access_key_id).await.unwrap().unwrap();
    assert_eq!(found.secret, issued.secret);
    assert_eq!(found.name, "ci");

    // The table holds ciphertext only, sealed under the access-key context.
    let item = raw_item(&moto, &table, "KEY", &issued.access_key_id).await;
    let sealed = item["sec"].as_b().unwrap().as_ref().to_vec();
    let secret = issued.secret.expose().as_bytes();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret));
    assert!(!format!("{item:?}").contains(issued.secret.expose()));
    let kms = aws_sdk_kms::Client::new(&config);
    let plain = kms
        .decrypt()
        .ciphertext_blob(Blob::new(sealed.clone()))
        .encryption_context(PURPOSE_KEY, "access-key")
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(plain.as_ref(), secret);
    let other_context = kms
        .decrypt()
        .ciphertext_blob(Blob::new(sealed))
        .encryption_context(PURPOSE_KEY, "task-token-key")
        .send()
        .await;
    assert!(other_context.is_err(), "decrypted under the wrong context");

    assert!(store
        .lookup("AKIAUNKNOWNKEY000000")
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store.create(" ").await,
        Err(KeysError::InvalidName { .. })
    ));
}

#[tokio::test]
async fn revoked_keys_stay_listed_but_inactive() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let table = backend.settings().table.clone();
    let key_arn = kms_key(&moto).await;
    let config = moto.sdk_config().await;
    let store = DynamoKeyStore::new(&config, &table, &key_arn);

    let (a, _) = store.create("alice").await.unwrap();
    let (b, _) = store.create("bob").await.unwrap();
    // Cached by this lookup; revoke must drop it here at once.
    assert!(store.lookup(&a.access_key_id).await.unwrap().is_some());
    let revoked = store.revoke(&a.access_key_id).await.unwrap();
    assert_eq!(revoked.status, KeyStatus::Inactive);
    let first_revocation = revoked.revoked_at.unwrap();
    let again = store.revoke(&a.access_key_id).await.unwrap();
    assert_eq!(again.revoked_at, Some(first_revocation));
    assert_eq!(
        store
            .lookup(&a.access_key_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        KeyStatus::Inactive
    );

    let listed = store.list().await.unwrap();
    let mut expected = vec![
        (a.access_key_id.clone(), "alice", KeyStatus::Inactive),
        (b.access_key_id.clone(), "bob", KeyStatus::Active),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    let got: Vec<_> = listed
        .iter()
        .map(|k| (k.access_key_id.clone(), k.name.as_str(), k.status))
        .collect();
    assert_eq!(got, expected);

    assert!(matches!(
        store.revoke("AKIANOSUCHKEY0000000").await,
        Err(KeysError::NotFound(id)) if id == "AKIANOSUCHKEY0000000"
    ));
}

#[tokio::test]
async fn a_warm_cache_sees_a_revocation_within_its_ttl() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let table = backend.settings().table.clone();
    let key_arn = kms_key(&moto).await;
    let config = moto.sdk_config().await;
    let admin = DynamoKeyStore::new(&config, &table, &key_arn);
    let api = DynamoKeyStore::new(&config, &table, &key_arn).with_cache(16, 400);

    // Unknown keys are not cached: a key created later works at once.
    assert!(api.lookup("AKIANOTYET0000000000").await.unwrap().is_none());
    let (key, _) = admin.create("ci").await.unwrap();
    let id = key.access_key_id.as_str();
    assert!(api.lookup(id).await.unwrap().is_some());

    admin.revoke(id).await.unwrap();
    // Within the TTL the warm store still trusts its copy...
    assert_eq!(
        api.lookup(id).await.unwrap().unwrap().status,
        KeyStatus::Active
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    // ...and after it, reads the revocation.
    assert_eq!(
        api.lookup(id).await.unwrap().unwrap().status,
        KeyStatus::Inactive
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_starts_converge_on_one_task_token_key() {
    let moto = Moto::start();
    let backend = moto.backend().await;
    let table = backend.settings().table.clone();
    let key_arn = kms_key(&moto).await;
    let config = moto.sdk_config().await;

    let calls = (0..8).map(|_| {
        let (config, table, key_arn) = (config.clone(), table.clone(), key_arn.clone());
        tokio::spawn(async move { load_or_create_task_token_key(&config, &table, &key_arn).await })
    });
    let handles: Vec<_> = calls.collect();
    let mut keys = Vec::new();
    for h in handles {
        keys.push(h.await.unwrap().unwrap());
    }
    assert_eq!(keys[0].len(), 32);
    assert!(keys.iter().all(|k| k == &keys[0]), "keys differ");
    let later = load_or_create_task_token_key(&config, &table, &key_arn)
        .await
        .unwrap();
    assert_eq!(later, keys[0]);

    let item = raw_item(&moto, &table, "CONFIG", "TASK_TOKEN_KEY").await;
    let sealed = item["sec"].as_b().unwrap().as_ref();
    assert!(!sealed.windows(32).any(|w| w == keys[0].as_slice()));
}
