//! Command handlers: run a process with the payload JSON on stdin and read
//! the result JSON from its stdout.
//!
//! The contract mirrors a Lambda handler's, so the same script can be a
//! local stand-in for a function: printing a Lambda error object
//! (`{"errorType": ..., "errorMessage": ...}`) is how a handler throws,
//! whatever its exit status; a non-zero exit without one is a crash, whose
//! cause is what the process wrote to stderr.
//!
//! What a handler writes to stderr is its log: each line goes to the
//! [`HandlerLog`] as it is written (by default `tracing`, with the state's
//! name), and is also kept for the failure cause.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use flowstate_asl::errors::{Failure, StatesError};
use flowstate_engine::integration::is_error_object;
use serde_json::Value;

use crate::config::CommandSpec;
use crate::outcome::{excerpt, Deadline, Outcome, MAX_CAUSE_CHARS};

/// Receives a handler's stderr lines: the state's name, then the line
/// without its newline.
pub type LogLines = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Where command handlers' stderr lines go while they run.
#[derive(Clone, Default)]
pub enum HandlerLog {
    /// `tracing` events at `info`, with the state's name as the field
    /// `state`: a library's log, for whatever subscriber the program has.
    #[default]
    Tracing,
    /// Nowhere (the lines still make failure causes).
    Discard,
    /// A function of the state's name and the line (without its newline),
    /// called from the thread reading the handler's stderr: for a
    /// program's own output (`flowstate` prints `[StateName] line` on its
    /// stderr), or a test.
    Lines(LogLines),
}

impl HandlerLog {
    fn line(&self, state_name: &str, line: &str) {
        match self {
            HandlerLog::Tracing => tracing::info!(state = state_name, "{line}"),
            HandlerLog::Discard => {}
            HandlerLog::Lines(f) => f(state_name, line),
        }
    }
}

impl fmt::Debug for HandlerLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandlerLog::Tracing => "Tracing",
            HandlerLog::Discard => "Discard",
            HandlerLog::Lines(_) => "Lines(..)",
        })
    }
}

/// Runs `spec` once with `input` on stdin. `env` is set before the task's own
/// `env`, so the config can override it. Stderr lines go to `log` as
/// `state_name`'s.
pub(crate) fn run(
    spec: &CommandSpec,
    input: &[u8],
    env: &[(&str, String)],
    deadline: Option<Deadline>,
    log: &HandlerLog,
    state_name: &str,
) -> Outcome {
    let started = Instant::now();
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .envs(&spec.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Outcome::Failed(Failure::states(
                StatesError::TaskFailed,
                format!(
                    "Could not start `{}` in {}: {e}",
                    spec.display(),
                    spec.cwd.display()
                ),
            ))
        }
    };

    // Feed stdin and drain both pipes on their own threads: a handler that
    // writes a lot before reading its input would otherwise deadlock with us.
    let stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // A handler may exit without reading its input; that is its
            // business, not an error (the pipe is simply closed).
            let _ = stdin.write_all(&input);
        }
    });
    let stdout = drain(child.stdout.take());
    let stderr = stream(child.stderr.take(), log.clone(), state_name.to_string());

    let status = match wait(&mut child, started, deadline) {
        Waited::Exited(status) => status,
        Waited::TimedOut(deadline) => {
            // The readers are left to finish on their own: a grandchild that
            // inherited the pipes may keep them open after the kill, and the
            // run must not hang on it.
            return deadline.outcome();
        }
        Waited::Error(e) => {
            return Outcome::Failed(Failure::states(
                StatesError::TaskFailed,
                format!("Lost track of `{}`: {e}", spec.display()),
            ))
        }
    };
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&join(stdout)).into_owned();
    let stderr = String::from_utf8_lossy(&join(stderr)).into_owned();
    classify(spec, status, &stdout, &stderr)
}

/// What the process's exit status and output mean for the task.
fn classify(spec: &CommandSpec, status: ExitStatus, stdout: &str, stderr: &str) -> Outcome {
    let out = stdout.trim();
    let parsed: Option<Value> = if out.is_empty() {
        None
    } else {
        serde_json::from_str(out).ok()
    };
    if status.success() {
        return match parsed {
            Some(value) if is_error_object(&value) => Outcome::FunctionError(out.to_string()),
            Some(_) => Outcome::Returned {
                body: out.to_string(),
                executed_version: None,
                request_id: None,
            },
            // A handler that prints nothing returned nothing, as a Lambda
            // handler returning None/undefined yields `null`.
            None if out.is_empty() => Outcome::Returned {
                body: "null".to_string(),
                executed_version: None,
                request_id: None,
            },
            None => {
                let mut cause = format!(
                    "`{}` exited successfully but its stdout is not JSON (a handler must print exactly one JSON value; log to stderr): {}",
                    spec.display(),
                    excerpt(out, 500)
                );
                let err = stderr.trim();
                if !err.is_empty() {
                    cause.push_str(&format!("\nstderr: {}", excerpt(err, 2000)));
                }
                Outcome::Failed(Failure::states(StatesError::TaskFailed, cause))
            }
        };
    }
    // On a failed exit an `errorType` alone is enough to name the error.
    if let Some(Value::Object(object)) = &parsed {
        if matches!(object.get("errorType"), Some(Value::String(t)) if !t.is_empty()) {
            return Outcome::FunctionError(out.to_string());
        }
    }
    let err = stderr.trim();
    let cause = if err.is_empty() {
        format!(
            "`{}` {} and wrote nothing to stderr",
            spec.display(),
            describe_status(status)
        )
    } else {
        excerpt(err, MAX_CAUSE_CHARS)
    };
    Outcome::Failed(Failure::states(StatesError::TaskFailed, cause))
}

fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_string(),
    }
}

enum Waited {
    Exited(ExitStatus),
    TimedOut(Deadline),
    Error(std::io::Error),
}

/// Waits for the child, killing it at the deadline. Polls with a short,
/// growing interval: std has no wait-with-timeout, and a fast handler should
/// not pay for a coarse tick.
fn wait(child: &mut Child, started: Instant, deadline: Option<Deadline>) -> Waited {
    let Some(deadline) = deadline else {
        return match child.wait() {
            Ok(status) => Waited::Exited(status),
            Err(e) => Waited::Error(e),
        };
    };
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) => {}
            Err(e) => return Waited::Error(e),
        }
        let elapsed = started.elapsed();
        if elapsed >= deadline.after {
            let _ = child.kill();
            let _ = child.wait();
            return Waited::TimedOut(deadline);
        }
        thread::sleep(pause.min(deadline.after - elapsed));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut pipe| {
        thread::spawn(move || {
            let mut buffer = Vec::new();
            let _ = pipe.read_to_end(&mut buffer);
            buffer
        })
    })
}

/// Passes each stderr line to `log` as it arrives, and keeps them all.
fn stream(
    pipe: Option<ChildStderr>,
    log: HandlerLog,
    state_name: String,
) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|pipe| {
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut all = Vec::new();
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        all.extend_from_slice(&line);
                        let text = String::from_utf8_lossy(&line);
                        log.line(&state_name, text.trim_end_matches(['\n', '\r']));
                    }
                }
            }
            all
        })
    })
}

fn join(reader: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    reader.and_then(|r| r.join().ok()).unwrap_or_default()
}
