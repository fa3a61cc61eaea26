//! `lodestone rules list | check | timeline`: each builds its view's query from the arguments
//! and renders the view.

use std::process::ExitCode;

use lodestone_model::{Date, OutputFormat};
use lodestone_world::views::rules::{
    RulesQuery, ScreeningQuery, TimelineQuery, determination_text, rules_on, screening,
    timeline_view,
};

use crate::{Failure, analysis, emit, emit_json, out};

/// Today's date (UTC), the default `--as-of`.
pub fn today() -> Date {
    lodestone_server::today()
}

/// Parses `--as-of`: a full ISO 8601 date.
pub fn parse_date(s: &str) -> Result<Date, String> {
    match Date::parse(s) {
        Some(d) if d.day.is_some() => Ok(d),
        _ => Err(format!(
            "'{s}' is not a date: write YYYY-MM-DD, e.g. 2025-12-01"
        )),
    }
}

/// `lodestone rules list`.
pub fn list(
    data: Option<std::path::PathBuf>,
    q: RulesQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = rules_on(&a.world, &q, today())?;
    let footer = format!("{} rules as of {}", v.rules.len(), v.as_of);
    emit(&v, &v.rules, format, "", &footer, "rules")
}

/// `lodestone rules check`.
pub fn check(
    data: Option<std::path::PathBuf>,
    q: ScreeningQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = screening(&a, &q, today())?;
    if format != OutputFormat::Table {
        return emit(&v, &v.determinations, format, "", "", "screening");
    }
    let mut s = format!(
        "Determinations as of {}, destination {}{}:\n{}\n\n",
        v.as_of,
        v.destination.name,
        v.end_use
            .as_deref()
            .map_or(String::new(), |u| format!(", end use {u}")),
        v.verdict
    );
    for d in &v.determinations {
        s.push_str(&format!(
            "{} — {} [{}, since {}, {}]: {}\n  {}\n",
            d.node,
            d.rule_title,
            d.state,
            d.since.map_or("–".into(), |d| d.to_string()),
            d.custody,
            determination_text(d.determination, d.rate).to_uppercase(),
            d.explanation
        ));
        if let Some(a) = &d.assumption {
            s.push_str(&format!("  RESTS ON AN ASSUMPTION: {a}\n"));
        }
        for p in &d.prices {
            s.push_str(&format!(
                "    price {}: US${:.2}/kg ({}; {})\n",
                p.what, p.usd_per_kg, p.label, p.source.id
            ));
        }
        for path in &d.paths {
            s.push_str(&format!(
                "    path {:5.1} %: {}\n",
                path.share * 100.0,
                path.nodes.join(" → ")
            ));
        }
        if !d.sources.is_empty() {
            let ids: Vec<&str> = d.sources.iter().map(|x| x.id.as_str()).collect();
            s.push_str(&format!("    sources: {}\n", ids.join(", ")));
        }
        s.push('\n');
    }
    s.push_str(&format!("{} determinations\n", v.determinations.len()));
    out(s.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `lodestone rules timeline`.
pub fn timeline_cmd(
    data: Option<std::path::PathBuf>,
    q: TimelineQuery,
    format: OutputFormat,
) -> Result<ExitCode, Failure> {
    let a = analysis(data)?;
    let v = timeline_view(&a, &q)?;
    match format {
        OutputFormat::Json => emit_json(&v),
        OutputFormat::Table => {
            let mut s = String::new();
            for t in &v.timelines {
                s.push_str(&format!(
                    "Timeline of {} to {} ({} custody):\n\n",
                    v.node, v.destination.name, t.custody
                ));
                for e in &t.entries {
                    for c in &e.changes {
                        s.push_str(&format!(
                            "{}  {}: {} → {}\n            {}\n",
                            e.date,
                            c.rule_title,
                            determination_text(c.from, c.from_rate),
                            determination_text(c.to, c.to_rate),
                            c.explanation
                        ));
                    }
                }
                if t.entries.is_empty() {
                    s.push_str("no rule ever applies\n");
                }
                s.push('\n');
            }
            out(s.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        OutputFormat::Csv | OutputFormat::Xlsx => Err(Failure::new(
            2,
            "rules timeline has no table form: use --format table or json".into(),
        )),
    }
}
