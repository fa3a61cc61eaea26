//! The interchange format in Parquet: every table round-trips exactly, CSV and Parquet read to
//! the same network, and problems in a Parquet file are located by file, row and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use lodestone_network::{Encoding, read_network_dir, write_network_dir_as};
use lodestone_trace::Line;
use lodestone_trace::generate::{GenerateOptions, generate};
use parquet::arrow::ArrowWriter;

fn fresh(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A generated network with loops, unit values, many tags, more rows than one record batch and
/// one row group (so the reader's threads share it), and segregated lines.
fn network() -> lodestone_trace::Network {
    let mut net = generate(GenerateOptions {
        nodes: 30_000,
        flows: 150_000,
        tags: 5,
        cycles: 0.05,
        seed: 11,
        values: true,
    });
    let (a, b, c) = (net.flows[0].from, net.flows[0].to, net.flows[1].to);
    net.lines.push(Line {
        node: b,
        name: "line \"A\", é".into(),
        inputs: vec![a],
        outputs: vec![c],
    });
    net.lines.push(Line {
        node: a,
        name: "b".into(),
        inputs: vec![],
        outputs: vec![b],
    });
    net
}

#[test]
fn every_table_round_trips_and_both_encodings_read_the_same_network() {
    let net = network();
    let csv = fresh("parquet_rt_csv");
    let pq = fresh("parquet_rt_pq");
    let written = write_network_dir_as(&net, &pq, Encoding::Parquet).unwrap();
    assert_eq!(
        written,
        [
            "nodes.parquet",
            "flows.parquet",
            "content.parquet",
            "segregation.parquet"
        ]
    );
    write_network_dir_as(&net, &csv, Encoding::Csv).unwrap();
    let from_parquet = read_network_dir(&pq).unwrap();
    let from_csv = read_network_dir(&csv).unwrap();
    same(&from_parquet, &net, "parquet");
    same(&from_csv, &net, "csv");
    // And the two encodings read to exactly the same network, tag numbers included.
    assert!(from_parquet == from_csv, "the encodings read differently");
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&pq)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".parquet")), "{names:?}");
}

/// Fails naming the first field and index where two networks differ (a whole network is too
/// large to print).
fn same(a: &lodestone_trace::Network, b: &lodestone_trace::Network, what: &str) {
    fn first<T: PartialEq + std::fmt::Debug>(x: &[T], y: &[T], field: &str, what: &str) {
        assert_eq!(x.len(), y.len(), "{what}: {field} count");
        if let Some(i) = (0..x.len()).find(|&i| x[i] != y[i]) {
            panic!("{what}: {field}[{i}]: {:?} against {:?}", x[i], y[i]);
        }
    }
    first(&a.node_ids, &b.node_ids, "node_ids", what);
    first(&a.output, &b.output, "output", what);
    first(&a.unit_value, &b.unit_value, "unit_value", what);
    first(&a.flows, &b.flows, "flows", what);
    // Tags are numbered in order of first appearance when read: compare them by name.
    let named = |n: &lodestone_trace::Network| -> Vec<(u32, String, f64)> {
        n.additions
            .iter()
            .map(|x| (x.node, n.tags[x.tag as usize].clone(), x.amount))
            .collect()
    };
    first(&named(a), &named(b), "additions", what);
    let sorted = |t: &[String]| {
        let mut t = t.to_vec();
        t.sort();
        t
    };
    first(&sorted(&a.tags), &sorted(&b.tags), "tags", what);
    first(&a.lines, &b.lines, "lines", what);
}

/// Writes a table in row groups of two rows, so that the reader's threads share even a small
/// file.
fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(2))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn floats(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

#[test]
fn problems_in_parquet_files_are_located_by_row_and_column() {
    let dir = fresh("parquet_errors");
    write_parquet(
        &dir.join("nodes.parquet"),
        vec![
            ("id", strings(&["a", "b", "c"])),
            ("output", floats(&[10.0, 10.0, 10.0])),
        ],
    );
    write_parquet(
        &dir.join("flows.parquet"),
        vec![
            ("from", strings(&["a", "b", "a", "b", "a"])),
            ("to", strings(&["b", "c", "zz", "c", "c"])),
            ("quantity", floats(&[1.0, 2.0, 1.0, 1.0, -3.0])),
        ],
    );
    write_parquet(
        &dir.join("content.parquet"),
        vec![
            ("node", strings(&["a"])),
            ("tag", strings(&["mined:X"])),
            ("amount", floats(&[10.0])),
        ],
    );
    let errors = read_network_dir(&dir).unwrap_err();
    let located: Vec<(&str, Option<u64>, Option<&str>)> = errors
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        located,
        [
            ("flows.parquet", Some(3), Some("to")),
            ("flows.parquet", Some(5), Some("quantity")),
        ],
        "{errors:?}"
    );
    assert!(
        errors[0]
            .message
            .contains("'zz' is not a node in nodes.parquet")
    );

    // A required column missing: an error of the whole file, naming what it has.
    write_parquet(
        &dir.join("flows.parquet"),
        vec![("from", strings(&["a"])), ("quantity", floats(&[1.0]))],
    );
    let errors = read_network_dir(&dir).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, "flows.parquet");
    assert!(
        errors[0].message.contains("no column 'to'"),
        "{}",
        errors[0].message
    );

    // Not Parquet at all.
    std::fs::write(dir.join("flows.parquet"), b"from,to,quantity\na,b,1\n").unwrap();
    let errors = read_network_dir(&dir).unwrap_err();
    assert!(
        errors[0].message.contains("is not a readable Parquet file"),
        "{errors:?}"
    );

    // Both encodings in one directory: refused, not guessed.
    std::fs::write(dir.join("nodes.csv"), "id,output\na,1\n").unwrap();
    let errors = read_network_dir(&dir).unwrap_err();
    assert!(
        errors[0]
            .message
            .contains("both nodes.csv and nodes.parquet"),
        "{errors:?}"
    );
}

/// Numbers another tool wrote as integers (ids too) read as their text.
#[test]
fn integer_columns_read_as_numbers_and_ids() {
    let dir = fresh("parquet_ints");
    let ints = |v: &[i64]| -> ArrayRef { Arc::new(arrow_array::Int64Array::from(v.to_vec())) };
    write_parquet(
        &dir.join("nodes.parquet"),
        vec![("id", ints(&[7, 8])), ("output", ints(&[5, 5]))],
    );
    write_parquet(
        &dir.join("flows.parquet"),
        vec![
            ("from", ints(&[7])),
            ("to", ints(&[8])),
            ("quantity", ints(&[2])),
        ],
    );
    write_parquet(
        &dir.join("content.parquet"),
        vec![
            ("node", ints(&[7])),
            ("tag", strings(&["t"])),
            ("amount", floats(&[5.0])),
        ],
    );
    let net = read_network_dir(&dir).unwrap();
    assert_eq!(net.node_ids, ["7", "8"]);
    assert_eq!(
        (net.flows[0].from, net.flows[0].to, net.flows[0].quantity),
        (0, 1, 2.0)
    );
}
