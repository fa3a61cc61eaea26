//! `lodestone risk concentration | dependency | benchmarks | critical`: each builds its view's
//! query from the arguments and renders the view.

use std::process::ExitCode;

use lodestone_model::OutputFormat;
use lodestone_world::views::risk::{
    BenchmarkQuery, COMPLETE_COVERAGE, ConcentrationQuery, CriticalQuery, DependencyQuery,
    benchmarks, concentration, critical, dependency,
};

use crate::{Failure, analysis, emit};

/// `lodestone risk concentration`.
pub fn concentration_cmd(
    data: Option<std::path::PathBuf>,
    q: ConcentrationQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = concentration(&a, &q)?;
    let footer = format!(
        "{} rows ({}, by {}, {} basis, {}). {} HHI on percentage shares (0–10,000).",
        v.rows.len(),
        v.scope,
        v.view,
        v.basis,
        v.year,
        v.basis_note
    );
    // Incomplete bases are said before the table, once per material and stage.
    let mut warnings = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in &v.rows {
        if let Some(text) = r.coverage_text()
            && r.basis_coverage.is_some_and(|c| c < COMPLETE_COVERAGE)
            && seen.insert((r.material.clone(), r.stage))
        {
            warnings.push_str(&format!("{} ({}): {text}.\n", r.material_name, r.stage));
        }
    }
    // Conflicts with published figures too: a share the published statistics contradict.
    for r in &v.rows {
        for conflict in r.conflicts() {
            warnings.push_str(&format!("{} ({}): {conflict}.\n", r.supplier_name, r.stage));
        }
    }
    if !warnings.is_empty() {
        warnings.push('\n');
    }
    emit(&v, &v.rows, format, &warnings, &footer, "concentration")
}

/// `lodestone risk dependency`.
pub fn dependency_cmd(
    data: Option<std::path::PathBuf>,
    q: DependencyQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = dependency(&a, &q)?;
    let mut footer = v.method.clone();
    if let Some(h) = &v.headline {
        footer.push('\n');
        footer.push_str(h);
    }
    emit(&v, &v.rows, format, "", &footer, "dependency")
}

/// `lodestone risk benchmarks`.
pub fn benchmarks_cmd(
    data: Option<std::path::PathBuf>,
    q: BenchmarkQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = benchmarks(&a, &q)?;
    emit(&v, &v.rows, format, "", &v.method, "benchmarks")
}

/// `lodestone risk critical`.
pub fn critical_cmd(
    data: Option<std::path::PathBuf>,
    q: CriticalQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = critical(&a, &q)?;
    emit(&v, &v.rows, format, "", &v.method, "critical")
}
