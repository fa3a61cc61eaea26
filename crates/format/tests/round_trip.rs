//! Exporting every table as CSV and loading the export gives back the same records.

use std::path::Path;

use lodestone_format::export::rows_csv;
use lodestone_format::{InputFiles, Row, Schema, load, read_dir};

fn round_trip(dir: &Path) {
    let schema = Schema::embedded().unwrap();
    let input = read_dir(dir, &schema);
    let (ds, report) = load(schema.clone(), &input);
    assert!(
        !report.has_errors(),
        "{dir:?}: {:?}",
        report.errors().collect::<Vec<_>>()
    );
    let mut exported = InputFiles {
        files: input.files.clone(),
        unreadable: Vec::new(),
    };
    for t in &ds.tables {
        let rows: Vec<&Row> = t.rows.iter().collect();
        exported
            .files
            .insert(t.schema.file.clone(), rows_csv(t, &rows).into_bytes());
    }
    let (again, report2) = load(schema, &exported);
    assert!(
        !report2.has_errors(),
        "{:?}",
        report2.errors().collect::<Vec<_>>()
    );
    for (a, b) in ds.tables.iter().zip(&again.tables) {
        let va: Vec<_> = a.rows.iter().map(|r| &r.values).collect();
        let vb: Vec<_> = b.rows.iter().map(|r| &r.values).collect();
        assert_eq!(va, vb, "table {} changed in the round trip", a.schema.name);
        assert!(
            // Optional tables may be empty; every other table must have rows to test.
            !a.rows.is_empty()
                || ["facility_status", "segregation"].contains(&a.schema.name.as_str()),
            "{} is empty",
            a.schema.name
        );
    }
}

#[test]
fn bundled_dataset_round_trips_through_csv() {
    round_trip(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world"));
}

#[test]
fn test_base_dataset_round_trips_through_csv() {
    round_trip(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/base"));
}
