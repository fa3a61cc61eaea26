//! Content tests that name elements (MOFCOM No. 61 clause (1): China-origin Part I content at or
//! above 0.1 % of value), and scopes that require element content (No. 18), on hand-worked
//! products.
//!
//! The hand-worked product: a Japanese magnet whose REO is 75 % Nd, 20 % Pr and 5 % Dy, worth
//! US$100,000 per t of REO. Dy oxide is priced at US$200/kg = US$200,000/t. Chinese Dy at a
//! fraction `c` of the REO is worth 200,000·c per t REO, i.e. a value share of 2·c: the 0.1 %
//! threshold is crossed at c = 0.05 %.

use std::collections::BTreeMap;

use lodestone_model::{Date, Element};
use lodestone_rules::*;

const UNION: &str = "separated:CHN|metal:CHN";

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn point(from: &str, usd_per_t: f64, label: &str) -> PricePoint {
    PricePoint {
        from: d(from),
        usd_per_t,
        label: label.into(),
        source: "src".into(),
    }
}

fn part_one_rule() -> Rule {
    Rule {
        id: "no61".into(),
        title: "No. 61 clause (1)".into(),
        issuer: "CHN".into(),
        scope: Scope {
            destinations: Destinations {
                all: true,
                include: vec![],
                exclude: vec!["CHN".into()],
            },
            ..Scope::default()
        },
        kind: RuleKind::ExportControl {
            content: Some(ContentTest {
                origin_tags: vec!["separated:CHN".into(), "metal:CHN".into()],
                elements: Element::CHINA_CONTROLLED_2025.to_vec(),
                measure: Measure::Value,
                comparison: Comparison::AtOrAbove,
                threshold: 0.001,
                by_destination: vec![],
            }),
            technology_tags: vec![],
            direct: false,
            denied_end_uses: vec![],
        },
        lifecycle: Lifecycle {
            events: vec![Event {
                date: d("2025-01-01"),
                state: State::InForce,
                source: "s".into(),
                note: String::new(),
                assumed: false,
            }],
        },
        sources: vec!["s".into()],
        confidence: None,
        note: None,
        file: "policies/no61.toml".into(),
    }
}

/// One element of a hand-built product: (element, share of REO, [(tag, share of REO)]).
type ElementSpec<'a> = (Element, f64, &'a [(&'a str, f64)]);

/// A Japanese magnet with these elements; Dy and Nd/Pr priced.
fn magnet(elements: &[ElementSpec]) -> Product {
    let mut shares: BTreeMap<String, TagShare> = BTreeMap::new();
    let facts = elements
        .iter()
        .map(|(e, share, tags)| {
            for (t, c) in tags.iter() {
                shares.entry(t.to_string()).or_default().mass += c;
            }
            ElementFacts {
                element: *e,
                share: *share,
                tags: tags.iter().map(|(t, c)| (t.to_string(), *c)).collect(),
                prices: match e {
                    Element::Dy => vec![point(
                        "2025-01-01",
                        200_000.0,
                        "dy_oxide, FOB China, 2025 average",
                    )],
                    Element::Nd | Element::Pr => {
                        vec![point(
                            "2025-01-01",
                            60_000.0,
                            "ndpr_oxide, FOB China, 2025 average",
                        )]
                    }
                    _ => vec![],
                },
            }
        })
        .collect();
    Product {
        node: "jp_magnet/sintered_ndfeb".into(),
        material: Some("sintered_ndfeb".into()),
        material_stage: Some("magnet".into()),
        hs_code: Some("8505.11".into()),
        shipped_from: Some("JPN".into()),
        customs_origin: Some("JPN".into()),
        customs_origin_reason: "made in Japan".into(),
        shares,
        custody: "mass_balance".into(),
        elements: facts,
        value: vec![point("2024-01-01", 100_000.0, "recorded flows")],
    }
}

fn check(p: &Product) -> Determination {
    evaluate(&part_one_rule(), p, "USA", None, d("2027-01-01"))
}

#[test]
fn chinese_ndpr_alone_is_not_part_one_content() {
    // All the NdPr was made into metal in China; the Dy came from elsewhere.
    let p = magnet(&[
        (Element::Nd, 0.75, &[("metal:CHN", 0.75), (UNION, 0.75)]),
        (Element::Pr, 0.20, &[("metal:CHN", 0.20), (UNION, 0.20)]),
        (Element::Dy, 0.05, &[]),
    ]);
    let det = check(&p);
    assert_eq!(det.outcome, Outcome::NotRequired, "{}", det.explanation);
    assert_eq!(det.share, Some(0.0));
    assert!(
        det.explanation.contains("Sm, Gd, Tb, Dy, Lu, Sc or Y"),
        "{}",
        det.explanation
    );
}

#[test]
fn chinese_dy_either_side_of_the_threshold() {
    // Value share = 2·c (see the module note): c = 0.04995 % → 0.0999 %; 0.05 % → 0.1 %;
    // 0.05005 % → 0.1001 %.
    let at = |c: f64| {
        let p = magnet(&[
            (Element::Nd, 0.75, &[]),
            (Element::Pr, 0.20, &[]),
            (Element::Dy, 0.05, &[("separated:CHN", c), (UNION, c)]),
        ]);
        check(&p)
    };
    let below = at(0.000_499_5);
    assert_eq!(below.outcome, Outcome::NotRequired, "{}", below.explanation);
    assert!((below.share.unwrap() - 0.000_999).abs() < 1e-12);
    let exactly = at(0.000_5);
    assert_eq!(
        exactly.outcome,
        Outcome::LicenceRequired,
        "{}",
        exactly.explanation
    );
    assert!((exactly.share.unwrap() - 0.001).abs() < 1e-12);
    let above = at(0.000_500_5);
    assert_eq!(above.outcome, Outcome::LicenceRequired);
    // The explanation names the element, its share, its price and the product's value.
    assert!(
        exactly.explanation.contains("Dy 0.05 % of its REO"),
        "{}",
        exactly.explanation
    );
    assert!(
        exactly.explanation.contains("US$200/kg of oxide"),
        "{}",
        exactly.explanation
    );
    assert!(
        exactly.explanation.contains("US$100/kg of its REO"),
        "{}",
        exactly.explanation
    );
    let used: Vec<&str> = exactly.prices.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(used, ["dy", "product"]);
}

#[test]
fn chinese_dy_oxide_made_into_chinese_metal_counts_once() {
    // 0.04 % of the REO is Dy separated in China and made into metal in China: both tags carry
    // it, but the union counts it once (0.04 % → value 0.08 %, below the threshold). Adding the
    // two tags' shares would give 0.16 % and a wrong licence.
    let c = 0.000_4;
    let p = magnet(&[
        (Element::Nd, 0.75, &[]),
        (Element::Pr, 0.20, &[]),
        (
            Element::Dy,
            0.05,
            &[("separated:CHN", c), ("metal:CHN", c), (UNION, c)],
        ),
    ]);
    let det = check(&p);
    assert_eq!(det.outcome, Outcome::NotRequired, "{}", det.explanation);
    assert!((det.share.unwrap() - 0.000_8).abs() < 1e-12);
}

#[test]
fn partly_priced_content_is_indeterminate_unless_the_priced_part_decides() {
    // Chinese Tb has no price: with Chinese Dy below the threshold the answer cannot be given.
    let small = magnet(&[
        (Element::Nd, 0.74, &[]),
        (Element::Dy, 0.05, &[(UNION, 0.000_1)]),
        (Element::Tb, 0.01, &[(UNION, 0.01)]),
    ]);
    let det = check(&small);
    assert_eq!(det.outcome, Outcome::Indeterminate, "{}", det.explanation);
    assert!(
        det.explanation.contains("unpriced: Tb"),
        "{}",
        det.explanation
    );
    // With Chinese Dy alone above the threshold, the unpriced Tb cannot change the answer.
    let big = magnet(&[
        (Element::Nd, 0.74, &[]),
        (Element::Dy, 0.05, &[(UNION, 0.01)]),
        (Element::Tb, 0.01, &[(UNION, 0.01)]),
    ]);
    assert_eq!(check(&big).outcome, Outcome::LicenceRequired);
}

#[test]
fn unresolved_chinese_content_keeps_the_answer_open() {
    // 10 % of the REO is Chinese-separated content of unknown composition: it might be Dy.
    let mut p = magnet(&[
        (Element::Nd, 0.75, &[]),
        (Element::Other, 0.10, &[(UNION, 0.10)]),
    ]);
    p.shares.insert(
        UNION.into(),
        TagShare {
            mass: 0.10,
            value: None,
            value_coverage: None,
        },
    );
    let det = check(&p);
    assert_eq!(det.outcome, Outcome::Indeterminate, "{}", det.explanation);
    assert!(
        det.explanation.contains("unresolved composition"),
        "{}",
        det.explanation
    );
}

#[test]
fn a_product_without_value_cannot_be_valued() {
    let mut p = magnet(&[(Element::Dy, 0.05, &[(UNION, 0.05)])]);
    p.value.clear();
    assert_eq!(check(&p).outcome, Outcome::Indeterminate);
}

#[test]
fn a_scope_of_items_containing_the_seven_leaves_ndpr_products_out() {
    let mut rule = part_one_rule();
    rule.scope.containing_elements = Element::CHINA_CONTROLLED_2025.to_vec();
    rule.kind = RuleKind::ExportControl {
        content: None,
        technology_tags: vec![],
        direct: true,
        denied_end_uses: vec![],
    };
    let mut free = magnet(&[(Element::Nd, 0.75, &[]), (Element::Pr, 0.25, &[])]);
    free.shipped_from = Some("CHN".into());
    let det = evaluate(&rule, &free, "USA", None, d("2025-06-01"));
    assert_eq!(det.outcome, Outcome::NotApplicable, "{}", det.explanation);
    assert!(
        det.explanation.contains("contains none"),
        "{}",
        det.explanation
    );
    let mut with_dy = magnet(&[(Element::Nd, 0.75, &[]), (Element::Dy, 0.05, &[])]);
    with_dy.shipped_from = Some("CHN".into());
    assert_eq!(
        evaluate(&rule, &with_dy, "USA", None, d("2025-06-01")).outcome,
        Outcome::LicenceRequired
    );
    // A sale within China is not an export, whatever it contains.
    assert_eq!(
        evaluate(&rule, &with_dy, "CHN", None, d("2025-06-01")).outcome,
        Outcome::NotApplicable
    );
}

#[test]
fn a_state_resting_on_an_assumption_says_so() {
    let mut rule = part_one_rule();
    rule.lifecycle.events[0].assumed = true;
    rule.lifecycle.events[0].note = "Assumed: the suspension lapses.".into();
    let p = magnet(&[(Element::Dy, 0.05, &[(UNION, 0.05)])]);
    let det = evaluate(&rule, &p, "USA", None, d("2027-01-01"));
    assert_eq!(
        det.assumption.as_deref(),
        Some("Assumed: the suspension lapses.")
    );
    rule.lifecycle.events[0].assumed = false;
    let det = evaluate(&rule, &p, "USA", None, d("2027-01-01"));
    assert_eq!(det.assumption, None);
}

/// A rule over all rare-earth content (no elements named) still says which elements its origin
/// content is: Chinese Nd at 20 % and Chinese Dy at 5 % of the REO are 25 % by mass, of which
/// Nd 80.0 % and Dy 20.0 %.
#[test]
fn a_reo_level_test_names_the_elements_of_the_content_it_measured() {
    let mut rule = part_one_rule();
    if let RuleKind::ExportControl {
        content: Some(ct), ..
    } = &mut rule.kind
    {
        ct.elements.clear();
        ct.measure = Measure::Mass;
        ct.threshold = 0.25;
    }
    let p = magnet(&[
        (Element::Nd, 0.75, &[(UNION, 0.20), ("separated:CHN", 0.20)]),
        (Element::Pr, 0.20, &[]),
        (Element::Dy, 0.05, &[(UNION, 0.05), ("separated:CHN", 0.05)]),
    ]);
    let det = evaluate(&rule, &p, "USA", None, d("2027-01-01"));
    assert_eq!(det.outcome, Outcome::LicenceRequired, "{}", det.explanation);
    assert!(
        det.explanation.contains(
            "is 25.00 % of the product's rare-earth content (by element: Nd 80.0 %, Dy 20.0 %)"
        ),
        "{}",
        det.explanation
    );
}
