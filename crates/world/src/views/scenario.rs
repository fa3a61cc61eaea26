//! A scenario batch's results: per series (a country, or a country's end use) the peak and total
//! shortfall, its 95th percentile, months to recovery and the probability of exceeding the
//! stated level, and the monthly percentile bands of every series that is ever short.

use lodestone_sim::Stats;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::risk::name_of;
use super::table::{Cell, Column, Tabular};
use crate::World;

/// The results of a scenario batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioResults {
    /// The scenario's name.
    pub scenario: String,
    /// Runs merged.
    pub runs: u64,
    /// Months simulated.
    pub months: usize,
    /// The calendar month of month 0 (`YYYY-MM`), if the scenario gives one.
    pub month_0: Option<String>,
    /// The shortfall share whose probability of being exceeded is reported.
    pub shortfall_level: f64,
    /// Units of the figures.
    pub unit: String,
    /// How far to trust them.
    pub estimate: String,
    /// One row per series.
    pub countries: Vec<ScenarioHeadline>,
    /// Monthly bands of every series that is ever short.
    pub series: Vec<BandSeries>,
    /// For a backtest scenario (one that tracks exports), the simulated export series against
    /// the observed ones; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest: Option<super::backtest::BacktestView>,
}

/// One series' headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioHeadline {
    /// Country (ISO3), or `COUNTRY:end_use`.
    pub country: String,
    /// Its name for people.
    pub name: String,
    /// Largest monthly mean shortfall share.
    pub peak_shortfall_share_mean: f64,
    /// Month of that peak (0 = start).
    pub peak_month: usize,
    /// 95th percentile of the shortfall share in the peak month.
    pub peak_shortfall_share_p95: f64,
    /// Mean over runs of the total shortfall, t REO.
    pub total_shortfall_t_reo_mean: f64,
    /// Median months to recovery (`months + 1`: not recovered within the horizon).
    pub recovery_months_p50: f64,
    /// Whether the median run recovers within the horizon.
    pub recovers: bool,
    /// Probability that the shortfall share exceeds the stated level in some month.
    pub probability_shortfall_above_level: f64,
}

impl Tabular for ScenarioHeadline {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("country", "Country"),
            Column::new("peak_shortfall_share_mean", "Peak shortfall, mean (%)"),
            Column::new("peak_month", "Month"),
            Column::new("peak_shortfall_share_p95", "Peak p95 (%)"),
            Column::new(
                "total_shortfall_t_reo_mean",
                "Total shortfall, mean (t REO)",
            ),
            Column::new("recovery_months_p50", "Recovery, p50 (months)"),
            Column::new(
                "probability_shortfall_above_level",
                "P(shortfall above the level) (%)",
            ),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::named(&self.country, &self.name),
            Cell::Share(self.peak_shortfall_share_mean),
            Cell::Integer(self.peak_month as i64),
            Cell::Share(self.peak_shortfall_share_p95),
            Cell::Quantity(self.total_shortfall_t_reo_mean),
            if self.recovers {
                Cell::Integer(self.recovery_months_p50 as i64)
            } else {
                Cell::named(
                    self.recovery_months_p50.to_string(),
                    "not within the horizon",
                )
            },
            Cell::Share(self.probability_shortfall_above_level),
        ]
    }
}

/// The monthly shortfall share of one series, as percentile bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BandSeries {
    /// Country or `COUNTRY:end_use`.
    pub country: String,
    /// Months.
    pub month: Vec<usize>,
    /// 5th percentile by month.
    pub p5: Vec<f64>,
    /// Median by month.
    pub p50: Vec<f64>,
    /// 95th percentile by month.
    pub p95: Vec<f64>,
    /// Mean by month.
    pub mean: Vec<f64>,
}

/// The name of a series: the country's, with the end use after a colon.
fn series_name(world: &World, series: &str) -> String {
    match series.split_once(':') {
        Some((c, use_)) => format!("{} ({use_})", name_of(world, "countries", c)),
        None => name_of(world, "countries", series),
    }
}

/// The results view of a finished batch.
pub fn scenario_results(
    world: &World,
    scenario: &str,
    month_0: Option<String>,
    stats: &Stats,
) -> ScenarioResults {
    let summary = stats.summary();
    let mut series = Vec::new();
    for (c, ..) in &summary.countries {
        let rows: Vec<_> = summary.rows.iter().filter(|r| r.country == *c).collect();
        if rows.iter().all(|r| r.shortfall_mean <= 0.0) {
            continue;
        }
        series.push(BandSeries {
            country: c.clone(),
            month: rows.iter().map(|r| r.month).collect(),
            p5: rows.iter().map(|r| r.pressure_p5).collect(),
            p50: rows.iter().map(|r| r.pressure_p50).collect(),
            p95: rows.iter().map(|r| r.pressure_p95).collect(),
            mean: rows.iter().map(|r| r.pressure_mean).collect(),
        });
    }
    ScenarioResults {
        scenario: scenario.to_string(),
        runs: stats.runs(),
        months: stats.months,
        month_0,
        shortfall_level: stats.level,
        unit: "t REO; shares are of demand".into(),
        estimate: "Monte Carlo over the scenario's distributions on a network of mostly estimated flows (see docs/simulation.md)".into(),
        countries: stats
            .headline()
            .into_iter()
            .map(|h| ScenarioHeadline {
                name: series_name(world, &h.country),
                recovers: h.recovery_months_p50 as usize <= stats.months,
                country: h.country,
                peak_shortfall_share_mean: h.peak_shortfall_share_mean,
                peak_month: h.peak_month,
                peak_shortfall_share_p95: h.peak_shortfall_share_p95,
                total_shortfall_t_reo_mean: h.total_shortfall_t_reo_mean,
                recovery_months_p50: h.recovery_months_p50,
                probability_shortfall_above_level: h.probability_shortfall_above_level,
            })
            .collect(),
        series,
        backtest: None,
    }
}

/// One country's figures in one compared job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparedFigures {
    /// Mean total shortfall over the horizon, t REO.
    pub total_shortfall_t_reo_mean: f64,
    /// Mean of the peak monthly shortfall share.
    pub peak_shortfall_share_mean: f64,
    /// Probability that the shortfall exceeds the job's level in some month.
    pub probability_shortfall_above_level: f64,
}

/// One country across the compared jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonRow {
    /// Country (or country and end use) id.
    pub country: String,
    /// Its name.
    pub name: String,
    /// Figures per job, in the order of `jobs`; `None` where the job has no such series.
    pub jobs: Vec<Option<ComparedFigures>>,
}

/// Finished jobs side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonView {
    /// The jobs compared: "job ID: scenario (runs, seed)".
    pub jobs: Vec<String>,
    /// One row per country that any of them reports, by id.
    pub rows: Vec<ComparisonRow>,
}

/// Puts finished jobs' results side by side, country by country.
pub fn compare(jobs: &[(String, &ScenarioResults)]) -> ComparisonView {
    let mut countries: Vec<(String, String)> = jobs
        .iter()
        .flat_map(|(_, r)| {
            r.countries
                .iter()
                .map(|c| (c.country.clone(), c.name.clone()))
        })
        .collect();
    countries.sort();
    countries.dedup_by(|a, b| a.0 == b.0);
    ComparisonView {
        jobs: jobs.iter().map(|(label, _)| label.clone()).collect(),
        rows: countries
            .into_iter()
            .map(|(country, name)| ComparisonRow {
                jobs: jobs
                    .iter()
                    .map(|(_, r)| {
                        r.countries
                            .iter()
                            .find(|c| c.country == country)
                            .map(|c| ComparedFigures {
                                total_shortfall_t_reo_mean: c.total_shortfall_t_reo_mean,
                                peak_shortfall_share_mean: c.peak_shortfall_share_mean,
                                probability_shortfall_above_level: c
                                    .probability_shortfall_above_level,
                            })
                    })
                    .collect(),
                country,
                name,
            })
            .collect(),
    }
}
