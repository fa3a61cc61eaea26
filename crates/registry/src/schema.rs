//! The registry's tables as data: each audited table with its columns, types and key, from
//! which the row reads and writes, the log's row images and `audit verify`'s comparison are all
//! derived; and the versioned migrations that create them.

use crate::RegistryError;
use crate::store::Backend;
use serde_json::{Value, json};
use sqlx::{AnyPool, AssertSqlSafe, Row as _};
use std::collections::BTreeMap;

/// A column's storage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit integer.
    Int,
    /// UTF-8 text.
    Text,
    /// Bytes (document contents); logged by their SHA-256, not in full.
    Blob,
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub ty: ColumnType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Logged by its SHA-256 only (password hashes): the log is evidence, not a copy of secrets.
    pub secret: bool,
}

/// One value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Cell {
    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The form a row image in the log takes: bytes as their SHA-256 and length.
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => json!(i),
            Cell::Text(s) => json!(s),
            Cell::Blob(b) => json!({"sha256": crate::merkle::sha256(b).to_hex(), "bytes": b.len()}),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(i: i64) -> Cell {
        Cell::Int(i)
    }
}

/// A row: column name → value.
pub type Row = BTreeMap<String, Cell>;

/// Builds a row from pairs.
pub fn row<const N: usize>(pairs: [(&str, Cell); N]) -> Row {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// An audited table.
#[derive(Debug)]
pub struct TableSpec {
    /// Table name.
    pub name: &'static str,
    /// Key columns.
    pub key: &'static [&'static str],
    /// All columns, key first.
    pub columns: &'static [Column],
    /// What a row is.
    pub description: &'static str,
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        secret: false,
    }
}

const fn opt(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
        secret: false,
    }
}

const fn secret(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Text,
        nullable: false,
        secret: true,
    }
}

use ColumnType::{Blob, Int, Text};

/// Every audited table: each row change to these is logged, and `audit verify` compares them
/// with the log's replay.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "agreement_releases",
        key: &["ocid", "release_id"],
        columns: &[
            col("ocid", Text),
            col("release_id", Text),
            col("date", Text),
            col("body", Text),
        ],
        description: "One immutable, dated release of an agreement (OCDS-style); the current \
                      record is compiled from them.",
    },
    TableSpec {
        name: "documents",
        key: &["sha256"],
        columns: &[
            col("sha256", Text),
            col("ocid", Text),
            col("title", Text),
            col("media_type", Text),
            col("confidential", Int),
            col("content", Blob),
        ],
        description: "A document of an agreement, identified by the SHA-256 of its bytes.",
    },
    TableSpec {
        name: "accounts",
        key: &["username"],
        columns: &[
            col("username", Text),
            col("display_name", Text),
            col("role", Text),
            opt("constituency", Text),
            secret("password_hash"),
            col("active", Int),
        ],
        description: "A person who signs in, with one role.",
    },
    TableSpec {
        name: "reviews",
        key: &["id"],
        columns: &[
            col("id", Text),
            col("ocid", Text),
            col("opened_by", Text),
            col("opened_at", Text),
            col("state", Text),
            col("impact", Text),
        ],
        description: "A review case of an agreement, with its computed impact (JSON).",
    },
    TableSpec {
        name: "review_items",
        key: &["review_id", "item"],
        columns: &[
            col("review_id", Text),
            col("item", Text),
            col("kind", Text),
            col("status", Text),
            opt("finding", Text),
            opt("attested_by", Text),
            opt("attested_at", Text),
        ],
        description: "One checklist item of a review: computed, or attested by a named reviewer.",
    },
    TableSpec {
        name: "comments",
        key: &["review_id", "seq"],
        columns: &[
            col("review_id", Text),
            col("seq", Int),
            col("author", Text),
            col("at", Text),
            col("body", Text),
        ],
        description: "A reviewer's comment on a review.",
    },
    TableSpec {
        name: "votes",
        key: &["review_id", "voter"],
        columns: &[
            col("review_id", Text),
            col("voter", Text),
            col("vote", Text),
            col("at", Text),
            opt("reason", Text),
        ],
        description: "A commissioner's or reviewer's vote; public only once the decision is published.",
    },
    TableSpec {
        name: "decisions",
        key: &["review_id"],
        columns: &[
            col("review_id", Text),
            col("outcome", Text),
            col("reasons", Text),
            opt("conditions", Text),
            col("decided_by", Text),
            col("decided_at", Text),
            opt("published_at", Text),
        ],
        description: "The commission's decision on a review, and when it was published.",
    },
];

/// The spec of a table by name.
pub fn table(name: &str) -> Result<&'static TableSpec, RegistryError> {
    TABLES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| RegistryError::Usage(format!("no registry table {name:?}")))
}

impl TableSpec {
    /// `a, b, c`.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The key columns of a row.
    pub fn key_of(&self, row: &Row) -> Result<Row, RegistryError> {
        self.key
            .iter()
            .map(|k| match row.get(*k) {
                Some(c) if *c != Cell::Null => Ok((k.to_string(), c.clone())),
                _ => Err(RegistryError::Usage(format!(
                    "{}: key column {k} is missing",
                    self.name
                ))),
            })
            .collect()
    }

    /// A row's image in the log: every column as [`Cell::to_json`], secret columns as their
    /// SHA-256.
    pub fn image(&self, row: &Row) -> Value {
        Value::Object(
            self.columns
                .iter()
                .map(|c| {
                    let cell = row.get(c.name).cloned().unwrap_or(Cell::Null);
                    let v = match (&cell, c.secret) {
                        (Cell::Text(t), true) => {
                            json!({"sha256": crate::merkle::sha256(t.as_bytes()).to_hex()})
                        }
                        _ => cell.to_json(),
                    };
                    (c.name.to_string(), v)
                })
                .collect(),
        )
    }

    /// Checks that a row has exactly this table's columns with the right types.
    pub fn check_row(&self, row: &Row) -> Result<(), RegistryError> {
        for c in self.columns {
            let ok = match row.get(c.name) {
                None => false,
                Some(Cell::Null) => c.nullable,
                Some(Cell::Int(_)) => c.ty == Int,
                Some(Cell::Text(_)) => c.ty == Text,
                Some(Cell::Blob(_)) => c.ty == Blob,
            };
            if !ok {
                return Err(RegistryError::Usage(format!(
                    "{}: column {} is missing or of the wrong type",
                    self.name, c.name
                )));
            }
        }
        if let Some(extra) = row
            .keys()
            .find(|k| !self.columns.iter().any(|c| c.name == *k))
        {
            return Err(RegistryError::Usage(format!(
                "{}: no column {extra}",
                self.name
            )));
        }
        Ok(())
    }
}

/// A row's image in the log.
pub fn row_json(row: &Row) -> Value {
    Value::Object(row.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// `a=1, b=x` for messages.
pub fn key_text(key: &Row) -> String {
    key.iter()
        .map(|(k, v)| match v {
            Cell::Text(s) => format!("{k}={s}"),
            other => format!("{k}={}", other.to_json()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The versioned migrations, oldest first. `{blob}` and `{bigint}` become each backend's type.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "registry, documents, log, accounts, reviews",
    "CREATE TABLE agreement_releases (
        ocid TEXT NOT NULL, release_id TEXT NOT NULL, date TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (ocid, release_id));
    CREATE TABLE documents (
        sha256 TEXT PRIMARY KEY, ocid TEXT NOT NULL, title TEXT NOT NULL,
        media_type TEXT NOT NULL, confidential {bigint} NOT NULL, content {blob} NOT NULL);
    CREATE TABLE accounts (
        username TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL,
        constituency TEXT, password_hash TEXT NOT NULL, active {bigint} NOT NULL);
    CREATE TABLE reviews (
        id TEXT PRIMARY KEY, ocid TEXT NOT NULL, opened_by TEXT NOT NULL, opened_at TEXT NOT NULL,
        state TEXT NOT NULL, impact TEXT NOT NULL);
    CREATE TABLE review_items (
        review_id TEXT NOT NULL, item TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
        finding TEXT, attested_by TEXT, attested_at TEXT, PRIMARY KEY (review_id, item));
    CREATE TABLE comments (
        review_id TEXT NOT NULL, seq {bigint} NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (review_id, seq));
    CREATE TABLE votes (
        review_id TEXT NOT NULL, voter TEXT NOT NULL, vote TEXT NOT NULL, at TEXT NOT NULL,
        reason TEXT, PRIMARY KEY (review_id, voter));
    CREATE TABLE decisions (
        review_id TEXT PRIMARY KEY, outcome TEXT NOT NULL, reasons TEXT NOT NULL,
        conditions TEXT, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, published_at TEXT);
    CREATE TABLE log_entries (
        idx {bigint} PRIMARY KEY, entry TEXT NOT NULL, leaf_hash TEXT NOT NULL);
    CREATE TABLE checkpoints (size {bigint} PRIMARY KEY, note TEXT NOT NULL);
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
        created_at {bigint} NOT NULL, expires_at {bigint} NOT NULL)",
)];

fn dialect(sql: &str, backend: Backend) -> String {
    let (blob, bigint) = match backend {
        Backend::Sqlite => ("BLOB", "INTEGER"),
        Backend::Postgres => ("BYTEA", "BIGINT"),
    };
    sql.replace("{blob}", blob).replace("{bigint}", bigint)
}

/// Brings the database to the latest schema version, one transaction per migration. Refuses a
/// database from a newer Lodestone.
pub async fn migrate(pool: &AnyPool, backend: Backend) -> Result<i64, RegistryError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(pool)
        .await?
        .try_get("v")?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(RegistryError::Usage(format!(
            "the registry's schema is version {current}, newer than this Lodestone knows \
             ({latest}); upgrade Lodestone"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let mut tx = pool.begin().await?;
        for statement in dialect(sql, backend)
            .split(';')
            .filter(|s| !s.trim().is_empty())
        {
            sqlx::query(AssertSqlSafe(statement.to_string()))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(*version)
        .bind(*name)
        .bind(crate::store::utc_now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(latest)
}
