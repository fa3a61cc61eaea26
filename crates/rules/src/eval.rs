//! Evaluation of rules for a product, a destination, an end use and a date.

use std::collections::BTreeMap;

use lodestone_model::{Date, Element, Vocabulary};

use crate::{Comparison, ContentTest, Event, Measure, Rule, RuleKind, State};

/// A dated price: from `from` until the next point, `usd_per_t` US dollars per tonne of what it
/// prices (an element's oxide, or a product's REO).
#[derive(Debug, Clone, PartialEq)]
pub struct PricePoint {
    /// First day the price stands for (an annual average stands from 1 January).
    pub from: Date,
    /// US dollars per tonne.
    pub usd_per_t: f64,
    /// What was priced, where and for when, for explanations (e.g. `Dy oxide, FOB China, 2025
    /// average`).
    pub label: String,
    /// Source id.
    pub source: String,
}

/// The point of a date-ordered series in effect on `date`: the last one from on or before it.
pub fn price_on(series: &[PricePoint], date: Date) -> Option<&PricePoint> {
    series.iter().rev().find(|p| p.from <= date)
}

/// One element's content in a product, from the element-resolved trace.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementFacts {
    /// The element.
    pub element: Element,
    /// Tonnes of the element's oxide per tonne of the product's REO.
    pub share: f64,
    /// Tonnes of the element's oxide carrying each tag, per tonne of the product's REO.
    pub tags: BTreeMap<String, f64>,
    /// The element's price (USD per t of its oxide), in date order.
    pub prices: Vec<PricePoint>,
}

/// A price a determination rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceUsed {
    /// What it priced: an element (`dy`) or `product`.
    pub what: String,
    /// US dollars per tonne (of the element's oxide, or of the product's REO).
    pub usd_per_t: f64,
    /// What was priced, where and for when.
    pub label: String,
    /// Source id.
    pub source: String,
}

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
    /// Element-resolved content (empty when the dataset records no compositions).
    pub elements: Vec<ElementFacts>,
    /// The product's value per t of its REO: from its recorded flows (one point), or from
    /// recorded product prices in date order; empty when unknown.
    pub value: Vec<PricePoint>,
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
    /// The elements the rule measured (empty: all rare-earth content).
    pub elements: Vec<Element>,
    /// The prices the measured share rests on, with when and where they are from.
    pub prices: Vec<PriceUsed>,
    /// The assumption the rule's state on the date rests on (an assumed event's note), if any.
    pub assumption: Option<String>,
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
        elements: Vec::new(),
        prices: Vec::new(),
        assumption: event.as_ref().filter(|e| e.assumed).map(|e| e.note.clone()),
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
    if !rule.scope.containing_elements.is_empty() {
        let named = element_list(&rule.scope.containing_elements);
        if p.elements.is_empty() {
            d.outcome = Outcome::Indeterminate;
            d.explanation = format!(
                "Cannot be decided: the rule covers items containing {named}, and the product's content is not resolved by element (no composition recorded for {}).",
                p.material.as_deref().unwrap_or("its material")
            );
            return d;
        }
        let contained: Vec<String> = p
            .elements
            .iter()
            .filter(|f| rule.scope.containing_elements.contains(&f.element) && f.share > 0.0)
            .map(|f| format!("{} {}", f.element.symbol(), pct(f.share)))
            .collect();
        let unresolved = p
            .elements
            .iter()
            .find(|f| f.element == Element::Other)
            .map_or(0.0, |f| f.share);
        if contained.is_empty() {
            if unresolved > 0.0 {
                d.outcome = Outcome::Indeterminate;
                d.explanation = format!(
                    "Cannot be decided: the rule covers items containing {named}; none is resolved in the product, but {} of its REO is of unresolved composition.",
                    pct(unresolved)
                );
            } else {
                d.explanation = format!(
                    "Not applicable: the rule covers items containing {named}, and the product contains none (its REO is {}).",
                    element_mix(p)
                );
            }
            return d;
        }
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
                let measured = if ct.elements.is_empty() {
                    reo_content(rule, ct, p, threshold, &mut d)
                } else {
                    element_content(rule, ct, p, threshold, date, &mut d)
                };
                match measured {
                    Measured::Met(why) => {
                        triggered = true;
                        reasons.push(why);
                    }
                    Measured::NotMet(why) => reasons.push(why),
                    Measured::Unknown(why) => {
                        indeterminate = true;
                        reasons.push(why);
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
                let by_element = element_breakdown(
                    p,
                    &test.disqualifying_tags.join("|"),
                    std::slice::from_ref(tag),
                );
                d.explanation = format!(
                    "Not eligible: the test from {} disqualifies material {} in a covered nation, and the product's content includes {}{by_element} (no de minimis; {} custody).",
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

/// What a content test found.
enum Measured {
    /// The threshold is met (why).
    Met(String),
    /// The threshold is not met, and nothing missing could change that (why).
    NotMet(String),
    /// Facts are missing (what).
    Unknown(String),
}

/// Elements by symbol: `Sm, Dy and Tb`.
fn element_list(elements: &[Element]) -> String {
    let names: Vec<&str> = elements.iter().map(|e| e.symbol()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The product's element mix in words: `Nd 77.30 %, Pr 12.30 %, …`.
fn element_mix(p: &Product) -> String {
    let mut v: Vec<&ElementFacts> = p.elements.iter().filter(|f| f.share > 0.0).collect();
    v.sort_by(|a, b| b.share.total_cmp(&a.share));
    v.iter()
        .map(|f| format!("{} {}", f.element.symbol(), pct(f.share)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The share of content carrying any of the test's tags: the union tag when the trace computed
/// it, else the largest single tag (a lower bound of the union).
fn union_share(ct: &ContentTest, tags: impl Fn(&str) -> Option<f64>) -> f64 {
    tags(&ct.union_tag()).unwrap_or_else(|| {
        ct.origin_tags
            .iter()
            .filter_map(|t| tags(t))
            .fold(0.0, f64::max)
    })
}

/// The product's value per t REO on `date`, if known.
fn product_value(p: &Product, date: Date) -> Option<&PricePoint> {
    price_on(&p.value, date).or_else(|| p.value.first().filter(|v| v.from > date))
}

fn price_text(pp: &PricePoint, per: &str) -> String {
    format!(
        "US${}/kg{per} ({}; {})",
        money(pp.usd_per_t / 1000.0),
        pp.label,
        pp.source
    )
}

fn money(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// A content test over all rare-earth content (no elements named).
fn reo_content(
    rule: &Rule,
    ct: &ContentTest,
    p: &Product,
    threshold: f64,
    d: &mut Determination,
) -> Measured {
    let union = ct.union_tag();
    for tag in &ct.origin_tags {
        let s = p.shares.get(tag).copied().unwrap_or_default();
        d.findings.push(Finding {
            tag: tag.clone(),
            share: match ct.measure {
                Measure::Mass => s.mass,
                Measure::Value => s.value.unwrap_or(0.0),
            },
        });
    }
    let mass = union_share(ct, |t| p.shares.get(t).map(|s| s.mass));
    let share = match ct.measure {
        Measure::Mass => Some(mass),
        Measure::Value if mass == 0.0 => Some(0.0),
        Measure::Value => {
            let by_union = p.shares.get(&union).and_then(|s| s.value);
            by_union.or_else(|| {
                let values: Vec<Option<f64>> = ct
                    .origin_tags
                    .iter()
                    .filter(|t| p.shares.get(*t).is_some_and(|s| s.mass > 0.0))
                    .map(|t| p.shares.get(t).and_then(|s| s.value))
                    .collect();
                values
                    .iter()
                    .all(Option::is_some)
                    .then(|| values.iter().flatten().fold(0.0, |a: f64, b| a.max(*b)))
            })
        }
    };
    d.deciding_tag = Some(if p.shares.contains_key(&union) {
        union.clone()
    } else {
        ct.origin_tags.first().cloned().unwrap_or_default()
    });
    let what = if ct.measure == Measure::Value {
        "value"
    } else {
        "rare-earth content"
    };
    let by_element = element_breakdown(p, &union, &ct.origin_tags);
    match share {
        Some(s) => {
            d.share = Some(s);
            let met = ct.comparison.met(s, threshold);
            let text = format!(
                "{} content ({union}, counted once) is {} of the product's {what}{by_element}, which {} the threshold ({} {})",
                rule.issuer,
                pct(s),
                if met { "meets" } else { "does not meet" },
                ct.comparison.name().replace('_', " "),
                pct(threshold)
            );
            if met {
                Measured::Met(text)
            } else {
                Measured::NotMet(text)
            }
        }
        None => Measured::Unknown(format!(
            "the value share cannot be measured: no unit value is known for the product or its {} content (mass share of {union}: {})",
            rule.issuer,
            pct(mass)
        )),
    }
}

/// The elements of the content carrying `union` (or, where the element trace has no union tag,
/// the first of `tags` present), as shares of that content: ` (by element: Nd 74.2 %, …)`.
/// Empty when the product has no element facts or no such content.
fn element_breakdown(p: &Product, union: &str, tags: &[String]) -> String {
    let tagged = |e: &ElementFacts| {
        e.tags
            .get(union)
            .or_else(|| tags.iter().find_map(|t| e.tags.get(t)))
            .copied()
            .unwrap_or(0.0)
    };
    let total: f64 = p.elements.iter().map(tagged).sum();
    if total <= 0.0 {
        return String::new();
    }
    let mut parts: Vec<(f64, String)> = p
        .elements
        .iter()
        .map(|e| (tagged(e) / total, e.element))
        .filter(|(f, _)| *f >= 0.0005)
        .map(|(f, e)| {
            let name = if e == Element::Other {
                "unresolved".to_string()
            } else {
                e.symbol().to_string()
            };
            (f, name)
        })
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let list: Vec<String> = parts
        .iter()
        .map(|(f, name)| format!("{name} {:.1} %", f * 100.0))
        .collect();
    format!(" (by element: {})", list.join(", "))
}

/// A content test over named elements: their content carrying the origin tags (counted once),
/// by mass, or valued at each element's price on `date` over the product's value.
fn element_content(
    rule: &Rule,
    ct: &ContentTest,
    p: &Product,
    threshold: f64,
    date: Date,
    d: &mut Determination,
) -> Measured {
    let union = ct.union_tag();
    d.elements = ct.elements.clone();
    d.deciding_tag = Some(union.clone());
    let named = element_list(&ct.elements);
    if p.elements.is_empty() {
        return Measured::Unknown(format!(
            "the rule measures {named} content, and the product's content is not resolved by element (no composition recorded)"
        ));
    }
    let tagged = |f: &ElementFacts| union_share(ct, |t| f.tags.get(t).copied());
    // Content of the origin that no element accounts for (unresolved compositions) could be
    // any element, including the named ones.
    let reo_origin = union_share(ct, |t| p.shares.get(t).map(|s| s.mass));
    let resolved: f64 = p
        .elements
        .iter()
        .filter(|f| f.element != Element::Other)
        .map(tagged)
        .sum();
    let unresolved = (reo_origin - resolved).max(0.0);
    let mut known = 0.0;
    let mut parts = Vec::new();
    let mut unpriced = Vec::new();
    // This test's findings, by mass or (until divided by the product's value) by value.
    let first_finding = d.findings.len();
    for f in p
        .elements
        .iter()
        .filter(|f| ct.elements.contains(&f.element))
    {
        let c = tagged(f);
        if c <= 0.0 {
            continue;
        }
        match ct.measure {
            Measure::Mass => {
                known += c;
                d.findings.push(Finding {
                    tag: format!("{}:{union}", f.element),
                    share: c,
                });
                parts.push(format!("{} {}", f.element.symbol(), pct(c)));
            }
            Measure::Value => match price_on(&f.prices, date) {
                Some(pp) => {
                    known += c * pp.usd_per_t;
                    d.findings.push(Finding {
                        tag: format!("{}:{union}", f.element),
                        share: c * pp.usd_per_t,
                    });
                    d.prices.push(PriceUsed {
                        what: f.element.to_string(),
                        usd_per_t: pp.usd_per_t,
                        label: pp.label.clone(),
                        source: pp.source.clone(),
                    });
                    parts.push(format!(
                        "{} {} of its REO at {}",
                        f.element.symbol(),
                        pct(c),
                        price_text(pp, " of oxide")
                    ));
                }
                None => {
                    unpriced.push(format!(
                        "{} ({} of its REO: no price on or before {date})",
                        f.element.symbol(),
                        pct(c)
                    ));
                }
            },
        }
    }
    let origin = format!("{} content of {named} ({union}, counted once)", rule.issuer);
    let (share, value_text) = match ct.measure {
        Measure::Mass => (known, String::new()),
        Measure::Value => {
            let Some(v) = product_value(p, date) else {
                // Value amounts cannot become shares without the product's value.
                d.findings.truncate(first_finding);
                return Measured::Unknown(format!(
                    "{origin} cannot be valued as a share: no value is known for the product ({}: no price is recorded for it, and it cannot be valued from its elements, which needs all its content resolved to priced elements and a fabrication value stated for its material); {}",
                    p.material.as_deref().unwrap_or("its material"),
                    if parts.is_empty() {
                        "and none of that content is present".to_string()
                    } else {
                        parts.join(", ")
                    }
                ));
            };
            d.prices.push(PriceUsed {
                what: "product".into(),
                usd_per_t: v.usd_per_t,
                label: v.label.clone(),
                source: v.source.clone(),
            });
            for f in &mut d.findings[first_finding..] {
                f.share /= v.usd_per_t;
            }
            (
                known / v.usd_per_t,
                format!(
                    " over the product's value of {}",
                    price_text(v, " of its REO")
                ),
            )
        }
    };
    d.share = Some(share);
    let met = ct.comparison.met(share, threshold);
    let what = if ct.measure == Measure::Value {
        "value"
    } else {
        "rare-earth content"
    };
    let found = if parts.is_empty() {
        "none is present".to_string()
    } else {
        parts.join("; ")
    };
    let text = format!(
        "{origin} is {} of the product's {what} ({found}{value_text}), which {} the threshold ({} {})",
        pct(share),
        if met { "meets" } else { "does not meet" },
        ct.comparison.name().replace('_', " "),
        pct(threshold)
    );
    if met {
        return Measured::Met(text);
    }
    let mut missing = Vec::new();
    if !unpriced.is_empty() {
        missing.push(format!("unpriced: {}", unpriced.join(", ")));
    }
    if unresolved > 1e-12 {
        missing.push(format!(
            "{} of its REO is {} content of unresolved composition, which may hold {named}",
            pct(unresolved),
            rule.issuer
        ));
    }
    if missing.is_empty() {
        Measured::NotMet(text)
    } else {
        Measured::Unknown(format!(
            "{text} — but the known part alone does not decide it: {}",
            missing.join("; ")
        ))
    }
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
