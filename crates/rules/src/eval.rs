//! Evaluation of rules for a product, a destination, an end use and a date.

use std::collections::BTreeMap;

use lodestone_model::{Date, Vocabulary};

use crate::{Comparison, Event, Measure, Rule, RuleKind, State};

/// Content of one tag in a product, from the tracing engine.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TagShare {
    /// Tagged share of the product's content (per unit of output).
    pub mass: f64,
    /// Origin value of the tagged content over the product's unit value, if known.
    pub value: Option<f64>,
    /// Share of the tagged content whose origin value is known (1 = fully priced).
    pub value_coverage: Option<f64>,
}

/// The facts about one product that rules test.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Product {
    /// Node id (e.g. `shinetsu_takefu/sintered_ndfeb`).
    pub node: String,
    /// Material id.
    pub material: Option<String>,
    /// Material stage (`ore`, `oxide`, `magnet`, …).
    pub material_stage: Option<String>,
    /// HS code of the material.
    pub hs_code: Option<String>,
    /// Country the product is shipped from (where it is made or held).
    pub shipped_from: Option<String>,
    /// Customs origin: country of last substantial transformation.
    pub customs_origin: Option<String>,
    /// How the customs origin was decided, for the explanation.
    pub customs_origin_reason: String,
    /// Content shares by tag.
    pub shares: BTreeMap<String, TagShare>,
    /// The custody model the shares were computed under (`mass_balance` or `segregated`).
    pub custody: String,
}

/// What a rule means for the product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// A licence is required.
    LicenceRequired,
    /// The rule applies to the product but its test is not met: no licence needed / compliant.
    NotRequired,
    /// The rule does not apply (not in force, out of scope, other destination …).
    NotApplicable,
    /// Prohibited (export ban, disqualified for procurement, denied end use).
    Prohibited,
    /// An import tariff at this ad-valorem rate.
    Tariff(f64),
    /// The facts needed are missing (e.g. no unit value for a value test).
    Indeterminate,
}

impl Outcome {
    /// The determination word of the outcome.
    pub fn determination(&self) -> lodestone_model::Determination {
        use lodestone_model::Determination as D;
        match self {
            Outcome::LicenceRequired => D::LicenceRequired,
            Outcome::NotRequired => D::NotRequired,
            Outcome::NotApplicable => D::NotApplicable,
            Outcome::Prohibited => D::Prohibited,
            Outcome::Tariff(_) => D::Tariff,
            Outcome::Indeterminate => D::Indeterminate,
        }
    }

    /// The ad-valorem rate of a tariff outcome.
    pub fn rate(&self) -> Option<f64> {
        match self {
            Outcome::Tariff(r) => Some(*r),
            _ => None,
        }
    }

    /// The name used in output.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::LicenceRequired => "licence_required",
            Outcome::NotRequired => "not_required",
            Outcome::NotApplicable => "not_applicable",
            Outcome::Prohibited => "prohibited",
            Outcome::Tariff(_) => "tariff",
            Outcome::Indeterminate => "indeterminate",
        }
    }
}

/// A measured share behind a determination.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The tag measured.
    pub tag: String,
    /// Its share (value or mass, as the rule measures).
    pub share: f64,
}

/// One rule's determination for a product on a date, with its reasoning.
#[derive(Debug, Clone, PartialEq)]
pub struct Determination {
    /// Rule id.
    pub rule: String,
    /// Rule kind name.
    pub kind: &'static str,
    /// State of the rule on the date.
    pub state: State,
    /// The lifecycle event that set that state.
    pub event: Option<Event>,
    /// The determination.
    pub outcome: Outcome,
    /// The measured share that decided it, where the rule measures one.
    pub share: Option<f64>,
    /// The threshold it was compared with.
    pub threshold: Option<f64>,
    /// The comparison used.
    pub comparison: Option<Comparison>,
    /// The measure used (`value` or `mass`).
    pub measure: Option<&'static str>,
    /// The tags measured and their shares, largest first.
    pub findings: Vec<Finding>,
    /// The tag whose content decided the outcome, for explaining paths.
    pub deciding_tag: Option<String>,
    /// Why, in words.
    pub explanation: String,
    /// Source ids: the rule's, and the event's.
    pub sources: Vec<String>,
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p != 0.0 && p.abs() < 0.01 {
        format!("{p:.4} %")
    } else {
        format!("{p:.2} %")
    }
}

fn in_scope(rule: &Rule, p: &Product) -> Result<(), String> {
    let s = &rule.scope;
    let material = p.material.as_deref().unwrap_or("");
    let stage = p.material_stage.as_deref().unwrap_or("");
    let hs = p.hs_code.as_deref().unwrap_or("");
    if !s.materials.is_empty() && !s.materials.iter().any(|m| m == material) {
        return Err(format!(
            "material '{material}' is not among the rule's materials ({})",
            s.materials.join(", ")
        ));
    }
    if !s.material_stages.is_empty() && !s.material_stages.iter().any(|m| m == stage) {
        return Err(format!(
            "material stage '{stage}' is not among the rule's stages ({})",
            s.material_stages.join(", ")
        ));
    }
    if !s.hs_codes.is_empty()
        && !s
            .hs_codes
            .iter()
            .any(|h| !hs.is_empty() && hs.starts_with(h.as_str()))
    {
        return Err(format!(
            "HS code '{}' is not among the rule's HS codes ({})",
            if hs.is_empty() { "unknown" } else { hs },
            s.hs_codes.join(", ")
        ));
    }
    Ok(())
}

/// Evaluates one rule.
pub fn evaluate(
    rule: &Rule,
    p: &Product,
    destination: &str,
    end_use: Option<&str>,
    date: Date,
) -> Determination {
    let event = rule.lifecycle.event_on(date).cloned();
    let state = rule.lifecycle.state_on(date);
    let mut sources = rule.sources.clone();
    if let Some(e) = &event
        && !sources.contains(&e.source)
    {
        sources.push(e.source.clone());
    }
    let mut d = Determination {
        rule: rule.id.clone(),
        kind: rule.kind.name(),
        state,
        event: event.clone(),
        outcome: Outcome::NotApplicable,
        share: None,
        threshold: None,
        comparison: None,
        measure: None,
        findings: Vec::new(),
        deciding_tag: None,
        explanation: String::new(),
        sources,
    };
    // "Since" is the first day of the current state; the note is the latest event's.
    let since = rule.lifecycle.since(date);
    let when = match &event {
        Some(e) => format!(
            "{} since {}{}",
            state.name().replace('_', " "),
            since.unwrap_or(e.date),
            if e.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.note)
            }
        ),
        None => "not announced".to_string(),
    };
    if state != State::InForce {
        d.explanation = format!("Not applicable on {date}: the rule is {when}.");
        return d;
    }
    if let RuleKind::Benchmark { .. } = rule.kind {
        d.explanation = "A benchmark measures a country's supply, not a product: see `lodestone risk benchmarks`.".into();
        return d;
    }
    if let Err(why) = in_scope(rule, p) {
        d.explanation = format!("Not applicable: {why}.");
        return d;
    }
    if !rule.scope.destinations.contains(destination) {
        d.explanation =
            format!("Not applicable: destination {destination} is not covered by the rule.");
        return d;
    }
    if !rule.scope.end_uses.is_empty()
        && !end_use.is_some_and(|u| rule.scope.end_uses.iter().any(|e| e == u))
    {
        d.explanation = format!(
            "Not applicable: the rule covers end uses {} and the end use is {}.",
            rule.scope.end_uses.join(", "),
            end_use.unwrap_or("not given")
        );
        return d;
    }
    let from = p.shipped_from.as_deref().unwrap_or("unknown");
    // A sale within one country is neither an export nor an import: export controls, export bans
    // and tariffs do not apply to it (procurement rules still do).
    if destination == from
        && matches!(
            rule.kind,
            RuleKind::ExportControl { .. } | RuleKind::ExportBan | RuleKind::Tariff { .. }
        )
    {
        d.explanation = format!(
            "Not applicable: the product ships from {from} to {destination}, a sale within one country: neither an export nor an import."
        );
        return d;
    }
    let share_of = |tag: &str, measure: Measure| -> Option<f64> {
        let s = p.shares.get(tag).copied().unwrap_or_default();
        match measure {
            Measure::Mass => Some(s.mass),
            Measure::Value => {
                if s.mass == 0.0 {
                    Some(0.0)
                } else {
                    s.value
                }
            }
        }
    };
    match &rule.kind {
        RuleKind::ExportControl {
            content,
            technology_tags,
            direct,
            denied_end_uses,
        } => {
            let denied = end_use.is_some_and(|u| denied_end_uses.iter().any(|e| e == u));
            let licence = if denied {
                Outcome::Prohibited
            } else {
                Outcome::LicenceRequired
            };
            if from == rule.issuer {
                if *direct {
                    d.outcome = licence;
                    d.explanation = format!(
                        "The item is shipped from {from}, the issuer's territory: exports of covered items need a licence ({when})."
                    );
                } else {
                    d.explanation = format!(
                        "Not applicable: the rule covers items made outside {}, and this one ships from {from}.",
                        rule.issuer
                    );
                }
                return d;
            }
            if content.is_none() && technology_tags.is_empty() {
                d.explanation = format!(
                    "Not applicable: the rule covers items shipped from {}, and this one ships from {from}.",
                    rule.issuer
                );
                return d;
            }
            let mut reasons = Vec::new();
            let mut triggered = false;
            let mut indeterminate = false;
            for tag in technology_tags {
                let m = p.shares.get(tag).map_or(0.0, |s| s.mass);
                d.findings.push(Finding {
                    tag: tag.clone(),
                    share: m,
                });
                if m > 1e-12 {
                    triggered = true;
                    d.deciding_tag.get_or_insert(tag.clone());
                    reasons.push(format!(
                        "{} of its rare-earth content was processed with {} technology ({tag})",
                        pct(m),
                        rule.issuer
                    ));
                }
            }
            if let Some(ct) = content {
                let threshold = ct.threshold_for(destination);
                d.threshold = Some(threshold);
                d.comparison = Some(ct.comparison);
                d.measure = Some(match ct.measure {
                    Measure::Value => "value",
                    Measure::Mass => "mass",
                });
                let mut best: Option<(f64, &str)> = None;
                let mut unknown = Vec::new();
                for tag in &ct.origin_tags {
                    match share_of(tag, ct.measure) {
                        Some(s) => {
                            d.findings.push(Finding {
                                tag: tag.clone(),
                                share: s,
                            });
                            if best.is_none_or(|(b, _)| s > b) {
                                best = Some((s, tag));
                            }
                        }
                        None => unknown.push(tag.clone()),
                    }
                }
                match best {
                    Some((s, tag)) if unknown.is_empty() || ct.comparison.met(s, threshold) => {
                        d.share = Some(s);
                        let met = ct.comparison.met(s, threshold);
                        let verb = if met { "meets" } else { "does not meet" };
                        reasons.push(format!(
                            "{} content ({tag}) is {} of the product's {}, which {verb} the threshold ({} {})",
                            rule.issuer,
                            pct(s),
                            if ct.measure == Measure::Value { "value" } else { "rare-earth content" },
                            ct.comparison.name().replace('_', " "),
                            pct(threshold)
                        ));
                        if met {
                            triggered = true;
                            d.deciding_tag = Some(tag.to_string());
                        } else {
                            d.deciding_tag.get_or_insert(tag.to_string());
                        }
                    }
                    _ => {
                        indeterminate = true;
                        let mass: Vec<String> = ct
                            .origin_tags
                            .iter()
                            .map(|t| {
                                format!("{t} {}", pct(p.shares.get(t).map_or(0.0, |s| s.mass)))
                            })
                            .collect();
                        reasons.push(format!(
                            "the value share cannot be measured: no unit value is known for the product or its {} content (mass shares: {})",
                            rule.issuer,
                            mass.join(", ")
                        ));
                    }
                }
            }
            d.outcome = if triggered {
                licence
            } else if indeterminate {
                Outcome::Indeterminate
            } else {
                Outcome::NotRequired
            };
            let verdict = match d.outcome {
                Outcome::Prohibited => format!(
                    "Licence presumed denied for end use {}",
                    end_use.unwrap_or("")
                ),
                Outcome::LicenceRequired => "Licence required".into(),
                Outcome::Indeterminate => "Cannot be decided".into(),
                _ => "No licence required".into(),
            };
            d.explanation = format!(
                "{verdict}: {} (shipped from {from} to {destination}; rule {when}; {} custody).",
                reasons.join("; "),
                p.custody.replace('_', " ")
            );
        }
        RuleKind::Tariff {
            importer,
            origins,
            rate,
        } => {
            let origin = p.customs_origin.as_deref().unwrap_or("unknown");
            if destination != importer {
                d.explanation = format!(
                    "Not applicable: the tariff is levied by {importer}, the destination is {destination}."
                );
            } else if origins.iter().any(|o| o == origin) {
                d.outcome = Outcome::Tariff(*rate);
                d.explanation = format!(
                    "Tariff of {} on entry into {importer}: customs origin is {origin} ({}); {when}.",
                    pct(*rate),
                    p.customs_origin_reason
                );
            } else {
                d.explanation = format!(
                    "Not applicable: customs origin is {origin} ({}), not {}. Customs origin is where the product was last substantially transformed, whatever the origin of its content.",
                    p.customs_origin_reason,
                    origins.join(", ")
                );
            }
        }
        RuleKind::ExportBan => {
            if from == rule.issuer {
                d.outcome = Outcome::Prohibited;
                d.explanation = format!(
                    "Prohibited: {} bans exports of this material from its territory ({when}).",
                    rule.issuer
                );
            } else {
                d.explanation = format!(
                    "Not applicable: the ban covers exports from {}, and this product ships from {from}.",
                    rule.issuer
                );
            }
        }
        RuleKind::Procurement { buyer, tests } => {
            if destination != buyer {
                d.explanation = format!(
                    "Not applicable: the restriction binds buyers in {buyer}, the destination is {destination}."
                );
                return d;
            }
            let Some(test) = tests.iter().rev().find(|t| t.from <= date) else {
                d.explanation = format!(
                    "Not applicable on {date}: the first test applies from {}.",
                    tests.first().map_or(String::new(), |t| t.from.to_string())
                );
                return d;
            };
            let mut bad: Vec<(String, f64)> = Vec::new();
            for tag in &test.disqualifying_tags {
                let m = p.shares.get(tag).map_or(0.0, |s| s.mass);
                d.findings.push(Finding {
                    tag: tag.clone(),
                    share: m,
                });
                if m > 1e-12 {
                    bad.push((tag.clone(), m));
                }
            }
            bad.sort_by(|a, b| b.1.total_cmp(&a.1));
            d.threshold = Some(0.0);
            d.comparison = Some(Comparison::Exceeds);
            d.measure = Some("mass");
            d.share = Some(bad.first().map_or(0.0, |b| b.1));
            if let Some((tag, _)) = bad.first() {
                d.outcome = Outcome::Prohibited;
                d.deciding_tag = Some(tag.clone());
                let list: Vec<String> = bad
                    .iter()
                    .map(|(t, m)| format!("{} {t}", pct(*m)))
                    .collect();
                d.explanation = format!(
                    "Not eligible: the test from {} disqualifies material {} in a covered nation, and the product's content includes {} (no de minimis; {} custody).",
                    test.from,
                    test.wording,
                    list.join(", "),
                    p.custody.replace('_', " ")
                );
            } else {
                d.outcome = Outcome::NotRequired;
                d.explanation = format!(
                    "Eligible: none of the product's content was {} in a covered nation under the test from {} ({} custody).",
                    test.wording,
                    test.from,
                    p.custody.replace('_', " ")
                );
            }
        }
        RuleKind::Benchmark { .. } => {}
    }
    d.findings.sort_by(|a, b| b.share.total_cmp(&a.share));
    d
}

/// Evaluates every rule.
pub fn evaluate_all(
    rules: &[Rule],
    p: &Product,
    destination: &str,
    end_use: Option<&str>,
    date: Date,
) -> Vec<Determination> {
    rules
        .iter()
        .map(|r| evaluate(r, p, destination, end_use, date))
        .collect()
}

/// A date on which a product's determinations change.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// The first day of the new determinations.
    pub date: Date,
    /// Rules whose outcome changed on the date.
    pub changes: Vec<Change>,
}

/// One rule's change of outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Rule id.
    pub rule: String,
    /// The outcome before the date.
    pub from: Outcome,
    /// The outcome from the date.
    pub to: Outcome,
    /// Why, after the change.
    pub explanation: String,
}

/// An outcome in words, with a tariff's rate.
pub fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Tariff(r) => format!("tariff {}", pct(*r)),
        other => other.name().to_string(),
    }
}

/// The dates on which any rule's outcome for the product changes, and why.
pub fn timeline(
    rules: &[Rule],
    p: &Product,
    destination: &str,
    end_use: Option<&str>,
) -> Vec<TimelineEntry> {
    let mut dates: Vec<Date> = Vec::new();
    for r in rules {
        dates.extend(r.lifecycle.events.iter().map(|e| e.date));
        if let RuleKind::Procurement { tests, .. } = &r.kind {
            dates.extend(tests.iter().map(|t| t.from));
        }
    }
    dates.sort();
    dates.dedup();
    let mut out = Vec::new();
    let mut before: Vec<Outcome> = rules.iter().map(|_| Outcome::NotApplicable).collect();
    for date in dates {
        let now = evaluate_all(rules, p, destination, end_use, date);
        let mut changes = Vec::new();
        for (i, d) in now.iter().enumerate() {
            if d.outcome != before[i] {
                changes.push(Change {
                    rule: d.rule.clone(),
                    from: before[i],
                    to: d.outcome,
                    explanation: d.explanation.clone(),
                });
                before[i] = d.outcome;
            }
        }
        if !changes.is_empty() {
            out.push(TimelineEntry { date, changes });
        }
    }
    out
}
