//! `lodestone show`: machine formats that scripts can rely on, and one-record views.

mod common;

use common::*;
use lodestone_format::Schema;
use lodestone_world::load_dir;

#[test]
fn show_csv_of_every_table_reloads_to_the_same_records() {
    let world = repo_root().join("data/world");
    let (original, _) = load_dir(&world).unwrap();
    let schema = Schema::embedded().unwrap();
    let copy = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("show_round_trip");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).unwrap();
    for t in &schema.tables {
        let out = lodestone(&repo_root(), &["show", &t.name, "--format", "csv"]);
        assert_eq!(out.status.code(), Some(0), "{}", t.name);
        std::fs::write(copy.join(&t.file), out.stdout).unwrap();
    }
    let (reloaded, report) = load_dir(&copy).unwrap();
    assert!(
        !report.has_errors(),
        "{:?}",
        report.errors().collect::<Vec<_>>()
    );
    for (a, b) in original.tables.iter().zip(&reloaded.tables) {
        let va: Vec<_> = a.rows.iter().map(|r| &r.values).collect();
        let vb: Vec<_> = b.rows.iter().map(|r| &r.values).collect();
        assert_eq!(va, vb, "{}", a.schema.name);
    }
}

#[test]
fn show_json_is_an_array_of_objects_keyed_by_schema_columns() {
    let schema = Schema::embedded().unwrap();
    for t in &schema.tables {
        let out = lodestone(&repo_root(), &["show", &t.name, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        for obj in v.as_array().unwrap() {
            let keys: Vec<&str> = obj
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, names, "{}", t.name);
        }
    }
}

#[test]
fn one_facility_shows_its_sources_and_its_flows_both_ways() {
    let out = lodestone(
        &repo_root(),
        &["show", "facility", "lynas_lamp_kuantan", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["record"]["id"], "lynas_lamp_kuantan");
    let sources = v["sources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            .all(|s| s["publisher"].is_string() && s["title"].is_string())
    );
    assert!(!sources.is_empty());
    let refs = v["referenced_by"].as_array().unwrap();
    let has = |col: &str| {
        refs.iter()
            .any(|r| r["table"] == "flows" && r["column"] == col)
    };
    assert!(
        has("from") && has("to"),
        "incoming and outgoing flows: {refs:?}"
    );

    let text = lodestone(&repo_root(), &["show", "facilities", "lynas_lamp_kuantan"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Sources:") && text.contains("flows where from = lynas_lamp_kuantan"),
        "{text}"
    );
}

#[test]
fn unknown_kinds_and_ids_fail_with_one_line() {
    let out = lodestone(&repo_root(), &["show", "plants"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(
            "lodestone: error: 'plants' is not a kind of record (a table); valid: sources"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let out = lodestone(&repo_root(), &["show", "facilitys"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean 'facilities'?"), "{err}");

    let out = lodestone(&repo_root(), &["show", "facilities", "lynas"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no facilities with id 'lynas'") && err.contains("lynas_lamp_kuantan"),
        "{err}"
    );
}

#[test]
fn show_sources_unused_and_conflicts_filter_rows() {
    let base = repo_root().join("tests/data/base");
    let out = lodestone(
        &repo_root(),
        &[
            "show",
            "sources",
            "--unused",
            "--data",
            base.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["seed_commentary"]);
    let out = lodestone(
        &repo_root(),
        &[
            "show",
            "sources",
            "--conflicts",
            "--data",
            base.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|r| r["conflict"].is_string())
    );
    let out = lodestone(&repo_root(), &["show", "flows", "--unused"]);
    assert_eq!(out.status.code(), Some(1));
}
