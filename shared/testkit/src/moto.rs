//! A moto server for the tests: started on a free loopback port, stopped
//! when the guard drops — and, should the test process die without
//! unwinding, by a small Python wrapper that kills moto when its stdin
//! (a pipe from this process) closes. (The same guard as
//! `shared/aws/tests/common`, plus [`Moto::stack`].)

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use flowstate_aws::{Backend, Settings};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const WRAPPER: &str = r#"
import subprocess, sys
moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", sys.argv[1]],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    sys.stdin.read()
finally:
    moto.kill()
    moto.wait()
"#;

pub struct Moto {
    child: Option<Child>,
    pub endpoint: String,
}

fn moto_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

impl Moto {
    /// Starts moto (installing `moto[server]` with pip if it is missing).
    /// Panics with the reason when it cannot.
    pub fn start() -> Moto {
        if !moto_installed() {
            let ok = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "moto[server]"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok && moto_installed(),
                "moto is not installed and `python3 -m pip install 'moto[server]'` failed: \
                 the AWS backend tests need it (python3 -m moto.server)"
            );
        }
        let port = free_port();
        let child = Command::new("python3")
            .args(["-c", WRAPPER, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 for moto");
        let mut moto = Moto {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(port) {
            if let Some(child) = moto.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("moto exited before answering: {status}");
                }
            }
            assert!(
                Instant::now() < deadline,
                "moto did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

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
    pub async fn backend(&self) -> Backend {
        let name = unique_name();
        let backend = Backend::new(
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
    pub fn backend(&self, config: &SdkConfig) -> Backend {
        let name = self.queue_url.rsplit('/').next().unwrap_or_default();
        Backend::new(config, Settings::new(&self.table, name))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Closing the pipe makes the wrapper kill moto and exit.
        drop(child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
