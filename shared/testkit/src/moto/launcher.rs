//! The moto process: started by `moto_server.py` at the crate's root
//! (moto's app with requests serialised and cheap DynamoDB transaction
//! rollback; see that file for why) on a free loopback port, stopped when
//! the guard drops — and, should the test process die without unwinding,
//! by the launcher itself when its stdin (a pipe from this process)
//! closes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The launcher script, at the crate's root.
const LAUNCHER: &str = include_str!("../../moto_server.py");

pub struct Moto {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
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

fn ensure_installed() {
    if moto_installed() {
        return;
    }
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

impl Moto {
    /// Starts moto (installing `moto[server]` with pip if it is missing)
    /// and waits until it listens. Panics with the reason when it cannot.
    pub fn start() -> Moto {
        ensure_installed();
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(LAUNCHER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 for moto");
        let stdout = child.stdout.take().expect("moto's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so moto never blocks on a full pipe.
            for _ in lines {}
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let port = line
                        .strip_prefix("port ")
                        .and_then(|p| p.trim().parse::<u16>().ok());
                    match port {
                        Some(p) => break p,
                        None => {
                            let _ = child.kill();
                            panic!("the moto launcher printed {line:?}, not `port N`");
                        }
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!("moto exited before listening: {status}");
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        panic!("moto did not start listening within 60 s");
                    }
                }
            }
        };
        Moto {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Closing the pipe makes the launcher exit.
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
