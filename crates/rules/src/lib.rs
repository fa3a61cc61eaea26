//! Trade-policy rules as plain data, evaluated for a product, a destination and a date.
//!
//! A [`Rule`] has an issuer, a scope (materials, HS codes, destinations, end uses), a
//! [`Lifecycle`] of dated states, sources, and one kind-specific test:
//!
//! * an **export control** with a content test (value or mass share of content of given origin
//!   tags against a threshold, `at_or_above` or `exceeds`, thresholds by destination), a
//!   technology clause (any content processed with the issuer's technology) and a direct clause
//!   (items made in the issuer's territory);
//! * a **tariff** by customs origin (last substantial transformation), with a rate that stacks;
//! * an **export ban** on items shipped from the issuer's territory;
//! * a **procurement restriction**: content tags that disqualify, with dated changes of the test;
//! * a **benchmark** (e.g. the EU CRMA 65 % cap): evaluated on countries by the risk engine, not on
//!   products, so product evaluation reports it as not applicable.
//!
//! [`evaluate`] takes the facts about one product ([`Product`]: its material, HS code, where it is
//! shipped from, its customs origin, and the content shares by tag from the tracing engine) and
//! returns a [`Determination`] with its reasoning. [`timeline`] lists the dates on which any
//! determination for a product changes. No I/O: rule files are read by `lodestone-world`.

mod eval;

pub use eval::{
    Change, Determination, ElementFacts, Finding, Outcome, PricePoint, PriceUsed, Product,
    TagShare, TimelineEntry, evaluate, evaluate_all, outcome_text, price_on, timeline,
};

use lodestone_model::{Date, Element};

pub use lodestone_model::RuleState as State;

/// Parses a state name that an event can set (every state but `not_announced`).
pub fn parse_event_state(s: &str) -> Option<State> {
    use lodestone_model::Vocabulary;
    State::parse(s).ok().filter(|st| *st != State::NotAnnounced)
}

/// A dated change of state.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// First day of the new state.
    pub date: Date,
    /// The state from that day.
    pub state: State,
    /// Source id.
    pub source: String,
    /// What happened.
    pub note: String,
    /// True when the event is an assumption, not a reported fact (the note says what is
    /// assumed): determinations resting on it say so.
    pub assumed: bool,
}

/// A rule's history: events in date order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lifecycle {
    /// Events, sorted by date (stable for equal dates: the later listed wins).
    pub events: Vec<Event>,
}

impl Lifecycle {
    /// The event in effect on `date` (the last one dated on or before it).
    pub fn event_on(&self, date: Date) -> Option<&Event> {
        self.events.iter().rev().find(|e| e.date <= date)
    }

    /// The state on `date`.
    pub fn state_on(&self, date: Date) -> State {
        self.event_on(date).map_or(State::NotAnnounced, |e| e.state)
    }

    /// The first day of the state in effect on `date`: the earliest event of the unbroken run of
    /// events with that state that ends at [`event_on`](Self::event_on). Later events that keep
    /// the state (an amendment, an extension) do not restart it.
    pub fn since(&self, date: Date) -> Option<Date> {
        let last = self.events.iter().rposition(|e| e.date <= date)?;
        let state = self.events[last].state;
        let first = self.events[..=last]
            .iter()
            .rposition(|e| e.state != state)
            .map_or(0, |i| i + 1);
        Some(self.events[first].date)
    }
}

/// How a measured share is compared with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Met when share ≥ threshold (China's 0.1 %: "达到0.1%及以上").
    AtOrAbove,
    /// Met when share > threshold (US EAR de minimis: "exceeds").
    Exceeds,
}

impl Comparison {
    /// Whether `share` meets `threshold`.
    pub fn met(self, share: f64, threshold: f64) -> bool {
        match self {
            Comparison::AtOrAbove => share >= threshold,
            Comparison::Exceeds => share > threshold,
        }
    }

    /// The name used in files and output.
    pub fn name(self) -> &'static str {
        match self {
            Comparison::AtOrAbove => "at_or_above",
            Comparison::Exceeds => "exceeds",
        }
    }
}

/// What a content share measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Origin value of the tagged content over the product's unit value.
    Value,
    /// Tagged share of the product's content (t per t REO).
    Mass,
}

/// A set of destinations: `all`, ISO3 codes, and exclusions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Destinations {
    /// Every destination (then `include` is ignored).
    pub all: bool,
    /// Listed destinations (ISO3, already expanded from groups).
    pub include: Vec<String>,
    /// Destinations excluded even when `all` (e.g. the issuer itself).
    pub exclude: Vec<String>,
}

impl Destinations {
    /// Whether `dest` is in the set.
    pub fn contains(&self, dest: &str) -> bool {
        !self.exclude.iter().any(|d| d == dest)
            && (self.all || self.include.iter().any(|d| d == dest))
    }
}

/// A threshold for some destinations, overriding the default.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationThreshold {
    /// Where it applies.
    pub destinations: Destinations,
    /// The threshold (a fraction).
    pub threshold: f64,
}

/// A content test: the share of content with any of `origin_tags`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentTest {
    /// Tags whose content counts (e.g. `separated:CHN`, `metal:CHN`). Content carrying any of
    /// them counts once: the measured share is their union, the tag [`ContentTest::union_tag`]
    /// that the tracing computes (or, where it did not, the largest single share, a lower bound).
    pub origin_tags: Vec<String>,
    /// Elements whose content counts (e.g. No. 61's Part I: Sm, Dy, Gd, Tb, Lu, Sc, Y); empty:
    /// all rare-earth content.
    pub elements: Vec<Element>,
    /// Value or mass.
    pub measure: Measure,
    /// How the share is compared.
    pub comparison: Comparison,
    /// Default threshold (a fraction).
    pub threshold: f64,
    /// Thresholds for particular destinations.
    pub by_destination: Vec<DestinationThreshold>,
}

impl ContentTest {
    /// The tag naming the union of the origin tags: the tags joined by `|` (the single tag when
    /// there is one).
    pub fn union_tag(&self) -> String {
        self.origin_tags.join("|")
    }

    /// The threshold for a destination.
    pub fn threshold_for(&self, dest: &str) -> f64 {
        self.by_destination
            .iter()
            .find(|t| t.destinations.contains(dest))
            .map_or(self.threshold, |t| t.threshold)
    }
}

/// A dated version of a procurement test (e.g. DFARS before and from 1 Jan 2027).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcurementTest {
    /// First day the test applies.
    pub from: Date,
    /// Content tags that disqualify when present at all (no de minimis), e.g. `magnet:CHN`.
    pub disqualifying_tags: Vec<String>,
    /// The legal wording, for the explanation (e.g. "melted or produced").
    pub wording: String,
}

/// The kind-specific part of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// An export control.
    ExportControl {
        /// Content test, if the rule has one.
        content: Option<ContentTest>,
        /// Tags of content processed with the issuer's technology (any share triggers).
        technology_tags: Vec<String>,
        /// Whether items shipped from the issuer's own territory are controlled.
        direct: bool,
        /// End uses for which a licence is presumed denied (determination: prohibited).
        denied_end_uses: Vec<String>,
    },
    /// An import tariff by customs origin.
    Tariff {
        /// Importing country.
        importer: String,
        /// Customs origins the tariff applies to.
        origins: Vec<String>,
        /// Ad-valorem rate (1.0 = 100 %).
        rate: f64,
    },
    /// A ban on exports from the issuer's territory.
    ExportBan,
    /// A procurement restriction for a buyer and end uses.
    Procurement {
        /// The buying country.
        buyer: String,
        /// Dated tests, in date order.
        tests: Vec<ProcurementTest>,
    },
    /// A benchmark evaluated on countries, not products.
    Benchmark {
        /// Maximum share of consumption from a single third country, per stage.
        max_single_country_share: Option<f64>,
        /// Minimum domestic shares by stage (extraction, processing, recycling).
        targets: Vec<(String, f64)>,
    },
}

impl RuleKind {
    /// The kind's name used in files and output.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::ExportControl { .. } => "export_control",
            RuleKind::Tariff { .. } => "tariff",
            RuleKind::ExportBan => "export_ban",
            RuleKind::Procurement { .. } => "procurement_restriction",
            RuleKind::Benchmark { .. } => "benchmark",
        }
    }
}

/// Which products a rule covers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// Material ids covered (empty: any, subject to the other fields).
    pub materials: Vec<String>,
    /// Material stages covered (e.g. `magnet`, `ore`); empty: any.
    pub material_stages: Vec<String>,
    /// HS code prefixes covered (e.g. `8505.11`, `2846`); empty: any.
    pub hs_codes: Vec<String>,
    /// Destinations covered.
    pub destinations: Destinations,
    /// End uses covered (empty: any).
    pub end_uses: Vec<String>,
    /// Elements of which the product must contain some to be covered (No. 18: items containing
    /// any of the seven); empty: no such condition.
    pub containing_elements: Vec<Element>,
}

/// A rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable id (the file name without `.toml`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Issuing country or bloc (`CHN`, `USA`, `EU`).
    pub issuer: String,
    /// Coverage.
    pub scope: Scope,
    /// The test.
    pub kind: RuleKind,
    /// History.
    pub lifecycle: Lifecycle,
    /// Source ids.
    pub sources: Vec<String>,
    /// `high`, `medium` or `low`, where facts are unverified or conflicting.
    pub confidence: Option<String>,
    /// Caveats for the reader.
    pub note: Option<String>,
    /// Where the rule was defined (`policies/x.toml`), for messages.
    pub file: String,
}

#[cfg(test)]
mod lifecycle_tests {
    use super::*;

    fn ev(date: &str, state: State) -> Event {
        Event {
            date: Date::parse(date).unwrap(),
            state,
            source: String::new(),
            note: String::new(),
            assumed: false,
        }
    }

    #[test]
    fn since_is_the_first_day_of_the_current_state() {
        let l = Lifecycle {
            events: vec![
                ev("2025-04-04", State::InForce),
                ev("2025-10-09", State::InForce),
                ev("2025-11-07", State::Suspended),
                ev("2026-11-10", State::InForce),
            ],
        };
        let on = |d: &str| l.since(Date::parse(d).unwrap()).map(|d| d.to_string());
        assert_eq!(on("2025-12-01").as_deref(), Some("2025-11-07"));
        // An amendment that keeps the state does not restart it.
        assert_eq!(on("2025-10-20").as_deref(), Some("2025-04-04"));
        assert_eq!(on("2027-01-01").as_deref(), Some("2026-11-10"));
        assert_eq!(on("2020-01-01"), None);
    }
}
