//! `lodestone reconcile`: the table names conflicts and gaps; JSON carries the whole view; a
//! year without flows is an error.

mod common;

use common::*;

#[test]
fn the_table_names_conflicts_and_json_carries_the_view() {
    let out = lodestone(&repo_root(), &["reconcile", "--year", "2024"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("mine production, CHN"), "{text}");
    assert!(
        text.contains("CONFLICT mine production, MYS: published 140 ± 7 t REO"),
        "{text}"
    );
    assert!(
        text.contains("NOT REPRESENTED mine production, RUS"),
        "{text}"
    );
    let out = lodestone(
        &repo_root(),
        &["reconcile", "--year", "2024", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["year"], 2024);
    assert!(v["flows"].as_array().unwrap().len() > 50);
    let flows = lodestone(
        &repo_root(),
        &["reconcile", "--year", "2024", "--flows", "--format", "csv"],
    );
    let csv = String::from_utf8(flows.stdout).unwrap();
    assert!(
        csv.starts_with("id,material,basis,recorded,sigma,reconciled"),
        "{csv}"
    );
    let bad = lodestone(&repo_root(), &["reconcile", "--year", "2031"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no flows in 2031"));
}
