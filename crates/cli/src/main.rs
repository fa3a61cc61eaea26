//! `lodestone`: the command-line interface. Argument parsing and output only; the work happens in
//! the library crates.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod show;
mod text;

/// Critical-mineral supply-chain intelligence, starting with rare earths.
#[derive(Parser)]
#[command(name = "lodestone", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a dataset and report every problem as FILE:LINE: message.
    #[command(
        after_help = "Examples:\n  lodestone check\n  lodestone check --data my-dataset --format json\n\nExit status: 0 if there are no errors (warnings allowed), 1 if there are errors."
    )]
    Check {
        /// Dataset directory (default: the bundled world dataset, data/world).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Show the records of a table, or one record with its sources and what refers to it.
    #[command(
        after_help = "Examples:\n  lodestone show facilities\n  lodestone show facilities lynas_lamp_kuantan\n  lodestone show flows --format csv > flows.csv\n  lodestone show countries MYS --format json\n  lodestone show ownership lynas_rare_earths   (rows where owner or company is lynas_rare_earths)\n\nKINDS: the table names of the dataset schema (see docs/dataset.md)."
    )]
    Show {
        /// Table to show, e.g. facilities, flows, sources (singular names work too).
        kind: String,
        /// Id of one record (for ownership, compositions and other tables with compound keys:
        /// the rows whose key includes this value).
        id: Option<String>,
        /// Dataset directory (default: the bundled world dataset, data/world).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

/// Output format of `show`.
#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum ShowFormat {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
    /// CSV with the table's own columns.
    Csv,
}

/// The data directory: the one given, else `data/world` under the current directory, else the
/// bundled dataset of the source tree this binary was built from.
fn data_dir(given: Option<PathBuf>) -> PathBuf {
    if let Some(d) = given {
        return d;
    }
    let local = PathBuf::from(lodestone_dataset::DEFAULT_DATA_DIR);
    if local.is_dir() {
        return local;
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(lodestone_dataset::DEFAULT_DATA_DIR);
    if built.is_dir() { built } else { local }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { data, format } => check(data_dir(data), format),
        Command::Show {
            kind,
            id,
            data,
            format,
        } => show::run(&data_dir(data), &kind, id.as_deref(), format),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("lodestone: error: {message}");
            ExitCode::from(1)
        }
    }
}

fn check(dir: PathBuf, format: CheckFormat) -> Result<ExitCode, String> {
    let (_, report) = lodestone_dataset::load_dir(&dir)?;
    let mut out = std::io::stdout().lock();
    let write_err = |e: std::io::Error| format!("cannot write output: {e}");
    match format {
        CheckFormat::Json => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
            )
            .map_err(write_err)?;
        }
        CheckFormat::Text => {
            for d in report.errors() {
                writeln!(out, "{d}").map_err(write_err)?;
            }
            for d in report.warnings() {
                writeln!(out, "warning: {d}").map_err(write_err)?;
            }
            let errors = report.errors().count();
            let warnings = report.warnings().count();
            writeln!(
                out,
                "{}: {} error{}, {} warning{}",
                dir.display(),
                errors,
                if errors == 1 { "" } else { "s" },
                warnings,
                if warnings == 1 { "" } else { "s" }
            )
            .map_err(write_err)?;
        }
    }
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
