//! `lodestone trace`, `export network` and `generate` end to end.

mod common;

use common::*;
use std::path::Path;

fn rows(json: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn value(rows: &[serde_json::Value], node: &str, tag: &str) -> f64 {
    rows.iter()
        .find(|r| r["node"] == node && r["tag"] == tag)
        .and_then(|r| r["per_unit"].as_f64())
        .unwrap_or(0.0)
}

#[test]
fn the_test_dataset_traces_to_hand_computed_shares() {
    // China receives 3261 t REO of NdPr oxide separated at Kuantan from Mt Weld ore, and
    // 37213 t REO of Mountain Pass concentrate: 3261 / 40474 = 8.057 % Australian-mined.
    let base = repo_root().join("tests/data/base");
    let out = run_ok(
        &repo_root(),
        &[
            "trace",
            "--data",
            base.to_str().unwrap(),
            "--node",
            "CHN",
            "--format",
            "json",
        ],
    );
    let r = rows(&out);
    let aus = 3261.0 / (3261.0 + 37213.0);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(value(&r, "CHN", "mined:AUS"), aus));
    assert!(close(value(&r, "CHN", "mined:USA"), 1.0 - aus));
    assert!(
        close(value(&r, "CHN", "separated:MYS"), aus),
        "oxide from Kuantan is separated in Malaysia"
    );
    assert!(
        close(value(&r, "CHN", "tech:AUS"), aus),
        "LAMP runs Australian technology"
    );
    assert!(close(value(&r, "CHN", "facility:lynas_mt_weld"), aus));
    assert!(close(
        value(&r, "CHN", "facility:mp_mountain_pass"),
        1.0 - aus
    ));
    assert_eq!(
        value(&r, "CHN", "separated:USA"),
        0.0,
        "Mountain Pass concentrate is not separated"
    );
    let total = r.iter().find(|x| x["tag"] == "mined:USA").unwrap()["total"]
        .as_f64()
        .unwrap();
    assert!((total - 37213.0).abs() < 1e-6);
}

#[test]
fn trace_output_of_the_test_dataset_matches_its_snapshot() {
    let base = repo_root().join("tests/data/base");
    let out = run_ok(
        &repo_root(),
        &["trace", "--data", base.to_str().unwrap(), "--format", "csv"],
    );
    assert!(out.starts_with("node,tag,per_unit,total\n"));
    expect_file(&repo_root().join("tests/data/trace/base_trace.csv"), &out);
}

#[test]
fn export_network_then_trace_network_gives_the_same_numbers() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exported_network");
    let _ = std::fs::remove_dir_all(&tmp);
    for data in ["tests/data/base", "data/world"] {
        let dir = repo_root().join(data);
        run_ok(
            &repo_root(),
            &[
                "export",
                "network",
                "--data",
                dir.to_str().unwrap(),
                "--out",
                tmp.to_str().unwrap(),
            ],
        );
        let direct = run_ok(
            &repo_root(),
            &["trace", "--data", dir.to_str().unwrap(), "--format", "csv"],
        );
        let via = run_ok(
            &repo_root(),
            &[
                "trace",
                "--network",
                tmp.to_str().unwrap(),
                "--format",
                "csv",
            ],
        );
        assert_eq!(direct, via, "{data}");
        assert!(direct.lines().count() > 1);
    }
}

#[test]
fn explain_lists_paths_best_first_with_exact_shares() {
    let dir = repo_root().join("tests/data/network/hand_loop");
    let out = run_ok(
        &repo_root(),
        &[
            "trace",
            "--network",
            dir.to_str().unwrap(),
            "--explain",
            "plant",
            "--tag",
            "mined:AUS",
            "--paths",
            "3",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["per_unit"].as_f64().unwrap() - 1.25).abs() < 1e-12);
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3);
    assert_eq!(paths[0]["nodes"], serde_json::json!(["mine", "plant"]));
    assert_eq!(
        paths[1]["nodes"],
        serde_json::json!(["mine", "plant", "recycler", "plant"])
    );
    let shares: Vec<f64> = paths.iter().map(|p| p["share"].as_f64().unwrap()).collect();
    for (got, want) in shares.iter().zip([0.8, 0.16, 0.032]) {
        assert!((got - want).abs() < 1e-12, "{shares:?}");
    }
    let text = run_ok(
        &repo_root(),
        &[
            "trace",
            "--network",
            dir.to_str().unwrap(),
            "--explain",
            "plant",
            "--tag",
            "mined:AUS",
        ],
    );
    assert!(text.contains("80.00 %  mine ─10→ plant"), "{text}");
}

#[test]
fn bad_networks_get_located_errors() {
    let root = repo_root().join("tests/data/network");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("bad_"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 6);
    for case in cases {
        let out = lodestone(&case, &["trace", "--network", "."]);
        assert_eq!(out.status.code(), Some(1), "{case:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        expect_file(&case.join("expected.txt"), &err);
    }
}

#[test]
fn generate_is_deterministic_and_traceable() {
    let a = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gen_a");
    let b = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gen_b");
    for dir in [&a, &b] {
        let _ = std::fs::remove_dir_all(dir);
        let args = [
            "generate",
            "--nodes",
            "2000",
            "--flows",
            "15000",
            "--tags",
            "4",
            "--cycles",
            "0.05",
            "--seed",
            "9",
            "--out",
            dir.to_str().unwrap(),
        ];
        let out = lodestone(&repo_root(), &args);
        assert_eq!(out.status.code(), Some(0));
    }
    for f in ["nodes.csv", "flows.csv", "content.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let out = run_ok(
        &repo_root(),
        &[
            "trace",
            "--network",
            a.to_str().unwrap(),
            "--summary",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["nodes"], 2000);
    assert!(v["loops"].as_u64().unwrap() > 0);
    for t in v["by_tag"].as_array().unwrap() {
        let (added, leaving) = (t["added"].as_f64().unwrap(), t["leaving"].as_f64().unwrap());
        assert!(
            (added - leaving).abs() <= 1e-9 * added,
            "mass is conserved: {t}"
        );
    }
    // The phases are timed inside the trace: each is a duration, and together they do not
    // exceed the trace they are part of.
    let phases = v["phase_seconds"].as_object().expect("phase_seconds");
    let names: Vec<&str> = phases.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "count",
            "layout",
            "tarjan",
            "reindex",
            "loops",
            "propagation"
        ]
    );
    let sum: f64 = phases.values().map(|s| s.as_f64().unwrap()).sum();
    assert!(phases.values().all(|s| s.as_f64().unwrap() >= 0.0));
    assert!(
        sum <= v["trace_seconds"].as_f64().unwrap(),
        "phases {sum} s within the trace's {}",
        v["trace_seconds"]
    );
}

#[test]
fn custody_compare_reports_both_models_and_the_difference() {
    // The separator mixes 10 t Australian and 20 t Chinese content; a declared line keeps the
    // Australian input for the US magnet maker. Mass balance: 1/3 Australian; segregated: all.
    let dir = repo_root().join("tests/data/network/segregated");
    let out = run_ok(
        &repo_root(),
        &[
            "trace",
            "--network",
            dir.to_str().unwrap(),
            "--node",
            "magnets_us",
            "--custody",
            "compare",
            "--format",
            "json",
        ],
    );
    let r = rows(&out);
    let aus = r.iter().find(|x| x["tag"] == "mined:AUS").unwrap();
    assert!((aus["mass_balance_per_unit"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!((aus["segregated_per_unit"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!((aus["difference"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    let chn = r.iter().find(|x| x["tag"] == "mined:CHN").unwrap();
    assert!(chn["segregated_per_unit"].as_f64().unwrap().abs() < 1e-12);
}

/// `generate --parquet` and `export network --parquet` write the same network in Parquet:
/// `trace --network` gives the same summary and the same shares from either encoding, and a
/// directory Lodestone wrote in one encoding is rewritten in the other without leaving both.
#[test]
fn parquet_networks_trace_exactly_as_csv_ones() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (csv, pq) = (tmp.join("pq_csv"), tmp.join("pq_parquet"));
    for (dir, extra) in [(&csv, None), (&pq, Some("--parquet"))] {
        let _ = std::fs::remove_dir_all(dir);
        let mut args = vec![
            "generate", "--nodes", "3000", "--flows", "20000", "--tags", "4", "--cycles", "0.05",
            "--values", "--out",
        ];
        args.push(dir.to_str().unwrap());
        args.extend(extra);
        run_ok(&repo_root(), &args);
    }
    assert!(pq.join("flows.parquet").exists() && !pq.join("flows.csv").exists());
    let summary = |dir: &Path| -> serde_json::Value {
        let out = run_ok(
            &repo_root(),
            &[
                "trace",
                "--network",
                dir.to_str().unwrap(),
                "--summary",
                "--format",
                "json",
            ],
        );
        serde_json::from_str(&out).unwrap()
    };
    let (a, b) = (summary(&csv), summary(&pq));
    assert_eq!(a["checksum"], b["checksum"]);
    assert_eq!(a["by_tag"], b["by_tag"]);
    assert_eq!(a["loops"], b["loops"]);
    // The bundled world's network, both ways: the same shares at Japan.
    let (wc, wp) = (tmp.join("pq_world_csv"), tmp.join("pq_world_parquet"));
    for (dir, extra) in [(&wc, None), (&wp, Some("--parquet"))] {
        let _ = std::fs::remove_dir_all(dir);
        let mut args = vec!["export", "network", "--out", dir.to_str().unwrap()];
        args.extend(extra);
        run_ok(&repo_root(), &args);
    }
    let shares = |dir: &Path| {
        run_ok(
            &repo_root(),
            &[
                "trace",
                "--network",
                dir.to_str().unwrap(),
                "--node",
                "JPN",
                "--format",
                "json",
            ],
        )
    };
    assert_eq!(shares(&wc), shares(&wp));
    // Rewriting the CSV directory as Parquet removes the CSV tables Lodestone wrote there.
    run_ok(
        &repo_root(),
        &[
            "export",
            "network",
            "--out",
            wc.to_str().unwrap(),
            "--parquet",
        ],
    );
    assert!(wc.join("nodes.parquet").exists() && !wc.join("nodes.csv").exists());
    assert_eq!(shares(&wc), shares(&wp));
}

/// `generate --elements --parquet` writes `elements.parquet` (and no `elements.csv`); an element
/// trace of it gives what the CSV network gives; a directory holding both element files is
/// refused; regenerating in the other encoding removes the element file Lodestone wrote before.
#[test]
fn element_shares_travel_in_parquet_too() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (csv, pq) = (tmp.join("el_csv"), tmp.join("el_parquet"));
    let gen_args = |dir: &Path, parquet: bool| {
        let mut args: Vec<String> = [
            "generate",
            "--nodes",
            "2000",
            "--flows",
            "12000",
            "--tags",
            "3",
            "--cycles",
            "0.05",
            "--elements",
            "3",
            "--force",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(dir.to_str().unwrap().to_string());
        if parquet {
            args.push("--parquet".into());
        }
        args
    };
    for (dir, parquet) in [(&csv, false), (&pq, true)] {
        let _ = std::fs::remove_dir_all(dir);
        let args = gen_args(dir, parquet);
        run_ok(
            &repo_root(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    assert!(pq.join("elements.parquet").exists() && !pq.join("elements.csv").exists());
    assert!(csv.join("elements.csv").exists() && !csv.join("elements.parquet").exists());
    let element_trace = |dir: &Path| {
        run_ok(
            &repo_root(),
            &[
                "trace",
                "--network",
                dir.to_str().unwrap(),
                "--element",
                "e2",
                "--node",
                "n7",
                "--format",
                "json",
            ],
        )
    };
    let (a, b) = (element_trace(&csv), element_trace(&pq));
    assert!(a.contains("\"e2\"") || a.contains("e2"), "{a:.300}");
    assert_eq!(a, b);
    // Both files at once: refused, saying why.
    std::fs::copy(csv.join("elements.csv"), pq.join("elements.csv")).unwrap();
    let o = common::lodestone(
        &repo_root(),
        &[
            "trace",
            "--network",
            pq.to_str().unwrap(),
            "--element",
            "e2",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("holds both elements.csv and elements.parquet"),
        "{err}"
    );
    std::fs::remove_file(pq.join("elements.csv")).unwrap();
    // Regenerating the CSV directory as Parquet removes the elements.csv Lodestone wrote.
    let args = gen_args(&csv, true);
    run_ok(
        &repo_root(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(csv.join("elements.parquet").exists() && !csv.join("elements.csv").exists());
}
