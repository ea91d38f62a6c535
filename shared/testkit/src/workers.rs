//! A guard for several worker processes of one command (`flowstate worker
//! ...`): start N, SIGKILL one, restart it, stop them all; killed on drop.
//!
//! Each process instance has a client id, `w{slot}-g{generation}`, set as
//! `AWS_SDK_UA_APP_ID`: the AWS SDK puts it in every request's User-Agent
//! (`app/w0-g1`), so a test endpoint knows which instance called it
//! ([`crate::Invocation::client`]) — and which calls a killed instance
//! made.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a process may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Output kept per process (the end of it).
const KEEP_BYTES: usize = 256 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The whole environment but `PATH` (nothing else is inherited: a
    /// developer's AWS profile must not leak into tests).
    pub env: Vec<(String, String)>,
    /// The start of the stdout line that says the process is ready.
    pub ready: String,
}

struct Instance {
    child: Child,
    client: String,
    output: Arc<Mutex<String>>,
    /// The line that said the process was ready.
    ready_line: String,
}

/// Running worker processes, one per slot.
pub struct Workers {
    command: WorkerCommand,
    slots: Vec<Option<Instance>>,
    generations: Vec<u32>,
    /// Output of instances that ended (killed or stopped), by client id.
    ended: Vec<(String, String)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn keep(sink: &Mutex<String>, line: &str) {
    let mut s = lock(sink);
    s.push_str(line);
    s.push('\n');
    if s.len() > KEEP_BYTES {
        let cut = s.len() - KEEP_BYTES / 2;
        let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        s.drain(..cut);
    }
}

impl Workers {
    /// Starts `n` processes and waits until each printed its ready line.
    /// Panics, with the process's output, if one does not.
    pub fn start(command: WorkerCommand, n: usize) -> Workers {
        let mut workers = Workers {
            command,
            slots: (0..n).map(|_| None).collect(),
            generations: vec![0; n],
            ended: Vec::new(),
        };
        for slot in 0..n {
            workers.spawn(slot);
        }
        workers
    }

    fn spawn(&mut self, slot: usize) {
        self.generations[slot] += 1;
        let client = format!("w{slot}-g{}", self.generations[slot]);
        let mut command = Command::new(&self.command.program);
        command
            .args(&self.command.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(
                self.command
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .env("AWS_SDK_UA_APP_ID", &client)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.command.program.display()));
        let output = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let (sink, ready) = (output.clone(), self.command.ready.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.starts_with(&ready) {
                        let _ = ready_tx.send(line.clone());
                    }
                    keep(&sink, &line);
                }
            });
        }
        if let Some(stderr) = child.stderr.take() {
            let sink = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    keep(&sink, &line);
                }
            });
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        let ready_line = loop {
            if let Ok(line) = ready_rx.recv_timeout(Duration::from_millis(100)) {
                break line;
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "worker {client} exited ({status}) before it was ready; its output:\n{}",
                    lock(&output)
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "worker {client} was not ready within {READY_TIMEOUT:?}; its output:\n{}",
                    lock(&output)
                );
            }
        };
        self.slots[slot] = Some(Instance {
            child,
            client,
            output,
            ready_line,
        });
    }

    /// The line the process in `slot` printed when it was ready (e.g. the
    /// URL a server listens on).
    pub fn ready_line(&self, slot: usize) -> Option<String> {
        self.slots[slot].as_ref().map(|i| i.ready_line.clone())
    }

    /// How many slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The client id of the instance running in `slot`.
    pub fn client(&self, slot: usize) -> Option<String> {
        self.slots[slot].as_ref().map(|i| i.client.clone())
    }

    /// SIGKILLs the instance in `slot`; its client id.
    pub fn kill(&mut self, slot: usize) -> Option<String> {
        let mut instance = self.slots[slot].take()?;
        let _ = instance.child.kill();
        let _ = instance.child.wait();
        let output = lock(&instance.output).clone();
        self.ended.push((instance.client.clone(), output));
        Some(instance.client)
    }

    /// Starts a new instance in `slot` (killing the one there, if any).
    pub fn restart(&mut self, slot: usize) {
        self.kill(slot);
        self.spawn(slot);
    }

    /// Slots whose process exited on its own (it should not).
    pub fn exited(&mut self) -> Vec<(String, std::process::ExitStatus)> {
        self.slots
            .iter_mut()
            .flatten()
            .filter_map(|i| {
                i.child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map(|s| (i.client.clone(), s))
            })
            .collect()
    }

    /// SIGTERMs every instance and waits for it to exit (SIGKILL after
    /// `grace`); the output of each, by client id.
    pub fn stop(&mut self, grace: Duration) -> Vec<(String, String)> {
        for instance in self.slots.iter().flatten() {
            let _ = Command::new("kill")
                .args(["-TERM", &instance.child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + grace;
        for slot in 0..self.slots.len() {
            let Some(mut instance) = self.slots[slot].take() else {
                continue;
            };
            while Instant::now() < deadline {
                if let Ok(Some(_)) = instance.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = instance.child.kill();
            let _ = instance.child.wait();
            // The reader threads end with the pipes.
            std::thread::sleep(Duration::from_millis(20));
            let output = lock(&instance.output).clone();
            self.ended.push((instance.client, output));
        }
        self.ended.clone()
    }

    /// The output of every instance, running or ended, for a failure
    /// message (the last `lines` lines of each).
    pub fn outputs(&self, lines: usize) -> String {
        let running = self
            .slots
            .iter()
            .flatten()
            .map(|i| (i.client.clone(), lock(&i.output).clone()));
        let mut out = String::new();
        for (client, text) in self.ended.iter().cloned().chain(running) {
            let all: Vec<&str> = text.lines().collect();
            let tail = &all[all.len().saturating_sub(lines)..];
            out.push_str(&format!("--- {client} ---\n{}\n", tail.join("\n")));
        }
        out
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for instance in self.slots.iter_mut().flatten() {
            let _ = instance.child.kill();
            let _ = instance.child.wait();
        }
    }
}

/// The standard AWS variables for a process of a deployment on moto:
/// every service at `endpoint` (moto, or a proxy in front of it), Lambda
/// at `lambda`, test credentials, no profile or instance metadata, and
/// `RUST_LOG` set to `log`.
pub fn process_env(endpoint: &str, lambda: &str, log: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ENDPOINT_URL_LAMBDA", lambda),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("RUST_LOG", log),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
