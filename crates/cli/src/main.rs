//! `lodestone`: the command-line interface. Argument parsing and output only; the work happens in
//! the library crates.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lodestone_model::{
    Basis, CustodyChoice, FigureStatus, OutputFormat, Scope, Stage, View, Vocabulary,
};
use lodestone_trace::generate::GenerateOptions;
use lodestone_world::views::risk::{
    BenchmarkQuery, ConcentrationQuery, CriticalQuery, DependencyQuery,
};
use lodestone_world::views::rules::{RulesQuery, ScreeningQuery, TimelineQuery};
use lodestone_world::views::{Analysis, Tabular, ViewError};

mod output;
mod registry;
mod risk;
mod rules;
mod show;
mod simulate;
mod text;
mod trace;

/// Critical-mineral supply-chain intelligence, starting with rare earths.
#[derive(Parser)]
#[command(
    name = "lodestone",
    version,
    about = "Critical-mineral supply-chain intelligence, starting with rare earths: where the rare earths in a product come from, which trade rules bite, how exposed a country is, what a disruption would do.",
    after_help = "Start with: lodestone check, then lodestone report --out malaysia.html. Each command has --help with examples."
)]
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
        after_help = "Examples:\n  lodestone show facilities\n  lodestone show facilities lynas_lamp_kuantan\n  lodestone show flows --format csv > flows.csv\n  lodestone show countries MYS --format json\n  lodestone show ownership lynas_rare_earths   (rows where owner or company is lynas_rare_earths)\n  lodestone show sources --unused               (sources no record cites)\n  lodestone show sources --conflicts            (sources that contradict another)\n\nKINDS: the table names of the dataset schema (see docs/dataset.md)."
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
        /// With `sources`: only sources that no record cites.
        #[arg(long)]
        unused: bool,
        /// With `sources`: only sources that record a conflict with another source.
        #[arg(long)]
        conflicts: bool,
    },
    /// Trace where the content of products comes from (by mining country, stage, technology, facility).
    #[command(
        after_help = "Examples:\n  lodestone trace --node JPN --tag 'mined:*'\n  lodestone trace --node lynas_lamp_kuantan/ndpr_oxide --format json\n  lodestone trace --explain JPN --tag mined:AUS --paths 5\n  lodestone trace --network my-network --summary\n  lodestone trace --custody compare --tag 'separated:*'\n  lodestone trace --element dy --node shinetsu_takefu/sintered_ndfeb\n\nNodes of a dataset: facility ids and ISO3 country markets (hubs), and ID/material for what a hub ships.\nTags: mined:ISO3, separated:ISO3, metal:ISO3, magnet:ISO3, tech:ISO3, facility:ID.\nQuantities are t REO; per_unit is the tagged share of a node's REO."
    )]
    Trace {
        /// Dataset directory to trace (default: the bundled world dataset).
        #[arg(long, value_name = "DIR", conflicts_with = "network")]
        data: Option<PathBuf>,
        /// A network in the interchange format (nodes.csv, flows.csv, content.csv) instead of a dataset.
        #[arg(long, value_name = "DIR")]
        network: Option<PathBuf>,
        /// Year of the dataset's flows.
        #[arg(long, default_value_t = 2024)]
        year: i64,
        /// Only this node.
        #[arg(long, value_name = "ID")]
        node: Option<String>,
        /// Only tags matching this pattern (`*` is a wildcard, e.g. `mined:*`).
        #[arg(long, value_name = "PATTERN")]
        tag: Option<String>,
        /// Chain-of-custody model.
        #[arg(long, value_enum, default_value_t = trace::Custody::MassBalance)]
        custody: trace::Custody,
        /// Explain NODE's content of --tag by its top contributing paths.
        #[arg(long, value_name = "NODE")]
        explain: Option<String>,
        /// Number of paths for --explain.
        #[arg(long, default_value_t = 10)]
        paths: usize,
        /// Print sizes, timings and per-tag conservation totals instead of per-node rows.
        #[arg(long)]
        summary: bool,
        /// Trace one element's content instead of all rare earths: an element (`dy`), a
        /// comma-separated list (`dy,tb`) or `all`. A dataset counts t of the element's oxide by
        /// its compositions; a network needs elements.csv.
        #[arg(long, value_name = "ELEMENT")]
        element: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
        /// Trace on the timely dataflow engine with N worker threads (in each process, with
        /// --hosts): the same numbers as the single-process engine (mass balance only).
        #[arg(long, value_name = "N", conflicts_with_all = ["explain", "element"])]
        workers: Option<usize>,
        /// A hosts file for a cluster of processes: one host:port per line, in process order.
        /// Start one `lodestone trace … --hosts FILE --process I` per line; process 0 prints.
        #[arg(long, value_name = "FILE", requires = "workers")]
        hosts: Option<PathBuf>,
        /// This process's line in --hosts, from 0.
        #[arg(long, value_name = "I", requires = "hosts")]
        process: Option<usize>,
    },
    /// Trade-policy rules: list them, check a product against them, see when determinations change.
    Rules {
        #[command(subcommand)]
        what: RulesCommand,
    },
    /// Serve the JSON API and the country briefs over HTTP (loopback by default).
    #[command(
        after_help = "Examples:\n  lodestone serve\n  lodestone serve --addr 127.0.0.1:9000\n\nThen open http://127.0.0.1:8080/ ; the API is described at /api/openapi.json."
    )]
    Serve {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Address to listen on (loopback by default; another address makes the dashboard and
        /// the API reachable from the network, without authentication).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Also answer for this host name (the loopback names always work); repeat for more.
        #[arg(long, value_name = "NAME")]
        allow_host: Vec<String>,
        /// Connections served at once (more are answered 503).
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        max_connections: u32,
        /// Seconds a client has to send a request's headers, and a kept-alive connection may
        /// sit idle.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        header_timeout: u64,
        /// Where finished scenario jobs are kept, so they survive a restart (created if needed;
        /// the server adds `job-ID.json` files and never deletes one).
        #[arg(long, value_name = "DIR", default_value = "lodestone-jobs")]
        jobs_dir: PathBuf,
        /// The commission's registry: sqlite:PATH (created and migrated on first start, the
        /// bundled agreements imported) or postgres://user@host/db.
        #[arg(long, default_value = registry::DEFAULT_DB)]
        db: String,
        /// The registry log's signing key (created if absent; default beside an SQLite file).
        #[arg(long, value_name = "FILE")]
        log_key: Option<PathBuf>,
        /// Mark session cookies Secure (when served behind HTTPS).
        #[arg(long)]
        secure_cookies: bool,
    },
    /// The oversight commission's registry: agreements, accounts, backups.
    Registry {
        #[command(subcommand)]
        cmd: registry::RegistryCommand,
    },
    /// Check the registry against its tamper-evident log.
    Audit {
        #[command(subcommand)]
        cmd: registry::AuditCommand,
    },
    /// Write a self-contained HTML brief on a country or group (default Malaysia).
    #[command(
        after_help = "Examples:\n  lodestone report --out malaysia.html\n  lodestone report --country JPN --as-of 2026-12-01 --out japan.html\n  lodestone report --country eu --out eu.html"
    )]
    Report {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Country (ISO3 code or name) or group (eu, asean, g7, quad, …).
        #[arg(long, value_name = "COUNTRY", default_value = "MYS")]
        country: String,
        /// Year of the flows.
        #[arg(long, default_value_t = 2024)]
        year: i64,
        /// Date of the rule states (YYYY-MM-DD; default: today).
        #[arg(long, value_name = "DATE", value_parser = rules::parse_date)]
        as_of: Option<lodestone_model::Date>,
        /// Output file.
        #[arg(long, value_name = "FILE.html")]
        out: PathBuf,
    },
    /// Simulate a disruption scenario month by month, with Monte Carlo ranges.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  lodestone simulate data/world/scenarios/kuantan_outage.toml --runs 1000\n  lodestone simulate data/world/scenarios/china_licensing_returns.toml --runs 0..5000 --out shard-a\n  lodestone simulate merge shard-a shard-b --out all\n  lodestone simulate compare data/world/scenarios/baseline.toml data/world/scenarios/kuantan_outage.toml"
    )]
    Simulate {
        #[command(subcommand)]
        action: Option<SimulateCommand>,
        /// The scenario file (TOML).
        scenario: Option<PathBuf>,
        /// Runs: N (runs 0..N) or A..B (a shard; merge shards with `simulate merge`).
        #[arg(long, default_value = "1000", value_parser = simulate::parse_runs)]
        runs: (u64, u64),
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Write stats.txt (mergeable), summary.csv and countries.csv here (a new or empty
        /// directory, or one Lodestone wrote).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write into --out even if it holds other files (never replacing them).
        #[arg(long)]
        force: bool,
        /// Output format of the headline table.
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
        /// Run the shards on the timely dataflow engine: N worker threads (in each process, with
        /// --hosts), one contiguous shard of the runs each, merged exactly.
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        /// A hosts file for a cluster of processes: one host:port per line, in process order.
        /// Start one `lodestone simulate … --hosts FILE --process I` per line; process 0 prints
        /// and writes --out.
        #[arg(long, value_name = "FILE", requires = "workers")]
        hosts: Option<PathBuf>,
        /// This process's line in --hosts, from 0.
        #[arg(long, value_name = "I", requires = "hosts")]
        process: Option<usize>,
    },
    /// Supply risk: concentration, dependency, benchmarks, critical facilities.
    Risk {
        #[command(subcommand)]
        what: RiskCommand,
    },
    /// Reconcile a year's flows with the published figures and the facilities' mass balances by
    /// weighted least squares: each figure against the model, conflicts named, flows adjusted.
    #[command(
        after_help = "Examples:\n  lodestone reconcile --year 2024\n  lodestone reconcile --year 2025 --flows --format csv\n\nThe method and its uncertainties: docs/data-notes.md (Reconciliation). Nothing is written."
    )]
    Reconcile {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Year of the flows.
        #[arg(long, default_value_t = 2024)]
        year: i64,
        /// List every flow, recorded and reconciled, instead of the reference figures.
        #[arg(long)]
        flows: bool,
        /// Write the reconciled estimates into the dataset's flows.csv, after printing each
        /// change; reported and derived flows are never changed, and each changed row's method
        /// records the value it replaced.
        #[arg(long)]
        write: bool,
        /// Output format: table, json, csv or xlsx.
        #[arg(long, default_value = "table", value_parser = vocab::<OutputFormat>)]
        format: OutputFormat,
    },
    /// Export derived data.
    Export {
        #[command(subcommand)]
        what: Export,
    },
    /// Write a synthetic, supply-chain-shaped network in the interchange format.
    #[command(
        after_help = "Example:\n  lodestone generate --nodes 1000000 --flows 10000000 --tags 16 --cycles 0.03 --seed 1 --out /tmp/net"
    )]
    Generate {
        /// Number of nodes.
        #[arg(long, default_value_t = 10_000)]
        nodes: usize,
        /// Number of flows.
        #[arg(long, default_value_t = 100_000)]
        flows: usize,
        /// Number of tags.
        #[arg(long, default_value_t = 16)]
        tags: usize,
        /// Fraction of nodes on recycling loops (0 to 0.5).
        #[arg(long, default_value_t = 0.03)]
        cycles: f64,
        /// Random seed: the same arguments always give the same network.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also give nodes unit values.
        #[arg(long)]
        values: bool,
        /// Also write elements.csv (elements.parquet with --parquet): random compositions of
        /// this many elements (e1, e2, …) per node, for `trace --element`.
        #[arg(long, default_value_t = 0)]
        elements: usize,
        /// Output directory (a new or empty directory, or one Lodestone wrote).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write into --out even if it holds other files (never replacing them).
        #[arg(long)]
        force: bool,
        /// Write the network's tables as Apache Parquet (nodes.parquet, …, elements.parquet)
        /// instead of CSV.
        #[arg(long)]
        parquet: bool,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules and their state on a date.
    #[command(
        after_help = "Examples:\n  lodestone rules list\n  lodestone rules list --as-of 2025-11-07 --format json"
    )]
    List {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Date (YYYY-MM-DD; default: today).
        #[arg(long, value_name = "DATE", value_parser = rules::parse_date)]
        as_of: Option<lodestone_model::Date>,
        /// Output format: table, json, csv or xlsx.
        #[arg(long, default_value = "table", value_parser = vocab::<OutputFormat>)]
        format: OutputFormat,
    },
    /// Evaluate every rule for a product (or all products) to a destination on a date.
    #[command(
        after_help = "Examples:\n  lodestone rules check --node shinetsu_takefu/sintered_ndfeb --destination USA --as-of 2026-12-01\n  lodestone rules check --node mp_independence/sintered_ndfeb --destination 'United States' --end-use defence --as-of 2027-01-01\n  lodestone rules check --all --destination DEU --format csv\n\nProducts are FACILITY/material nodes of the traced dataset (see `lodestone trace`)."
    )]
    Check {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Year of the dataset's flows.
        #[arg(long, default_value_t = 2024)]
        year: i64,
        /// The product node, FACILITY/material.
        #[arg(long, value_name = "ID", conflicts_with = "all")]
        node: Option<String>,
        /// Every product node (not-applicable determinations are left out).
        #[arg(long)]
        all: bool,
        /// Destination country (ISO3 code or name).
        #[arg(long, value_name = "COUNTRY")]
        destination: String,
        /// End use (e.g. defence, military, civil).
        #[arg(long, value_name = "USE")]
        end_use: Option<String>,
        /// Date (YYYY-MM-DD; default: today).
        #[arg(long, value_name = "DATE", value_parser = rules::parse_date)]
        as_of: Option<lodestone_model::Date>,
        /// Chain-of-custody model for the content shares: mass_balance, segregated or compare.
        #[arg(long, default_value = "mass_balance", value_parser = vocab::<CustodyChoice>)]
        custody: CustodyChoice,
        /// Output format: table, json, csv or xlsx.
        #[arg(long, default_value = "table", value_parser = vocab::<OutputFormat>)]
        format: OutputFormat,
    },
    /// The dates on which any determination for a product changes, and why.
    #[command(
        after_help = "Examples:\n  lodestone rules timeline --node shinetsu_takefu/sintered_ndfeb --destination USA\n  lodestone rules timeline --node jl_mag/sintered_ndfeb --destination DEU --custody compare"
    )]
    Timeline {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Year of the dataset's flows.
        #[arg(long, default_value_t = 2024)]
        year: i64,
        /// The product node, FACILITY/material.
        #[arg(long, value_name = "ID")]
        node: String,
        /// Destination country (ISO3 code or name).
        #[arg(long, value_name = "COUNTRY")]
        destination: String,
        /// End use.
        #[arg(long, value_name = "USE")]
        end_use: Option<String>,
        /// Chain-of-custody model: mass_balance, segregated or compare (both timelines).
        #[arg(long, default_value = "mass_balance", value_parser = vocab::<CustodyChoice>)]
        custody: CustodyChoice,
        /// Output format: table or json.
        #[arg(long, default_value = "table", value_parser = vocab::<OutputFormat>)]
        format: OutputFormat,
    },
}

/// Options shared by the risk views.
#[derive(clap::Args)]
struct RiskOpts {
    /// Dataset directory (default: the bundled world dataset).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Year of the flows (and of production figures).
    #[arg(long, default_value_t = 2024)]
    year: i64,
    /// Output format: table, json, csv or xlsx.
    #[arg(long, default_value = "table", value_parser = vocab::<OutputFormat>)]
    format: OutputFormat,
}

#[derive(Subcommand)]
enum RiskCommand {
    /// Shares, HHI and top-1/top-3 per material and stage, by country.
    #[command(
        after_help = "Examples:\n  lodestone risk concentration --basis production --stage mining\n  lodestone risk concentration --basis capacity --stage separation --scope outside-china\n  lodestone risk concentration --basis flow --material all --view ownership --format json"
    )]
    Concentration {
        #[command(flatten)]
        opts: RiskOpts,
        /// capacity (operating facilities), flow (t REO reaching the stage) or production (as published).
        #[arg(long, default_value = "flow", value_parser = vocab::<Basis>)]
        basis: Basis,
        /// Only this chain stage: mining, cracking, separation, metal, magnet or component.
        #[arg(long, value_parser = vocab::<Stage>)]
        stage: Option<Stage>,
        /// Only this material id (e.g. ndpr_oxide; `all` for each stage's total).
        #[arg(long)]
        material: Option<String>,
        /// world or outside-china.
        #[arg(long, default_value = "world", value_parser = vocab::<Scope>)]
        scope: Scope,
        /// location (country), ownership (country of the ultimate owner), company (ultimate owner) or facility.
        #[arg(long, default_value = "location", value_parser = vocab::<View>)]
        view: View,
        /// Only this supplier country (ISO3 code or name).
        #[arg(long, value_name = "COUNTRY")]
        country: Option<String>,
    },
    /// A country's supply by shipper (direct) against where its content was mined, separated, … (traced).
    #[command(
        after_help = "Examples:\n  lodestone risk dependency --country JPN --stage magnet\n  lodestone risk dependency --country Japan\n  lodestone risk dependency --country eu --format csv"
    )]
    Dependency {
        #[command(flatten)]
        opts: RiskOpts,
        /// Country (ISO3 code or name) or group (eu, asean, g7, quad, …).
        #[arg(long, value_name = "COUNTRY")]
        country: String,
        /// Only receipts of this material id.
        #[arg(long)]
        material: Option<String>,
        /// Only receipts at this chain stage: mining, cracking, separation, metal, magnet or component.
        #[arg(long, value_parser = vocab::<Stage>)]
        stage: Option<Stage>,
    },
    /// Benchmark rules (EU CRMA) checked on a bloc's traced consumption.
    #[command(
        after_help = "Examples:\n  lodestone risk benchmarks\n  lodestone risk benchmarks --country g7"
    )]
    Benchmarks {
        #[command(flatten)]
        opts: RiskOpts,
        /// Measure this country or group instead of each benchmark's issuer.
        #[arg(long, value_name = "COUNTRY")]
        country: Option<String>,
    },
    /// Facilities a country's supply passes through, and the supply lost if one stops.
    #[command(after_help = "Example:\n  lodestone risk critical --country JPN")]
    Critical {
        #[command(flatten)]
        opts: RiskOpts,
        /// Country (ISO3 code or name) or group.
        #[arg(long, value_name = "COUNTRY")]
        country: String,
    },
}

#[derive(Subcommand)]
enum SimulateCommand {
    /// Run two or more scenarios with the same runs and compare them side by side.
    Compare {
        /// Scenario files.
        scenarios: Vec<PathBuf>,
        /// Runs: N or A..B.
        #[arg(long, default_value = "1000", value_parser = simulate::parse_runs)]
        runs: (u64, u64),
        /// Dataset directory.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Hold a backtest scenario against the observed series in the dataset: per destination,
    /// simulated and observed months, the error in and out of the calibration months, and the
    /// months of trough and recovery.
    #[command(
        after_help = "Example:\n  lodestone simulate backtest data/world/scenarios/backtest_2025.toml --runs 200\n\nThe scenario tracks exports ([[tracked_exports]]) and names its calibration months; observed series are in observations.csv."
    )]
    Backtest {
        /// The backtest scenario file.
        scenario: PathBuf,
        /// Runs averaged.
        #[arg(long, default_value_t = 200)]
        runs: u64,
        /// Dataset directory.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Output format: table, json, csv or xlsx.
        #[arg(long, default_value = "table", value_parser = vocab::<OutputFormat>)]
        format: OutputFormat,
    },
    /// Merge the outputs of shards (`--out` directories) into one, exactly.
    Merge {
        /// Shard directories.
        dirs: Vec<PathBuf>,
        /// Output directory (a new or empty directory, or one Lodestone wrote).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write into --out even if it holds other files (never replacing them).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum Export {
    /// Write the dataset lowered to a tracing network (t REO) in the interchange format.
    #[command(
        after_help = "Example:\n  lodestone export network --out /tmp/world-network && lodestone trace --network /tmp/world-network"
    )]
    Network {
        /// Dataset directory (default: the bundled world dataset).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Year of the dataset's flows.
        #[arg(long, default_value_t = 2024)]
        year: i64,
        /// Output directory (a new or empty directory, or one Lodestone wrote).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write into --out even if it holds other files (never replacing them).
        #[arg(long)]
        force: bool,
        /// Write the tables as Apache Parquet (nodes.parquet, …) instead of CSV.
        #[arg(long)]
        parquet: bool,
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
pub(crate) fn data_dir(given: Option<PathBuf>) -> PathBuf {
    if let Some(d) = given {
        return d;
    }
    let local = PathBuf::from(lodestone_format::DEFAULT_DATA_DIR);
    if local.is_dir() {
        return local;
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(lodestone_format::DEFAULT_DATA_DIR);
    if built.is_dir() { built } else { local }
}

/// Loads a dataset that engines may run on: any error makes the command fail with the first few
/// errors and a pointer to `lodestone check`.
pub(crate) fn load_valid(dir: &std::path::Path) -> Result<lodestone_world::World, String> {
    let (ds, report) = lodestone_world::load_dir(dir)?;
    if report.has_errors() {
        let first: Vec<String> = report.errors().take(10).map(ToString::to_string).collect();
        return Err(format!(
            "{} has {} error(s), e.g.:\n{}\nrun `lodestone check --data {}` and fix them first",
            dir.display(),
            report.errors().count(),
            first.join("\n"),
            dir.display()
        ));
    }
    Ok(ds)
}

/// A failed command: its message and exit status (1: the input or the work failed; 2: bad
/// arguments, as clap uses).
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// One-line (or few-line) message.
    pub message: String,
}

impl Failure {
    /// A failure with an exit status.
    pub fn new(code: u8, message: String) -> Failure {
        Failure { code, message }
    }
}

impl From<ViewError> for Failure {
    fn from(e: ViewError) -> Failure {
        let code = match e {
            ViewError::Invalid(_) | ViewError::NotFound(_) => 2,
            ViewError::NoData(_) => 1,
        };
        Failure::new(code, e.to_string())
    }
}

/// Parses a vocabulary word for clap: a typo is an error with "did you mean" and the valid
/// words, and clap exits with status 2.
pub(crate) fn vocab<V: Vocabulary>(s: &str) -> Result<V, String> {
    V::parse(s).map_err(|e| e.to_string())
}

/// The analysis of a valid dataset directory (default: the bundled one).
pub(crate) fn analysis(data: Option<PathBuf>) -> Result<Analysis, Failure> {
    Ok(Analysis::new(load_valid(&data_dir(data))?))
}

/// Writes bytes to standard output.
pub(crate) fn out(bytes: &[u8]) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|e| Failure::new(1, format!("cannot write output: {e}")))
}

/// Writes a view as pretty JSON.
pub(crate) fn emit_json<V: serde::Serialize>(view: &V) -> Result<ExitCode, Failure> {
    let text = serde_json::to_string_pretty(view)
        .map_err(|e| Failure::new(1, format!("cannot write JSON: {e}")))?;
    out(format!("{text}\n").as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `lodestone reconcile`: the reference figures (or every flow) as reconciled, with the
/// conflicts, facilities left unbalanced and χ² around the table.
/// The network encoding a `--parquet` flag asks for.
fn encoding(parquet: bool) -> lodestone_network::Encoding {
    if parquet {
        lodestone_network::Encoding::Parquet
    } else {
        lodestone_network::Encoding::Csv
    }
}

fn reconcile_cmd(
    data: Option<PathBuf>,
    year: i64,
    flows: bool,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let world = load_valid(&data_dir(data)).map_err(|e| Failure::new(1, e))?;
    let v = lodestone_world::views::reconcile::reconcile(&world, year)
        .map_err(|e| Failure::new(1, e))?;
    let conflicts: Vec<String> = v
        .references
        .iter()
        .filter(|r| r.status != FigureStatus::Reconciled)
        .map(|r| match (r.status, r.reconciled) {
            (FigureStatus::Conflict, Some(m)) => format!(
                "  CONFLICT {}: published {:.0} ± {:.0} t REO ({}); the rest of the data gives {m:.0} ± {:.0}: look at both",
                r.figure,
                r.published,
                r.sigma,
                r.source,
                r.reconciled_sigma.unwrap_or(0.0)
            ),
            _ => format!(
                "  NOT REPRESENTED {}: published {:.0} t REO ({}), but nothing in the flows measures it",
                r.figure, r.published, r.source
            ),
        })
        .chain(
            v.references
                .iter()
                .filter_map(|r| r.note.as_ref().map(|n| format!("  note on {}: {n}", r.figure))),
        )
        .chain(
            v.left_out
                .iter()
                .map(|(figure, why)| format!("  LEFT OUT {figure}: {why}")),
        )
        .chain(
            v.implausible_losses()
                .map(|f| {
                    let label = if f.ships_nothing() {
                        "OUTPUT NOT RECORDED"
                    } else {
                        "IMPLAUSIBLE LOSS"
                    };
                    format!("  {label} {}", f.loss_text())
                }),
        )
        .collect();
    let mut after = format!(
        "\nχ² = {:.1} on {} degrees of freedom. {}\n",
        v.chi2, v.dof, v.method
    );
    if !conflicts.is_empty() {
        after.push_str(&format!("\n{}\n", conflicts.join("\n")));
    }
    let mut moved: Vec<&lodestone_world::views::reconcile::FlowRow> = v
        .flows
        .iter()
        .filter(|f| f.normalized.is_some_and(|z| z.abs() > 2.0) || f.clamped)
        .collect();
    moved.sort_by(|a, b| {
        let z = |f: &lodestone_world::views::reconcile::FlowRow| f.normalized.unwrap_or(0.0).abs();
        z(b).total_cmp(&z(a))
    });
    if !moved.is_empty() && !flows {
        after.push_str("\nFlows adjusted by more than twice the deviation of their adjustment (recorded → reconciled, t REO):\n");
        for f in moved.iter().take(20) {
            after.push_str(&format!(
                "  {}: {:.0} → {:.0} ({:+.1}){}\n",
                f.id,
                f.recorded,
                f.reconciled,
                f.normalized.unwrap_or(0.0),
                if f.clamped { ", held at 0" } else { "" }
            ));
        }
    }
    for (id, why) in &v.unbalanced {
        after.push_str(&format!("  not balanced: {id}: {why}\n"));
    }
    let before = format!(
        "Reconciliation of the {} flows ({} flows):\n\n",
        v.year,
        v.flows.len()
    );
    if flows {
        emit(&v, &v.flows, format, &before, &after, "flows")
    } else {
        emit(&v, &v.references, format, &before, &after, "reconcile")
    }
}

/// `lodestone reconcile --write`: prints the estimates that change and writes them into
/// flows.csv atomically (every other byte of the file kept).
fn reconcile_write_cmd(data: Option<PathBuf>, year: i64) -> Result<ExitCode, Failure> {
    let dir = data_dir(data);
    let world = load_valid(&dir).map_err(|e| Failure::new(1, e))?;
    let v = lodestone_world::views::reconcile::reconcile(&world, year)
        .map_err(|e| Failure::new(1, e))?;
    let path = dir.join("flows.csv");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::new(1, format!("cannot read {}: {e}", path.display())))?;
    let (updated, changes) =
        lodestone_world::views::reconcile::write_reconciled(&text, &v, &rules::today().to_string())
            .map_err(|e| Failure::new(1, e))?;
    let mut report = String::new();
    for c in &changes {
        report.push_str(&format!(
            "  {}: {} → {} t ({:.0} → {:.0} t REO)\n",
            c.id, c.before, c.after, c.before_reo, c.after_reo
        ));
    }
    if changes.is_empty() {
        out(format!(
            "No estimate of {year} moves by more than 1 t REO and 0.5 %: nothing to write.\n"
        )
        .as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    out(format!(
        "Reconciled estimates of {year} written to {} ({} flows; reported and derived flows unchanged):\n{report}",
        path.display(),
        changes.len()
    )
    .as_bytes())?;
    output::write_atomic(&path, updated.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Renders a view: JSON is the whole view struct; table, CSV and XLSX are its rows (the table
/// with `before` and `after` around it; XLSX as a workbook on standard output, never on a
/// terminal).
pub(crate) fn emit<V: serde::Serialize, R: Tabular>(
    view: &V,
    rows: &[R],
    format: OutputFormat,
    before: &str,
    after: &str,
    sheet: &str,
) -> Result<ExitCode, Failure> {
    match format {
        OutputFormat::Json => return emit_json(view),
        OutputFormat::Csv => out(lodestone_render::csv(rows).as_bytes())?,
        OutputFormat::Table => {
            let mut s = String::from(before);
            s.push_str(&lodestone_render::text_table(rows));
            if !after.is_empty() {
                s.push_str(after);
                s.push('\n');
            }
            out(s.as_bytes())?;
        }
        OutputFormat::Xlsx => {
            use std::io::IsTerminal;
            if std::io::stdout().is_terminal() {
                return Err(Failure::new(
                    2,
                    "--format xlsx writes a workbook to standard output: redirect it, e.g. > table.xlsx".into(),
                ));
            }
            let book = lodestone_render::xlsx(rows, sheet).map_err(|e| Failure::new(1, e))?;
            out(&book)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure { code: 1, message }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<ExitCode, Failure> = match cli.command {
        Command::Check { data, format } => check(data_dir(data), format).map_err(Failure::from),
        Command::Show {
            kind,
            id,
            data,
            format,
            unused,
            conflicts,
        } => show::run(
            &data_dir(data),
            &kind,
            id.as_deref(),
            format,
            show::Filter { unused, conflicts },
        )
        .map_err(Failure::from),
        Command::Trace {
            data,
            network,
            year,
            node,
            tag,
            custody,
            explain,
            paths,
            summary,
            element,
            format,
            workers,
            hosts,
            process,
        } => trace::run_trace(trace::TraceArgs {
            source: trace::Source {
                data,
                network,
                year,
            },
            element,
            node,
            tag,
            custody,
            explain,
            paths,
            summary,
            format,
            dataflow: trace::DataflowArgs {
                workers,
                hosts,
                process,
            },
        }),
        Command::Rules { what } => match what {
            RulesCommand::List {
                data,
                as_of,
                format,
            } => rules::list(data, RulesQuery { as_of }, format),
            RulesCommand::Check {
                data,
                year,
                node,
                all,
                destination,
                end_use,
                as_of,
                custody,
                format,
            } => rules::check(
                data,
                ScreeningQuery {
                    node,
                    all,
                    destination,
                    end_use,
                    as_of,
                    custody: Some(custody),
                    year,
                },
                format,
            ),
            RulesCommand::Timeline {
                data,
                year,
                node,
                destination,
                end_use,
                custody,
                format,
            } => rules::timeline_cmd(
                data,
                TimelineQuery {
                    node,
                    destination,
                    end_use,
                    custody: Some(custody),
                    year,
                },
                format,
            ),
        },
        Command::Simulate {
            action: Some(_),
            workers,
            hosts,
            process,
            ..
        } if workers.is_some() || hosts.is_some() || process.is_some() => {
            Err(Failure::new(
                2,
                "--workers, --hosts and --process run `simulate SCENARIO.toml` on a cluster; compare, backtest and merge run in one process".into(),
            ))
        }
        Command::Simulate {
            action,
            scenario,
            runs,
            seed,
            data,
            out,
            force,
            format,
            workers,
            hosts,
            process,
        } => match (action, scenario) {
            (
                Some(SimulateCommand::Compare {
                    scenarios,
                    runs,
                    data,
                    format,
                }),
                _,
            ) => simulate::compare_cmd(data, &scenarios, runs, format),
            (
                Some(SimulateCommand::Backtest {
                    scenario,
                    runs,
                    data,
                    format,
                }),
                _,
            ) => simulate::backtest_cmd(data, &scenario, runs, format),
            (Some(SimulateCommand::Merge { dirs, out, force }), _) => {
                simulate::merge_cmd(&dirs, &out, force)
            }
            (None, Some(path)) => simulate::simulate_cmd(
                data,
                &path,
                runs,
                seed,
                out.as_deref(),
                force,
                format,
                &trace::DataflowArgs {
                    workers,
                    hosts,
                    process,
                },
            ),
            (None, None) => Err(Failure::new(
                2,
                "simulate needs a scenario file (see `lodestone simulate --help`)".into(),
            )),
        },
        Command::Serve {
            data,
            addr,
            allow_host,
            max_connections,
            header_timeout,
            jobs_dir,
            db,
            log_key,
            secure_cookies,
        } => serve(
            data,
            addr,
            &allow_host,
            &jobs_dir,
            (&db, log_key.as_deref(), secure_cookies),
            lodestone_server::Limits {
                max_connections: max_connections as usize,
                header_timeout: std::time::Duration::from_secs(header_timeout),
                ..Default::default()
            },
        ),
        Command::Report {
            data,
            country,
            year,
            as_of,
            out,
        } => report(data, &country, year, as_of, &out),
        Command::Registry { cmd } => registry::run(cmd, data_dir),
        Command::Audit { cmd } => registry::run_audit(cmd),
        Command::Reconcile {
            data,
            year,
            flows,
            write,
            format,
        } => {
            if write {
                reconcile_write_cmd(data, year)
            } else {
                reconcile_cmd(data, year, flows, format)
            }
        }
        Command::Risk { what } => match what {
            RiskCommand::Concentration {
                opts,
                basis,
                stage,
                material,
                scope,
                view,
                country,
            } => risk::concentration_cmd(
                opts.data,
                ConcentrationQuery {
                    year: opts.year,
                    basis: Some(basis),
                    stage,
                    material,
                    scope: Some(scope),
                    view: Some(view),
                    country,
                },
                opts.format,
            ),
            RiskCommand::Dependency {
                opts,
                country,
                material,
                stage,
            } => risk::dependency_cmd(
                opts.data,
                DependencyQuery {
                    country,
                    year: opts.year,
                    material,
                    stage,
                },
                opts.format,
            ),
            RiskCommand::Benchmarks { opts, country } => risk::benchmarks_cmd(
                opts.data,
                BenchmarkQuery {
                    year: opts.year,
                    country,
                },
                opts.format,
            ),
            RiskCommand::Critical { opts, country } => risk::critical_cmd(
                opts.data,
                CriticalQuery {
                    country,
                    year: opts.year,
                },
                opts.format,
            ),
        },
        Command::Export {
            what:
                Export::Network {
                    data,
                    year,
                    out,
                    force,
                    parquet,
                },
        } => trace::run_export_network(data, year, &out, force, encoding(parquet)),
        Command::Generate {
            nodes,
            flows,
            tags,
            cycles,
            seed,
            values,
            elements,
            out,
            force,
            parquet,
        } => trace::run_generate(
            GenerateOptions {
                nodes,
                flows,
                tags,
                cycles,
                seed,
                values,
            },
            elements,
            &out,
            force,
            encoding(parquet),
        ),
    };
    match result {
        Ok(code) => code,
        Err(Failure { code, message }) => {
            eprintln!("lodestone: error: {message}");
            ExitCode::from(code)
        }
    }
}

fn serve(
    data: Option<PathBuf>,
    addr: std::net::SocketAddr,
    allow_host: &[String],
    jobs_dir: &Path,
    (db, log_key, secure_cookies): (&str, Option<&Path>, bool),
    limits: lodestone_server::Limits,
) -> Result<ExitCode, Failure> {
    let dir = data_dir(data);
    let (ds, report) = lodestone_world::load_dir(&dir)?;
    if report.has_errors() {
        return Err(Failure::new(
            1,
            format!(
                "{} has errors; run `lodestone check --data {}`",
                dir.display(),
                dir.display()
            ),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(1, format!("cannot start the server runtime: {e}")))?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {addr}, not loopback: the dashboard, the JSON API and scenario jobs (which use CPU) become reachable by anyone who can reach this address, without authentication; requests must name an allowed host ({})",
            lodestone_server::LOOPBACK_HOSTS
                .iter()
                .map(|h| h.to_string())
                .chain(allow_host.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (state, skipped) = lodestone_server::AppState::new(ds, report)
        .with_allowed_hosts(allow_host)
        .with_jobs_dir(jobs_dir)
        .map_err(|e| Failure::new(1, e))?;
    for s in skipped {
        eprintln!("warning: {}: {s}", jobs_dir.display());
    }
    let commission = runtime.block_on(async {
        let (reg, verifier) = registry::open(db, log_key).await?;
        let known = |p: &str| lodestone_server::commission::party_known(state.world(), p);
        let n = registry::import_bundled_if_empty(&reg, state.world(), &known).await?;
        if n > 0 {
            println!("registry {db}: created, {n} bundled agreements imported");
        }
        if reg.rows("accounts").await?.is_empty() {
            println!(
                "registry {db}: no accounts yet; the public portal is at /commission. Create the first administrator with `lodestone registry init --db {db} --admin NAME` (password on standard input)"
            );
        }
        Ok::<_, Failure>(lodestone_server::commission::Commission::new(
            reg,
            verifier,
            secure_cookies,
        ))
    })?;
    let state = state.with_commission(commission);
    runtime
        .block_on(lodestone_server::serve_with_limits(
            state,
            addr,
            limits,
            |bound| {
                println!(
                    "Lodestone is serving http://{bound}/ (API: http://{bound}/api/openapi.json)"
                )
            },
        ))
        .map_err(|e| Failure::new(1, e))?;
    Ok(ExitCode::SUCCESS)
}

fn report(
    data: Option<PathBuf>,
    country: &str,
    year: i64,
    as_of: Option<lodestone_model::Date>,
    out: &std::path::Path,
) -> Result<ExitCode, Failure> {
    let ds = load_valid(&data_dir(data))?;
    let who = lodestone_world::views::resolve::resolve_country_set(&ds, country)
        .map_err(|e| Failure::new(2, format!("--country {e}")))?;
    let options = lodestone_report::ReportOptions {
        country: who.id,
        year,
        as_of: as_of.unwrap_or_else(rules::today),
        dashboard_links: false,
    };
    let html = lodestone_report::country_brief(&Analysis::new(ds), &options)
        .map_err(|e| Failure::new(1, e))?;
    output::write_brief(out, &html)?;
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn check(dir: PathBuf, format: CheckFormat) -> Result<ExitCode, String> {
    let (_, report) = lodestone_world::load_dir(&dir)?;
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
