//! The brief of a country or group as one self-contained HTML file (inline CSS and SVG, no
//! scripts, no external resources, its own CSP) that a policy analyst can hand on. It renders the
//! typed `BriefView` of `lodestone-world` through an askama template (escaped by default); every
//! figure links to its sources in the numbered list at the end. Pure: returns the HTML text.

pub mod svg;

use askama::Template;
use lodestone_model::{Date, Vocabulary};
use lodestone_world::views::brief::{BriefQuery, BriefView, brief};
use lodestone_world::views::table::{format_quantity, format_share};
use lodestone_world::views::{Analysis, SourceRef};

/// HTML-escapes text (for the SVG charts, which are built as strings).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The brief's content security policy: it is one self-contained document with an inline style
/// sheet and inline SVG, and no script at all. The server sends it as a header too.
/// (`frame-ancestors` only works as a header, so the server adds it there.)
pub const BRIEF_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// The brief's style sheet, inlined (the brief is one file).
const CSS: &str = include_str!("../templates/brief.css");

/// Options of the brief.
pub struct ReportOptions {
    /// The country (ISO3 code or name) or group (e.g. `eu`) the brief is about.
    pub country: String,
    /// Year of the flows.
    pub year: i64,
    /// Date of the rule states.
    pub as_of: Date,
    /// Link back to the dashboard this brief was served by (relative links), or not (a file).
    pub dashboard_links: bool,
}

/// Numbers the sources in order of first citation.
#[derive(Default)]
struct Citations {
    order: Vec<String>,
}

/// (number, source id) of each citation of an item.
type Cites = Vec<(usize, String)>;

impl Citations {
    fn cite<'a>(&mut self, ids: impl IntoIterator<Item = &'a String>) -> Cites {
        let mut out: Cites = Vec::new();
        for id in ids {
            if id.is_empty() || out.iter().any(|(_, x)| x == id) {
                continue;
            }
            let n = match self.order.iter().position(|x| x == id) {
                Some(i) => i + 1,
                None => {
                    self.order.push(id.clone());
                    self.order.len()
                }
            };
            out.push((n, id.clone()));
        }
        out
    }
}

/// A cited source, for the list at the end.
struct SourceLine {
    id: String,
    publisher: String,
    title: String,
    url: String,
    date: String,
    reliability: String,
    conflict: String,
}

#[derive(Template)]
#[template(path = "brief.html")]
struct BriefPage<'a> {
    v: &'a BriefView,
    title: String,
    csp: &'static str,
    css: &'static str,
    dashboard_links: bool,
    members: String,
    /// (material, stage, year, quantity, kind, cites).
    production: Vec<(String, String, i64, String, String, Cites)>,
    /// (name, residue handling, operator, stages, capacity, status, cites).
    facilities: Vec<(String, String, String, String, String, String, Cites)>,
    /// (chart SVG, title, HHI, sources, conflicts with published figures).
    charts: Vec<(String, String, String, Cites, Vec<String>)>,
    receipts: String,
    receipt_sources: Cites,
    /// (svg or empty, stage in words, caption).
    dependency: Vec<(String, String, String)>,
    /// (facility, country, share, loss, loss with re-routing, cites).
    critical: Vec<(String, String, String, String, String, Cites)>,
    /// (title, issuer, kind, state, since, cites).
    rules: Vec<(String, String, String, String, String, Cites)>,
    /// (line, changes, cites).
    biting: Vec<(&'a lodestone_world::views::brief::BitingLine, String, Cites)>,
    /// (line, parties, cites).
    agreements: Vec<(
        &'a lodestone_world::views::brief::AgreementLine,
        String,
        Cites,
    )>,
    sources: Vec<SourceLine>,
}

/// Renders a brief view as one self-contained HTML file.
pub fn render_brief(a: &Analysis, v: &BriefView, dashboard_links: bool) -> String {
    let world = &a.world;
    let mut cites = Citations::default();
    let country_name = |iso: &str| lodestone_world::views::risk::name_of(world, "countries", iso);
    let production = v
        .production
        .iter()
        .map(|p| {
            (
                p.material.clone(),
                p.stage.clone(),
                p.year,
                format_quantity(p.quantity_t_reo),
                p.kind.clone(),
                cites.cite(&p.sources),
            )
        })
        .collect();
    let facilities = v
        .facilities
        .iter()
        .map(|f| {
            let capacity = match (f.capacity, &f.capacity_material) {
                (Some(c), Some(m)) => format!(
                    "{} t/yr {m}{}",
                    format_quantity(c),
                    f.capacity_basis
                        .as_deref()
                        .map_or(String::new(), |b| format!(" ({b})"))
                ),
                _ => "not disclosed".into(),
            };
            (
                f.name.clone(),
                f.residue_handling.clone().unwrap_or_default(),
                f.operator.clone(),
                f.stages.join(", "),
                capacity,
                f.status.clone(),
                cites.cite(&f.sources),
            )
        })
        .collect();
    let charts = v
        .concentration
        .iter()
        .map(|c| {
            let bars: Vec<(String, f64, bool)> = c
                .bars
                .iter()
                .map(|b| (b.label.clone(), b.share, b.highlighted))
                .collect();
            (
                svg::bar_chart(&c.title, &bars, "share of total (%)"),
                c.title.clone(),
                format_quantity(c.hhi),
                cites.cite(&c.sources),
                c.conflicts.clone(),
            )
        })
        .collect();
    let receipt_sources = cites.cite(&v.dependency.sources);
    let dependency = v
        .dependency
        .stages
        .iter()
        .map(|d| {
            let what = match d.traced_stage.stage() {
                Some(s) => s.name().to_string(),
                None => d.traced_stage.name().to_string(),
            };
            let caption = format!(
                "{}: receipts by shipping country (direct) and by country of {what} (traced), {}",
                v.country.name, v.year
            );
            let svg = if d.origins.iter().all(|o| o.2 == 0.0) {
                String::new()
            } else {
                svg::paired_bars(
                    &caption,
                    &d.origins,
                    "share of receipts (%)",
                    "direct",
                    "traced",
                )
            };
            (svg, what, caption)
        })
        .collect();
    let critical = v
        .critical
        .iter()
        .map(|c| {
            (
                c.facility_name.clone(),
                country_name(&c.country),
                format_share(c.share),
                format_quantity(c.loss_without_rerouting),
                format_quantity(c.loss_with_rerouting),
                cites.cite(&c.sources),
            )
        })
        .collect();
    let rules = v
        .rules
        .iter()
        .map(|r| {
            let issuer = if r.issuer == "EU" {
                "European Union".to_string()
            } else {
                country_name(&r.issuer)
            };
            (
                r.title.clone(),
                issuer,
                r.kind.replace('_', " "),
                r.state.name().replace('_', " "),
                r.since.map(|d| d.to_string()).unwrap_or_default(),
                cites.cite(r.sources.iter().chain(&r.state_source)),
            )
        })
        .collect();
    let biting = v
        .biting
        .iter()
        .map(|b| (b, b.changes.join("; "), cites.cite(&b.sources)))
        .collect();
    let agreements = v
        .agreements
        .iter()
        .map(|g| (g, g.parties.join(", "), cites.cite(&g.sources)))
        .collect();
    let sources = cites
        .order
        .iter()
        .map(|id| {
            let s = SourceRef::of(world, id);
            let field = |c: &str| {
                world
                    .table("sources")
                    .and_then(|t| t.find(id).map(|r| t.get(r, c).to_csv_text()))
                    .unwrap_or_default()
            };
            SourceLine {
                id: id.clone(),
                publisher: s.publisher.unwrap_or_default(),
                title: s.title.unwrap_or_else(|| id.clone()),
                url: s.url.unwrap_or_default(),
                date: s.date.unwrap_or_default(),
                reliability: field("reliability"),
                conflict: field("conflict"),
            }
        })
        .collect();
    let page = BriefPage {
        v,
        title: format!("{} in the rare-earth supply chain", v.country.name),
        csp: BRIEF_CSP,
        css: CSS,
        dashboard_links,
        members: v
            .country
            .members
            .iter()
            .map(|m| country_name(m))
            .collect::<Vec<_>>()
            .join(", "),
        production,
        facilities,
        charts,
        receipts: format_quantity(v.dependency.receipts_t_reo),
        receipt_sources,
        dependency,
        critical,
        rules,
        biting,
        agreements,
        sources,
    };
    page.render().unwrap_or_else(|e| {
        format!(
            "<!DOCTYPE html><p>the brief could not be rendered: {}</p>",
            esc(&e.to_string())
        )
    })
}

/// The brief of a country or a group as HTML. Errors if the country or group is unknown (with the
/// closest names), or if the year cannot be lowered or traced.
pub fn country_brief(a: &Analysis, o: &ReportOptions) -> Result<String, String> {
    let v = brief(
        a,
        &BriefQuery {
            country: o.country.clone(),
            year: o.year,
            as_of: Some(o.as_of),
        },
        o.as_of,
    )
    .map_err(|e| e.to_string())?;
    Ok(render_brief(a, &v, o.dashboard_links))
}
