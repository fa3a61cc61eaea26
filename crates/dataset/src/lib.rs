//! Reads, validates and exports Lodestone datasets.
//!
//! A dataset is a directory of CSV tables and TOML record files whose layout is defined by the
//! schema in `crates/dataset/schema/` (see [`schema`]). [`load_dir`] reads one and returns the
//! typed tables with a [`Report`] of every problem, each located by file, line and column.
//! Nothing here panics on input: malformed bytes become diagnostics.

pub mod chain;
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
pub mod screening;
pub mod sim_inputs;
pub mod validate;
pub mod value;

pub use diag::{Diagnostic, Report, Severity};
pub use load::{Dataset, InputFiles, Row, Table, load, load_dir, read_dir};
pub use schema::{ColumnSchema, ColumnType, Schema, TableSchema};
pub use value::Value;

/// The bundled world dataset's directory, relative to the repository root.
pub const DEFAULT_DATA_DIR: &str = "data/world";

/// Today's date (UTC), from the system clock: the default date of rules and briefs. (The clock is
/// read at the edges only; engines take dates as arguments.)
pub fn today() -> lodestone_model::Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as u16;
    lodestone_model::Date::ymd(y, m, d).unwrap_or(lodestone_model::Date {
        year: y,
        month: Some(1),
        day: Some(1),
    })
}
