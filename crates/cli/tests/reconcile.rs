//! `lodestone reconcile`: the table names conflicts and gaps; JSON carries the whole view; a
//! year without flows is an error.

mod common;

use common::*;

#[test]
fn the_table_names_conflicts_and_json_carries_the_view() {
    let text = ok(&["reconcile", "--year", "2024"]);
    assert!(text.contains("mine production, CHN"), "{text}");
    assert!(
        text.contains("CONFLICT mine production, MYS: published 140 ± 7 t REO"),
        "{text}"
    );
    assert!(
        text.contains("NOT REPRESENTED mine production, RUS"),
        "{text}"
    );
    let v = ok_json(&["reconcile", "--year", "2024", "--format", "json"]);
    assert_eq!(v["year"], 2024);
    assert!(v["flows"].as_array().unwrap().len() > 50);
    let csv = ok(&["reconcile", "--year", "2024", "--flows", "--format", "csv"]);
    assert!(
        csv.starts_with("id,material,basis,recorded,sigma,reconciled"),
        "{csv}"
    );
    let bad = lodestone(&repo_root(), &["reconcile", "--year", "2031"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no flows in 2031"));
}

/// `--write` on a copy of the bundled dataset: prints the changes, writes them, the result
/// still passes `check`, reported and derived flows are unchanged, and a second run finds
/// nothing left to write.
#[test]
fn write_updates_estimates_and_a_second_run_has_nothing_left() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reconcile_write");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo_root().join("data/world"), &dir);
    let d = dir.to_str().unwrap();
    // The bundled flows are reconciled already; an analyst's new estimate of China's La oxide
    // (28,000 t higher: more than the separators' inputs can yield, within check's 2 % tolerance) is pulled back by the fit.
    let bundled = std::fs::read_to_string(dir.join("flows.csv")).unwrap();
    let before = bundled.replace(
        "sep_la_to_china_2025,china_separation_aggregate,CHN,la_oxide,2025,61471,",
        "sep_la_to_china_2025,china_separation_aggregate,CHN,la_oxide,2025,89471,",
    );
    assert_ne!(before, bundled);
    std::fs::write(dir.join("flows.csv"), &before).unwrap();
    let first = ok(&["reconcile", "--data", d, "--year", "2025", "--write"]);
    let after = std::fs::read_to_string(dir.join("flows.csv")).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        first.contains("Reconciled estimates of 2025 written"),
        "{first}"
    );
    assert!(first.contains("sep_la_to_china_2025: 89471 → "), "{first}");
    assert!(!changed.is_empty());
    for (_, b) in &changed {
        assert!(b.contains(",estimate,"), "only estimates change: {b}");
        assert!(
            b.contains("Reconciled by `lodestone reconcile --year 2025`"),
            "{b}"
        );
    }
    assert_eq!(before.lines().count(), after.lines().count());
    ok(&["check", "--data", d]);
    let second = ok(&["reconcile", "--data", d, "--year", "2025", "--write"]);
    assert!(second.contains("nothing to write"), "{second}");
}

/// Figures the fit cannot weigh or that nothing measures never take the views down: a figure
/// with no uncertainty is left out, named, and so is a world total (`WLD` with no destination); a company's exports count only what leaves its home
/// country (JL Mag ships all its magnets to Chinese component makers: no exports, so the
/// figure is not represented); the flow-basis shares still answer.
#[test]
fn unweighable_and_unmeasured_figures_are_named_not_fatal() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reconcile_edge_figures");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo_root().join("data/world"), &dir);
    let mut refs = std::fs::read_to_string(dir.join("references.csv")).unwrap();
    refs.push_str(
        "zero_sigma_2024,separation,reo,,mp_materials,,,2024,2024-01-01,2024-12-31,1000,t_reo,,0,convention,mp_quarterlies_2024_2025,,\n\
         jl_mag_exports_2024,magnet,reo,,jl_mag,WLD,,2024,2024-01-01,2024-12-31,5000,t,sintered_ndfeb,5,convention,reportify_jlmag_annual_2024,,\n\
         world_separation_2024,separation,reo,WLD,,,,2024,2024-01-01,2024-12-31,330000,t_reo,,10,convention,usgs_mcs2026_ree,,\n",
    );
    std::fs::write(dir.join("references.csv"), refs).unwrap();
    let d = dir.to_str().unwrap();
    let v = ok_json(&[
        "reconcile",
        "--data",
        d,
        "--year",
        "2024",
        "--format",
        "json",
    ]);
    let left_out = v["left_out"].to_string();
    assert!(
        left_out.contains("separation reo, mp_materials") && left_out.contains("no uncertainty"),
        "{left_out}"
    );
    assert!(
        left_out.contains("separation reo, WLD") && left_out.contains("is a world total"),
        "a world total is left out, named: {left_out}"
    );
    let jl = v["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["figure"] == "magnet exports to WLD, jl_mag")
        .expect("the export figure is reported");
    assert_eq!(jl["status"], "not_represented", "{jl}");
    let shares = ok_json(&[
        "risk",
        "concentration",
        "--data",
        d,
        "--basis",
        "flow",
        "--year",
        "2024",
        "--format",
        "json",
    ]);
    assert!(!shares["rows"].as_array().unwrap().is_empty());
}
