//! `flowstate validate`: every problem of a definition, with its location.

use anyhow::Context;
use clap::Args;
use flowstate_asl::definition::parse_document;
use flowstate_asl::validate::{validate, Diagnostic, Severity};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ValidateArgs {
    /// The definition, JSON or YAML.
    pub definition: PathBuf,
    /// Print the diagnostics as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// Reads and checks a definition file. `Err` for unreadable or unparsable
/// files; the diagnostics otherwise.
pub fn check_file(path: &PathBuf) -> anyhow::Result<(serde_json::Value, Vec<Diagnostic>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value = parse_document(&text).map_err(|m| anyhow::anyhow!("{}: {m}", path.display()))?;
    let diagnostics = validate(&value);
    Ok((value, diagnostics))
}

pub fn print_diagnostics(path: &std::path::Path, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let location = if d.location.is_empty() {
            "/"
        } else {
            &d.location
        };
        eprintln!("{}: {level} at {location}: {}", path.display(), d.message);
    }
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let (_, diagnostics) = check_file(&args.definition)?;
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diagnostics)?);
    } else {
        print_diagnostics(&args.definition, &diagnostics);
        if errors == 0 {
            println!("{}: valid", args.definition.display());
        } else {
            eprintln!("{}: {errors} error(s)", args.definition.display());
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
