//! Printing when the reader may be gone: `flowstate run … | head -c 10`
//! closes the pipe after ten bytes, and `println!` would then panic
//! ("failed printing to stdout: Broken pipe"). Rust ignores SIGPIPE, so a
//! closed pipe shows up as an error on the next write: [`stdout`] treats
//! it as the end of the output — the reader has what it wanted — and the
//! command ends as it would have; [`stderr`] drops what cannot be written.
//!
//! `outln!` and `errln!` are `println!` and `eprintln!` built on them.

use std::io::{self, Write};

/// Runs `write` on the locked stdout and flushes it. A closed pipe is not
/// an error; any other failure is.
pub fn stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Runs `write` on the locked stderr; failures are dropped (there is
/// nowhere left to report them).
pub fn stderr(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
    let mut err = io::stderr().lock();
    let _ = write(&mut err).and_then(|()| err.flush());
}

/// `println!` that ends quietly on a closed pipe: an `io::Result<()>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::stdout(|w| writeln!(w, $($arg)*))
    };
}

/// `print!` that ends quietly on a closed pipe: an `io::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdout(|w| write!(w, $($arg)*))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::stderr(|w| writeln!(w, $($arg)*))
    };
}
