//! The dataset schema, read from the CSV files in `crates/format/schema/` (embedded at build time).
//!
//! The schema is data, in the spirit of PyPSA's `component_attrs`: each table has a file listing
//! every column with its type, unit, default, whether it is required, what it references, its
//! allowed values and range, and a description. Parsing, validation and `docs/dataset.md` are all
//! driven by it, so they cannot disagree.

use lodestone_model::Unit;

/// The embedded schema files, as (file name, contents).
pub const SCHEMA_FILES: &[(&str, &str)] = &[
    ("tables.csv", include_str!("../schema/tables.csv")),
    ("checks.csv", include_str!("../schema/checks.csv")),
    ("sources.csv", include_str!("../schema/sources.csv")),
    ("groups.csv", include_str!("../schema/groups.csv")),
    ("countries.csv", include_str!("../schema/countries.csv")),
    ("companies.csv", include_str!("../schema/companies.csv")),
    ("ownership.csv", include_str!("../schema/ownership.csv")),
    ("materials.csv", include_str!("../schema/materials.csv")),
    (
        "compositions.csv",
        include_str!("../schema/compositions.csv"),
    ),
    ("facilities.csv", include_str!("../schema/facilities.csv")),
    (
        "facility_status.csv",
        include_str!("../schema/facility_status.csv"),
    ),
    ("flows.csv", include_str!("../schema/flows.csv")),
    ("production.csv", include_str!("../schema/production.csv")),
    ("segregation.csv", include_str!("../schema/segregation.csv")),
    ("prices.csv", include_str!("../schema/prices.csv")),
    (
        "observations.csv",
        include_str!("../schema/observations.csv"),
    ),
    ("references.csv", include_str!("../schema/references.csv")),
    (
        "process_losses.csv",
        include_str!("../schema/process_losses.csv"),
    ),
];

/// Directories of TOML records that later engines define (rules, scenarios, agreements). The
/// loader checks that every `*.toml` in them parses and that the sources they cite exist.
pub const TOML_DIRS: &[&str] = &["policies", "scenarios", "agreements"];

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// The table's own stable id: a lower-case slug.
    Id,
    /// An ISO 3166-1 alpha-3 country code (the key of `countries`).
    Iso3,
    /// Free text.
    Text,
    /// The id of a row in the referenced table.
    Ref,
    /// A `;`-separated list of ids in the referenced table.
    Refs,
    /// A flow endpoint: a facility id or a country code.
    Node,
    /// One of the listed values.
    Enum,
    /// A `;`-separated list of the listed values.
    Enums,
    /// A decimal number in the column's unit; a cell may give another unit of the same dimension.
    Number,
    /// A whole number (years).
    Integer,
    /// An ISO 8601 date at year, month or day precision.
    Date,
    /// An http(s) URL.
    Url,
    /// A Harmonized System code.
    Hs,
    /// A `;`-separated list of Harmonized System codes (a customs aggregate's tariff headings).
    HsCodes,
}

impl ColumnType {
    /// The name used in the schema files.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Id => "id",
            ColumnType::Iso3 => "iso3",
            ColumnType::Text => "text",
            ColumnType::Ref => "ref",
            ColumnType::Refs => "refs",
            ColumnType::Node => "node",
            ColumnType::Enum => "enum",
            ColumnType::Enums => "enums",
            ColumnType::Number => "number",
            ColumnType::Integer => "integer",
            ColumnType::Date => "date",
            ColumnType::Url => "url",
            ColumnType::Hs => "hs",
            ColumnType::HsCodes => "hs_codes",
        }
    }

    fn parse(name: &str) -> Option<ColumnType> {
        use ColumnType::*;
        [
            Id, Iso3, Text, Ref, Refs, Node, Enum, Enums, Number, Integer, Date, Url, Hs, HsCodes,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// True for types whose cell holds a `;`-separated list.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            ColumnType::Refs | ColumnType::Enums | ColumnType::HsCodes
        )
    }
}

/// One column of a table.
#[derive(Debug, Clone)]
pub struct ColumnSchema {
    /// Header name in the CSV file and key in JSON output.
    pub name: String,
    /// Value type.
    pub ty: ColumnType,
    /// Canonical unit of a number column (values are stored in it); dimensionless otherwise.
    pub unit: Unit,
    /// Value used when the cell is empty.
    pub default: Option<String>,
    /// Whether an empty cell (with no default) is an error.
    pub required: bool,
    /// Tables a reference may point into (`ref`, `refs`: one; `node`: facilities and countries).
    pub references: Vec<String>,
    /// Allowed values of an `enum`/`enums` column.
    pub values: Vec<String>,
    /// Smallest allowed number.
    pub min: Option<f64>,
    /// Largest allowed number.
    pub max: Option<f64>,
    /// Whether `lodestone show` includes the column in its table listing.
    pub list: bool,
    /// What the column means.
    pub description: String,
}

/// One table: its file, key and columns.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// Table name, e.g. `facilities`.
    pub name: String,
    /// File name inside the dataset directory, e.g. `facilities.csv`.
    pub file: String,
    /// Columns whose values together identify a row (one column for tables with an `id`).
    pub key: Vec<String>,
    /// `(column, value)`: rows with that value are estimates and must state confidence and method.
    pub estimate_when: Option<(String, String)>,
    /// What the table holds.
    pub description: String,
    /// The columns, in the canonical order used for output.
    pub columns: Vec<ColumnSchema>,
}

impl TableSchema {
    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// True if rows are identified by a single `id`/`iso3` column, so `show KIND ID` works.
    pub fn has_single_id(&self) -> bool {
        self.key.len() == 1
            && self
                .column_index(&self.key[0])
                .is_some_and(|i| matches!(self.columns[i].ty, ColumnType::Id | ColumnType::Iso3))
    }
}

/// Numeric thresholds that validation uses, from `checks.csv`.
#[derive(Debug, Clone)]
pub struct Check {
    /// Name, e.g. `mass_balance_tolerance`.
    pub name: String,
    /// Value in `unit`.
    pub value: f64,
    /// Unit of `value`.
    pub unit: String,
    /// What it governs.
    pub description: String,
}

/// The whole schema.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Tables in load and output order.
    pub tables: Vec<TableSchema>,
    /// Validation thresholds.
    pub checks: Vec<Check>,
}

impl Schema {
    /// The schema embedded in this build.
    ///
    /// The embedded files are part of the program, not user input; a malformed one is a bug that
    /// the tests catch, reported as an error rather than a panic all the same.
    pub fn embedded() -> Result<Schema, String> {
        let file = |name: &str| -> Result<&'static str, String> {
            SCHEMA_FILES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| *text)
                .ok_or_else(|| format!("schema file {name} is not embedded"))
        };
        let mut tables = Vec::new();
        for row in rows("tables.csv", file("tables.csv")?)? {
            let [name, table_file, key, estimate_when, description] =
                fields::<5>("tables.csv", &row)?;
            let estimate_when = if estimate_when.is_empty() {
                None
            } else {
                let (c, v) = estimate_when.split_once('=').ok_or_else(|| {
                    format!("tables.csv: estimate_when '{estimate_when}' is not COLUMN=VALUE")
                })?;
                Some((c.to_string(), v.to_string()))
            };
            let columns = columns(&format!("{name}.csv"), file(&format!("{name}.csv"))?)?;
            let table = TableSchema {
                name,
                file: table_file,
                key: key.split(';').map(str::to_string).collect(),
                estimate_when,
                description,
                columns,
            };
            for k in &table.key {
                table
                    .column_index(k)
                    .ok_or_else(|| format!("tables.csv: key column {k} not in {}", table.name))?;
            }
            tables.push(table);
        }
        let mut checks = Vec::new();
        for row in rows("checks.csv", file("checks.csv")?)? {
            let [name, value, unit, description] = fields::<4>("checks.csv", &row)?;
            let value = value
                .parse()
                .map_err(|_| format!("checks.csv: {name} value is not a number"))?;
            checks.push(Check {
                name,
                value,
                unit,
                description,
            });
        }
        let schema = Schema { tables, checks };
        schema.check_references()?;
        Ok(schema)
    }

    fn check_references(&self) -> Result<(), String> {
        for t in &self.tables {
            for c in &t.columns {
                for r in &c.references {
                    if self.table(r).is_none() {
                        return Err(format!(
                            "{}.csv: column {} references unknown table {r}",
                            t.name, c.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// A check's value, as a fraction if its unit is `%`.
    pub fn check_fraction(&self, name: &str) -> f64 {
        self.checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| {
                if c.unit == "%" {
                    c.value / 100.0
                } else {
                    c.value
                }
            })
            .unwrap_or(0.0)
    }
}

fn rows(file: &str, text: &str) -> Result<Vec<csv::StringRecord>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.map_err(|e| format!("{file}: {e}")))
        .collect()
}

fn fields<const N: usize>(file: &str, row: &csv::StringRecord) -> Result<[String; N], String> {
    let v: Vec<String> = row.iter().map(|s| s.trim().to_string()).collect();
    v.try_into()
        .map_err(|_| format!("{file}: row has the wrong number of fields"))
}

fn columns(file: &str, text: &str) -> Result<Vec<ColumnSchema>, String> {
    let mut out = Vec::new();
    for row in rows(file, text)? {
        let [
            name,
            ty,
            unit,
            default,
            required,
            references,
            values,
            min,
            max,
            list,
            description,
        ] = fields::<11>(file, &row)?;
        let ty = ColumnType::parse(&ty)
            .ok_or_else(|| format!("{file}: column {name} has unknown type {ty}"))?;
        let unit = Unit::parse(&unit).map_err(|e| format!("{file}: column {name}: {e}"))?;
        let num = |s: &str| -> Result<Option<f64>, String> {
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| format!("{file}: {name}: bad bound {s}"))
            }
        };
        let split = |s: &str, sep: char| -> Vec<String> {
            if s.is_empty() {
                Vec::new()
            } else {
                s.split(sep).map(str::to_string).collect()
            }
        };
        out.push(ColumnSchema {
            ty,
            unit,
            default: (!default.is_empty()).then_some(default),
            required: required == "yes",
            references: split(&references, '|'),
            values: split(&values, '|'),
            min: num(&min)?,
            max: num(&max)?,
            list: list == "yes",
            description,
            name,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_loads_and_is_consistent() {
        let schema = Schema::embedded().expect("embedded schema");
        assert!(schema.tables.len() >= 7);
        for t in &schema.tables {
            assert_eq!(t.file, format!("{}.csv", t.name));
            for c in &t.columns {
                let needs_refs =
                    matches!(c.ty, ColumnType::Ref | ColumnType::Refs | ColumnType::Node);
                assert_eq!(
                    needs_refs,
                    !c.references.is_empty(),
                    "{}.{}",
                    t.name,
                    c.name
                );
                let needs_values = matches!(c.ty, ColumnType::Enum | ColumnType::Enums);
                assert_eq!(needs_values, !c.values.is_empty(), "{}.{}", t.name, c.name);
                assert!(!c.description.is_empty(), "{}.{}", t.name, c.name);
                if let Some(d) = &c.default {
                    assert!(
                        c.values.is_empty() || c.values.contains(d),
                        "{}.{}",
                        t.name,
                        c.name
                    );
                }
            }
        }
        assert!(schema.check_fraction("mass_balance_tolerance") > 0.0);
    }
}
