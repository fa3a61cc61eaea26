//! The views: one function and one `Serialize` struct per question Lodestone answers.
//!
//! The CLI (tables, JSON, CSV, XLSX), the API (JSON) and the pages (HTML) all render these
//! structs, so the three cannot disagree. Inputs arrive as typed queries (`Deserialize`, so the
//! API parses them from the query string; the CLI builds them from its arguments): vocabulary
//! words are enums of `lodestone_model`, and ids are resolved here, with suggestions, so a typo is
//! an error that names what would be valid — never an empty table.
//!
//! Every row type implements [`Tabular`], which names its columns with their units; the renderers
//! of every format are generic over it.

pub mod backtest;
pub mod brief;
pub mod chain;
pub mod impact;
pub mod reconcile;
pub mod record;
pub mod resolve;
pub mod risk;
pub mod rules;
pub mod scenario;
pub mod search;
pub mod table;
pub mod trace;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use lodestone_model::{Custody, UnknownValue};
use schemars::JsonSchema;
use serde::Serialize;

use crate::World;
use crate::risk_inputs::{ConcentrationRow, concentration_rows};
use crate::screening::Screening;

pub use resolve::{CountrySet, resolve_country_set};
pub use table::{Cell, Column, Tabular};

/// Why a view could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewError {
    /// An input is not a valid word or id: the CLI exits 2, the API answers 400.
    Invalid(UnknownValue),
    /// An id names nothing in the dataset: exit 2, 404.
    NotFound(UnknownValue),
    /// The data cannot answer (e.g. a year without flows): exit 1, 400.
    NoData(String),
}

impl ViewError {
    /// What would be valid instead, for error payloads.
    pub fn valid(&self) -> Vec<String> {
        match self {
            ViewError::Invalid(u) | ViewError::NotFound(u) => u.valid.clone(),
            ViewError::NoData(_) => Vec::new(),
        }
    }
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViewError::Invalid(u) | ViewError::NotFound(u) => u.fmt(f),
            ViewError::NoData(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ViewError {}

/// A source cited by a view: its id and what a reader needs to find it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SourceRef {
    /// Source id (`sources.csv`).
    pub id: String,
    /// Publisher.
    pub publisher: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Publication date.
    pub date: Option<String>,
    /// Where to read it.
    pub url: Option<String>,
}

impl SourceRef {
    /// The source record `id` of `world` (only the id if it is not in the table).
    pub fn of(world: &World, id: &str) -> SourceRef {
        let row = world
            .table("sources")
            .and_then(|t| t.find(id).map(|r| (t, r)));
        let text = |c: &str| {
            row.and_then(|(t, r)| {
                let v = t.get(r, c);
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| (!v.to_csv_text().is_empty()).then(|| v.to_csv_text()))
            })
        };
        SourceRef {
            id: id.to_string(),
            publisher: text("publisher"),
            title: text("title"),
            date: text("date"),
            url: text("url"),
        }
    }
}

/// The default year of the flows: the latest complete year of the bundled dataset.
pub const DEFAULT_YEAR: i64 = 2024;

/// The default year, for serde defaults.
pub fn default_year() -> i64 {
    DEFAULT_YEAR
}

/// Values computed on first use and kept: a world does not change once loaded.
type Memo<K, V> = Mutex<HashMap<K, Arc<V>>>;

fn memoized<K: std::hash::Hash + Eq, V>(
    memo: &Memo<K, V>,
    key: K,
    compute: impl FnOnce() -> Result<V, ViewError>,
) -> Result<Arc<V>, ViewError> {
    let lock = || memo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(v) = lock().get(&key) {
        return Ok(v.clone());
    }
    // Computed outside the lock; two first requests may both compute, with equal results.
    let v = Arc::new(compute()?);
    lock().insert(key, v.clone());
    Ok(v)
}

/// A world with the analyses the views share, each computed once per year and custody model
/// and kept (the CLI makes one per command; the server keeps one while it runs).
pub struct Analysis {
    /// The world analysed.
    pub world: World,
    /// The years that have flows, ascending (found once).
    years: Vec<i64>,
    screenings: Memo<(i64, Custody), Screening>,
    concentration: Memo<i64, Vec<ConcentrationRow>>,
    reconciliations: Memo<i64, reconcile::ReconcileView>,
    /// Timelines by (year, custody, product node, destination, end use): the rules' histories
    /// do not change, so a product's timeline is computed once. Bounded: end uses are free text.
    timelines: Memo<TimelineKey, Vec<rules::TimelineEntryView>>,
}

/// (year, custody, product node, destination, end use).
type TimelineKey = (i64, Custody, usize, String, Option<String>);

/// Most timelines kept; the memo starts afresh past it.
const MAX_TIMELINES: usize = 4096;

impl Analysis {
    /// An analysis of `world`, nothing computed yet.
    pub fn new(world: World) -> Analysis {
        Analysis {
            years: flow_years(&world),
            world,
            screenings: Mutex::default(),
            concentration: Mutex::default(),
            reconciliations: Mutex::default(),
            timelines: Mutex::default(),
        }
    }

    /// The timeline of product node `node` of `year` under `custody` to `destination`, computed
    /// once and kept.
    pub fn timeline(
        &self,
        year: i64,
        custody: Custody,
        node: usize,
        destination: &str,
        end_use: Option<&str>,
    ) -> Result<Arc<Vec<rules::TimelineEntryView>>, ViewError> {
        let key = (
            year,
            custody,
            node,
            destination.to_string(),
            end_use.map(str::to_string),
        );
        {
            let mut memo = self
                .timelines
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if memo.len() >= MAX_TIMELINES {
                memo.clear();
            }
        }
        memoized(&self.timelines, key, || {
            let p = self.screening(year, custody)?;
            let product = p.product(&self.world, node);
            Ok(rules::timeline_entries(
                &self.world,
                &lodestone_rules::timeline(&self.world.rules, &product, destination, end_use),
            ))
        })
    }

    /// The lowering, trace and customs origins of `year` under `custody`.
    pub fn screening(&self, year: i64, custody: Custody) -> Result<Arc<Screening>, ViewError> {
        memoized(&self.screenings, (year, custody), || {
            Screening::prepare(&self.world, year, custody).map_err(ViewError::NoData)
        })
    }

    /// Concentration rows of `year` on every basis, scope and view.
    pub fn concentration_rows(&self, year: i64) -> Result<Arc<Vec<ConcentrationRow>>, ViewError> {
        memoized(&self.concentration, year, || {
            let p = self.screening(year, Custody::MassBalance)?;
            Ok(concentration_rows(&self.world, &p.low, year))
        })
    }

    /// The flows of `year` reconciled with the published figures, computed once: what the
    /// flow-basis views check their figures against.
    pub fn reconciliation(&self, year: i64) -> Result<Arc<reconcile::ReconcileView>, ViewError> {
        memoized(&self.reconciliations, year, || {
            reconcile::reconcile(&self.world, year).map_err(ViewError::NoData)
        })
    }

    /// The years that have flows, ascending.
    pub fn flow_years(&self) -> Vec<i64> {
        self.years.clone()
    }

    /// Checks that `year` has flows: an error naming the years that do, otherwise.
    pub fn check_year(&self, year: i64) -> Result<(), ViewError> {
        let years = self.flow_years();
        if years.contains(&year) {
            Ok(())
        } else {
            Err(ViewError::Invalid(UnknownValue::new(
                "year with flows",
                &year.to_string(),
                years.iter().map(i64::to_string).collect(),
            )))
        }
    }
}

/// The years that have flows in `world`, ascending.
fn flow_years(world: &World) -> Vec<i64> {
    let mut years: Vec<i64> = world
        .table("flows")
        .map(|t| {
            t.rows
                .iter()
                .filter_map(|r| match t.get(r, "year") {
                    lodestone_format::Value::Integer(y) => Some(*y),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    years.sort_unstable();
    years.dedup();
    years
}
