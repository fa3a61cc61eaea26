//! Threshold edges, lifecycle dates, and the shape of determinations, on hand-built rules.

use std::collections::BTreeMap;

use lodestone_model::Date;
use lodestone_rules::*;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn ev(date: &str, state: State) -> Event {
    Event {
        date: d(date),
        state,
        source: "src".into(),
        note: String::new(),
        assumed: false,
    }
}

fn all_but(c: &str) -> Destinations {
    Destinations {
        all: true,
        include: vec![],
        exclude: vec![c.into()],
    }
}

fn content_rule(comparison: Comparison, threshold: f64, events: Vec<Event>) -> Rule {
    Rule {
        id: "r".into(),
        title: "t".into(),
        issuer: "CHN".into(),
        scope: Scope {
            destinations: all_but("CHN"),
            ..Scope::default()
        },
        kind: RuleKind::ExportControl {
            content: Some(ContentTest {
                origin_tags: vec!["separated:CHN".into()],
                elements: vec![],
                measure: Measure::Value,
                comparison,
                threshold,
                by_destination: vec![DestinationThreshold {
                    destinations: Destinations {
                        all: false,
                        include: vec!["IRN".into()],
                        exclude: vec![],
                    },
                    threshold: 0.10,
                }],
            }),
            technology_tags: vec![],
            direct: false,
            denied_end_uses: vec!["military".into()],
        },
        lifecycle: Lifecycle { events },
        sources: vec!["s".into()],
        confidence: None,
        note: None,
        file: "policies/r.toml".into(),
    }
}

fn product(value_share: f64) -> Product {
    let mut shares = BTreeMap::new();
    shares.insert(
        "separated:CHN".to_string(),
        TagShare {
            mass: 0.5,
            value: Some(value_share),
            value_coverage: Some(1.0),
        },
    );
    Product {
        node: "p".into(),
        material: Some("sintered_ndfeb".into()),
        material_stage: Some("magnet".into()),
        hs_code: Some("8505.11".into()),
        shipped_from: Some("JPN".into()),
        customs_origin: Some("JPN".into()),
        customs_origin_reason: "made in Japan".into(),
        shares,
        custody: "mass_balance".into(),
        elements: vec![],
        value: vec![],
    }
}

fn in_force() -> Vec<Event> {
    vec![ev("2025-01-01", State::InForce)]
}

fn outcome(rule: &Rule, p: &Product, dest: &str, date: &str) -> Outcome {
    evaluate(rule, p, dest, None, d(date)).outcome
}

#[test]
fn at_or_above_is_met_exactly_at_the_threshold() {
    let r = content_rule(Comparison::AtOrAbove, 0.001, in_force());
    assert_eq!(
        outcome(&r, &product(0.001), "USA", "2025-06-01"),
        Outcome::LicenceRequired
    );
    assert_eq!(
        outcome(&r, &product(0.000999), "USA", "2025-06-01"),
        Outcome::NotRequired
    );
    assert_eq!(
        outcome(&r, &product(0.001001), "USA", "2025-06-01"),
        Outcome::LicenceRequired
    );
    let det = evaluate(&r, &product(0.001), "USA", None, d("2025-06-01"));
    assert_eq!(det.share, Some(0.001));
    assert_eq!(det.threshold, Some(0.001));
    assert!(
        det.explanation.contains("0.10 %") && det.explanation.contains("meets"),
        "{}",
        det.explanation
    );
}

#[test]
fn exceeds_is_not_met_exactly_at_the_threshold() {
    let r = content_rule(Comparison::Exceeds, 0.25, in_force());
    assert_eq!(
        outcome(&r, &product(0.25), "USA", "2025-06-01"),
        Outcome::NotRequired
    );
    assert_eq!(
        outcome(&r, &product(0.2501), "USA", "2025-06-01"),
        Outcome::LicenceRequired
    );
    assert_eq!(
        outcome(&r, &product(0.2499), "USA", "2025-06-01"),
        Outcome::NotRequired
    );
}

#[test]
fn thresholds_depend_on_the_destination() {
    let r = content_rule(Comparison::Exceeds, 0.25, in_force());
    assert_eq!(
        outcome(&r, &product(0.15), "USA", "2025-06-01"),
        Outcome::NotRequired
    );
    assert_eq!(
        outcome(&r, &product(0.15), "IRN", "2025-06-01"),
        Outcome::LicenceRequired
    );
    assert_eq!(
        outcome(&r, &product(0.9), "CHN", "2025-06-01"),
        Outcome::NotApplicable,
        "the issuer is excluded"
    );
}

#[test]
fn lifecycle_dates_decide_whether_a_rule_applies() {
    // In force 1 Dec 2025, suspended 7 Nov 2026 .. 10 Nov 2026, in force again from 11 Nov 2026.
    let r = content_rule(
        Comparison::AtOrAbove,
        0.001,
        vec![
            ev("2025-10-09", State::Announced),
            ev("2025-12-01", State::InForce),
            ev("2026-11-07", State::Suspended),
            ev("2026-11-11", State::InForce),
        ],
    );
    let p = product(0.5);
    assert_eq!(
        outcome(&r, &p, "USA", "2025-10-08"),
        Outcome::NotApplicable,
        "not announced"
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2025-10-09"),
        Outcome::NotApplicable,
        "announced only"
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2025-11-30"),
        Outcome::NotApplicable,
        "the day before it takes effect"
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2025-12-01"),
        Outcome::LicenceRequired,
        "the day it takes effect"
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2026-11-06"),
        Outcome::LicenceRequired
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2026-11-07"),
        Outcome::NotApplicable,
        "first day of the suspension"
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2026-11-10"),
        Outcome::NotApplicable,
        "last day of the suspension"
    );
    assert_eq!(
        outcome(&r, &p, "USA", "2026-11-11"),
        Outcome::LicenceRequired,
        "the day after it ends"
    );
    let det = evaluate(&r, &p, "USA", None, d("2026-11-08"));
    assert_eq!(det.state, State::Suspended);
    assert!(
        det.explanation.contains("suspended since 2026-11-07"),
        "{}",
        det.explanation
    );
}

#[test]
fn an_announced_rule_that_was_never_implemented_never_applies() {
    let tariff = Rule {
        kind: RuleKind::Tariff {
            importer: "USA".into(),
            origins: vec!["CHN".into()],
            rate: 1.0,
        },
        lifecycle: Lifecycle {
            events: vec![
                ev("2025-10-10", State::Announced),
                ev("2025-11-01", State::NeverImplemented),
            ],
        },
        issuer: "USA".into(),
        scope: Scope {
            destinations: Destinations {
                all: false,
                include: vec!["USA".into()],
                exclude: vec![],
            },
            ..Scope::default()
        },
        ..content_rule(Comparison::AtOrAbove, 0.0, vec![])
    };
    let mut p = product(0.5);
    p.customs_origin = Some("CHN".into());
    for date in ["2025-10-10", "2025-11-01", "2026-06-01"] {
        assert_eq!(
            outcome(&tariff, &p, "USA", date),
            Outcome::NotApplicable,
            "{date}"
        );
    }
    let t = timeline(std::slice::from_ref(&tariff), &p, "USA", None);
    assert!(t.is_empty(), "no change ever: {t:?}");
}

#[test]
fn tariffs_follow_customs_origin_not_content_origin() {
    let tariff = Rule {
        kind: RuleKind::Tariff {
            importer: "USA".into(),
            origins: vec!["CHN".into()],
            rate: 1.0,
        },
        lifecycle: Lifecycle { events: in_force() },
        issuer: "USA".into(),
        scope: Scope {
            destinations: Destinations {
                all: false,
                include: vec!["USA".into()],
                exclude: vec![],
            },
            ..Scope::default()
        },
        ..content_rule(Comparison::AtOrAbove, 0.0, vec![])
    };
    let control = content_rule(Comparison::AtOrAbove, 0.001, in_force());
    // A magnet sintered in Vietnam from Chinese oxide: all of its value-content is Chinese.
    let mut p = product(0.3);
    p.shipped_from = Some("VNM".into());
    p.customs_origin = Some("VNM".into());
    assert_eq!(
        outcome(&tariff, &p, "USA", "2025-06-01"),
        Outcome::NotApplicable
    );
    assert_eq!(
        outcome(&control, &p, "USA", "2025-06-01"),
        Outcome::LicenceRequired
    );
    p.customs_origin = Some("CHN".into());
    assert_eq!(
        outcome(&tariff, &p, "USA", "2025-06-01"),
        Outcome::Tariff(1.0)
    );
}

#[test]
fn denied_end_uses_are_prohibited_and_direct_exports_are_controlled() {
    let r = content_rule(Comparison::AtOrAbove, 0.001, in_force());
    let det = evaluate(&r, &product(0.5), "USA", Some("military"), d("2025-06-01"));
    assert_eq!(det.outcome, Outcome::Prohibited);
    let mut direct = content_rule(Comparison::AtOrAbove, 0.001, in_force());
    direct.kind = RuleKind::ExportControl {
        content: None,
        technology_tags: vec![],
        direct: true,
        denied_end_uses: vec![],
    };
    let mut p = product(0.0);
    assert_eq!(
        outcome(&direct, &p, "USA", "2025-06-01"),
        Outcome::NotApplicable,
        "shipped from Japan"
    );
    p.shipped_from = Some("CHN".into());
    assert_eq!(
        outcome(&direct, &p, "USA", "2025-06-01"),
        Outcome::LicenceRequired
    );
}

#[test]
fn procurement_tests_change_on_their_date_and_have_no_de_minimis() {
    let covered = |families: &[&str]| {
        families
            .iter()
            .map(|f| format!("{f}:CHN"))
            .collect::<Vec<_>>()
    };
    let rule = Rule {
        kind: RuleKind::Procurement {
            buyer: "USA".into(),
            tests: vec![
                ProcurementTest {
                    from: d("2024-05-30"),
                    disqualifying_tags: covered(&["metal", "magnet"]),
                    wording: "melted or produced".into(),
                },
                ProcurementTest {
                    from: d("2027-01-01"),
                    disqualifying_tags: covered(&["mined", "separated", "metal", "magnet"]),
                    wording: "mined, refined, separated, melted or produced".into(),
                },
            ],
        },
        lifecycle: Lifecycle {
            events: vec![ev("2024-05-30", State::InForce)],
        },
        issuer: "USA".into(),
        scope: Scope {
            destinations: Destinations {
                all: false,
                include: vec!["USA".into()],
                exclude: vec![],
            },
            end_uses: vec!["defence".into()],
            ..Scope::default()
        },
        ..content_rule(Comparison::AtOrAbove, 0.0, vec![])
    };
    // Magnet made in Japan from Japanese metal, but 0.5 % of its REO was separated in China.
    let mut p = product(0.0);
    p.shares.clear();
    p.shares.insert(
        "separated:CHN".into(),
        TagShare {
            mass: 0.005,
            value: None,
            value_coverage: None,
        },
    );
    let at = |date: &str| evaluate(&rule, &p, "USA", Some("defence"), d(date)).outcome;
    assert_eq!(at("2026-12-31"), Outcome::NotRequired);
    assert_eq!(at("2027-01-01"), Outcome::Prohibited);
    assert_eq!(
        evaluate(&rule, &p, "USA", Some("civil"), d("2027-01-01")).outcome,
        Outcome::NotApplicable
    );
    let t = timeline(std::slice::from_ref(&rule), &p, "USA", Some("defence"));
    let dates: Vec<String> = t.iter().map(|e| e.date.to_string()).collect();
    assert_eq!(dates, ["2024-05-30", "2027-01-01"]);
    assert_eq!(t[1].changes[0].to, Outcome::Prohibited);
}

/// A sale within one country is neither an export nor an import: export controls (content and
/// direct), export bans and tariffs do not apply; procurement restrictions still do.
#[test]
fn domestic_shipments_are_not_exports_or_imports() {
    let mut p = product(0.5);
    p.shipped_from = Some("USA".into());
    p.customs_origin = Some("CHN".into());
    let mut control = content_rule(Comparison::AtOrAbove, 0.001, in_force());
    control.issuer = "USA".into();
    control.scope.destinations = Destinations {
        all: true,
        include: vec![],
        exclude: vec![],
    };
    let direct = Rule {
        kind: RuleKind::ExportControl {
            content: None,
            technology_tags: vec![],
            direct: true,
            denied_end_uses: vec![],
        },
        ..control.clone()
    };
    let ban = Rule {
        kind: RuleKind::ExportBan,
        ..control.clone()
    };
    let tariff = Rule {
        kind: RuleKind::Tariff {
            importer: "USA".into(),
            origins: vec!["CHN".into()],
            rate: 1.0,
        },
        ..control.clone()
    };
    for rule in [&control, &direct, &ban, &tariff] {
        let det = evaluate(rule, &p, "USA", None, d("2025-06-01"));
        assert_eq!(det.outcome, Outcome::NotApplicable, "{}", rule.kind.name());
        assert!(
            det.explanation.contains("within one country"),
            "{}",
            det.explanation
        );
        // Across a border, the same rule applies: an export from the US (direct control, ban),
        // or a shipment into the US from Japan (content control, tariff).
        let (shipper, to) = match rule.kind {
            RuleKind::ExportBan => ("USA", "DEU"),
            RuleKind::ExportControl { direct: true, .. } => ("USA", "DEU"),
            _ => ("JPN", "USA"),
        };
        let mut crossing = p.clone();
        crossing.shipped_from = Some(shipper.into());
        assert_ne!(
            evaluate(rule, &crossing, to, None, d("2025-06-01")).outcome,
            Outcome::NotApplicable,
            "{} from {shipper} to {to}",
            rule.kind.name()
        );
    }
    // A domestic buyer's procurement rule still tests the product.
    let procurement = Rule {
        kind: RuleKind::Procurement {
            buyer: "USA".into(),
            tests: vec![ProcurementTest {
                from: d("2024-01-01"),
                disqualifying_tags: vec!["separated:CHN".into()],
                wording: "separated".into(),
            }],
        },
        ..control.clone()
    };
    assert_eq!(
        evaluate(&procurement, &p, "USA", None, d("2025-06-01")).outcome,
        Outcome::Prohibited
    );
}
