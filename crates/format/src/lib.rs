//! The Lodestone dataset file format: the schema as data, reading, validation, export and the
//! generated reference docs.
//!
//! A dataset is a directory of CSV tables and TOML record files whose layout is defined by the
//! schema in `crates/format/schema/` (see [`schema`]). [`load_dir`] reads one and returns the
//! typed tables with a [`Report`] of every problem, each located by file, line and column.
//! Nothing here panics on input: malformed bytes become diagnostics. This crate knows no engine:
//! rule and scenario files are parsed into engine types by `lodestone-world`.

pub mod composition;
pub mod diag;
pub mod docs;
pub mod export;
pub mod load;
pub mod schema;
pub mod validate;
pub mod value;

pub use composition::{Compositions, Split};
pub use diag::{Diagnostic, Report, Severity};
pub use load::{
    Dataset, InputFiles, MAX_FILE_BYTES, RecordLines, Row, Table, TomlFile, line_of_offset, load,
    load_dir, max_file_bytes, read_bounded, read_dir, sort_diagnostics, suggest,
};
pub use schema::{ColumnSchema, ColumnType, Schema, TableSchema};
pub use value::Value;

/// The bundled world dataset's directory, relative to the repository root.
pub const DEFAULT_DATA_DIR: &str = "data/world";
