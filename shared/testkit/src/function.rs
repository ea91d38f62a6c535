//! A function binary run the way Lambda runs it: a process that polls a
//! Runtime API ([`RuntimeApi`]) for events.

use crate::runtime_api::{Outcome, RuntimeApi};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one invocation may take before the test fails.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(20);

/// A running function binary and its emulator; the process is killed on
/// drop.
pub struct Function {
    api: RuntimeApi,
    child: Mutex<Child>,
    stderr: Arc<Mutex<String>>,
}

impl Function {
    /// Starts `binary` (a path, e.g. `env!("CARGO_BIN_EXE_flowstate-lambda-api")`)
    /// with `env` and the variables `lambda_runtime` reads. The parent's
    /// environment is not passed on (a developer's AWS profile must not
    /// leak into tests), except `PATH`.
    pub async fn start(binary: &str, env: &[(String, String)]) -> Function {
        let name = std::path::Path::new(binary)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("function")
            .to_string();
        let api = RuntimeApi::start(&name).await;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Function {
            api,
            child: Mutex::new(child),
            stderr,
        }
    }

    /// What the process wrote to stderr so far (its logs).
    pub fn logs(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The exit status, once the process has ended.
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        self.child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_wait()
            .ok()
            .flatten()
    }

    /// Invokes the function with a JSON event and returns how it ended.
    /// Panics (with the function's logs) if the process exits or does not
    /// answer in time.
    pub async fn invoke(&self, payload: serde_json::Value) -> Outcome {
        let wait = self.api.invoke(&payload, INVOKE_TIMEOUT);
        let mut wait = std::pin::pin!(wait);
        loop {
            tokio::select! {
                outcome = &mut wait => match outcome {
                    Some(o) => return o,
                    None => panic!(
                        "the function did not answer within {INVOKE_TIMEOUT:?}; its logs:\n{}",
                        self.logs()
                    ),
                },
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if let Some(status) = self.exited() {
                        // Give the stderr reader a moment to drain.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        panic!("the function exited ({status}) instead of answering; its logs:\n{}", self.logs());
                    }
                }
            }
        }
    }

    /// Waits up to `timeout` for the process to exit on its own (a function
    /// that cannot start) and returns its status.
    pub async fn wait_exit(&self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}
