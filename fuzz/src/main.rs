//! The long fuzz run: `cargo run --profile fuzz -p flowstate-fuzz --
//! --targets all --inputs 10000000`. Worker threads generate and check
//! cases ([`flowstate_fuzz::check`]); a panic is caught and saved with its
//! input; a watchdog thread reports inputs that run past the time bound
//! and the process's peak RSS against its bound. `--replay FILE` runs one
//! saved case again.

use anyhow::{bail, Context};
use clap::Parser;
use flowstate_fuzz::corpus::{default_data_dir, Corpus};
use flowstate_fuzz::{check, generate, Case, Runner, Target};
use std::cell::RefCell;
use std::os::unix::fs::FileExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    about = "Fuzz Flowstate's definition reader, validator, JSONPath, intrinsics, JSONata and API"
)]
struct Args {
    /// `all`, or a comma-separated list of reader, validator, jsonpath,
    /// intrinsics, jsonata, api.
    #[arg(long, default_value = "all")]
    targets: String,
    /// Inputs to run in total, shared round-robin among the targets.
    #[arg(long, default_value_t = 10_000_000)]
    inputs: u64,
    /// Worker threads (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of the generators (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Where crashes, hangs and in-flight inputs are saved.
    #[arg(long, default_value = "fuzz-crashes")]
    crashes: PathBuf,
    /// An input running longer than this is reported as a hang.
    #[arg(long, default_value_t = 5_000)]
    hang_ms: u64,
    /// Peak RSS bound: beyond it the run stops and reports the inputs in flight.
    #[arg(long, default_value_t = 1_024)]
    rss_limit_mib: u64,
    /// `tests/data` (the conformance cases and the JSONata suite).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Stop after this many seconds even if fewer inputs ran.
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 60)]
    report_every: u64,
    /// Run one saved case (a file from the crash folder) and exit.
    #[arg(long)]
    replay: Option<PathBuf>,
}

/// Counters of one target, shared by the workers and the reporter.
#[derive(Default)]
struct Stats {
    inputs: AtomicU64,
    panics: AtomicU64,
    violations: AtomicU64,
    hangs: AtomicU64,
    max_nanos: AtomicU64,
    total_nanos: AtomicU64,
}

/// What a worker is running now, for the watchdog.
struct Slot {
    running: Mutex<Option<InFlight>>,
}

struct InFlight {
    target: Target,
    case: Case,
    started: Instant,
    reported: bool,
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether the thread is inside `check`, where panics are findings;
    /// anywhere else a panic is the fuzzer's own and is printed.
    static CHECKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Keep the message and place of every panic for its crash file; the
    // default hook would print each one.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if CHECKING.with(|c| c.get()) {
            PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg} at {place}")));
        } else {
            eprintln!("the fuzzer panicked: {msg} at {place}");
        }
    }));
    if let Some(file) = &args.replay {
        return replay(file);
    }
    let targets: Vec<Target> = if args.targets == "all" {
        Target::ALL.to_vec()
    } else {
        args.targets
            .split(',')
            .map(|n| Target::from_name(n.trim()).with_context(|| format!("no target '{n}'")))
            .collect::<anyhow::Result<_>>()?
    };
    let data = args.data.clone().unwrap_or_else(default_data_dir);
    let corpus = Arc::new(Corpus::load(&data)?);
    std::fs::create_dir_all(&args.crashes)
        .with_context(|| format!("cannot create {}", args.crashes.display()))?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!(
        "fuzzing {} with {} threads, {} inputs, seed {seed}; seeds: {} definitions, {} paths, {} intrinsic calls, {} JSONata expressions, {} documents",
        targets.iter().map(|t| t.name()).collect::<Vec<_>>().join(","),
        threads,
        args.inputs,
        corpus.definitions.len(),
        corpus.paths.len(),
        corpus.intrinsics.len(),
        corpus.jsonata.len(),
        corpus.documents.len()
    );
    let stats: Arc<Vec<Stats>> = Arc::new(Target::ALL.iter().map(|_| Stats::default()).collect());
    let slots: Arc<Vec<Slot>> = Arc::new(
        (0..threads)
            .map(|_| Slot {
                running: Mutex::new(None),
            })
            .collect(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    let watchdog = {
        let (stats, slots, done, crashes) = (
            stats.clone(),
            slots.clone(),
            done.clone(),
            args.crashes.clone(),
        );
        let (hang, rss_limit, every) = (
            Duration::from_millis(args.hang_ms),
            args.rss_limit_mib,
            Duration::from_secs(args.report_every),
        );
        std::thread::spawn(move || {
            let mut last_report = Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
                for (i, slot) in slots.iter().enumerate() {
                    let mut guard = slot.running.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(f) = guard.as_mut() {
                        if !f.reported && f.started.elapsed() > hang {
                            f.reported = true;
                            stats[index(f.target)].hangs.fetch_add(1, Ordering::SeqCst);
                            let at = save(&crashes, "hang", f.target, &f.case, None);
                            println!(
                                "HANG on thread {i}: {} input running for more than {} ms, saved to {at}",
                                f.target.name(),
                                hang.as_millis()
                            );
                        }
                    }
                }
                let (rss, peak) = rss_mib();
                if peak > rss_limit {
                    println!("RSS {rss} MiB (peak {peak} MiB) is over the bound of {rss_limit} MiB; inputs in flight:");
                    for slot in slots.iter() {
                        let guard = slot.running.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(f) = guard.as_ref() {
                            println!("  {}", save(&crashes, "memory", f.target, &f.case, None));
                        }
                    }
                    report(&stats, started, true);
                    std::process::exit(3);
                }
                if last_report.elapsed() >= every {
                    last_report = Instant::now();
                    report(&stats, started, false);
                }
            }
        })
    };

    let mut workers = Vec::new();
    for t in 0..threads {
        let (stats, slots, next, corpus, targets, crashes) = (
            stats.clone(),
            slots.clone(),
            next.clone(),
            corpus.clone(),
            targets.clone(),
            args.crashes.clone(),
        );
        let total = args.inputs;
        let deadline = args.max_seconds.map(|s| started + Duration::from_secs(s));
        // The stack of a tokio worker thread, as `flowstate serve` runs
        // requests: a stack overflow here is one there.
        let worker = std::thread::Builder::new()
            .name(format!("fuzz-{t}"))
            .stack_size(2 << 20)
            .spawn(move || {
                let in_flight_path = crashes.join(format!("in-flight-{t}.json"));
                let in_flight = std::fs::File::create(&in_flight_path).ok();
                let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(t as u64 * 0x9E37_79B9));
                let mut runner = Runner::default();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= total || deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let target = targets[(n % targets.len() as u64) as usize];
                    let case = generate(target, &mut rng, &corpus);
                    // If the process dies (a stack overflow aborts), the
                    // input that killed it is still on disk.
                    if let Some(f) = &in_flight {
                        let text = case.to_json(target).to_string();
                        let _ = f.set_len(0);
                        let _ = f.write_at(text.as_bytes(), 0);
                    }
                    *slots[t].running.lock().unwrap_or_else(|p| p.into_inner()) = Some(InFlight {
                        target,
                        case: case.clone(),
                        started: Instant::now(),
                        reported: false,
                    });
                    let began = Instant::now();
                    CHECKING.with(|c| c.set(true));
                    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        check(target, &case, &mut runner)
                    }));
                    CHECKING.with(|c| c.set(false));
                    let nanos = began.elapsed().as_nanos() as u64;
                    *slots[t].running.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    let s = &stats[index(target)];
                    s.inputs.fetch_add(1, Ordering::Relaxed);
                    s.total_nanos.fetch_add(nanos, Ordering::Relaxed);
                    s.max_nanos.fetch_max(nanos, Ordering::Relaxed);
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(v)) => {
                            let k = s.violations.fetch_add(1, Ordering::SeqCst);
                            if k < 20 {
                                let at = save(&crashes, "violation", target, &case, Some(&v.0));
                                println!("VIOLATION {}: {} ({at})", target.name(), v.0);
                            }
                        }
                        Err(_) => {
                            // A panic may leave the API's runtime in any state.
                            runner = Runner::default();
                            let msg = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                            let k = s.panics.fetch_add(1, Ordering::SeqCst);
                            if k < 20 {
                                let at = save(&crashes, "panic", target, &case, Some(&msg));
                                println!("PANIC {}: {msg} ({at})", target.name());
                            }
                        }
                    }
                }
                let _ = std::fs::remove_file(in_flight_path);
            })?;
        workers.push(worker);
    }
    for w in workers {
        if w.join().is_err() {
            bail!("a worker thread died");
        }
    }
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    let (_, peak) = rss_mib();
    let findings = report(&stats, started, true);
    println!(
        "peak RSS {peak} MiB (bound {} MiB); hang bound {} ms",
        args.rss_limit_mib, args.hang_ms
    );
    if findings > 0 {
        bail!(
            "{findings} findings; inputs saved in {}",
            args.crashes.display()
        );
    }
    Ok(())
}

fn index(t: Target) -> usize {
    Target::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

/// Prints one line per target; returns the number of findings.
fn report(stats: &[Stats], started: Instant, last: bool) -> u64 {
    let secs = started.elapsed().as_secs_f64();
    let mut total = 0;
    let mut findings = 0;
    let (rss, peak) = rss_mib();
    println!(
        "{} after {secs:.0} s, RSS {rss} MiB (peak {peak} MiB)",
        if last { "final" } else { "progress" }
    );
    for (t, s) in Target::ALL.iter().zip(stats) {
        let n = s.inputs.load(Ordering::SeqCst);
        if n == 0 {
            continue;
        }
        total += n;
        let (p, v, h) = (
            s.panics.load(Ordering::SeqCst),
            s.violations.load(Ordering::SeqCst),
            s.hangs.load(Ordering::SeqCst),
        );
        findings += p + v + h;
        println!(
            "  {:<11} {:>10} inputs  {:>4} panics  {:>4} violations  {:>3} hangs  max {:>8.1} ms  mean {:>7.1} µs",
            t.name(),
            n,
            p,
            v,
            h,
            s.max_nanos.load(Ordering::SeqCst) as f64 / 1e6,
            s.total_nanos.load(Ordering::SeqCst) as f64 / n as f64 / 1e3
        );
    }
    println!(
        "  total       {total:>10} inputs, {:.0} inputs/s",
        total as f64 / secs.max(1e-9)
    );
    findings
}

/// Saves a case as `KIND-TARGET-N.json`; returns its path.
fn save(dir: &Path, kind: &str, target: Target, case: &Case, why: Option<&str>) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let path = dir.join(format!("{kind}-{}-{n}.json", target.name()));
    let mut v = case.to_json(target);
    if let (Some(why), Some(m)) = (why, v.as_object_mut()) {
        m.insert("why".into(), why.into());
    }
    let _ = std::fs::write(&path, v.to_string());
    path.display().to_string()
}

/// Current and peak resident set size of this process, in MiB.
fn rss_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn replay(file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let (target, case) = Case::from_json(&v).context("not a saved case")?;
    let began = Instant::now();
    CHECKING.with(|c| c.set(true));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        check(target, &case, &mut Runner::default())
    }));
    CHECKING.with(|c| c.set(false));
    let ms = began.elapsed().as_secs_f64() * 1e3;
    match outcome {
        Ok(Ok(())) => println!("{}: passed in {ms:.1} ms", target.name()),
        Ok(Err(v)) => bail!("{}: {} ({ms:.1} ms)", target.name(), v.0),
        Err(_) => {
            let msg = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
            bail!("{}: panicked: {msg}", target.name())
        }
    }
    Ok(())
}
