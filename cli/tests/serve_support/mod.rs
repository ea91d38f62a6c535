//! Helpers for the `flowstate serve` end-to-end tests: start the real
//! binary on a free port, call the API, find external tools.
//!
//! These tests live in `cli/tests/` (not `tests/tests/`) because Cargo
//! builds the binary for them and names it in `CARGO_BIN_EXE_flowstate`:
//! no nested `cargo build`, no guessing of the target directory.

// Test code: helpers outside #[test] functions panic on purpose too
// (clippy.toml allows unwrap only inside the test functions themselves).
#![allow(clippy::unwrap_used)]

pub mod conformance;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/flowstate";

/// The environment of a process that talks to moto at `endpoint`: dummy
/// credentials, and nothing read from the user's own AWS configuration.
pub fn moto_env(endpoint: &str) -> [(&'static str, &str); 8] {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_PROFILE", ""),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// A running `flowstate serve`. Killed (SIGKILL) on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts `flowstate serve --port 0` with `args` (e.g. `--memory`, or
    /// `--data-dir DIR`) and waits for the line naming its URL.
    pub fn start(args: &[&str]) -> Server {
        Server::start_in(args, None)
    }

    pub fn start_in(args: &[&str], cwd: Option<&Path>) -> Server {
        Server::start_with(args, cwd, &[])
    }

    /// As [`Server::start_in`], with environment variables set (or, with
    /// an empty value, removed).
    /// `serve --backend aws` on the moto at `endpoint`: table `name` and
    /// queue `name-steps` (created), the task token key in `data_dir`,
    /// then `extra` arguments.
    pub fn start_on_moto(endpoint: &str, name: &str, data_dir: &Path, extra: &[&str]) -> Server {
        let queue = format!("{name}-steps");
        let data_dir = data_dir.to_str().expect("a UTF-8 temporary path");
        let mut args = vec![
            "--data-dir",
            data_dir,
            "--backend",
            "aws",
            "--table",
            name,
            "--queue",
            &queue,
            "--create-resources",
        ];
        args.extend_from_slice(extra);
        Server::start_with(&args, None, &moto_env(endpoint))
    }

    pub fn start_with(args: &[&str], cwd: Option<&Path>, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowstate"));
        cmd.args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .args(args);
        for (name, value) in env {
            if value.is_empty() {
                cmd.env_remove(name);
            } else {
                cmd.env(name, value);
            }
        }
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flowstate serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.strip_prefix("flowstate serve: listening on ") {
                        let url = rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let _ = tx.send(url);
                        sent = true;
                    }
                }
                // Keep draining so the server never blocks on a full pipe.
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("flowstate serve did not print its URL within 60 s");
            }
        };
        Server { child, url }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "flowstate serve did not exit within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Calls an action; `Err((status, body))` for an API error.
    pub fn call(&self, action: &str, body: Value) -> Result<Value, (u16, Value)> {
        let res = ureq::post(&self.url)
            .set("Content-Type", "application/x-amz-json-1.0")
            .set("X-Amz-Target", &format!("AWSStepFunctions.{action}"))
            .send_string(&body.to_string());
        match res {
            Ok(r) => Ok(
                serde_json::from_str(&r.into_string().expect("response body"))
                    .expect("JSON response"),
            ),
            Err(ureq::Error::Status(code, r)) => Err((
                code,
                r.into_string()
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or(Value::Null),
            )),
            Err(e) => panic!("{action}: transport error: {e}"),
        }
    }

    /// Calls an action that must succeed.
    pub fn ok(&self, action: &str, body: Value) -> Value {
        match self.call(action, body.clone()) {
            Ok(v) => v,
            Err((code, v)) => panic!("{action} {body} failed with HTTP {code}: {v}"),
        }
    }

    pub fn create(&self, name: &str, definition: &Value) -> String {
        let v = self.ok(
            "CreateStateMachine",
            json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE}),
        );
        v["stateMachineArn"].as_str().expect("arn").to_string()
    }

    /// Polls DescribeExecution until the execution leaves RUNNING.
    pub fn wait_done(&self, execution_arn: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.ok("DescribeExecution", json!({"executionArn": execution_arn}));
            if d["status"] != "RUNNING" {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "{execution_arn} still RUNNING after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every history event, following nextToken.
    pub fn history(&self, execution_arn: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = json!({"executionArn": execution_arn, "maxResults": 100});
            if let Some(t) = &token {
                req["nextToken"] = json!(t);
            }
            let page = self.ok("GetExecutionHistory", req);
            out.extend(page["events"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return out,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool the tests need, found on PATH; fails with how to install it.
/// Nothing is skipped silently: CI machines have these installed.
pub fn require_tool(name: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("`{name}` is not on PATH; install it with: {install}"))
}

/// python3 with boto3 importable, or a failure saying how to get it.
pub fn require_boto3() -> PathBuf {
    let python = require_tool(
        "python3",
        "apt-get install -y python3 (then pip install boto3)",
    );
    let ok = Command::new(&python)
        .args(["-c", "import boto3"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "python3 cannot import boto3; install it with: pip install boto3 (or pip install awscli boto3)");
    python
}

/// Runs a boto3 script with the server's URL as its argument and no AWS
/// configuration of the machine's; its stdout, once it exited 0.
pub fn run_boto3_script(script: &str, url: &str) -> String {
    run_boto3_script_with(script, &[url])
}

/// [`run_boto3_script`] with more arguments after the script (its
/// `sys.argv[1..]`).
pub fn run_boto3_script_with(script: &str, args: &[&str]) -> String {
    let python = require_boto3();
    let out = Command::new(python)
        .args(["-c", script])
        .args(args)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "boto3 script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The environment AWS tools need against a local endpoint: dummy
/// credentials, a region, and no `sync-` host prefix (botocore reads
/// `AWS_DISABLE_HOST_PREFIX_INJECTION`; see README.md, "StartSyncExecution
/// and the `sync-` host prefix").
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

/// `aws stepfunctions ... --endpoint-url` the server; the parsed JSON
/// output, or `Err(stderr)`.
pub fn aws_cli(s: &Server, args: &[&str]) -> Result<Value, String> {
    let bin = require_tool("aws", "pip install awscli boto3");
    let mut cmd = Command::new(bin);
    aws_env(&mut cmd).arg("stepfunctions").args(args).args([
        "--endpoint-url",
        &s.url,
        "--output",
        "json",
    ]);
    let out = cmd.output().expect("run aws");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("aws printed JSON")
    })
}
