//! `lodestone simulate`: shards merge to the single batch byte for byte; scenario errors are
//! located; comparisons run; bundled scenarios run.

mod common;

use common::*;
use std::path::Path;

fn tmp(name: &str) -> std::path::PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&p);
    p
}

#[test]
fn sharded_runs_merge_to_exactly_the_single_batch() {
    let sc = repo_root().join("data/world/scenarios/kuantan_outage.toml");
    let sc = sc.to_str().unwrap();
    let (single, a, b, merged) = (
        tmp("sim_single"),
        tmp("sim_a"),
        tmp("sim_b"),
        tmp("sim_merged"),
    );
    ok(&[
        "simulate",
        sc,
        "--runs",
        "0..60",
        "--out",
        single.to_str().unwrap(),
    ]);
    ok(&[
        "simulate",
        sc,
        "--runs",
        "0..25",
        "--out",
        a.to_str().unwrap(),
    ]);
    ok(&[
        "simulate",
        sc,
        "--runs",
        "25..60",
        "--out",
        b.to_str().unwrap(),
    ]);
    let out = lodestone(
        &repo_root(),
        &[
            "simulate",
            "merge",
            b.to_str().unwrap(),
            a.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    for f in ["stats.txt", "summary.csv", "countries.csv"] {
        let x = std::fs::read(single.join(f)).unwrap();
        let y = std::fs::read(merged.join(f)).unwrap();
        assert!(
            x == y,
            "{f} differs between the single batch and the merged shards"
        );
    }
    // Overlapping shards are refused.
    let out = lodestone(
        &repo_root(),
        &[
            "simulate",
            "merge",
            a.to_str().unwrap(),
            single.to_str().unwrap(),
            "--out",
            tmp("sim_bad").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already included"));
}

#[test]
fn the_kuantan_outage_hurts_japan_and_the_baseline_is_quiet() {
    let dir = repo_root().join("data/world/scenarios");
    let base = ok(&[
        "simulate",
        dir.join("baseline.toml").to_str().unwrap(),
        "--runs",
        "20",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&base).unwrap();
    assert!(
        v["countries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["total_shortfall_t_reo_mean"].as_f64().unwrap() < 1e-6),
        "{base}"
    );
    assert_eq!(v["runs"], 20);
    let k = ok(&[
        "simulate",
        dir.join("kuantan_outage.toml").to_str().unwrap(),
        "--runs",
        "100",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&k).unwrap();
    let jpn = v["countries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["country"] == "JPN")
        .unwrap();
    assert!(jpn["total_shortfall_t_reo_mean"].as_f64().unwrap() > 0.0);
    assert!(jpn["peak_shortfall_share_mean"].as_f64().unwrap() < 1.0);
}

#[test]
fn every_bundled_scenario_runs_and_compare_reports_side_by_side() {
    let dir = repo_root().join("data/world/scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 4);
    for f in &files {
        ok(&["simulate", f, "--runs", "10"]);
    }
    let table = ok(&["simulate", "compare", &files[0], &files[1], "--runs", "10"]);
    assert!(table.contains("baseline total t REO"), "{table}");
}

#[test]
fn scenario_errors_are_located_and_arguments_checked() {
    let bad = tmp("sim_bad_scenario");
    std::fs::create_dir_all(&bad).unwrap();
    let file = bad.join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\nmonths = 12\n\n[[events]]\nkind = \"outage\"\nnode = \"lynas_lamp_kuantn\"\nmonths = { normal = [1, 2] }\n",
    )
    .unwrap();
    let out = lodestone(
        &repo_root(),
        &["simulate", file.to_str().unwrap(), "--runs", "5"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.toml:6: node 'lynas_lamp_kuantn' has no flows")
            && err.contains("did you mean 'lynas_lamp_kuantan'"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:7: months must be a number or"),
        "{err}"
    );
    let out = lodestone(
        &repo_root(),
        &["simulate", file.to_str().unwrap(), "--runs", "5..2"],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// The bundled backtest runs in CI and its error table is a reviewed snapshot: any change to the
/// model shows up as a diff of the table (`UPDATE_EXPECT=1` rewrites it after review).
#[test]
fn the_2025_backtest_table_is_a_reviewed_snapshot() {
    let root = repo_root();
    let out = lodestone(
        &root,
        &[
            "simulate",
            "backtest",
            "data/world/scenarios/backtest_2025.toml",
            "--runs",
            "300",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("WLD") && text.contains("MAPE"), "{text}");
    expect_file(&root.join("tests/data/sim/backtest_2025.txt"), &text);
    // JSON: the total is compared on 3 calibration and 5 later observed months.
    let out = lodestone(
        &root,
        &[
            "simulate",
            "backtest",
            "data/world/scenarios/backtest_2025.toml",
            "--runs",
            "50",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wld = &v["rows"][0];
    assert_eq!(wld["destination"], "WLD");
    assert_eq!(wld["observed_in_sample"], 3);
    assert_eq!(wld["observed_out_of_sample"], 5);
}

#[test]
fn a_scenario_without_tracked_exports_cannot_be_backtested() {
    let out = lodestone(
        &repo_root(),
        &[
            "simulate",
            "backtest",
            "data/world/scenarios/kuantan_outage.toml",
            "--runs",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[[tracked_exports]]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
