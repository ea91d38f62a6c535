//! A moto server for the tests — every test that needs moto starts it
//! here (requests serialised, cheap transaction rollback; stopped with its
//! guard) — plus SDK configuration, backends and [`Moto::stack`].

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::{AwsBackend, Settings};
use std::sync::atomic::{AtomicU32, Ordering};

mod launcher;
pub use launcher::Moto;

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
        let name = unique_name();
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

    /// What `template.yaml` creates, on moto: a table, the step queue and
    /// its dead-letter queue, a KMS key, the status topic (fresh names
    /// each call).
    pub async fn stack(&self) -> Stack {
        let config = self.sdk_config().await;
        let backend = self.backend().await;
        let settings = backend.settings().clone();
        let sqs = aws_sdk_sqs::Client::new(&config);
        let url = |queue: String| {
            let sqs = sqs.clone();
            async move {
                sqs.get_queue_url()
                    .queue_name(&queue)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("GetQueueUrl {queue} on moto: {e:?}"))
                    .queue_url
                    .unwrap_or_else(|| panic!("moto returned no URL for {queue}"))
            }
        };
        let queue_url = url(settings.queue.clone()).await;
        let dlq_url = url(settings.dead_letter_queue.clone()).await;
        let kms_key_arn = aws_sdk_kms::Client::new(&config)
            .create_key()
            .description("flowstate test key")
            .send()
            .await
            .expect("CreateKey on moto")
            .key_metadata
            .map(|m| m.arn.unwrap_or(m.key_id))
            .expect("CreateKey returned key metadata");
        let topic_arn = aws_sdk_sns::Client::new(&config)
            .create_topic()
            .name(format!("{}-status", settings.queue))
            .send()
            .await
            .expect("CreateTopic on moto")
            .topic_arn
            .expect("CreateTopic returned an ARN");
        Stack {
            topic_arn,
            endpoint: self.endpoint.clone(),
            table: settings.table,
            queue_url,
            dlq_url,
            kms_key_arn,
            region: "us-east-1".into(),
            account: MOTO_ACCOUNT.into(),
        }
    }
}

/// The account moto puts in every ARN.
pub const MOTO_ACCOUNT: &str = "123456789012";

fn unique_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("fs-{}-{n}", std::process::id())
}

/// Flowstate's resources on moto, and the environment a function reads.
#[derive(Debug, Clone)]
pub struct Stack {
    pub endpoint: String,
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub kms_key_arn: String,
    /// The status-change topic.
    pub topic_arn: String,
    pub region: String,
    pub account: String,
}

impl Stack {
    /// The variables `template.yaml` gives every function, plus the
    /// standard AWS ones pointing at moto (dummy credentials).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", &self.region),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("FLOWSTATE_TABLE", &self.table),
            ("FLOWSTATE_QUEUE_URL", &self.queue_url),
            ("FLOWSTATE_DLQ_URL", &self.dlq_url),
            ("FLOWSTATE_TOPIC_ARN", &self.topic_arn),
            ("FLOWSTATE_EVENT_BUS_NAME", ""),
            ("FLOWSTATE_KEYS_KMS_KEY", &self.kms_key_arn),
            ("FLOWSTATE_AUTH", "sigv4"),
            ("FLOWSTATE_ACCOUNT_ID", &self.account),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// A backend on this stack's table and queue.
    pub fn backend(&self, config: &SdkConfig) -> AwsBackend {
        let name = self.queue_url.rsplit('/').next().unwrap_or_default();
        AwsBackend::new(config, Settings::new(&self.table, name))
    }
}
