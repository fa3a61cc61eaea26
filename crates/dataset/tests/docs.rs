//! `docs/dataset.md` is generated from the schema; this test fails when it is stale.
//! `UPDATE_EXPECT=1 cargo test -p lodestone-dataset --test docs` regenerates it.

use std::path::Path;

#[test]
fn dataset_reference_page_is_up_to_date() {
    let schema = lodestone_dataset::Schema::embedded().unwrap();
    let page = lodestone_dataset::docs::dataset_reference(&schema);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/dataset.md");
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "docs/dataset.md is stale: run `UPDATE_EXPECT=1 cargo test -p lodestone-dataset --test docs`"
    );
}

#[test]
fn data_sources_page_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (ds, _) = lodestone_dataset::load_dir(&root.join("data/world")).unwrap();
    let page = lodestone_dataset::docs::sources_report(&ds);
    let path = root.join("docs/data-sources.md");
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "docs/data-sources.md is stale: run `UPDATE_EXPECT=1 cargo test -p lodestone-dataset --test docs`"
    );
}

#[test]
fn rules_reference_page_is_up_to_date() {
    let page = lodestone_dataset::rules_file::rules_reference();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "docs/rules.md is stale: run `UPDATE_EXPECT=1 cargo test -p lodestone-dataset --test docs`"
    );
}
