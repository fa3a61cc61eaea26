//! Published figures the flows must agree with, for one calendar year.
//!
//! Two tables hold them: `production.csv`'s country totals (USGS mine production, the IEA's
//! magnet rare earths by stage), and `references.csv`'s company figures, each for the period
//! its source reports (a calendar quarter, a fiscal quarter, a fiscal year). The flows are by
//! calendar year, so a figure for another period is converted explicitly
//! ([`calendar_year`]): quarters that tile the year are summed; a longer period (a July–June
//! fiscal year) is spread over the days it shares with the year, with added uncertainty. The
//! method is kept with the figure.

use std::collections::BTreeMap;

use lodestone_format::{Dataset, Value};
use lodestone_model::date::day_number;
use lodestone_model::{Content, Date, Stage, Vocabulary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whose output a figure counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The facilities located in a country (ISO3); for mining, also the ore and concentrate its
    /// country node ships where the dataset has no mine there.
    Country(String),
    /// The facilities a company operates or ultimately owns.
    Company(String),
}

impl Subject {
    /// The subject's id (ISO3 or company id).
    pub fn id(&self) -> &str {
        match self {
            Subject::Country(c) | Subject::Company(c) => c,
        }
    }

    /// Whether the subject is the world (`WLD`): with a destination, a figure for that
    /// country's imports from everywhere else; without one, a world total (left out).
    pub fn is_world(&self) -> bool {
        matches!(self, Subject::Country(c) if c == WORLD)
    }
}

/// The world's code: as a destination, everywhere outside the subject; as a subject (with a
/// destination), everywhere outside the destination.
pub const WORLD: &str = "WLD";

/// A figure as published, for its own period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodFigure {
    /// The row's id (`references.csv`) or a description (`production.csv`).
    pub id: String,
    /// The period as the source names it (`Q3 FY25`).
    pub period: String,
    /// First day, as a day number ([`Date::first_day_number`]).
    pub start: i64,
    /// Last day, as a day number.
    pub end: i64,
    /// The figure, t REO.
    pub value: f64,
    /// Its uncertainty, one standard deviation, t REO.
    pub sigma: f64,
    /// Where it is published (a source id).
    pub source: String,
}

/// A figure for one calendar year, and how it was made from the published ones.
#[derive(Debug, Clone, PartialEq)]
pub struct YearFigure {
    /// t REO.
    pub value: f64,
    /// One standard deviation, t REO.
    pub sigma: f64,
    /// How: `as published for 2024`, `sum of Q1 2024 + … + Q4 2024`, `… + 182/365 of FY25 (pro
    /// rata by days)`.
    pub method: String,
    /// The sources of the figures it was made from, in order, each once.
    pub sources: Vec<String>,
}

/// Adds `source` to `sources` unless it is there.
fn cite(sources: &mut Vec<String>, source: &str) {
    if !sources.iter().any(|s| s == source) {
        sources.push(source.to_string());
    }
}

/// Added uncertainty of the part of a year spread pro rata from a longer period (output is not
/// even over a fiscal year: Lynas's quarters of FY25 ranged from 1,911 to 3,212 t REO), as a
/// fraction of that part.
pub const PRO_RATA_SIGMA: f64 = 0.15;

/// The figure for calendar `year` made from `figures` (one subject, stage and content): the
/// figure published for the year itself; else the figures inside the year that tile it, summed
/// (the longest first where two start on the same day);
/// gaps filled pro rata by days from a longer period that covers them. The deviations add up
/// linearly (the parts share their definitions, so their errors are not independent). An error
/// says which day of the year nothing covers.
pub fn calendar_year(figures: &[PeriodFigure], year: i64) -> Result<YearFigure, String> {
    let y = u16::try_from(year).map_err(|_| format!("{year} is not a year"))?;
    let (first, last) = (day_number(y, 1, 1), day_number(y, 12, 31));
    let exact: Vec<&PeriodFigure> = figures
        .iter()
        .filter(|f| f.start == first && f.end == last)
        .collect();
    match exact.as_slice() {
        [f] => {
            return Ok(YearFigure {
                value: f.value,
                sigma: f.sigma,
                method: if f.period == year.to_string() {
                    format!("as published for {year}")
                } else {
                    format!("as published for {year} ({})", f.period)
                },
                sources: vec![f.source.clone()],
            });
        }
        [a, b, ..] => {
            return Err(format!("two figures for {year}: '{}' and '{}'", a.id, b.id));
        }
        [] => {}
    }
    // Figures inside the year, earliest first, longest first at the same start: a quarter is
    // taken over the month it begins with, so a month beside the four quarters does not leave
    // the rest of the quarter uncovered (and fewer parts carry less rounding).
    let mut inside: Vec<&PeriodFigure> = figures
        .iter()
        .filter(|f| f.start >= first && f.end <= last && f.end >= f.start)
        .collect();
    inside.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let longer: Vec<&PeriodFigure> = figures
        .iter()
        .filter(|f| f.start < first || f.end > last)
        .collect();
    let (mut value, mut sigma) = (0.0, 0.0);
    let mut parts = Vec::new();
    let mut sources = Vec::new();
    let mut day = first;
    while day <= last {
        if let Some(f) = inside.iter().find(|f| f.start == day) {
            value += f.value;
            sigma += f.sigma;
            parts.push(f.period.clone());
            cite(&mut sources, &f.source);
            day = f.end + 1;
            continue;
        }
        // The next inside figure bounds the gap.
        let gap_end = inside
            .iter()
            .map(|f| f.start)
            .filter(|&s| s > day)
            .min()
            .map_or(last, |s| s - 1);
        let Some(f) = longer
            .iter()
            .filter(|f| f.start <= day && f.end >= day)
            .max_by_key(|f| f.end)
        else {
            let date = Date::from_unix_seconds((day.max(0) as u64) * 86_400);
            return Err(format!(
                "no figure covers {date}: the periods given do not make up {year}"
            ));
        };
        let to = gap_end.min(f.end);
        let days = to - day + 1;
        let length = f.end - f.start + 1;
        let share = days as f64 / length as f64;
        let part = f.value * share;
        value += part;
        sigma += f.sigma * share + PRO_RATA_SIGMA * part;
        parts.push(format!("{days}/{length} days of {} (pro rata)", f.period));
        cite(&mut sources, &f.source);
        day = to + 1;
    }
    Ok(YearFigure {
        value,
        sigma,
        method: if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("sum of {}", parts.join(" + "))
        },
        sources,
    })
}

/// One published figure for one calendar year, ready to be compared with the flows.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Whose output.
    pub subject: Subject,
    /// The stage whose output is counted.
    pub stage: Stage,
    /// What of it.
    pub content: Content,
    /// Exports only: `WLD` for every destination outside the subject country, or one country.
    pub destination: Option<String>,
    /// A customs figure's tariff headings (`2805.30`, `2846`): it counts the flows of the
    /// materials under them, whatever their stage. Empty: the stage's materials.
    pub hs_codes: Vec<String>,
    /// t REO.
    pub value: f64,
    /// One standard deviation, t REO.
    pub sigma: f64,
    /// The period conversion (`as published for 2024`, `sum of Q3 FY24 + …`).
    pub period: String,
    /// Source ids.
    pub sources: Vec<String>,
    /// The table the figure comes from.
    pub table: &'static str,
}

/// The uncertainty of a `production.csv` figure, as a fraction of it: an observed total ±5 %
/// (USGS rounds to two significant figures and estimates several countries itself); an
/// element basket ±10 % (the IEA's magnet rare earths by country are modelled from total
/// output and element shares by deposit, a second estimate on top of the first).
fn production_sigma(kind: &str, confidence: Option<&str>, content: Content) -> f64 {
    match (kind, confidence) {
        ("observed", _) if content != Content::Reo => 0.10,
        ("observed", _) => 0.05,
        (_, Some("high")) => 0.10,
        (_, Some("medium")) => 0.20,
        _ => 0.40,
    }
}

/// What a `production.csv` material counts.
fn production_content(material: &str) -> Option<Content> {
    match material {
        "re_concentrate" => Some(Content::Reo),
        "magnet_rare_earths" => Some(Content::MagnetRareEarths),
        _ => None,
    }
}

/// Aggregates that are not one country's facilities: the world total (the sum of the
/// countries) and the IEA's rest of the world.
const AGGREGATES: [&str; 3] = [WORLD, "ROW", "XXX"];

/// The published figures for one calendar year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearFigures {
    /// The figures the flows are compared with.
    pub figures: Vec<Figure>,
    /// Figures that cannot be made for the year, `(figure, why)`: periods that do not make up
    /// the year, aggregates that are not sets of facilities.
    pub left_out: Vec<(String, String)>,
}

/// Every published figure for calendar `year`.
pub fn figures(ds: &Dataset, year: i64) -> Result<YearFigures, String> {
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    if let Some(pt) = ds.table("production") {
        for r in &pt.rows {
            let kind = pt.text(r, "kind").unwrap_or("observed");
            let (Some(country), Some(q), Some(stage), Some(content)) = (
                pt.text(r, "country"),
                pt.get(r, "quantity").as_f64(),
                pt.text(r, "stage").and_then(Stage::of_production),
                pt.text(r, "material").and_then(production_content),
            ) else {
                continue;
            };
            let this_year = matches!(pt.get(r, "year"), Value::Integer(y) if *y == year);
            if !this_year || pt.text(r, "scenario").is_some() || kind == "projection" || q <= 0.0 {
                continue;
            }
            if AGGREGATES.contains(&country) {
                if country == "ROW" {
                    left_out.push((
                        format!("{} {}, rest of the world", stage, content),
                        "ROW (USGS's other countries, the IEA's rest of the world) is not a set of facilities in the dataset"
                            .to_string(),
                    ));
                }
                continue;
            }
            out.push(Figure {
                subject: Subject::Country(country.to_string()),
                stage,
                content,
                destination: None,
                hs_codes: Vec::new(),
                value: q,
                sigma: q * production_sigma(kind, pt.text(r, "confidence"), content),
                period: format!("as published for {year}"),
                sources: pt
                    .text(r, "source")
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
                table: "production",
            });
        }
    }
    let Some(rt) = ds.table("references") else {
        return Ok(YearFigures {
            figures: out,
            left_out,
        });
    };
    type Key = (Subject, Stage, Content, Option<String>, Vec<String>);
    let materials = crate::risk_inputs::materials(ds);
    let mut groups: BTreeMap<Key, Vec<PeriodFigure>> = BTreeMap::new();
    for r in &rt.rows {
        let at = |what: &str| format!("references.csv line {}: {what}", r.line);
        let id = rt.text(r, "id").unwrap_or("");
        let stage = rt
            .text(r, "stage")
            .and_then(|s| Stage::parse(s).ok())
            .ok_or_else(|| at("no stage"))?;
        let content = match rt.text(r, "content") {
            None => Content::Reo,
            Some(c) => Content::parse(c).map_err(|e| at(&e.to_string()))?,
        };
        let subject = match (rt.text(r, "company"), rt.text(r, "country")) {
            (Some(c), _) => Subject::Company(c.to_string()),
            (None, Some(c)) => Subject::Country(c.to_string()),
            (None, None) => return Err(at("names neither a company nor a country")),
        };
        let (Value::Date(start), Value::Date(end)) =
            (rt.get(r, "period_start"), rt.get(r, "period_end"))
        else {
            return Err(at("period_start and period_end must be dates"));
        };
        let (start, end) = (start.first_day_number(), end.last_day_number());
        if end < start {
            return Err(at("the period ends before it starts"));
        }
        let published = rt.get(r, "value").as_f64().ok_or_else(|| at("no value"))?;
        // Tonnes of a product (customs) are converted to t REO with its REO content.
        let value = match rt.text(r, "unit").unwrap_or("t_reo") {
            "t_reo" => published,
            _ => {
                let material = rt
                    .text(r, "material")
                    .ok_or_else(|| at("unit `t` needs the `material` whose tonnes are counted"))?;
                let content = materials
                    .get(material)
                    .and_then(|m| m.1)
                    .ok_or_else(|| at(&format!("material '{material}' records no REO content")))?;
                published * content / 100.0
            }
        };
        let destination = rt.text(r, "destination").map(str::to_string);
        let hs_codes: Vec<String> = rt
            .get(r, "hs_codes")
            .items()
            .into_iter()
            .map(str::to_string)
            .collect();
        let uncertainty = rt.get(r, "uncertainty").as_f64().unwrap_or(0.0);
        let g = groups
            .entry((subject, stage, content, destination, hs_codes))
            .or_default();
        g.push(PeriodFigure {
            id: id.to_string(),
            period: rt.text(r, "period").unwrap_or(id).to_string(),
            start,
            end,
            value,
            sigma: value * uncertainty / 100.0,
            source: rt.text(r, "source").unwrap_or("").to_string(),
        });
    }
    let y = u16::try_from(year).map_err(|_| format!("{year} is not a year"))?;
    let (first, last) = (day_number(y, 1, 1), day_number(y, 12, 31));
    for ((subject, stage, content, destination, hs_codes), periods) in groups {
        if !periods.iter().any(|f| f.start <= last && f.end >= first) {
            continue; // nothing published for this year
        }
        let name = match (&destination, hs_codes.is_empty()) {
            (Some(to), _) if subject.is_world() => format!("{stage} {content} imports, {to}"),
            (Some(to), true) => format!("{stage} {content} exports to {to}, {}", subject.id()),
            (Some(to), false) => format!(
                "{content} exports under HS {} to {to}, {}",
                hs_codes.join(", "),
                subject.id()
            ),
            (None, _) => format!("{stage} {content}, {}", subject.id()),
        };
        if destination.is_none() && subject.is_world() {
            left_out.push((
                name,
                "`WLD` without a destination is a world total, which is not a set of facilities (with a destination it is that country's imports)".to_string(),
            ));
            continue;
        }
        match calendar_year(&periods, year) {
            // A figure without an uncertainty cannot be weighed against the others.
            Ok(f) if f.sigma <= 0.0 => left_out.push((
                name,
                "it has no uncertainty (0 t, or 0 %): it cannot be weighed against the other figures".to_string(),
            )),
            Ok(f) => out.push(Figure {
                subject,
                stage,
                content,
                destination,
                hs_codes,
                value: f.value,
                sigma: f.sigma,
                period: f.method,
                sources: f.sources,
                table: "references",
            }),
            Err(why) => left_out.push((name, why)),
        }
    }
    Ok(YearFigures {
        figures: out,
        left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(period: &str, start: &str, end: &str, value: f64, sigma: f64) -> PeriodFigure {
        PeriodFigure {
            id: period.to_string(),
            period: period.to_string(),
            start: Date::parse(start).unwrap().first_day_number(),
            end: Date::parse(end).unwrap().last_day_number(),
            value,
            sigma,
            source: "s".to_string(),
        }
    }

    #[test]
    fn a_calendar_year_is_taken_as_published() {
        let f = calendar_year(&[figure("2024", "2024", "2024", 45_455.0, 900.0)], 2024).unwrap();
        assert_eq!((f.value, f.sigma), (45_455.0, 900.0));
        assert_eq!(f.method, "as published for 2024");
        assert_eq!(f.sources, ["s"]);
    }

    #[test]
    fn fiscal_quarters_that_tile_the_year_are_summed() {
        // Lynas's quarters of calendar 2024 are Q3 and Q4 of FY24 and Q1 and Q2 of FY25.
        let q = [
            figure("Q2 FY24", "2023-10-01", "2023-12-31", 1_566.0, 78.0),
            figure("Q3 FY24", "2024-01-01", "2024-03-31", 3_545.0, 177.0),
            figure("Q4 FY24", "2024-04-01", "2024-06-30", 2_188.0, 109.0),
            figure("Q1 FY25", "2024-07-01", "2024-09-30", 2_722.0, 136.0),
            figure("Q2 FY25", "2024-10-01", "2024-12-31", 2_617.0, 131.0),
        ];
        let f = calendar_year(&q, 2024).unwrap();
        assert_eq!(f.value, 11_072.0);
        assert_eq!(f.sigma, 177.0 + 109.0 + 136.0 + 131.0);
        assert_eq!(f.method, "sum of Q3 FY24 + Q4 FY24 + Q1 FY25 + Q2 FY25");
    }

    #[test]
    fn fiscal_years_are_spread_by_days() {
        // FY24 (Jul 2023–Jun 2024, 366 days) and FY25 (Jul 2024–Jun 2025, 365 days): calendar
        // 2024 takes 182 days of FY24 (1 Jan–30 Jun, leap year) and 184 of FY25.
        let fy = [
            figure("FY24", "2023-07-01", "2024-06-30", 10_908.0, 0.0),
            figure("FY25", "2024-07-01", "2025-06-30", 10_462.0, 0.0),
        ];
        let f = calendar_year(&fy, 2024).unwrap();
        let expected = 10_908.0 * 182.0 / 366.0 + 10_462.0 * 184.0 / 365.0;
        assert!(
            (f.value - expected).abs() < 1e-9,
            "{} vs {expected}",
            f.value
        );
        assert!((f.sigma - PRO_RATA_SIGMA * expected).abs() < 1e-9);
        assert_eq!(
            f.method,
            "sum of 182/366 days of FY24 (pro rata) + 184/365 days of FY25 (pro rata)"
        );
    }

    #[test]
    fn quarters_are_preferred_and_a_fiscal_year_fills_the_gap() {
        let mixed = [
            figure("FY24", "2023-07-01", "2024-06-30", 10_908.0, 0.0),
            figure("Q1 FY25", "2024-07-01", "2024-09-30", 2_722.0, 10.0),
            figure("Q2 FY25", "2024-10-01", "2024-12-31", 2_617.0, 10.0),
        ];
        let f = calendar_year(&mixed, 2024).unwrap();
        let fy_part = 10_908.0 * 182.0 / 366.0;
        assert!((f.value - (fy_part + 2_722.0 + 2_617.0)).abs() < 1e-9);
        assert!((f.sigma - (20.0 + PRO_RATA_SIGMA * fy_part)).abs() < 1e-9);
    }

    #[test]
    fn a_month_beside_the_quarters_does_not_hide_them() {
        let q = [
            figure("Jan 2024", "2024-01", "2024-01", 900.0, 9.0),
            figure("Q1 2024", "2024-01-01", "2024-03-31", 2_700.0, 27.0),
            figure("Q2 2024", "2024-04-01", "2024-06-30", 2_800.0, 28.0),
            figure("Q3 2024", "2024-07-01", "2024-09-30", 2_900.0, 29.0),
            figure("Q4 2024", "2024-10-01", "2024-12-31", 3_000.0, 30.0),
        ];
        let f = calendar_year(&q, 2024).unwrap();
        assert_eq!(f.value, 11_400.0);
        assert_eq!(f.method, "sum of Q1 2024 + Q2 2024 + Q3 2024 + Q4 2024");
    }

    #[test]
    fn a_year_the_periods_do_not_make_up_is_an_error_naming_the_day() {
        let half = [figure("Q1 FY24", "2023-07-01", "2023-09-30", 3_609.0, 0.0)];
        let e = calendar_year(&half, 2023).unwrap_err();
        assert!(e.contains("2023-01-01"), "{e}");
        let twice = [
            figure("a", "2024", "2024", 1.0, 0.0),
            figure("b", "2024-01-01", "2024-12-31", 2.0, 0.0),
        ];
        assert!(
            calendar_year(&twice, 2024)
                .unwrap_err()
                .contains("two figures")
        );
    }
}
