//! `docs/dataset.md` is generated from the schema; this test fails when it is stale.
//! `UPDATE_EXPECT=1 cargo test -p lodestone-world --test docs` regenerates it.

use std::path::Path;

/// Compares a generated page with its file, or rewrites the file when `UPDATE_EXPECT=1`.
fn expect_page(relative: &str, page: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        std::fs::write(&path, page).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "{relative} is stale: run `UPDATE_EXPECT=1 cargo test -p lodestone-world --test docs`"
    );
}

#[test]
fn dataset_reference_page_is_up_to_date() {
    let schema = lodestone_format::Schema::embedded().unwrap();
    expect_page(
        "docs/dataset.md",
        &lodestone_format::docs::dataset_reference(&schema),
    );
}

#[test]
fn data_sources_page_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (ds, _) = lodestone_world::load_dir(&root.join("data/world")).unwrap();
    expect_page(
        "docs/data-sources.md",
        &lodestone_format::docs::sources_report(&ds),
    );
}

#[test]
fn rules_reference_page_is_up_to_date() {
    expect_page(
        "docs/rules.md",
        &lodestone_world::rules_file::rules_reference(),
    );
}
