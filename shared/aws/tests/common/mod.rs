//! moto for the AWS backend tests ([`Moto`], in `moto.rs`, shared with
//! other crates' tests) and the SDK configuration and backends on it.

mod moto;

pub use moto::Moto;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::{AwsBackend, Settings};
use std::sync::atomic::{AtomicU32, Ordering};

impl Moto {
    /// SDK configuration pointing at this moto: dummy credentials, us-east-1.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// A backend on a fresh table and queue (unique names), created.
    pub async fn backend(&self) -> AwsBackend {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let name = format!("fs-{}-{n}", std::process::id());
        let backend = AwsBackend::new(
            &self.sdk_config().await,
            Settings::new(format!("{name}-table"), format!("{name}-steps")),
        );
        backend
            .create_resources()
            .await
            .expect("create table and queues on moto");
        backend
    }
}
