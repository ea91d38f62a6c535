//! `flowstate validate`: every problem of a definition, with its location.

use anyhow::Context;
use clap::Args;
use flowstate_asl::definition::parse_document;
use flowstate_asl::validate::{validate, Diagnostic, Severity};
use flowstate_runtime::constraints;
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

/// Reads and checks a definition file. `Err` when it cannot be read; else
/// the definition (`None` when the text is neither JSON nor YAML) and its
/// diagnostics — text that does not parse is one error at the root, as
/// ValidateStateMachineDefinition reports it.
pub fn check_file(path: &PathBuf) -> anyhow::Result<(Option<serde_json::Value>, Vec<Diagnostic>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if constraints::check_definition_length(&text).is_err() {
        let message = format!(
            "the definition is longer than the {} characters Step Functions accepts",
            constraints::DEFINITION_CHARS
        );
        return Ok((None, vec![root_error(message)]));
    }
    Ok(match parse_document(&text) {
        Ok(value) => {
            let diagnostics = validate(&value);
            (Some(value), diagnostics)
        }
        Err(message) => (None, vec![root_error(message)]),
    })
}

fn root_error(message: String) -> Diagnostic {
    Diagnostic {
        location: String::new(),
        message,
        severity: Severity::Error,
    }
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
        errln!("{}: {level} at {location}: {}", path.display(), d.message);
    }
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let (_, diagnostics) = check_file(&args.definition)?;
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&diagnostics)?)?;
    } else {
        print_diagnostics(&args.definition, &diagnostics);
        if errors == 0 {
            outln!("{}: valid", args.definition.display())?;
        } else {
            errln!("{}: {errors} error(s)", args.definition.display());
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
