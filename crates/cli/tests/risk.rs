//! `lodestone risk` on hand-checkable data.

mod common;

use common::*;

#[test]
fn usgs_mining_shares_are_reproduced() {
    // USGS MCS 2026, 2024: China 270,000 of a published world total of 380,000 t REO = 71.1 %.
    let rows = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "production",
        "--stage",
        "mining",
        "--material",
        "re_concentrate",
        "--format",
        "json",
    ]);
    assert_eq!(rows["basis"], "production");
    let chn = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["supplier"] == "CHN")
        .unwrap();
    assert!((chn["share"].as_f64().unwrap() - 270_000.0 / 380_000.0).abs() < 1e-12);
    assert_eq!(rows["year"], 2024);
    assert_eq!(chn["sources"][0], "usgs_mcs2026_ree");
    for key in [
        "material",
        "stage",
        "supplier",
        "supplier_name",
        "share",
        "hhi",
    ] {
        assert!(!chn[key].is_null(), "{key}");
    }
}

#[test]
fn shares_of_every_view_sum_to_one() {
    let rows = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "flow",
        "--format",
        "json",
    ]);
    let mut sums: std::collections::BTreeMap<(String, String), f64> = Default::default();
    for r in rows["rows"].as_array().unwrap() {
        *sums
            .entry((
                r["material"].as_str().unwrap().into(),
                r["stage"].as_str().unwrap().into(),
            ))
            .or_default() += r["share"].as_f64().unwrap();
    }
    assert!(!sums.is_empty());
    for (k, s) in sums {
        assert!((s - 1.0).abs() < 1e-9, "{k:?}: {s}");
    }
}

#[test]
fn critical_facilities_with_and_without_rerouting_by_hand() {
    // Test dataset: China receives 3,261 t REO of Kuantan oxide (from Mt Weld ore) and 37,213 t
    // REO of Mountain Pass concentrate. If Mountain Pass stops, Kuantan can add its spare
    // capacity (10,500 − 3,261 t NdPr oxide) fed by Mt Weld's 13,000 t: China then gets
    // 10,500 t, losing 40,474 − 10,500 = 29,974 t. If Kuantan or Mt Weld stops, Mountain Pass's
    // spare 50,692 − 37,213 = 13,479 t covers the 3,261 t: no loss with re-routing.
    let base = repo_root().join("tests/data/base");
    let rows = ok_json(&[
        "risk",
        "critical",
        "--data",
        base.to_str().unwrap(),
        "--country",
        "CHN",
        "--format",
        "json",
    ]);
    let get = |f: &str| {
        rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["facility"] == f)
            .unwrap()
            .clone()
    };
    let mp = get("mp_mountain_pass");
    assert!((mp["loss_without_rerouting"].as_f64().unwrap() - 37_213.0).abs() < 1e-6);
    assert!((mp["loss_with_rerouting"].as_f64().unwrap() - 29_974.0).abs() < 1e-6);
    assert!((mp["share"].as_f64().unwrap() - 37_213.0 / 40_474.0).abs() < 1e-12);
    let lamp = get("lynas_lamp_kuantan");
    assert!((lamp["loss_without_rerouting"].as_f64().unwrap() - 3_261.0).abs() < 1e-6);
    assert_eq!(lamp["loss_with_rerouting"].as_f64().unwrap(), 0.0);
}

#[test]
fn dependency_separates_direct_from_traced() {
    // In the test dataset, China's receipts: 3,261 t REO shipped from Malaysia (Kuantan), all
    // mined in Australia; 37,213 t shipped from the US, mined there.
    let base = repo_root().join("tests/data/base");
    let rows = ok_json(&[
        "risk",
        "dependency",
        "--data",
        base.to_str().unwrap(),
        "--country",
        "CHN",
        "--format",
        "json",
    ]);
    let row = |stage: &str, origin: &str| {
        rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["traced_stage"] == stage && r["origin"] == origin)
            .cloned()
    };
    let aus = row("mined", "AUS").unwrap();
    assert_eq!(aus["direct"], 0.0);
    assert!((aus["traced"].as_f64().unwrap() - 3_261.0 / 40_474.0).abs() < 1e-12);
    let mys = row("mined", "MYS").unwrap();
    assert!((mys["direct"].as_f64().unwrap() - 3_261.0 / 40_474.0).abs() < 1e-12);
    assert_eq!(mys["traced"], 0.0);
    let out = lodestone(&repo_root(), &["risk", "dependency", "--country", "XX"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The capacity basis counts only plants in service in the year asked (India's NdPr line that
/// started in 2025 is not in 2024) and no capacity that is only a target (Solvay La Rochelle's
/// 4,500 t/yr by 2030 is in neither year), and says how much of the stage's traced output the
/// recorded capacities cover: Malaysia's "91 % of NdPr separation capacity" in 2024 rests on
/// plants shipping about 3 % of the separated output, and is labelled incomplete.
#[test]
fn capacity_shares_are_of_the_year_and_say_how_complete_they_are() {
    let rows = |year: &str| {
        ok_json(&[
            "risk",
            "concentration",
            "--basis",
            "capacity",
            "--stage",
            "separation",
            "--year",
            year,
            "--format",
            "json",
        ])
    };
    let suppliers = |v: &serde_json::Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["supplier"].as_str().unwrap().to_string())
            .collect()
    };
    let (y24, y25) = (rows("2024"), rows("2025"));
    assert!(!suppliers(&y24).contains(&"IND".to_string()), "{y24}");
    assert!(suppliers(&y25).contains(&"IND".to_string()), "{y25}");
    assert!(!suppliers(&y25).contains(&"FRA".to_string()), "{y25}");
    let mys = y24["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["material"] == "ndpr_oxide" && r["supplier"] == "MYS")
        .unwrap();
    assert!(mys["share"].as_f64().unwrap() > 0.9);
    let coverage = mys["basis_coverage"].as_f64().unwrap();
    assert!(coverage > 0.0 && coverage < 0.8, "{coverage}");
    let text = ok(&[
        "risk",
        "concentration",
        "--basis",
        "capacity",
        "--stage",
        "separation",
        "--year",
        "2024",
    ]);
    assert!(
        text.starts_with("NdPr oxide (separation): the recorded capacities cover 3.3 % of the stage's traced output: INCOMPLETE basis"),
        "{text}"
    );
    // The other bases carry no coverage.
    let flow = ok_json(&[
        "risk",
        "concentration",
        "--stage",
        "separation",
        "--format",
        "json",
    ]);
    assert!(flow["rows"][0]["basis_coverage"].is_null());
}

/// The traced flow basis against the published shares (the production basis: USGS mine
/// production; the IEA's 2024 separation of magnet rare earths; the IEA's headline shares of
/// separation and magnet-making), 2024, with the tolerance each
/// comparison allows and why. A gap beyond its tolerance fails: the data or this table must
/// change, in review.
#[test]
fn traced_shares_agree_with_the_published_ones_within_stated_tolerances() {
    let share = |basis: &str, stage: &str, material: &str, country: &str| -> f64 {
        let v = ok_json(&[
            "risk",
            "concentration",
            "--basis",
            basis,
            "--stage",
            stage,
            "--year",
            "2024",
            "--format",
            "json",
        ]);
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["material"] == material && r["supplier"] == country)
            .map_or(0.0, |r| r["share"].as_f64().unwrap())
    };
    // (stage, country, published material, tolerance in share points, why the tolerance)
    let table = [
        (
            "mining",
            "CHN",
            "re_concentrate",
            0.04,
            "USGS's world total counts Russia, Vietnam and other countries, which have no mine in the flows, and Australia's revised 29,000 t (the flows carry 13,000 t: a named conflict in `reconcile`); without those 19,400 t and more of the 380,000 t, China's 270,000 t is 74.9 % or more",
        ),
        (
            "separation",
            "CHN",
            "magnet_rare_earths",
            0.03,
            "the IEA's share is of magnet rare earths; the flows' is of all separated REO",
        ),
        (
            "separation",
            "MYS",
            "magnet_rare_earths",
            0.02,
            "as for China; the IEA's Malaysian basket is smaller than Lynas's own calendar-2024 NdPr (a named conflict in `reconcile`)",
        ),
    ];
    for (stage, country, material, tolerance, why) in table {
        let published = share("production", stage, material, country);
        let traced = share("flow", stage, "all", country);
        assert!(published > 0.0, "{stage} {country}: no published share");
        assert!(
            (traced - published).abs() <= tolerance,
            "{stage} {country}: traced {traced:.4} against published {published:.4}, beyond {tolerance} ({why})"
        );
    } // Shares the IEA publishes only as shares (no tonnage, so not in production.csv): its
    // commentary of 23 Oct 2025 as Rare Earth Exchanges paraphrased it (reex_iea_2025_10_23),
    // with no reference year. (stage, country, published share, tolerance, why)
    let shares_only = [
        (
            "separation",
            "CHN",
            0.91,
            0.03,
            "\"91 percent of global rare-earth separation\": a rounded share of unstated basis and year; the flows' is of the t REO first separated in 2024",
        ),
        (
            "magnet",
            "CHN",
            0.94,
            0.05,
            "\"94 percent of permanent-magnet manufacturing\": of unstated basis (magnet tonnes, perhaps with bonded and SmCo) and year; the flows' is of the t REO first made into magnets in 2024, where Japan's makers (9.9 %) are estimates from capacities",
        ),
    ];
    for (stage, country, published, tolerance, why) in shares_only {
        let traced = share("flow", stage, "all", country);
        assert!(
            (traced - published).abs() <= tolerance,
            "{stage} {country}: traced {traced:.4} against the IEA's {published}, beyond {tolerance} ({why})"
        );
    }
}

/// A flow-basis share whose country's published figure the flows contradict says so on its row,
/// in the table's note and before the table; a share the figure confirms says that too.
/// 2024: Australia's mining (USGS 29,000 t REO; the flows carry 13,000) is a conflict; China's
/// (270,000) agrees.
#[test]
fn flow_shares_carry_the_published_figures_they_agree_or_conflict_with() {
    let v = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "flow",
        "--stage",
        "mining",
        "--year",
        "2024",
        "--format",
        "json",
    ]);
    let row = |c: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["material"] == "all" && r["supplier"] == c)
            .unwrap_or_else(|| panic!("no row for {c}"))
            .clone()
    };
    let aus = &row("AUS")["published"][0];
    assert_eq!(aus["figure"], "mine production, AUS");
    assert_eq!(aus["status"], "conflict");
    assert_eq!(aus["published"].as_f64(), Some(29_000.0));
    // The flows carry 13,000 t; reconciled with every other figure of the year they give a few
    // tonnes less.
    assert!(
        (aus["flows"].as_f64().unwrap() - 13_000.0).abs() < 5.0,
        "{aus}"
    );
    let chn = &row("CHN")["published"][0];
    assert_eq!(chn["status"], "reconciled");
    let note = v["basis_note"].as_str().unwrap();
    assert!(
        note.contains("CONFLICTS") && note.contains("mine production, AUS"),
        "{note}"
    );
    let text = ok(&[
        "risk",
        "concentration",
        "--basis",
        "flow",
        "--stage",
        "mining",
        "--year",
        "2024",
    ]);
    assert!(
        text.contains("CONFLICT with mine production, AUS: published 29,000 ± 1,450 t REO"),
        "{text}"
    );
    // By company, a company's own reports: Lynas's calendar 2024 from its fiscal quarters.
    let by_company = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "flow",
        "--stage",
        "separation",
        "--view",
        "company",
        "--material",
        "all",
        "--year",
        "2024",
        "--format",
        "json",
    ]);
    let lynas = by_company["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["supplier"] == "lynas_rare_earths")
        .expect("Lynas separates");
    assert_eq!(
        lynas["published"][0]["figure"],
        "separation output, lynas_rare_earths"
    );
    assert_eq!(lynas["published"][0]["status"], "reconciled");
    assert_eq!(lynas["published"][0]["published"].as_f64(), Some(11_072.0));
    // Other bases are not checked against the flows' figures.
    let capacity = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "capacity",
        "--year",
        "2024",
        "--format",
        "json",
    ]);
    assert!(
        capacity["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["published"].as_array().unwrap().is_empty())
    );
}

/// Every separator outside China that ships in a year appears in the traced separation shares
/// with its own output: the Estonian and French plants' feed comes from Russia or from an origin
/// not known (`XXX`), not through the rest-of-world market, where it mixed with Chinese oxide
/// and their output counted as separated before it reached them (it showed 0 t).
#[test]
fn every_separator_outside_china_shows_its_output() {
    let v = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "flow",
        "--stage",
        "separation",
        "--scope",
        "outside_china",
        "--view",
        "facility",
        "--material",
        "all",
        "--year",
        "2025",
        "--format",
        "json",
    ]);
    let quantity = |facility: &str| -> f64 {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["supplier"] == facility)
            .map_or(0.0, |r| r["quantity"].as_f64().unwrap())
    };
    // Silmet ships 2,020 t of compounds and 80 t of NdPr oxide; Solvay 300 t.
    assert!((quantity("neo_silmet") - 2_100.0).abs() < 1.0, "{v}");
    assert!((quantity("solvay_la_rochelle") - 300.0).abs() < 1.0, "{v}");
    for plant in ["lynas_lamp_kuantan", "mp_mountain_pass"] {
        assert!(quantity(plant) > 1_000.0, "{plant}");
    }
}

/// A production-basis share needs a whole to be a share of: a published world total or a rest
/// of the world. Company figures alone (Lynas's and MP's separated output in 2025) are not
/// shown as "Malaysia 72.9 % of NdPr oxide"; asking for them is an error that names the years
/// that have a whole (2024: the IEA's magnet rare earths by country).
#[test]
fn production_shares_need_a_published_whole() {
    let out = lodestone(
        &repo_root(),
        &[
            "risk",
            "concentration",
            "--basis",
            "production",
            "--stage",
            "separation",
            "--year",
            "2025",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("world total") && err.contains("2024"), "{err}");
    let v = ok_json(&[
        "risk",
        "concentration",
        "--basis",
        "production",
        "--stage",
        "separation",
        "--year",
        "2024",
        "--format",
        "json",
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| r["material"] == "magnet_rare_earths"),
        "only the IEA's basket, which has a world total: {v}"
    );
    let sum: f64 = rows.iter().map(|r| r["share"].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-9);
}
