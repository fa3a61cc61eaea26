//! The world model over a loaded dataset, and its views.
//!
//! [`load_dir`] reads a dataset with `lodestone-format`, then parses what needs the engines'
//! types: the rule files (`policies/*.toml`, into `lodestone_rules::Rule`) and the scenario files
//! (checked against the simulated network of their year). The result is a [`World`]: the
//! dataset, its rules and the complete validation [`Report`].
//!
//! The modules below turn a world into engine inputs (the lowering to a trace network, product
//! facts, the simulation network) and engine outputs into answers (screening, risk, the chain).

pub mod chain;
pub mod lower;
pub mod prices;
pub mod products;
pub mod references;
pub mod risk_inputs;
pub mod rules_file;
pub mod screening;
pub mod sim_inputs;
pub mod views;

use std::ops::Deref;
use std::path::Path;

use lodestone_format::{Dataset, InputFiles, Report, Schema, Severity};
use lodestone_rules::Rule;

pub use lodestone_format::DEFAULT_DATA_DIR;

/// A loaded dataset with its parsed rules.
///
/// Dereferences to the [`Dataset`], so the tables are read as `world.table(..)`.
#[derive(Debug, Clone)]
pub struct World {
    /// The tables and TOML record files.
    pub ds: Dataset,
    /// Trade-policy rules from `policies/*.toml` (files with errors are left out and reported).
    pub rules: Vec<Rule>,
    /// The files it was loaded from, so that a variant (an agreement's effects added, see
    /// [`views::impact`]) is loaded and validated exactly as the dataset was.
    pub input: std::sync::Arc<InputFiles>,
}

impl Deref for World {
    type Target = Dataset;
    fn deref(&self) -> &Dataset {
        &self.ds
    }
}

/// Parses and validates the files of a dataset, rules and scenarios included. Never panics,
/// whatever the bytes: every problem becomes a diagnostic.
pub fn load(schema: Schema, input: &InputFiles) -> (World, Report) {
    let (ds, report) = lodestone_format::load(schema, input);
    let mut diags = report.diagnostics;
    let rules = rules_file::load_rules(&ds, &mut diags);
    // Scenarios name nodes of the simulated network, so they are checked against it — only when
    // the tables themselves are sound, or every scenario would repeat their errors.
    if !diags.iter().any(|d| d.severity == Severity::Error) {
        sim_inputs::check_scenarios(&ds, &mut diags);
    }
    lodestone_format::sort_diagnostics(&ds.schema, &mut diags);
    (
        World {
            ds,
            rules,
            input: std::sync::Arc::new(input.clone()),
        },
        Report { diagnostics: diags },
    )
}

/// Reads and validates a dataset directory: [`lodestone_format::read_dir`] then [`load`].
pub fn load_dir(dir: &Path) -> Result<(World, Report), String> {
    let schema = Schema::embedded()?;
    let input = lodestone_format::read_dir(dir, &schema);
    Ok(load(schema, &input))
}
