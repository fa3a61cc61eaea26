//! The pages' templates (askama: checked against these structs at compile time, HTML-escaped by
//! default). Every page extends `templates/base.html`: one layout, one style sheet
//! (`/assets/style.css`), the search box in the header.

use askama::Template;
use lodestone_world::views::Tabular;
use lodestone_world::views::search::SearchHit;

/// Renders a template; a template that fails to render (it cannot, short of a formatting error)
/// gives a plain message rather than a panic.
pub fn render<T: Template>(t: &T) -> String {
    t.render()
        .unwrap_or_else(|e| format!("<!DOCTYPE html><p>the page could not be rendered: {e}</p>"))
}

/// A table ready for the `table` macro: labels and display texts (escaped by the template).
pub struct HtmlTable {
    /// Column labels.
    pub headers: Vec<&'static str>,
    /// Rows of cells.
    pub rows: Vec<Vec<HtmlCell>>,
}

/// One cell.
pub struct HtmlCell {
    /// The text for people.
    pub text: String,
    /// Right-aligned.
    pub number: bool,
}

impl HtmlTable {
    /// The table of a view's rows.
    pub fn of<R: Tabular>(rows: &[R]) -> HtmlTable {
        HtmlTable {
            headers: R::columns().iter().map(|c| c.label).collect(),
            rows: rows
                .iter()
                .map(|r| {
                    r.cells()
                        .iter()
                        .map(|c| HtmlCell {
                            text: c.display(),
                            number: c.is_number(),
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Title (the status's reason).
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong.
    pub message: String,
    /// What would be valid.
    pub valid: Vec<String>,
}

/// `(value, label)` options of a select.
pub type Options = Vec<(String, String)>;

/// The trace explorer.
#[derive(Template)]
#[template(path = "trace.html")]
pub struct TracePage {
    pub title: &'static str,
    pub node: String,
    pub tag: String,
    pub custody: String,
    pub custody_options: Options,
    /// The element traced (`""`: all rare earths) and the choices.
    pub element: String,
    pub element_options: Options,
    pub year: String,
    pub years: Vec<String>,
    pub nodes: Vec<String>,
    pub problem: Option<String>,
    pub view: Option<lodestone_world::views::trace::TraceView>,
    pub table: HtmlTable,
    pub paths: Vec<(String, String)>,
    pub api: String,
}

/// One determination, ready to show.
pub struct DeterminationCard {
    pub class: String,
    pub title: String,
    pub outcome: String,
    pub kind: String,
    pub state: String,
    pub since: String,
    pub custody: String,
    pub explanation: String,
    pub figures: String,
    /// The assumption the answer rests on (`""`: none).
    pub assumption: String,
    /// Prices used: "Dy oxide … US$239/kg (label)".
    pub prices: Vec<String>,
    pub paths: Vec<(String, String)>,
    pub sources: Vec<(String, String)>,
}

/// Rule screening.
#[derive(Template)]
#[template(path = "screening.html")]
pub struct ScreeningPage {
    pub title: &'static str,
    pub node: String,
    pub destination: String,
    pub countries: Options,
    pub as_of: String,
    pub end_use: String,
    pub custody: String,
    pub custody_options: Options,
    pub year: String,
    pub years: Vec<String>,
    pub nodes: Vec<String>,
    pub problem: Option<String>,
    pub view: Option<lodestone_world::views::rules::ScreeningView>,
    pub timeline: Vec<(String, String, String, String)>,
    pub determinations: Vec<DeterminationCard>,
    pub api: String,
}

/// A rule on the rules page.
pub struct RuleLine {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub issuer: String,
    pub state: String,
    pub since: String,
    pub sources: Vec<String>,
}

/// The rules on a date.
#[derive(Template)]
#[template(path = "rules_list.html")]
pub struct RulesPage {
    pub title: &'static str,
    pub as_of: String,
    pub problem: Option<String>,
    pub rules: Vec<RuleLine>,
    pub api: String,
}

/// One concentration section of the risk page.
pub struct ConcentrationSection {
    pub heading: String,
    pub note: String,
    /// Server-drawn SVG bar chart (built from escaped labels).
    pub chart: String,
    pub table: HtmlTable,
    pub api: String,
}

/// The risk page.
#[derive(Template)]
#[template(path = "risk.html")]
pub struct RiskPage {
    pub title: &'static str,
    pub country: String,
    pub country_names: Options,
    pub stage: String,
    pub stages: Options,
    pub basis: String,
    pub bases: Options,
    pub year: String,
    pub years: Vec<String>,
    pub problem: Option<String>,
    pub concentration: Vec<ConcentrationSection>,
    /// (year, largest supplier, share, HHI).
    pub series: Vec<(String, String, String, String)>,
    /// (who, headline, method, table, api).
    pub dependency: Option<(String, String, String, HtmlTable, String)>,
    /// (method, table, api).
    pub benchmarks: Option<(String, HtmlTable, String)>,
    /// Why dependency and benchmarks are not shown.
    pub flows_note: Option<String>,
    /// Critical facilities: (method, table, api).
    pub critical: Option<(String, HtmlTable, String)>,
}

/// The reconciliation page: published figures against the flows.
#[derive(Template)]
#[template(path = "reconcile.html")]
pub struct ReconcilePage {
    pub title: &'static str,
    pub year: String,
    pub years: Vec<String>,
    pub problem: Option<String>,
    /// Each conflict, said for people.
    pub conflicts: Vec<String>,
    /// Each facility that loses more than its stages plausibly can, said for people.
    pub losses: Vec<String>,
    pub table: HtmlTable,
    /// Figures left out and what a figure's side leaves out.
    pub notes: Vec<String>,
    pub method: String,
    pub chi2: String,
    pub dof: usize,
    pub api: String,
}

/// The map page.
#[derive(Template)]
#[template(path = "map.html")]
pub struct MapPage {
    pub title: &'static str,
    pub material: String,
    pub stage: String,
    pub stages: Options,
    pub year: String,
    pub years: Vec<String>,
    pub problem: Option<String>,
    pub table: Option<HtmlTable>,
    pub api: String,
}

/// The Sankey page.
#[derive(Template)]
#[template(path = "sankey.html")]
pub struct SankeyPage {
    pub title: &'static str,
    pub material: String,
    pub year: String,
    pub years: Vec<String>,
    pub problem: Option<String>,
    pub api: String,
}

/// Search results.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub title: &'static str,
    pub q: String,
    pub problem: Option<String>,
    pub hits: Vec<SearchHitLine>,
}

/// A search hit, ready to show.
pub struct SearchHitLine {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub url: String,
    pub brief: Option<String>,
}

impl From<&SearchHit> for SearchHitLine {
    fn from(h: &SearchHit) -> SearchHitLine {
        SearchHitLine {
            kind: format!("{:?}", h.kind).to_lowercase(),
            id: h.id.clone(),
            name: h.name.clone(),
            url: h.url.clone(),
            brief: h.brief.clone(),
        }
    }
}

/// The overview.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub title: &'static str,
    pub year: i64,
    /// (stage, worldwide leader, leader outside China).
    pub headlines: Vec<(String, String, String)>,
    pub groups: Vec<(String, String)>,
    pub countries: Vec<(String, String)>,
}

/// A record's page.
#[derive(Template)]
#[template(path = "record.html")]
pub struct RecordPage {
    pub title: String,
    pub v: lodestone_world::views::record::RecordView,
    /// The table's description.
    pub description: String,
    /// (id, publisher, title, date, url, conflict).
    pub sources: Vec<(String, String, String, String, String, String)>,
    /// Referrers grouped by table.
    pub groups: Vec<(String, Vec<lodestone_world::views::record::Referrer>)>,
}

/// The list of tables, or the records of one table.
#[derive(Template)]
#[template(path = "records.html")]
pub struct RecordsPage {
    pub title: String,
    /// (name, description) of the table listed, or `None` for the list of tables.
    pub table: Option<(String, String)>,
    /// (key if it has a page, label) of each record.
    pub rows: Vec<(Option<String>, String)>,
    /// (name, rows, description) of every table.
    pub tables: Vec<(String, usize, String)>,
}

/// The scenario runner.
#[derive(Template)]
#[template(path = "simulate.html")]
pub struct SimulatePage {
    pub title: &'static str,
    pub max_runs: u64,
    pub max_minutes: f64,
    pub problem: Option<String>,
    pub csrf: String,
    pub scenarios: Vec<String>,
    /// (id, scenario, runs, status), newest first.
    pub jobs: Vec<(String, String, String, String)>,
}

/// A scenario job's page.
#[derive(Template)]
#[template(path = "job.html")]
pub struct JobPage {
    pub title: &'static str,
    pub running: bool,
    pub id: String,
    pub scenario: String,
    pub description: String,
    pub progress: f64,
    pub progress_text: String,
    pub done: String,
    pub runs: String,
    pub status: String,
    pub elapsed: String,
    pub csrf: String,
    pub error: Option<String>,
    /// (what the figures are, the table of series that are ever short).
    pub results: Option<(String, HtmlTable)>,
    /// For a backtest scenario: the error table against the observed series.
    pub backtest: Option<HtmlTable>,
}

/// Finished scenario jobs side by side.
#[derive(Template)]
#[template(path = "compare.html")]
pub struct ComparePage {
    pub title: &'static str,
    /// The ids asked for, as typed.
    pub ids: String,
    pub problem: Option<String>,
    pub view: Option<lodestone_world::views::scenario::ComparisonView>,
}
