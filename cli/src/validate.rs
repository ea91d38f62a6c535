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
    /// The state machine type whose rules apply: an EXPRESS state machine
    /// may not use activities, `.sync` or `.waitForTaskToken`.
    #[arg(long = "type", value_enum, default_value_t = Kind::Standard)]
    pub kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum Kind {
    Standard,
    Express,
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

/// ValidateStateMachineDefinition's code for a diagnostic of
/// [`check_file`]: text that is no definition at all is
/// `INVALID_JSON_DESCRIPTION`.
fn code(parsed: bool, d: &Diagnostic) -> &'static str {
    match (parsed, d.location.is_empty(), d.severity) {
        (false, true, Severity::Error) => "INVALID_JSON_DESCRIPTION",
        _ => flowstate_api::diagnostic_code(d),
    }
}

fn root_error(message: String) -> Diagnostic {
    Diagnostic {
        location: String::new(),
        message,
        severity: Severity::Error,
    }
}

pub fn print_diagnostics(path: &std::path::Path, parsed: bool, diagnostics: &[Diagnostic]) {
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
        errln!(
            "{}: {level} {} at {location}: {}",
            path.display(),
            code(parsed, d),
            d.message
        );
    }
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let (value, mut diagnostics) = check_file(&args.definition)?;
    let kind = match args.kind {
        Kind::Standard => flowstate_api::shapes::StateMachineType::Standard,
        Kind::Express => flowstate_api::shapes::StateMachineType::Express,
    };
    if let Some(v) = &value {
        diagnostics.extend(flowstate_api::type_diagnostics(v, kind));
    }
    let parsed = value.is_some();
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if args.json {
        let listed: Vec<serde_json::Value> = diagnostics
            .iter()
            .map(|d| {
                let mut v = serde_json::to_value(d)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("code".into(), code(parsed, d).into());
                }
                Ok(v)
            })
            .collect::<Result<_, serde_json::Error>>()?;
        outln!("{}", serde_json::to_string_pretty(&listed)?)?;
    } else {
        print_diagnostics(&args.definition, parsed, &diagnostics);
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
