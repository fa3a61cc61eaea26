//! Storage: one set of domain code over SQLite (the default, a file) or PostgreSQL, through
//! sqlx's `Any` driver with runtime queries (no compile-time macros).
//!
//! Every write goes through [`Registry::commit`]: the row changes, one log entry describing
//! them (who, when, what, each row before and after) and a newly signed checkpoint are written in
//! one database transaction, so an acknowledged write is in the data, the log and the tree head
//! together or not at all. Writes are serialized in the process by one lock; a second process
//! writing at the same time makes one of the two transactions fail on the log's primary key
//! (nothing is lost or interleaved) and the registry reloads the log.

use crate::RegistryError;
use crate::merkle::{self, CompactRange, Hash};
use crate::note::{Checkpoint, NoteSigner};
use crate::schema::{self, Cell, ColumnType, Row, TableSpec};
use serde_json::{Value, json};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row as _};

// SQL text is built only from the static table specs of `schema` (never from input): values are
// always bound parameters, which is why `AssertSqlSafe` is sound here.
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// Which database a registry lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL journal, `synchronous=FULL`).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl Backend {
    /// The backend a connection URL names.
    pub fn of_url(url: &str) -> Result<Backend, RegistryError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(RegistryError::Usage(format!(
                "database {url:?} is neither sqlite:PATH nor postgres://…; give a file as \
                 sqlite:registry.db or a server as postgres://user@host/db"
            )))
        }
    }
}

/// One row change inside a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new row; refused if its key exists.
    Insert {
        /// Table name.
        table: &'static str,
        /// The whole row.
        row: Row,
    },
    /// Replaces the row with the same key; refused if there is none.
    Update {
        /// Table name.
        table: &'static str,
        /// The whole new row.
        row: Row,
    },
    /// Removes the row with this key; refused if there is none.
    Delete {
        /// Table name.
        table: &'static str,
        /// The key columns' values.
        key: Row,
    },
}

/// What a commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The log entry's index.
    pub index: u64,
    /// The leaf hash of the entry.
    pub leaf: Hash,
    /// The signed checkpoint covering it.
    pub checkpoint: String,
}

struct LogState {
    leaves: Vec<Hash>,
    range: CompactRange,
}

/// An open registry: a connection pool, the log's signing key and the log's tree in memory.
pub struct Registry {
    pool: AnyPool,
    backend: Backend,
    signer: NoteSigner,
    log: Mutex<LogState>,
}

/// Seconds since 1970 by the system clock: the registry's one reading of the clock (log entry
/// times, session expiry).
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = now_seconds().max(0) as u64;
    let date = lodestone_model::Date::from_unix_seconds(secs);
    let t = secs % 86_400;
    format!("{date}T{:02}:{:02}:{:02}Z", t / 3600, t / 60 % 60, t % 60)
}

async fn connect(url: &str, read_only: bool) -> Result<(AnyPool, Backend), RegistryError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)?;
    let url = match backend {
        Backend::Sqlite if !url.contains('?') => {
            format!("{url}?mode={}", if read_only { "ro" } else { "rwc" })
        }
        _ => url.to_string(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
        .acquire_timeout(std::time::Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    for pragma in [
                        "PRAGMA journal_mode=WAL",
                        "PRAGMA synchronous=FULL",
                        "PRAGMA busy_timeout=5000",
                        "PRAGMA foreign_keys=ON",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| RegistryError::Database(format!("cannot open {url}: {e}")))?;
    Ok((pool, backend))
}

impl Registry {
    /// Opens (creating and migrating if needed) the registry at `url`, signing checkpoints with
    /// `signer`, whose name is the log's origin.
    pub async fn open(url: &str, signer: NoteSigner) -> Result<Registry, RegistryError> {
        let (pool, backend) = connect(url, false).await?;
        schema::migrate(&pool, backend).await?;
        let registry = Registry {
            pool,
            backend,
            signer,
            log: Mutex::new(LogState {
                leaves: Vec::new(),
                range: CompactRange::new(),
            }),
        };
        registry.reload().await?;
        Ok(registry)
    }

    /// Opens an existing registry for reading only (no key needed, no migration run; an SQLite
    /// file that does not exist is an error, not a new empty registry).
    pub async fn open_pool(url: &str) -> Result<(AnyPool, Backend), RegistryError> {
        connect(url, true).await
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The log's origin (its signing key's name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// Reloads the log's tree from the database (after a restore, or another writer).
    pub async fn reload(&self) -> Result<(), RegistryError> {
        let rows = sqlx::query("SELECT idx, leaf_hash FROM log_entries ORDER BY idx")
            .fetch_all(&self.pool)
            .await?;
        let mut state = LogState {
            leaves: Vec::with_capacity(rows.len()),
            range: CompactRange::new(),
        };
        for (i, r) in rows.iter().enumerate() {
            let idx: i64 = r.try_get("idx")?;
            let leaf: String = r.try_get("leaf_hash")?;
            let leaf = Hash::from_hex(&leaf)
                .filter(|_| idx == i as i64)
                .ok_or_else(|| {
                    RegistryError::Tampered(format!(
                        "log entry {idx} is malformed; run `lodestone audit verify`"
                    ))
                })?;
            state.leaves.push(leaf);
            state.range.push(leaf);
        }
        *self.log.lock().await = state;
        Ok(())
    }

    /// The number of log entries and the latest signed checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<String>, RegistryError> {
        let row = sqlx::query("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("note")).transpose()?)
    }

    /// The log's leaf hashes (for proofs).
    pub async fn leaves(&self) -> Vec<Hash> {
        self.log.lock().await.leaves.clone()
    }

    /// Applies `changes` and logs them as one entry by `actor` doing `action`, all in one
    /// transaction with a new signed checkpoint.
    pub async fn commit(
        &self,
        actor: &str,
        action: &str,
        changes: Vec<Change>,
    ) -> Result<Receipt, RegistryError> {
        let mut log = self.log.lock().await;
        let result = self.commit_locked(&mut log, actor, action, changes).await;
        if let Err(RegistryError::Database(_)) = &result {
            // Another process may have appended: start again from what is stored.
            drop(log);
            self.reload().await?;
        }
        result
    }

    async fn commit_locked(
        &self,
        log: &mut LogState,
        actor: &str,
        action: &str,
        changes: Vec<Change>,
    ) -> Result<Receipt, RegistryError> {
        let mut tx = self.pool.begin().await?;
        let mut logged = Vec::with_capacity(changes.len());
        for change in changes {
            let (spec, key, after) = match &change {
                Change::Insert { table, row } | Change::Update { table, row } => {
                    let spec = schema::table(table)?;
                    (spec, spec.key_of(row)?, Some(row))
                }
                Change::Delete { table, key } => {
                    let spec = schema::table(table)?;
                    (spec, spec.key_of(key)?, None)
                }
            };
            if let Some(row) = after {
                spec.check_row(row)?;
            }
            let before = select_row(&mut tx, spec, &key).await?;
            match (&change, &before) {
                (Change::Insert { .. }, Some(_)) => {
                    return Err(RegistryError::Conflict(format!(
                        "{} {} exists already; nothing was changed",
                        spec.name,
                        schema::key_text(&key)
                    )));
                }
                (Change::Update { .. } | Change::Delete { .. }, None) => {
                    return Err(RegistryError::NotFound(format!(
                        "{} {} does not exist; nothing was changed",
                        spec.name,
                        schema::key_text(&key)
                    )));
                }
                _ => {}
            }
            match &change {
                Change::Insert { row, .. } => insert_row(&mut tx, spec, row).await?,
                Change::Update { row, .. } => update_row(&mut tx, spec, &key, row).await?,
                Change::Delete { .. } => delete_row(&mut tx, spec, &key).await?,
            }
            logged.push(json!({
                "table": spec.name,
                "key": schema::row_json(&key),
                "before": before.as_ref().map(|r| spec.image(r)),
                "after": after.map(|r| spec.image(r)),
            }));
        }
        let index = log.range.size();
        let entry = json!({
            "index": index,
            "time": utc_now(),
            "actor": actor,
            "action": action,
            "changes": logged,
        });
        let text = canonical_json(&entry);
        let leaf = merkle::leaf_hash(text.as_bytes());
        sqlx::query("INSERT INTO log_entries (idx, entry, leaf_hash) VALUES ($1, $2, $3)")
            .bind(index as i64)
            .bind(&text)
            .bind(leaf.to_hex())
            .execute(&mut *tx)
            .await?;
        let mut range = log.range.clone();
        range.push(leaf);
        let cp = Checkpoint {
            origin: self.signer.name().to_string(),
            size: range.size(),
            root: range.root(),
        };
        let note = self
            .signer
            .sign(&cp.to_text())
            .map_err(|e| RegistryError::Key(e.0))?;
        sqlx::query("INSERT INTO checkpoints (size, note) VALUES ($1, $2)")
            .bind(cp.size as i64)
            .bind(&note)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        log.range = range;
        log.leaves.push(leaf);
        Ok(Receipt {
            index,
            leaf,
            checkpoint: note,
        })
    }

    /// [`Registry::commit`] of one new row.
    pub async fn insert(
        &self,
        actor: &str,
        action: &str,
        table: &'static str,
        row: Row,
    ) -> Result<Receipt, RegistryError> {
        self.commit(actor, action, vec![Change::Insert { table, row }])
            .await
    }

    /// Every row of a table, ordered by key.
    pub async fn rows(&self, table: &str) -> Result<Vec<Row>, RegistryError> {
        read_table(&self.pool, schema::table(table)?).await
    }

    /// The row with this key, if any.
    pub async fn get(&self, table: &str, key: &Row) -> Result<Option<Row>, RegistryError> {
        let spec = schema::table(table)?;
        let mut conn = self.pool.acquire().await?;
        select_row(&mut conn, spec, &spec.key_of(key)?).await
    }
}

/// JSON with object keys sorted and no insignificant whitespace: the form that is hashed.
pub fn canonical_json(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sort(v)).expect("JSON values serialize")
}

fn bind_cell<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    cell: &Cell,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    match cell {
        Cell::Null => q.bind(Option::<String>::None),
        Cell::Int(i) => q.bind(*i),
        Cell::Text(s) => q.bind(s.clone()),
        Cell::Blob(b) => q.bind(b.clone()),
    }
}

fn cell_of(row: &AnyRow, name: &str, ty: ColumnType) -> Result<Cell, RegistryError> {
    Ok(match ty {
        ColumnType::Int => row
            .try_get::<Option<i64>, _>(name)?
            .map_or(Cell::Null, Cell::Int),
        ColumnType::Text => row
            .try_get::<Option<String>, _>(name)?
            .map_or(Cell::Null, Cell::Text),
        ColumnType::Blob => row
            .try_get::<Option<Vec<u8>>, _>(name)?
            .map_or(Cell::Null, Cell::Blob),
    })
}

fn row_of(spec: &TableSpec, r: &AnyRow) -> Result<Row, RegistryError> {
    spec.columns
        .iter()
        .map(|c| Ok((c.name.to_string(), cell_of(r, c.name, c.ty)?)))
        .collect()
}

fn key_clause(spec: &TableSpec, first: usize) -> String {
    spec.key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", first + i))
        .collect::<Vec<_>>()
        .join(" AND ")
}

async fn select_row(
    conn: &mut sqlx::AnyConnection,
    spec: &TableSpec,
    key: &Row,
) -> Result<Option<Row>, RegistryError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {}",
        spec.column_list(),
        spec.name,
        key_clause(spec, 1)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for k in spec.key {
        q = bind_cell(q, &key[*k]);
    }
    let row = q.fetch_optional(&mut *conn).await?;
    row.map(|r| row_of(spec, &r)).transpose()
}

pub(crate) async fn insert_row(
    conn: &mut sqlx::AnyConnection,
    spec: &TableSpec,
    row: &Row,
) -> Result<(), RegistryError> {
    let params: Vec<String> = (1..=spec.columns.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        spec.name,
        spec.column_list(),
        params.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for c in spec.columns {
        q = bind_cell(q, &row[c.name]);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

async fn update_row(
    conn: &mut sqlx::AnyConnection,
    spec: &TableSpec,
    key: &Row,
    row: &Row,
) -> Result<(), RegistryError> {
    let sets: Vec<String> = spec
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ${}", c.name, i + 1))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE {}",
        spec.name,
        sets.join(", "),
        key_clause(spec, spec.columns.len() + 1)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for c in spec.columns {
        q = bind_cell(q, &row[c.name]);
    }
    for k in spec.key {
        q = bind_cell(q, &key[*k]);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

async fn delete_row(
    conn: &mut sqlx::AnyConnection,
    spec: &TableSpec,
    key: &Row,
) -> Result<(), RegistryError> {
    let sql = format!("DELETE FROM {} WHERE {}", spec.name, key_clause(spec, 1));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for k in spec.key {
        q = bind_cell(q, &key[*k]);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// Every row of a table, ordered by its key.
pub async fn read_table<'c, E>(conn: E, spec: &TableSpec) -> Result<Vec<Row>, RegistryError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        spec.column_list(),
        spec.name,
        spec.key.join(", ")
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(conn).await?;
    rows.iter().map(|r| row_of(spec, r)).collect()
}
