//! `lodestone report`: the structure of the Malaysia brief, sources behind every figure, and no
//! external requests when it is opened.

mod common;

use common::*;

fn brief(country: &str) -> String {
    let out_file =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("brief_{country}.html"));
    // A file of an earlier build of the test may predate the brief's generator mark.
    let _ = std::fs::remove_file(&out_file);
    let out = lodestone(
        &repo_root(),
        &[
            "report",
            "--country",
            country,
            "--as-of",
            "2026-12-01",
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(out_file).unwrap()
}

/// Text between `start` and `end` markers, for each occurrence.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(start) {
        let after = &rest[i + start.len()..];
        let Some(j) = after.find(end) else { break };
        out.push(&after[..j]);
        rest = &after[j + end.len()..];
    }
    out
}

#[test]
fn the_malaysia_brief_has_its_sections_and_every_figure_is_sourced() {
    let html = brief("MYS");
    let mut structure = String::new();
    for h in between(&html, "<h2>", "</h2>") {
        structure.push_str(&format!("h2: {h}\n"));
    }
    for h in between(&html, "<h3>", "</h3>") {
        structure.push_str(&format!("h3: {h}\n"));
    }
    let figures = between(&html, "<figure>", "</figure>");
    assert!(figures.len() >= 3, "concentration and dependency charts");
    for f in &figures {
        assert!(f.contains("<svg"), "a figure without a chart");
        let caption = between(f, "<figcaption>", "</figcaption>")[0];
        assert!(
            caption.contains("href=\"#src-"),
            "figure without a source link: {caption}"
        );
        structure.push_str(&format!(
            "figure: {}\n",
            caption.split(" Sources:").next().unwrap_or("")
        ));
    }
    // Every citation points at an entry of the source list, and every entry is cited.
    let cited: std::collections::BTreeSet<&str> =
        between(&html, "href=\"#src-", "\"").into_iter().collect();
    let listed: std::collections::BTreeSet<&str> =
        between(&html, "<li id=\"src-", "\"").into_iter().collect();
    assert_eq!(cited, listed);
    assert!(listed.len() >= 10);
    structure.push_str(&format!("sources: {}\n", listed.len()));
    // Key facts of the commentary appear by name.
    for needle in [
        "Lynas Malaysia Advanced Materials Plant",
        "Mt Weld",
        "US-Malaysia",
        "Khazanah",
        "Kuantan",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    expect_file(
        &repo_root().join("tests/data/report/malaysia_structure.txt"),
        &structure,
    );
}

#[test]
fn the_brief_makes_no_external_requests() {
    let html = brief("MYS");
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
    ] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    // External addresses appear only as links in the source list, which a reader follows by choice.
    for part in html.split("href=\"").skip(1) {
        if part.starts_with('#') {
            continue;
        }
        assert!(
            part.starts_with("http://") || part.starts_with("https://"),
            "{}",
            &part[..40.min(part.len())]
        );
    }
    let list_start = html.find("<section id=\"sources\">").unwrap();
    assert!(
        !html[..list_start].contains("href=\"http"),
        "external links only in the source list"
    );
}

#[test]
fn other_countries_and_bad_arguments() {
    let jpn = brief("JPN");
    assert!(jpn.contains("<h1>Japan in the rare-earth supply chain</h1>"));
    let out = lodestone(
        &repo_root(),
        &["report", "--country", "XYZ", "--out", "/tmp/x.html"],
    );
    assert_eq!(out.status.code(), Some(2));
}
