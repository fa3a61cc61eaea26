//! An agreement's computed impact, on a hand-worked case: a new Malaysian separation plant
//! with Chinese technology, fed from Perak and shipping NdPr oxide to Japan.

use std::collections::BTreeMap;
use std::path::Path;

use lodestone_model::Date;
use lodestone_world::views::Analysis;
use lodestone_world::views::impact::{Addition, ImpactQuery, impact, with_additions};

fn bundled() -> Analysis {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
    let (world, report) = lodestone_world::load_dir(&dir).unwrap();
    assert!(!report.has_errors());
    Analysis::new(world)
}

fn add(id: &str, table: &str, row: &[(&str, &str)]) -> Addition {
    Addition {
        id: id.into(),
        table: table.into(),
        row: row
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        replaces: None,
    }
}

fn refinery() -> Vec<Addition> {
    vec![
        add(
            "plant",
            "facilities",
            &[
                ("id", "test_perak_refinery"),
                ("name", "Test refinery, Perak"),
                ("operator", "mcre"),
                ("country", "MYS"),
                ("stages", "separation"),
                ("products", "ndpr_oxide;dy_oxide"),
                ("capacity", "2000"),
                ("capacity_material", "ndpr_oxide"),
                ("capacity_basis", "design"),
                ("status", "operating"),
                ("start_date", "2025-01"),
                ("technology_origin", "CHN"),
                ("source", "seed_commentary"),
            ],
        ),
        Addition {
            replaces: Some("mcre_to_china_2025".into()),
            ..add(
                "feed",
                "flows",
                &[
                    ("id", "mcre_to_china_2025"),
                    ("from", "mcre_kenering_perak"),
                    ("to", "test_perak_refinery"),
                    ("material", "mixed_re_carbonate"),
                    ("year", "2025"),
                    ("quantity", "1000"),
                    ("basis", "estimate"),
                    ("source", "seed_commentary"),
                    ("confidence", "low"),
                    (
                        "method",
                        "Test: half of MCRE's carbonate rerouted to the new refinery.",
                    ),
                ],
            )
        },
        add(
            "offtake",
            "flows",
            &[
                ("id", "test_refinery_to_japan_2025"),
                ("from", "test_perak_refinery"),
                ("to", "JPN"),
                ("material", "ndpr_oxide"),
                ("year", "2025"),
                ("quantity", "900"),
                ("basis", "estimate"),
                ("source", "seed_commentary"),
                ("confidence", "low"),
                (
                    "method",
                    "Test: the refinery's NdPr oxide shipped to Japan.",
                ),
            ],
        ),
        add(
            "offtake_dy",
            "flows",
            &[
                ("id", "test_refinery_dy_to_usa_2025"),
                ("from", "test_perak_refinery"),
                ("to", "USA"),
                ("material", "dy_oxide"),
                ("year", "2025"),
                ("quantity", "100"),
                ("basis", "estimate"),
                ("source", "seed_commentary"),
                ("confidence", "low"),
                ("method", "Test: the refinery's Dy oxide shipped to the US."),
            ],
        ),
    ]
}

#[test]
fn a_new_refinery_changes_the_countrys_shares_as_worked_by_hand() {
    let a = bundled();
    let q = ImpactQuery {
        country: "Malaysia".into(),
        year: 2025,
        as_of: Date::parse("2026-12-01").unwrap(),
        additions: refinery(),
        destinations: vec![("USA".into(), None)],
        also_on: vec![],
        nodes: vec![],
        note: None,
        scenarios: vec![],
        runs: None,
    };
    let v = impact(&a, &q).unwrap();
    assert_eq!(v.country, "MYS");
    let cap = v
        .items
        .iter()
        .find(|i| i.item == "separation_capacity_share_outside_china:ndpr_oxide")
        .unwrap();
    assert!(
        cap.finding.ends_with("10500 → 12500 t/yr"),
        "{}",
        cap.finding
    );
    // NdPr oxide separation capacity outside China in service in 2025: LAMP 10,500, White Mesa
    // 1,000, IREL 500 t/yr (the concentration table). With 2,000 more in Malaysia:
    // 10,500 / 12,000 = 87.5 % before, 12,500 / 14,000 = 89.29 % after.
    assert!(
        (cap.before.unwrap() - 10_500.0 / 12_000.0).abs() < 1e-9,
        "{cap:?}"
    );
    assert!(
        (cap.after.unwrap() - 12_500.0 / 14_000.0).abs() < 1e-9,
        "{cap:?}"
    );
    let flow = v
        .items
        .iter()
        .find(|i| i.item == "separation_output_share_outside_china:all")
        .unwrap();
    assert!(flow.after.unwrap() > flow.before.unwrap(), "{flow:?}");
    // 100 t of Dy oxide separated in Malaysia reach the US: its traced dependency on China's
    // separation falls, and its receipts grow by those 100 t.
    let dep = v
        .items
        .iter()
        .find(|i| i.item == "dependency:USA:separated")
        .unwrap();
    assert!(dep.after.unwrap() < dep.before.unwrap(), "{dep:?}");
    // "receipts A → B t REO": the 100 t added, whatever the dataset's total.
    let receipts: Vec<f64> = dep
        .finding
        .split("receipts ")
        .nth(1)
        .and_then(|r| r.split(" t REO").next())
        .map(|r| r.split(" → ").map(|x| x.parse().unwrap()).collect())
        .unwrap_or_default();
    assert!(
        receipts.len() == 2 && (receipts[1] - receipts[0] - 100.0).abs() < 0.5,
        "{}",
        dep.finding
    );
    // NdPr oxide is not an Annex 1 item: no rule bites on it.
    let ndpr = v
        .items
        .iter()
        .find(|i| {
            i.item
                .starts_with("rules:test_perak_refinery/ndpr_oxide:USA")
        })
        .unwrap();
    assert_eq!(ndpr.finding, "None of 10 rules bites.");
    // Its Dy oxide, made with Chinese separation technology, shipped to the US on 2026-12-01:
    // China's technology-origin clause (No. 61 (2), assumed back in force after the suspension
    // lapsed on 10 Nov 2026) requires a licence.
    let rules = v
        .items
        .iter()
        .find(|i| i.item.starts_with("rules:test_perak_refinery/dy_oxide:USA"))
        .unwrap();
    assert!(rules.finding.contains("clause (2)"), "{}", rules.finding);
    assert!(
        rules
            .evidence
            .iter()
            .any(|e| e.starts_with("china_mofcom_61_2025_technology → licence_required")),
        "{:?}",
        rules.evidence
    );
}

#[test]
fn an_effect_that_does_not_validate_is_named() {
    let a = bundled();
    let mut bad = refinery();
    bad[0]
        .row
        .insert("operator".into(), "no_such_company".into());
    let err = with_additions(&a.world, &bad).unwrap_err().to_string();
    assert!(err.contains("effect plant: facilities.csv:"), "{err}");
    assert!(err.contains("no_such_company"), "{err}");
    let mut typo = refinery();
    typo[1].row.insert("quantitty".into(), "5".into());
    let err = with_additions(&a.world, &typo).unwrap_err().to_string();
    assert!(
        err.contains("effect feed: flows has no column \"quantitty\""),
        "{err}"
    );
    let mut missing = refinery();
    missing[1].replaces = Some("no_such_flow".into());
    let err = with_additions(&a.world, &missing).unwrap_err().to_string();
    assert!(
        err.contains("effect feed: flows has no row \"no_such_flow\" to replace"),
        "{err}"
    );
}

#[test]
fn an_agreement_without_effects_changes_nothing() {
    let a = bundled();
    let q = ImpactQuery {
        country: "MYS".into(),
        year: 2025,
        as_of: Date::parse("2026-12-01").unwrap(),
        additions: vec![],
        destinations: vec![("USA".into(), None)],
        also_on: vec![],
        nodes: vec![],
        note: None,
        scenarios: vec!["kuantan_outage".into()],
        runs: Some(20),
    };
    let v = impact(&a, &q).unwrap();
    for i in v.items.iter().filter(|i| i.unit == "share") {
        assert_eq!(i.before, i.after, "{i:?}");
    }
    // The scenario ran, with the same seeds on the same network: the same shortfalls.
    assert!(
        v.items
            .iter()
            .any(|i| i.item == "scenario:kuantan_outage:USA"),
        "{:#?}",
        v.items.iter().map(|i| &i.item).collect::<Vec<_>>()
    );
    let b = v.items.iter().find(|i| i.item == "benchmarks").unwrap();
    assert!(
        b.finding.starts_with("No benchmark value changes"),
        "{}",
        b.finding
    );
}

#[test]
fn value_added_is_computed_only_when_every_flow_has_a_price() {
    let a = bundled();
    let q = ImpactQuery {
        country: "MYS".into(),
        year: 2025,
        as_of: Date::parse("2026-12-01").unwrap(),
        additions: refinery(),
        destinations: vec![],
        also_on: vec![],
        nodes: vec![],
        note: None,
        scenarios: vec![],
        runs: None,
    };
    let v = impact(&a, &q).unwrap();
    let value = v
        .items
        .iter()
        .find(|i| i.item == "value_added:test_perak_refinery")
        .unwrap();
    // The carbonate fed in has no price in the dataset, so nothing is added up.
    assert_eq!(value.after, None);
    assert!(
        value.finding.starts_with("test_perak_refinery: not computed — no price in the dataset for 1000 t REO of mixed_re_carbonate"),
        "{}",
        value.finding
    );
    // What is priced is shown: 100 t of Dy oxide at the 2025 FOB China average, US$239/kg
    // (prices.csv, USGS MCS 2026).
    assert!(
        value
            .evidence
            .iter()
            .any(|e| e.starts_with("out: 100 t REO of dy_oxide at US$239000/t REO")),
        "{:?}",
        value.evidence
    );
}

#[test]
fn a_misspelt_assessment_key_is_an_error_naming_the_valid_ones() {
    use lodestone_world::views::impact::Assessment;
    let err = serde_json::from_value::<Assessment>(
        serde_json::json!({"destination": [{"country": "JPN"}]}),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unknown field `destination`") && err.contains("`destinations`"),
        "{err}"
    );
    let err = serde_json::from_value::<Assessment>(
        serde_json::json!({"destinations": [{"country": "JPN", "end-use": "defence"}]}),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unknown field `end-use`") && err.contains("`end_use`"),
        "{err}"
    );
    let a: Assessment =
        serde_json::from_value(serde_json::json!({"year": 2024, "also_on": ["2027-01-01"]}))
            .unwrap();
    let q = a.query(vec![], Date::parse("2026-12-01").unwrap());
    assert_eq!(
        (q.country.as_str(), q.year, q.as_of.to_string().as_str()),
        ("MYS", 2024, "2026-12-01")
    );
}
