//! The simulator held against history: a scenario's simulated export series compared month by
//! month with the observed ones in the dataset (`observations.csv`).
//!
//! A backtest scenario declares `[[tracked_exports]]` (e.g. China's magnets), its `start` month
//! and `calibration_months`: the first months, on which its parameters were chosen; the rest are
//! out of sample. For each destination with observations (and the total, `WLD`): the simulated
//! mean over the runs, in t of the tracked material (t REO divided by the material's REO
//! content), beside the observed tonnage; the mean absolute percentage error in and out of
//! sample; and the months of the trough and of recovery (the first month after the trough back
//! at 90 % of the 2024 base, the dataset's flow), simulated and observed.

use std::collections::BTreeMap;

use lodestone_format::{Dataset, Value};
use lodestone_model::Date;
use lodestone_sim::{SimNetwork, run};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::table::{Cell, Column, Tabular};
use crate::sim_inputs::ScenarioFile;

/// Share of the base level a series must regain to count as recovered.
pub const RECOVERED: f64 = 0.9;

/// One month of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BacktestMonth {
    /// The calendar month (`YYYY-MM`).
    pub month: String,
    /// Simulated mean over the runs, t of the tracked material.
    pub simulated: f64,
    /// Observed, t, where the dataset has it.
    pub observed: Option<f64>,
    /// The observation's source.
    pub source: Option<String>,
    /// Whether the month was used to calibrate the scenario.
    pub in_sample: bool,
}

/// One destination's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BacktestSeries {
    /// Destination (ISO3, or `WLD` for all).
    pub destination: String,
    /// The 2024 monthly base (the dataset's flows), t.
    pub base: f64,
    /// Months from the scenario's start.
    pub months: Vec<BacktestMonth>,
}

/// The error table's row for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BacktestRow {
    /// Destination (ISO3, or `WLD`).
    pub destination: String,
    /// Months with an observation, in sample and out of sample.
    pub observed_in_sample: usize,
    /// Months with an observation out of sample.
    pub observed_out_of_sample: usize,
    /// Mean absolute percentage error over the calibration months (a fraction).
    pub mape_in_sample: Option<f64>,
    /// Mean absolute percentage error over the later months (a fraction).
    pub mape_out_of_sample: Option<f64>,
    /// Month of the simulated trough.
    pub trough_simulated: Option<String>,
    /// Month of the observed trough (among observed months; only when calibration months were
    /// observed).
    pub trough_observed: Option<String>,
    /// First month after the simulated trough back at 90 % of the base.
    pub recovery_simulated: Option<String>,
    /// First observed month after the observed trough back at 90 % of the base.
    pub recovery_observed: Option<String>,
}

impl Tabular for BacktestRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("destination", "Destination"),
            Column::new("observed_in_sample", "Observed months (calibration)"),
            Column::new("observed_out_of_sample", "Observed months (out of sample)"),
            Column::new("mape_in_sample", "MAPE, calibration (%)"),
            Column::new("mape_out_of_sample", "MAPE, out of sample (%)"),
            Column::new("trough_simulated", "Trough, simulated"),
            Column::new("trough_observed", "Trough, observed"),
            Column::new("recovery_simulated", "Recovery, simulated"),
            Column::new("recovery_observed", "Recovery, observed"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.destination.clone()),
            Cell::Integer(self.observed_in_sample as i64),
            Cell::Integer(self.observed_out_of_sample as i64),
            self.mape_in_sample.map_or(Cell::Empty, Cell::Share),
            self.mape_out_of_sample.map_or(Cell::Empty, Cell::Share),
            Cell::text(self.trough_simulated.clone()),
            Cell::text(self.trough_observed.clone()),
            Cell::text(self.recovery_simulated.clone()),
            Cell::text(self.recovery_observed.clone()),
        ]
    }
}

/// A backtest's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BacktestView {
    /// Scenario name.
    pub scenario: String,
    /// Runs averaged.
    pub runs: u64,
    /// The observed series compared (`china_magnet_exports`).
    pub series_name: String,
    /// Calibration months (from the start).
    pub calibration_months: usize,
    /// The error table.
    pub rows: Vec<BacktestRow>,
    /// The series, month by month.
    pub series: Vec<BacktestSeries>,
}

/// Why a backtest cannot run.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestError(pub String);

/// The month `k` months after `start`.
fn month_after(start: Date, k: usize) -> Date {
    let m0 = start.year as usize * 12 + start.month.unwrap_or(1) as usize - 1 + k;
    Date {
        year: (m0 / 12) as u16,
        month: Some((m0 % 12) as u8 + 1),
        day: None,
    }
}

/// Runs `runs` runs of a backtest scenario and compares its export series with the dataset's
/// observations.
pub fn backtest(
    ds: &Dataset,
    net: &SimNetwork,
    sf: &ScenarioFile,
    runs: u64,
) -> Result<BacktestView, BacktestError> {
    let te = sf.scenario.tracked_exports.first().ok_or_else(|| {
        BacktestError(
            "the scenario tracks no exports: add [[tracked_exports]] (issuer, materials)".into(),
        )
    })?;
    let start = sf
        .start
        .as_deref()
        .and_then(Date::parse)
        .ok_or_else(|| BacktestError("a backtest needs `start = \"YYYY-MM\"`".into()))?;
    let material = te.materials.first().cloned().unwrap_or_default();
    let reo = ds
        .table("materials")
        .and_then(|t| {
            t.find(&material)
                .and_then(|r| t.get(r, "reo_content").as_f64())
        })
        .map(|p| p / 100.0)
        .filter(|p| *p > 0.0)
        .ok_or_else(|| BacktestError(format!("material '{material}' has no reo_content")))?;
    let series_name = format!(
        "{}_magnet_exports",
        lodestone_model::iso3_name(&te.issuer)
            .unwrap_or(&te.issuer)
            .to_lowercase()
    );
    // Observations: (destination, month) → (t, source).
    let mut observed: BTreeMap<(String, String), (f64, String)> = BTreeMap::new();
    if let Some(t) = ds.table("observations") {
        for r in &t.rows {
            let (Some(s), Some(dest), Value::Date(p), Some(v)) = (
                t.text(r, "series"),
                t.text(r, "destination"),
                t.get(r, "period"),
                t.get(r, "value").as_f64(),
            ) else {
                continue;
            };
            if s == series_name {
                observed.insert(
                    (dest.to_string(), p.to_string()),
                    (v, t.text(r, "source").unwrap_or("").to_string()),
                );
            }
        }
    }
    if observed.is_empty() {
        return Err(BacktestError(format!(
            "the dataset has no observations of series '{series_name}' (observations.csv)"
        )));
    }
    // Mean simulated exports per series and month.
    let months = sf.scenario.months;
    let mut sums: BTreeMap<String, (f64, Vec<f64>)> = BTreeMap::new();
    for i in 0..runs {
        let r = run(net, &sf.scenario, i);
        for (name, recs) in r.countries.iter().zip(&r.records) {
            let Some(dest) = name
                .strip_prefix(&format!("EXPORTS:{}>", te.issuer))
                .map(str::to_string)
            else {
                continue;
            };
            let e = sums
                .entry(dest)
                .or_insert_with(|| (recs.first().map_or(0.0, |x| x.demand), vec![0.0; months]));
            for (m, rec) in recs.iter().enumerate() {
                e.1[m] += rec.consumed;
            }
        }
    }
    let n = runs.max(1) as f64;
    let mut series = Vec::new();
    let mut rows = Vec::new();
    for (dest, (base, totals)) in sums {
        let base = base / reo;
        let list: Vec<BacktestMonth> = totals
            .iter()
            .enumerate()
            .map(|(k, total)| {
                let month = month_after(start, k).to_string();
                let obs = observed.get(&(dest.clone(), month.clone()));
                BacktestMonth {
                    month,
                    simulated: total / n / reo,
                    observed: obs.map(|o| o.0),
                    source: obs.map(|o| o.1.clone()),
                    in_sample: k < sf.calibration_months,
                }
            })
            .collect();
        if list.iter().all(|m| m.observed.is_none()) {
            continue;
        }
        rows.push(error_row(&dest, base, &list));
        series.push(BacktestSeries {
            destination: dest,
            base,
            months: list,
        });
    }
    // The total first, then destinations by name.
    rows.sort_by_key(|r| (r.destination != "WLD", r.destination.clone()));
    series.sort_by_key(|s| (s.destination != "WLD", s.destination.clone()));
    Ok(BacktestView {
        scenario: sf.scenario.name.clone(),
        runs,
        series_name,
        calibration_months: sf.calibration_months,
        rows,
        series,
    })
}

fn mape(pairs: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let errors: Vec<f64> = pairs
        .filter(|(_, o)| *o > 0.0)
        .map(|(s, o)| (s - o).abs() / o)
        .collect();
    (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / errors.len() as f64)
}

/// Trough and recovery of a series of (month, value): the lowest month, and the first later
/// month back at `RECOVERED` of the base.
fn trough_and_recovery(points: &[(String, f64)], base: f64) -> (Option<String>, Option<String>) {
    let Some(low) = points
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map(|(i, _)| i)
    else {
        return (None, None);
    };
    let recovery = points[low + 1..]
        .iter()
        .find(|(_, v)| *v >= RECOVERED * base)
        .map(|(m, _)| m.clone());
    (Some(points[low].0.clone()), recovery)
}

fn error_row(dest: &str, base: f64, months: &[BacktestMonth]) -> BacktestRow {
    let with_obs = || months.iter().filter_map(|m| m.observed.map(|o| (m, o)));
    let sim: Vec<(String, f64)> = months
        .iter()
        .map(|m| (m.month.clone(), m.simulated))
        .collect();
    let obs: Vec<(String, f64)> = with_obs().map(|(m, o)| (m.month.clone(), o)).collect();
    let (trough_simulated, recovery_simulated) = trough_and_recovery(&sim, base);
    // An observed trough means something only when the disruption's months were observed.
    let observed_early = with_obs().any(|(m, _)| m.in_sample);
    let (trough_observed, recovery_observed) = if observed_early {
        trough_and_recovery(&obs, base)
    } else {
        (None, None)
    };
    BacktestRow {
        destination: dest.to_string(),
        observed_in_sample: with_obs().filter(|(m, _)| m.in_sample).count(),
        observed_out_of_sample: with_obs().filter(|(m, _)| !m.in_sample).count(),
        mape_in_sample: mape(
            with_obs()
                .filter(|(m, _)| m.in_sample)
                .map(|(m, o)| (m.simulated, o)),
        ),
        mape_out_of_sample: mape(
            with_obs()
                .filter(|(m, _)| !m.in_sample)
                .map(|(m, o)| (m.simulated, o)),
        ),
        trough_simulated,
        trough_observed,
        recovery_simulated,
        recovery_observed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_the_year() {
        let d = Date::parse("2025-11").unwrap();
        assert_eq!(month_after(d, 0).to_string(), "2025-11");
        assert_eq!(month_after(d, 2).to_string(), "2026-01");
    }

    #[test]
    fn mape_trough_and_recovery_by_hand() {
        // Observed 100, 50, 80, 95 against a base of 100; simulated 90, 60, 100, 100.
        let m = |month: &str, s: f64, o: f64, in_sample| BacktestMonth {
            month: month.into(),
            simulated: s,
            observed: Some(o),
            source: None,
            in_sample,
        };
        let months = [
            m("2025-04", 90.0, 100.0, true),
            m("2025-05", 60.0, 50.0, true),
            m("2025-06", 100.0, 80.0, false),
            m("2025-07", 100.0, 95.0, false),
        ];
        let row = error_row("WLD", 100.0, &months);
        // In sample: (10 % + 20 %) / 2; out of sample: (25 % + 5.26 %) / 2.
        assert!((row.mape_in_sample.unwrap() - 0.15).abs() < 1e-12);
        let out = (20.0 / 80.0 + 5.0 / 95.0) / 2.0;
        assert!((row.mape_out_of_sample.unwrap() - out).abs() < 1e-12);
        assert_eq!(row.trough_simulated.as_deref(), Some("2025-05"));
        assert_eq!(row.trough_observed.as_deref(), Some("2025-05"));
        assert_eq!(row.recovery_simulated.as_deref(), Some("2025-06"));
        assert_eq!(row.recovery_observed.as_deref(), Some("2025-07"));
    }
}
