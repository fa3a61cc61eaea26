//! The country brief: one self-contained HTML file (inline CSS and SVG, no scripts, no external
//! resources) that a policy analyst can hand on. Every figure links to its sources in the list at
//! the end. Pure: takes a loaded dataset and returns the HTML text.

pub mod svg;

use std::collections::{BTreeMap, BTreeSet};

use lodestone_model::{Basis, Date, Scope, Stage, TagFamily, View, Vocabulary};
use lodestone_rules::{evaluate_all, outcome_text, timeline};
use lodestone_trace::{CustodyModel, trace};
use lodestone_world::World;
use lodestone_world::lower::lower_dataset;
use lodestone_world::products::{customs_origins, product_facts};
use lodestone_world::risk_inputs::{
    StageFilter, concentration_rows, critical_rows, dependency_rows,
};

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Collects the sources cited in the brief, in order of first citation.
#[derive(Default)]
struct Citations {
    order: Vec<String>,
}

impl Citations {
    /// Links to the sources (registering them), e.g. `[3] [7]`.
    fn cite<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> String {
        let mut links = Vec::new();
        let mut seen = BTreeSet::new();
        for id in ids {
            if id.is_empty() || !seen.insert(id.to_string()) {
                continue;
            }
            let n = match self.order.iter().position(|x| x == id) {
                Some(i) => i + 1,
                None => {
                    self.order.push(id.to_string());
                    self.order.len()
                }
            };
            links.push(format!(
                "<a class=\"cite\" href=\"#src-{}\">[{n}]</a>",
                esc(id)
            ));
        }
        links.join("")
    }
}

fn name_of(ds: &World, table: &str, id: &str) -> String {
    ds.table(table)
        .and_then(|t| {
            t.find(id)
                .and_then(|r| t.text(r, "name").map(str::to_string))
        })
        .unwrap_or_else(|| id.to_string())
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn fmt_t(v: f64) -> String {
    let r = v.round() as i64;
    let s = r.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if r < 0 { format!("−{out}") } else { out }
}

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

/// Renders the brief of a country or a group. Errors if the country or group is unknown (with the
/// closest names), or if the dataset cannot be lowered or traced.
pub fn country_brief(ds: &World, o: &ReportOptions) -> Result<String, String> {
    let who = lodestone_world::views::resolve::resolve_country_set(ds, &o.country)
        .map_err(|e| e.to_string())?;
    let c = who.id.as_str();
    let members: Vec<String> = who.members.clone();
    let here = |code: Option<&str>| code.is_some_and(|x| members.iter().any(|m| m == x));
    let cname = who.name.clone();
    let low = lower_dataset(ds, o.year)?;
    let tr = trace(&low.network, CustodyModel::MassBalance).map_err(|e| e.to_string())?;
    let mut cites = Citations::default();
    let mut body = String::new();
    let mut toc = Vec::new();
    let mut section = |body: &mut String, id: &str, title: &str| {
        toc.push((id.to_string(), title.to_string()));
        body.push_str(&format!("<section id=\"{id}\"><h2>{}</h2>\n", esc(title)));
    };

    // 1. Place in the chain.
    section(
        &mut body,
        "place",
        &format!("{cname} in the rare-earth chain"),
    );
    if let Some(pt) = ds.table("production") {
        let mut rows = String::new();
        for r in pt.rows.iter().filter(|r| here(pt.text(r, "country"))) {
            let q = pt.get(r, "quantity").as_f64().unwrap_or(0.0);
            let year = pt.get(r, "year").to_csv_text();
            let kind = pt.get(r, "kind").to_csv_text();
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{year}</td><td class=\"num\">{} t REO</td><td>{}</td><td>{}</td></tr>\n",
                esc(&name_of(ds, "materials", pt.text(r, "material").unwrap_or(""))),
                esc(pt.text(r, "stage").unwrap_or("")),
                fmt_t(q),
                esc(&kind),
                cites.cite(pt.text(r, "source"))
            ));
        }
        if !rows.is_empty() {
            body.push_str("<h3>Production and reserves as published</h3><table><thead><tr><th>What</th><th>Stage</th><th>Year</th><th>Quantity</th><th>Kind</th><th>Source</th></tr></thead><tbody>\n");
            body.push_str(&rows);
            body.push_str("</tbody></table>\n");
        }
    }
    if let Some(ft) = ds.table("facilities") {
        let mut rows = String::new();
        for r in ft.rows.iter().filter(|r| here(ft.text(r, "country"))) {
            let cap = match (
                ft.get(r, "capacity").as_f64(),
                ft.text(r, "capacity_material"),
            ) {
                (Some(v), Some(m)) => format!(
                    "{} t/yr {} ({})",
                    fmt_t(v),
                    esc(&name_of(ds, "materials", m)),
                    esc(&ft.get(r, "capacity_basis").to_csv_text())
                ),
                _ => "not disclosed".into(),
            };
            let residue = ft
                .text(r, "residue_handling")
                .map(|h| format!("<br><small>{}</small>", esc(h)))
                .unwrap_or_default();
            rows.push_str(&format!(
                "<tr><td>{}{residue}</td><td>{}</td><td>{}</td><td>{cap}</td><td>{}</td><td>{}</td></tr>\n",
                esc(ft.text(r, "name").unwrap_or("")),
                esc(&name_of(ds, "companies", ft.text(r, "operator").unwrap_or(""))),
                esc(&ft.get(r, "stages").to_csv_text().replace(';', ", ")),
                esc(ft.text(r, "status").unwrap_or("")),
                cites.cite([ft.text(r, "source").unwrap_or(""), ft.text(r, "residue_source").unwrap_or("")])
            ));
        }
        body.push_str(&format!("<h3>Facilities in {}</h3>", esc(&cname)));
        if rows.is_empty() {
            body.push_str("<p>None recorded.</p>\n");
        } else {
            body.push_str("<table><thead><tr><th>Facility</th><th>Operator</th><th>Stages</th><th>Capacity</th><th>Status</th><th>Source</th></tr></thead><tbody>\n");
            body.push_str(&rows);
            body.push_str("</tbody></table>\n");
        }
    }
    body.push_str("</section>\n");

    // 2. Concentration.
    section(&mut body, "concentration", "Concentration of supply");
    let conc = concentration_rows(ds, &low, o.year);
    let charts: [(Basis, Stage, &str, Scope, View, &str); 3] = [
        (
            Basis::Production,
            Stage::Mining,
            "re_concentrate",
            Scope::World,
            View::Location,
            "Mine production by country, {year} (USGS), share of the world total",
        ),
        (
            Basis::Flow,
            Stage::Separation,
            "all",
            Scope::World,
            View::Location,
            "Rare earths separated, by country, {year}, share of t REO",
        ),
        (
            Basis::Flow,
            Stage::Separation,
            "all",
            Scope::OutsideChina,
            View::Facility,
            "Separation outside China, by facility, {year}, share of t REO",
        ),
    ];
    for (basis, stage, material, scope, view, title) in charts {
        let rows: Vec<_> = conc
            .iter()
            .filter(|r| {
                r.basis == basis
                    && r.stage == stage
                    && r.material == material
                    && r.scope == scope
                    && r.view == view
                    && r.year == o.year
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let label = |k: &str| match k.strip_suffix(" (market)") {
            Some(code) => format!("{} (market)", name_of(ds, "countries", code)),
            None if view == View::Facility => name_of(ds, "facilities", k),
            None => name_of(ds, "countries", k),
        };
        let located_here = |k: &str| {
            here(Some(k))
                || here(
                    ds.table("facilities")
                        .and_then(|t| t.find(k).and_then(|r| t.text(r, "country"))),
                )
        };
        let bars: Vec<(String, f64, bool)> = rows
            .iter()
            .take(8)
            .map(|r| (label(&r.supplier), r.share, located_here(&r.supplier)))
            .collect();
        let srcs: Vec<&str> = rows
            .iter()
            .flat_map(|r| r.sources.iter().map(String::as_str))
            .collect();
        let hhi = rows[0].hhi;
        let title = title.replace("{year}", &o.year.to_string());
        body.push_str(&format!(
            "<figure>{}<figcaption>{} HHI {:.0} (0–10,000). Sources: {}</figcaption></figure>\n",
            svg::bar_chart(&title, &bars, "share of total (%)"),
            esc(&title),
            hhi,
            cites.cite(srcs)
        ));
    }
    body.push_str("</section>\n");

    // 3. Dependency.
    section(
        &mut body,
        "dependency",
        &format!("What {cname} receives, and where it really comes from"),
    );
    let deps = dependency_rows(ds, &low, &tr, &members, None, StageFilter::Any);
    let receipts_total = deps.first().map_or(0.0, |d| d.1);
    if receipts_total > 0.0 {
        let mut srcs: Vec<String> = Vec::new();
        for f in &low.network.flows {
            let (a, b) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
            if a.material.is_some()
                && b.material.is_none()
                && a.hub != b.hub
                && here(b.country.as_deref())
            {
                srcs.extend(a.sources.iter().cloned());
            }
        }
        srcs.sort();
        srcs.dedup();
        body.push_str(&format!(
            "<p>{}'s facilities and market received {} t REO of rare-earth materials in {} (estimates included; see sources). <em>Direct</em> is the share shipped from each country; <em>traced</em> is the share of their rare earths mined, or separated, there.</p>\n",
            esc(&cname),
            fmt_t(receipts_total),
            o.year
        ));
        let src_links = cites.cite(srcs.iter().map(String::as_str));
        for (family, what) in [
            (TagFamily::Mined, "mining"),
            (TagFamily::Separated, "separation"),
        ] {
            let pairs: Vec<(String, f64, f64)> = deps
                .iter()
                .filter(|(f, _, r)| *f == family && (r.direct > 0.0 || r.traced > 0.0))
                .take(8)
                .map(|(_, _, r)| (name_of(ds, "countries", &r.origin), r.direct, r.traced))
                .collect();
            if pairs.iter().all(|p| p.2 == 0.0) {
                body.push_str(&format!(
                    "<p>None of these receipts had been through {what} yet.</p>\n"
                ));
                continue;
            }
            let title = format!(
                "{cname}: receipts by shipping country (direct) and by country of {what} (traced), {}",
                o.year
            );
            body.push_str(&format!(
                "<figure>{}<figcaption>{}. Sources: {src_links}</figcaption></figure>\n",
                svg::paired_bars(&title, &pairs, "share of receipts (%)", "direct", "traced"),
                esc(&title)
            ));
        }
    } else {
        body.push_str(&format!(
            "<p>No receipts of rare-earth materials by {} are recorded for {}.</p>\n",
            esc(&cname),
            o.year
        ));
    }
    body.push_str("</section>\n");

    // 4. Critical facilities.
    section(
        &mut body,
        "critical",
        &format!("Single points of failure for {cname}"),
    );
    let crit = critical_rows(ds, &low, &tr, &members);
    if crit.is_empty() {
        body.push_str("<p>No recorded supply to trace.</p>\n");
    } else {
        body.push_str("<table><thead><tr><th>Facility</th><th>Country</th><th>Share of receipts passing through it</th><th>Lost if it stops for a year, t REO</th><th>… with re-routing through spare capacity</th><th>Source</th></tr></thead><tbody>\n");
        let ft = ds.table("facilities");
        for r in crit.iter().take(10) {
            let src = ft
                .and_then(|ft| {
                    ft.find(&r.facility)
                        .and_then(|row| ft.text(row, "source").map(str::to_string))
                })
                .unwrap_or_default();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{:.1} %</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                esc(&name_of(ds, "facilities", &r.facility)),
                esc(&name_of(ds, "countries", &r.facility_country)),
                r.share * 100.0,
                fmt_t(r.loss_without_rerouting),
                fmt_t(r.loss_with_rerouting),
                cites.cite([src.as_str()])
            ));
        }
        body.push_str("</tbody></table><p class=\"note\">Re-routing is a max-flow over the recorded routes with each facility's stated spare capacity; it is an upper bound on what could be replaced within a year.</p>\n");
    }
    body.push_str("</section>\n");

    // 5. Rules.
    section(
        &mut body,
        "rules",
        &format!("Trade rules that bite on {cname}'s products"),
    );
    body.push_str(&format!("<h3>The rules in the dataset on {}</h3><table><thead><tr><th>Rule</th><th>Issuer</th><th>Kind</th><th>State</th><th>Since</th><th>Sources</th></tr></thead><tbody>\n", o.as_of));
    for r in &ds.rules {
        let ev = r.lifecycle.event_on(o.as_of);
        let since = r.lifecycle.since(o.as_of);
        let mut srcs: Vec<&str> = r.sources.iter().map(String::as_str).collect();
        if let Some(e) = ev {
            srcs.push(&e.source);
        }
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&r.title),
            esc(&if r.issuer == "EU" {
                "European Union".to_string()
            } else {
                name_of(ds, "countries", &r.issuer)
            }),
            esc(&r.kind.name().replace('_', " ")),
            esc(&r.lifecycle.state_on(o.as_of).name().replace('_', " ")),
            since.map_or(String::new(), |d| d.to_string()),
            cites.cite(srcs)
        ));
    }
    body.push_str("</tbody></table>\n");
    let origins = customs_origins(ds, &low);
    let mut rule_rows = String::new();
    let destinations = ["USA", "JPN", "CHN", "DEU", "KOR"];
    let bites = |o: &str| {
        o.starts_with("licence")
            || o.starts_with("prohibited")
            || o.starts_with("tariff")
            || o.starts_with("indeterminate")
    };
    for node in 0..low.network.len() {
        let info = &low.nodes[node];
        if info.material.is_none() || !here(info.country.as_deref()) {
            continue;
        }
        let product = product_facts(ds, &low, &tr, &origins, node, "mass_balance");
        for dest in destinations.iter().filter(|d| !here(Some(d))) {
            let tl = timeline(&ds.rules, &product, dest, None);
            for d in evaluate_all(&ds.rules, &product, dest, None, o.as_of) {
                let changes: Vec<String> = tl
                    .iter()
                    .flat_map(|e| {
                        e.changes
                            .iter()
                            .filter(|ch| ch.rule == d.rule)
                            .map(move |ch| (e.date, outcome_text(&ch.to)))
                    })
                    .map(|(date, to)| format!("{date}: {}", to.replace('_', " ")))
                    .collect();
                let ever = tl.iter().any(|e| {
                    e.changes
                        .iter()
                        .any(|ch| ch.rule == d.rule && bites(ch.to.name()))
                });
                if !ever && !bites(d.outcome.name()) {
                    continue;
                }
                rule_rows.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><strong>{}</strong><br><small>{}</small></td><td><small>{}</small></td><td>{}</td></tr>\n",
                    esc(&name_of(ds, "materials", info.material.as_deref().unwrap_or(""))),
                    esc(&name_of(ds, "countries", dest)),
                    esc(&ds.rules.iter().find(|r| r.id == d.rule).map_or(d.rule.clone(), |r| r.title.clone())),
                    esc(&d.outcome.name().replace('_', " ")),
                    esc(&d.explanation),
                    esc(&changes.join("; ")),
                    cites.cite(d.sources.iter().map(String::as_str))
                ));
            }
        }
    }
    if rule_rows.is_empty() {
        body.push_str(&format!(
            "<p>No bundled rule requires a licence for, prohibits or taxes the products {} is recorded as shipping (to the United States, Japan, China, Germany or Korea), on {} or on any date of the rules' histories.</p>\n",
            esc(&cname),
            o.as_of
        ));
        for r in ds
            .rules
            .iter()
            .filter(|r| here(Some(&r.issuer)) && r.kind.name() == "export_ban")
        {
            body.push_str(&format!(
                "<p>{}'s own {} ({}) covers {}; no such material is recorded leaving {} in {}.</p>\n",
                esc(&cname),
                esc(&r.title),
                esc(&r.lifecycle.state_on(o.as_of).name().replace('_', " ")),
                esc(&r.scope.materials.iter().map(|m| name_of(ds, "materials", m)).collect::<Vec<_>>().join(", ")),
                esc(&cname),
                o.year
            ));
        }
    } else {
        body.push_str(&format!("<h3>Determinations that bite</h3><p>As of {} for products shipped from {} to its main partners, with every date on which the answer changed (mass-balance custody).</p>", o.as_of, esc(&cname)));
        body.push_str("<table><thead><tr><th>Product</th><th>To</th><th>Rule</th><th>Determination</th><th>When it changed</th><th>Sources</th></tr></thead><tbody>\n");
        body.push_str(&rule_rows);
        body.push_str("</tbody></table>\n");
    }
    body.push_str("</section>\n");

    // 6. Agreements.
    section(
        &mut body,
        "agreements",
        &format!("Agreements involving {cname}"),
    );
    let companies_here: BTreeSet<String> = ds
        .table("companies")
        .map(|t| {
            t.rows
                .iter()
                .filter(|r| here(t.text(r, "country")))
                .filter_map(|r| t.text(r, "id").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // Owners (ultimately) of the operators of facilities in the country count as involved too:
    // Lynas Rare Earths is a party in Malaysia through Lynas Malaysia's plant in Kuantan.
    let owners_here: BTreeSet<String> = ds
        .table("facilities")
        .map(|t| {
            t.rows
                .iter()
                .filter(|r| here(t.text(r, "country")))
                .filter_map(|r| t.text(r, "operator"))
                .map(|op| lodestone_world::risk_inputs::ultimate_owner(ds, op))
                .collect()
        })
        .unwrap_or_default();
    let mut agreements = String::new();
    for f in ds
        .toml_files
        .iter()
        .filter(|f| f.path.starts_with("agreements/"))
    {
        let doc = &f.document;
        let parties: Vec<String> = doc
            .get("parties")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mentions = |k: &str| {
            doc.get(k)
                .and_then(|s| s.as_str())
                .is_some_and(|s| s.contains(&cname))
        };
        let involved = parties.iter().any(|p| {
            here(Some(p)) || p == c || companies_here.contains(p) || owners_here.contains(p)
        }) || mentions("title")
            || mentions("summary");
        if !involved {
            continue;
        }
        let get = |k: &str| {
            doc.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let mut srcs: Vec<String> = doc
            .get("sources")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        srcs.extend(
            doc.get("source")
                .and_then(|s| s.as_str())
                .map(str::to_string),
        );
        let party_names: Vec<String> = parties
            .iter()
            .map(|p| {
                if p.len() == 3 && p.chars().all(|ch| ch.is_ascii_uppercase()) {
                    name_of(ds, "countries", p)
                } else {
                    name_of(ds, "companies", p)
                }
            })
            .collect();
        let clauses: Vec<String> = doc
            .get("clauses")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|cl| {
                        Some(format!(
                            "{}: {}",
                            cl.get("kind")?.as_str()?.replace('_', " "),
                            cl.get("text")?.as_str()?
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        agreements.push_str(&format!(
            "<article><h3>{}</h3><p><strong>{}</strong>, {} — {}. Parties: {}.</p><p>{}</p>{}<p>Sources: {}</p></article>\n",
            esc(&get("title")),
            esc(&get("kind").replace('_', " ")),
            esc(&get("signed")),
            esc(&get("status")),
            esc(&party_names.join(", ")),
            esc(&get("summary")),
            if clauses.is_empty() { String::new() } else { format!("<ul>{}</ul>", clauses.iter().map(|x| format!("<li>{}</li>", esc(x))).collect::<String>()) },
            cites.cite(srcs.iter().map(String::as_str))
        ));
    }
    body.push_str(if agreements.is_empty() {
        "<p>None recorded.</p>\n"
    } else {
        &agreements
    });
    body.push_str("</section>\n");

    // 7. Sources.
    let st = ds.table("sources");
    let mut list = String::from("<section id=\"sources\"><h2>Sources</h2><ol>\n");
    for id in &cites.order {
        let row = st.and_then(|t| t.find(id).map(|r| (t, r)));
        let text = match row {
            Some((t, r)) => {
                let f = |k: &str| t.get(r, k).to_csv_text();
                let url = f("url");
                let title = if url.is_empty() {
                    esc(&f("title"))
                } else {
                    format!("<a href=\"{}\">{}</a>", esc(&url), esc(&f("title")))
                };
                let conflict = if f("conflict").is_empty() {
                    String::new()
                } else {
                    format!(" <em>Conflict: {}</em>", esc(&f("conflict")))
                };
                format!(
                    "{}: {title} ({}). {}.{conflict}",
                    esc(&f("publisher")),
                    esc(&f("date")),
                    esc(&f("reliability"))
                )
            }
            None => esc(id),
        };
        list.push_str(&format!(
            "<li id=\"src-{}\">{text} <code>{}</code></li>\n",
            esc(id),
            esc(id)
        ));
    }
    list.push_str("</ol></section>\n");

    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &ds.rules {
        *groups.entry(r.kind.name()).or_default() += 1;
    }
    let nav: String = toc
        .iter()
        .map(|(id, t)| format!("<li><a href=\"#{id}\">{}</a></li>", esc(t)))
        .collect();
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title><style>{css}</style></head><body>\n<header><h1>{title}</h1><p class=\"sub\">Lodestone country brief · flows of {year} · rules as of {as_of} · quantities in tonnes of rare-earth oxide equivalent (t REO) unless stated. Figures marked as estimates in the dataset are estimates; every figure links to its sources.</p>{back}<nav><ol>{nav}<li><a href=\"#sources\">Sources</a></li></ol></nav></header>\n<main>\n{body}{list}</main>\n<footer><p>Generated by Lodestone from the bundled dataset. The engines and methods are documented in the project (docs/tracing.md, docs/rules-engine.md).</p></footer>\n</body></html>\n",
        title = esc(&format!("{cname} in the rare-earth supply chain")),
        css = CSS,
        csp = BRIEF_CSP,
        back = if o.dashboard_links {
            format!(
                "<p class=\"sub\">In the dashboard: <a href=\"/\">overview</a> · <a href=\"/explore/risk?country={id}\">risk for {name}</a> · <a href=\"/explore/rules\">rule screening</a> · <a href=\"/search?q={id}\">search</a></p>",
                id = esc(&urlencode(c)),
                name = esc(&cname)
            )
        } else {
            String::new()
        },
        year = o.year,
        as_of = o.as_of,
    ))
}

/// The brief's content security policy: it is one self-contained document with an inline style
/// sheet and inline SVG, and no script at all. The server sends it as a header too.
/// (`frame-ancestors` only works as a header, so the server adds it there.)
pub const BRIEF_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const CSS: &str = "body{font-family:Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.45}h1{font-size:1.9rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1d4e89;padding-bottom:.2rem;margin-top:2.5rem;color:#1d4e89}h3{margin-top:1.5rem}.sub{color:#555}table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.8rem 0}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f3f5f8}td.num{text-align:right;white-space:nowrap}figure{margin:1.2rem 0}figcaption{font-size:.85rem;color:#444}a.cite{font-size:.75rem;text-decoration:none;margin-left:.1rem}small{color:#555}.note{font-size:.85rem;color:#555}article{border-left:3px solid #1d4e89;padding-left:.8rem;margin:1rem 0}nav ol{columns:2;font-size:.9rem}code{font-size:.75rem;color:#777}";
