//! The interchange format in Apache Parquet: `nodes.parquet`, `flows.parquet`, `content.parquet`
//! and (optional) `segregation.parquet`, with the same columns as the CSV files — ids and tags
//! as UTF-8 strings, quantities as 64-bit floats (a missing `output` or `unit_value` is null).
//! DuckDB, Polars, pandas and Spark read and write these directly.
//!
//! Reading turns each row's wanted cells into the text the CSV reader would have seen and hands
//! it to the same row functions, so both encodings are validated by one piece of code and give
//! the same network; a problem is located by the file and the row's number (1-based, no header).
//! Numbers are written back as text with `ryu` (the shortest representation that parses to the
//! same float), so nothing is lost on the way.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use lodestone_format::Diagnostic;
use lodestone_trace::Network;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::Diags;

/// Rows per record batch, read and written: bounded memory whatever the file's size.
const BATCH_ROWS: usize = 1 << 16;

/// Rows per row group written: the unit the reader spreads over its threads.
const GROUP_ROWS: usize = 1 << 17;

/// How one wanted column of a batch is turned into text.
enum Column<'a> {
    Absent,
    Text(&'a StringArray),
    Number(ArrayRef),
}

/// Reads a Parquet file's rows (the columns of `wanted`, by name) and passes each row's cells, as
/// text, to `row`, like the CSV reader. A missing required column, a column of a type that is
/// neither text nor a number, and a file Parquet cannot read are errors of the whole file.
pub(crate) fn parse_rows<T: Send>(
    file: &str,
    bytes: Vec<u8>,
    wanted: &[(&str, bool)],
    diags: &mut Diags,
    ahead: impl Fn(&[&[u8]]) + Sync,
    row: impl Fn(u64, &[&[u8]]) -> Result<T, (Option<String>, String)> + Sync,
) -> Option<Vec<T>> {
    let whole = |diags: &mut Diags, msg: String| {
        diags.push(Diagnostic::error(file, None, None, msg));
        None
    };
    let bytes = bytes::Bytes::from(bytes);
    let builder = match ParquetRecordBatchReaderBuilder::try_new(bytes.clone()) {
        Ok(b) => b,
        Err(e) => return whole(diags, format!("is not a readable Parquet file: {e}")),
    };
    let schema = builder.schema().clone();
    let mut positions = Vec::with_capacity(wanted.len());
    for &(name, required) in wanted {
        match schema.index_of(name) {
            Ok(i) => {
                let ty = schema.field(i).data_type();
                let usable = matches!(
                    ty,
                    DataType::Utf8
                        | DataType::Float64
                        | DataType::Float32
                        | DataType::Int64
                        | DataType::Int32
                        | DataType::UInt64
                        | DataType::UInt32
                );
                if !usable {
                    return whole(
                        diags,
                        format!(
                            "column '{name}' has type {ty}: write it as text (UTF-8) or as a number"
                        ),
                    );
                }
                positions.push(Some(i));
            }
            Err(_) if required => {
                let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return whole(
                    diags,
                    format!(
                        "has no column '{name}' (it has: {}): the columns are named as in the CSV files",
                        have.join(", ")
                    ),
                );
            }
            Err(_) => positions.push(None),
        }
    }
    // Row groups are read on several threads, each a contiguous range of them; rows keep their
    // order and their numbers (from the groups' row counts in the footer).
    let groups: Vec<usize> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as usize)
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let parts = threads.min(groups.len()).max(1);
    let bounds: Vec<usize> = (0..=parts).map(|t| groups.len() * t / parts).collect();
    let results: Vec<GroupsRead<T>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|b| {
                let (lo, hi) = (b[0], b[1]);
                let first_row = 1 + groups[..lo].iter().sum::<usize>() as u64;
                let (bytes, positions, ahead, row) = (bytes.clone(), &positions, &ahead, &row);
                scope.spawn(move || {
                    read_groups(
                        file,
                        bytes,
                        (lo..hi).collect(),
                        first_row,
                        positions,
                        ahead,
                        row,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a reading thread failed".to_string()))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(groups.iter().sum());
    for r in results {
        match r {
            Ok((rows, errs)) => {
                out.extend(rows);
                for e in errs {
                    diags.push(e);
                }
            }
            Err(msg) => return whole(diags, msg),
        }
    }
    Some(out)
}

/// What one thread read: its rows and their problems, or why the file could not be read.
type GroupsRead<T> = Result<(Vec<T>, Vec<Diagnostic>), String>;

/// Reads the row groups `groups` (the first row numbered `first_row`), as `parse_rows` does.
fn read_groups<T>(
    file: &str,
    bytes: bytes::Bytes,
    groups: Vec<usize>,
    mut first_row: u64,
    positions: &[Option<usize>],
    ahead: &impl Fn(&[&[u8]]),
    row: &impl Fn(u64, &[&[u8]]) -> Result<T, (Option<String>, String)>,
) -> GroupsRead<T> {
    let unreadable = |e: &dyn std::fmt::Display| format!("is not a readable Parquet file: {e}");
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| unreadable(&e))?
        .with_row_groups(groups)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| unreadable(&e))?;
    let mut out = Vec::new();
    let mut errs = Vec::new();
    let mut texts: Vec<String> = vec![String::new(); positions.len()];
    let mut numbers = ryu::Buffer::new();
    for batch in reader {
        let batch = batch.map_err(|e| format!("cannot be read past row {first_row}: {e}"))?;
        let columns: Vec<Column> = positions
            .iter()
            .map(|p| match p {
                None => Column::Absent,
                Some(i) => match batch.column(*i).as_string_opt::<i32>() {
                    Some(s) => Column::Text(s),
                    None => Column::Number(batch.column(*i).clone()),
                },
            })
            .collect();
        let text_cells = |r: usize| -> [&[u8]; 4] {
            let mut cells: [&[u8]; 4] = [b""; 4];
            for (c, col) in columns.iter().enumerate().take(4) {
                if let Column::Text(s) = col
                    && s.is_valid(r)
                {
                    cells[c] = s.value(r).as_bytes();
                }
            }
            cells
        };
        for r in 0..batch.num_rows() {
            // As the CSV reader does: start the id look-ups of the next rows early.
            if r % crate::LOOK_AHEAD == 0 {
                for k in r..(r + crate::LOOK_AHEAD).min(batch.num_rows()) {
                    ahead(&text_cells(k)[..columns.len()]);
                }
            }
            let line = first_row + r as u64;
            // Numbers are written as text first; text cells are borrowed from the batch.
            for (c, col) in columns.iter().enumerate() {
                if let Column::Number(a) = col {
                    texts[c].clear();
                    if a.is_valid(r) {
                        number_text(a, r, &mut numbers, &mut texts[c]);
                    }
                }
            }
            let mut cells = text_cells(r);
            for (c, col) in columns.iter().enumerate().take(4) {
                if let Column::Number(_) = col {
                    cells[c] = texts[c].as_bytes();
                }
            }
            match row(line, &cells[..columns.len()]) {
                Ok(v) => out.push(v),
                Err((col, msg)) => {
                    if errs.len() < crate::MAX_DIAGNOSTICS {
                        errs.push(Diagnostic::error(file, Some(line), col.as_deref(), msg));
                    }
                }
            }
        }
        first_row += batch.num_rows() as u64;
    }
    Ok((out, errs))
}

/// The text of a numeric cell, as the CSV writer would have written it.
fn number_text(a: &ArrayRef, r: usize, buf: &mut ryu::Buffer, text: &mut String) {
    let float = |x: f64, buf: &mut ryu::Buffer, text: &mut String| {
        if x.is_finite() {
            // ryu writes `1.0` for 1; the CSV writer writes `1`. Both parse to the same float.
            text.push_str(buf.format_finite(x));
        } else {
            // Left for the row function to refuse with its own message.
            text.push_str(&x.to_string());
        }
    };
    match a.data_type() {
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(r), buf, text),
        DataType::Float32 => float(
            f64::from(a.as_primitive::<Float32Type>().value(r)),
            buf,
            text,
        ),
        DataType::Int64 => text.push_str(&a.as_primitive::<Int64Type>().value(r).to_string()),
        DataType::Int32 => text.push_str(&a.as_primitive::<Int32Type>().value(r).to_string()),
        DataType::UInt64 => text.push_str(&a.as_primitive::<UInt64Type>().value(r).to_string()),
        DataType::UInt32 => text.push_str(&a.as_primitive::<UInt32Type>().value(r).to_string()),
        // Refused when the column was found.
        _ => {}
    }
}

/// Writes one table of `rows` rows with the columns `fields`; `batch(lo, hi)` gives the columns'
/// values for rows lo..hi.
fn write_table(
    path: &Path,
    fields: Vec<Field>,
    rows: usize,
    batch: &dyn Fn(usize, usize) -> Vec<ArrayRef>,
) -> std::io::Result<()> {
    let io = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP_ROWS))
        .build();
    let file = std::fs::File::create(path)?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(io)?;
    // An empty table is still one (empty) batch, so that its file has the schema.
    for lo in (0..rows.max(1)).step_by(BATCH_ROWS) {
        let hi = (lo + BATCH_ROWS).min(rows);
        let b = RecordBatch::try_new(schema.clone(), batch(lo, hi))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        writer.write(&b).map_err(io)?;
    }
    writer.close().map_err(io)?;
    Ok(())
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn float(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Float64, nullable)
}

/// Writes the network's Parquet files under the names `tmp` gives, recording each in `written`
/// as soon as it is created (so that a failure can remove what it left).
pub(crate) fn write_temporaries(
    net: &Network,
    tmp: &dyn Fn(&str) -> std::path::PathBuf,
    written: &mut Vec<&'static str>,
) -> std::io::Result<()> {
    let ids = |v: &mut dyn Iterator<Item = u32>| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            v.map(|i| net.node_ids[i as usize].as_str()),
        ))
    };
    let priced = net.unit_value.iter().any(Option::is_some);
    written.push("nodes.parquet");
    let mut fields = vec![text("id"), float("output", false)];
    if priced {
        fields.push(float("unit_value", true));
    }
    write_table(&tmp("nodes.parquet"), fields, net.len(), &|lo, hi| {
        let mut cols: Vec<ArrayRef> = vec![
            ids(&mut (lo as u32..hi as u32)),
            Arc::new(Float64Array::from(net.output[lo..hi].to_vec())),
        ];
        if priced {
            let values: Vec<Option<f64>> = (lo..hi)
                .map(|j| net.unit_value.get(j).copied().flatten())
                .collect();
            cols.push(Arc::new(Float64Array::from(values)));
        }
        cols
    })?;
    written.push("flows.parquet");
    let fields = vec![text("from"), text("to"), float("quantity", false)];
    write_table(&tmp("flows.parquet"), fields, net.flows.len(), &|lo, hi| {
        let f = &net.flows[lo..hi];
        vec![
            ids(&mut f.iter().map(|f| f.from)),
            ids(&mut f.iter().map(|f| f.to)),
            Arc::new(Float64Array::from_iter_values(f.iter().map(|f| f.quantity))),
        ]
    })?;
    written.push("content.parquet");
    let fields = vec![text("node"), text("tag"), float("amount", false)];
    write_table(
        &tmp("content.parquet"),
        fields,
        net.additions.len(),
        &|lo, hi| {
            let a = &net.additions[lo..hi];
            vec![
                ids(&mut a.iter().map(|a| a.node)),
                Arc::new(StringArray::from_iter_values(
                    a.iter().map(|a| net.tags[a.tag as usize].as_str()),
                )),
                Arc::new(Float64Array::from_iter_values(a.iter().map(|a| a.amount))),
            ]
        },
    )?;
    if !net.lines.is_empty() {
        // One row per (line, direction, peer), as in segregation.csv.
        let mut rows: Vec<(u32, &str, &str, u32)> = Vec::new();
        for l in &net.lines {
            for (dir, peers) in [("in", &l.inputs), ("out", &l.outputs)] {
                for &p in peers {
                    rows.push((l.node, l.name.as_str(), dir, p));
                }
            }
        }
        written.push("segregation.parquet");
        let fields = vec![text("node"), text("line"), text("direction"), text("peer")];
        write_table(
            &tmp("segregation.parquet"),
            fields,
            rows.len(),
            &|lo, hi| {
                let r = &rows[lo..hi];
                vec![
                    ids(&mut r.iter().map(|r| r.0)),
                    Arc::new(StringArray::from_iter_values(r.iter().map(|r| r.1))),
                    Arc::new(StringArray::from_iter_values(r.iter().map(|r| r.2))),
                    ids(&mut r.iter().map(|r| r.3)),
                ]
            },
        )?;
    }
    Ok(())
}

/// Writes an element file (`node`, `element`, `share`) of `rows` (node index, element, share).
pub(crate) fn write_elements(
    net: &Network,
    rows: &[(usize, &str, f64)],
    path: &Path,
) -> std::io::Result<()> {
    let fields = vec![text("node"), text("element"), float("share", false)];
    write_table(path, fields, rows.len(), &|lo, hi| {
        let r = &rows[lo..hi];
        vec![
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|r| net.node_name(r.0)),
            )),
            Arc::new(StringArray::from_iter_values(r.iter().map(|r| r.1))),
            Arc::new(Float64Array::from_iter_values(r.iter().map(|r| r.2))),
        ]
    })
}
