//! The oversight commission's registry: agreements as immutable OCDS-style releases with their
//! documents, review cases, accounts, and a tamper-evident log, on SQLite or PostgreSQL.
//!
//! * [`merkle`] — RFC 6962 Merkle trees: tree heads, inclusion and consistency proofs.
//! * [`note`] — C2SP signed notes and checkpoints with Ed25519 keys.
//! * [`schema`] — the audited tables as data, and the versioned migrations.
//! * [`store`] — the database (sqlx `Any`), and [`store::Registry::commit`], through which every
//!   write goes: rows, log entry and signed checkpoint in one transaction.
//! * [`audit`] — `audit verify`: the stored data checked against the log, offline.
//! * [`agreements`] — releases, compiled records, import and export.
//! * [`backup`] — a consistent, portable dump and its exact restore.
#![warn(missing_docs)]

pub mod access;
pub mod agreements;
pub mod audit;
pub mod backup;
pub mod commission;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod schema;
pub mod store;

pub use store::{Backend, Change, Receipt, Registry};

use std::fmt;

/// Everything that can go wrong in the registry, each with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// The request was malformed or named something that does not exist in a vocabulary.
    Usage(String),
    /// The thing asked for does not exist.
    NotFound(String),
    /// The write would overwrite something that exists.
    Conflict(String),
    /// The caller may not do this.
    Forbidden(String),
    /// The database refused or failed.
    Database(String),
    /// A key file is missing or malformed.
    Key(String),
    /// Stored data does not match the log: the first mismatch.
    Tampered(String),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Usage(m)
            | RegistryError::NotFound(m)
            | RegistryError::Conflict(m)
            | RegistryError::Forbidden(m) => f.write_str(m),
            RegistryError::Database(m) => write!(f, "database: {m}"),
            RegistryError::Key(m) => write!(f, "log key: {m}"),
            RegistryError::Tampered(m) => write!(f, "audit failed: {m}"),
        }
    }
}

impl std::error::Error for RegistryError {}

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> RegistryError {
        RegistryError::Database(e.to_string())
    }
}
