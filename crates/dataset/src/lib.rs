//! Reads, validates and exports Lodestone datasets.
//!
//! A dataset is a directory of CSV tables and TOML record files whose layout is defined by the
//! schema in `crates/dataset/schema/` (see [`schema`]). [`load_dir`] reads one and returns the
//! typed tables with a [`Report`] of every problem, each located by file, line and column.
//! Nothing here panics on input: malformed bytes become diagnostics.

pub mod diag;
pub mod docs;
pub mod export;
pub mod load;
pub mod lower;
pub mod network;
pub mod products;
pub mod risk_inputs;
pub mod rules_file;
pub mod schema;
pub mod sim_inputs;
pub mod validate;
pub mod value;

pub use diag::{Diagnostic, Report, Severity};
pub use load::{Dataset, InputFiles, Row, Table, load, load_dir, read_dir};
pub use schema::{ColumnSchema, ColumnType, Schema, TableSchema};
pub use value::Value;

/// The bundled world dataset's directory, relative to the repository root.
pub const DEFAULT_DATA_DIR: &str = "data/world";
