//! `lodestone rules` end to end: a fixture dataset with hand-checkable products, exit codes, and
//! snapshots of every bundled rule evaluated on the bundled dataset.

mod common;

use common::*;

fn fixture() -> String {
    repo_root()
        .join("tests/data/rules/world")
        .to_string_lossy()
        .into_owned()
}

fn by_rule<'a>(rows: &'a serde_json::Value, rule: &str, custody: &str) -> &'a serde_json::Value {
    rows["determinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule && r["custody"] == custody)
        .unwrap()
}

#[test]
fn a_magnet_sintered_in_vietnam_from_chinese_oxide_is_vietnamese_for_tariffs_and_chinese_for_content()
 {
    let f = fixture();
    let rows = ok_json(&[
        "rules",
        "check",
        "--data",
        &f,
        "--node",
        "vn_magnet_plant/sintered_ndfeb",
        "--destination",
        "USA",
        "--as-of",
        "2025-12-01",
        "--format",
        "json",
    ]);
    let tariff = by_rule(&rows, "example", "mass_balance");
    assert_eq!(tariff["determination"], "not_applicable");
    assert!(
        tariff["explanation"]
            .as_str()
            .unwrap()
            .contains("customs origin is VNM")
    );
    let control = by_rule(&rows, "cn_content", "mass_balance");
    assert_eq!(control["determination"], "licence_required");
    // Value share, per t REO: oxide at 56,000 USD/t REO in a magnet worth 80,000 USD/t at
    // 36.2 % REO. Only 37,213 of the 40,474 t REO that the Chinese market feeds to the separator
    // had not been separated before (the rest is Lynas NdPr oxide, separated in Malaysia), and
    // separation origin is where content was first separated: 91.94 % of it is separated:CHN.
    let first_separated_in_china = 37_213.0 / (37_213.0 + 3_261.0);
    let share = control["share"].as_f64().unwrap();
    assert!(
        (share - first_separated_in_china * 56_000.0 / (80_000.0 / 0.362)).abs() < 1e-9,
        "{share}"
    );
    assert_eq!(control["threshold"], 0.001);
    assert_eq!(control["comparison"], "at_or_above");
    assert!(!control["paths"].as_array().unwrap().is_empty());
    assert_eq!(control["sources"][0]["publisher"], "Lodestone tests");
    // The same Chinese oxide shipped as such has Chinese customs origin: the tariff applies.
    let rows = ok_json(&[
        "rules",
        "check",
        "--data",
        &f,
        "--node",
        "china_separation/ndpr_oxide",
        "--destination",
        "USA",
        "--as-of",
        "2025-12-01",
        "--format",
        "json",
    ]);
    let tariff = by_rule(&rows, "example", "mass_balance");
    assert_eq!(tariff["determination"], "tariff");
    assert_eq!(tariff["rate"], 0.25);
}

#[test]
fn mass_balance_and_segregated_custody_give_different_determinations_both_reported() {
    let f = fixture();
    let rows = ok_json(&[
        "rules",
        "check",
        "--data",
        &f,
        "--node",
        "jp_magnet_plant/sintered_ndfeb@lynas_line",
        "--destination",
        "USA",
        "--end-use",
        "defence",
        "--as-of",
        "2025-12-01",
        "--custody",
        "compare",
        "--format",
        "json",
    ]);
    let mb = by_rule(&rows, "us_procurement", "mass_balance");
    let sg = by_rule(&rows, "us_procurement", "segregated");
    assert_eq!(mb["determination"], "prohibited");
    assert_eq!(sg["determination"], "not_required");
    // Mass balance mixes 151.71 t REO of Chinese metal into 368.91 t REO of inputs.
    let share = mb["share"].as_f64().unwrap();
    assert!(
        (share - 130.0 * 1.167 / (217.2 + 130.0 * 1.167)).abs() < 1e-9,
        "{share}"
    );
    assert_eq!(sg["share"], 0.0);
}

#[test]
fn the_timeline_shows_each_change_and_why() {
    let f = fixture();
    let rows = ok_json(&[
        "rules",
        "timeline",
        "--data",
        &f,
        "--node",
        "vn_magnet_plant/sintered_ndfeb",
        "--destination",
        "USA",
        "--format",
        "json",
    ]);
    assert_eq!(rows["timelines"][0]["custody"], "mass_balance");
    let changes: Vec<(String, String, String)> = rows["timelines"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["changes"].as_array().unwrap().iter().map(move |c| {
                (
                    e["date"].as_str().unwrap().to_string(),
                    c["rule"].as_str().unwrap().to_string(),
                    c["to"].as_str().unwrap().to_string(),
                )
            })
        })
        .filter(|(_, rule, _)| rule == "cn_content")
        .collect();
    let want = [
        ("2025-12-01", "cn_content", "licence_required"),
        ("2026-11-07", "cn_content", "not_applicable"),
        ("2026-11-11", "cn_content", "licence_required"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(changes, want);
}

#[test]
fn bad_arguments_exit_2_with_what_would_be_valid() {
    let f = fixture();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "rules",
                "check",
                "--data",
                &f,
                "--node",
                "vn_magnet_plant/sintered_ndfeb",
                "--destination",
                "USA",
                "--custody",
                "segregate",
            ],
            "did you mean 'segregated'",
        ),
        (
            &["rules", "list", "--data", &f, "--format", "jsn"],
            "did you mean 'json'",
        ),
        (
            &[
                "rules",
                "check",
                "--data",
                &f,
                "--node",
                "vn_magnet_plant/magnets",
                "--destination",
                "USA",
            ],
            "vn_magnet_plant/sintered_ndfeb",
        ),
        (
            &[
                "rules",
                "check",
                "--data",
                &f,
                "--node",
                "vn_magnet_plant/sintered_ndfeb",
                "--destination",
                "XX",
            ],
            "USA",
        ),
        (
            &[
                "rules",
                "check",
                "--data",
                &f,
                "--node",
                "vn_magnet_plant/sintered_ndfeb",
                "--destination",
                "USA",
                "--as-of",
                "2025-13-01",
            ],
            "YYYY-MM-DD",
        ),
        (
            &["rules", "list", "--data", &f, "--as-of", "01/12/2025"],
            "YYYY-MM-DD",
        ),
    ];
    for (args, hint) in cases {
        let out = lodestone(&repo_root(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(hint), "{args:?}: {err}");
    }
}

#[test]
fn a_bad_rule_file_is_a_located_error_with_exit_1() {
    let dir = materialize(
        &repo_root().join("tests/data/check/bad_rule"),
        "rules_bad_rule",
    );
    let out = lodestone(&dir, &["rules", "list", "--data", "."]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("policies/example.toml:9: material 'ndpr_oxyde'"),
        "{err}"
    );
}

#[test]
fn rules_list_reports_the_state_on_the_date() {
    let rows = ok_json(&["rules", "list", "--as-of", "2025-12-01", "--format", "json"]);
    assert_eq!(rows["as_of"], "2025-12-01");
    let state = |id: &str| {
        rows["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state("china_mofcom_18_2025"), "in_force");
    assert_eq!(state("china_mofcom_61_2025"), "suspended");
    assert_eq!(state("us_china_tariff_100pct_2025"), "never_implemented");
    for r in rows["rules"].as_array().unwrap() {
        for key in ["id", "kind", "issuer", "title", "state"] {
            assert!(r[key].is_string(), "{key} in {r}");
        }
    }
    let before = ok_json(&["rules", "list", "--as-of", "2025-10-08", "--format", "json"]);
    let s = before["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "china_mofcom_61_2025")
        .unwrap();
    assert_eq!(s["state"], "not_announced");
}

#[test]
fn every_bundled_rule_on_the_bundled_dataset_matches_its_snapshot() {
    let dir = repo_root().join("tests/data/rules");
    let list = lodestone(
        &repo_root(),
        &["rules", "list", "--as-of", "2026-12-01", "--format", "csv"],
    );
    assert_eq!(list.status.code(), Some(0));
    expect_file(
        &dir.join("bundled_list_2026-12-01.csv"),
        &String::from_utf8(list.stdout).unwrap(),
    );
    // The dates that matter: No. 61 due and suspended (1 Dec 2025), the suspension's assumed
    // lapse (11 Nov 2026), DFARS's expanded test (1 Jan 2027); on the 2024 flows.
    for (dest, date, end_use) in [
        ("USA", "2025-12-01", "defence"),
        ("USA", "2027-01-01", "defence"),
        ("DEU", "2026-12-01", "civil"),
        ("USA", "2025-12-01", "civil"),
        ("USA", "2026-11-11", "civil"),
        ("KOR", "2027-01-01", "civil"),
    ] {
        let text = ok(&[
            "rules",
            "check",
            "--all",
            "--destination",
            dest,
            "--as-of",
            date,
            "--end-use",
            end_use,
            "--format",
            "csv",
        ]);
        assert!(
            text.lines().count() > 5,
            "{dest} {date}: too few determinations"
        );
        expect_file(
            &dir.join(format!("bundled_check_{dest}_{date}_{end_use}.csv")),
            &text,
        );
    }
}
