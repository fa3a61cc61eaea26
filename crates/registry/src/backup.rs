//! Backup and restore: a consistent snapshot of every table, the log and its checkpoints as JSON
//! lines, taken online (writers go on), and restored exactly into an empty registry on either
//! backend. A backup of a restored registry is byte-for-byte the backup it came from.

use crate::RegistryError;
use crate::schema::{self, Cell, ColumnType, Row, TABLES};
use crate::store::{Backend, Registry, read_table};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};
use sqlx::{AssertSqlSafe, Row as _};

const FORMAT: &str = "lodestone-registry-backup";

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => json!(i),
        Cell::Text(s) => json!(s),
        Cell::Blob(b) => json!({ "base64": B64.encode(b) }),
    }
}

fn cell_of_json(v: &Value, ty: ColumnType) -> Result<Cell, RegistryError> {
    let bad = || RegistryError::Usage(format!("backup: value {v} is not of type {ty:?}"));
    Ok(match (v, ty) {
        (Value::Null, _) => Cell::Null,
        (Value::Number(n), ColumnType::Int) => Cell::Int(n.as_i64().ok_or_else(bad)?),
        (Value::String(s), ColumnType::Text) => Cell::Text(s.clone()),
        (Value::Object(o), ColumnType::Blob) => Cell::Blob(
            o.get("base64")
                .and_then(Value::as_str)
                .and_then(|s| B64.decode(s).ok())
                .ok_or_else(bad)?,
        ),
        _ => return Err(bad()),
    })
}

/// A consistent dump of the whole registry, one JSON object per line.
pub async fn dump(reg: &Registry) -> Result<String, RegistryError> {
    let mut tx = reg.pool().begin().await?;
    if reg.backend() == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await?
        .try_get("v")?;
    let mut out = String::new();
    let mut line = |v: Value| {
        out.push_str(&serde_json::to_string(&v).expect("JSON serializes"));
        out.push('\n');
    };
    line(json!({"format": FORMAT, "version": 1, "schema": version, "origin": reg.origin()}));
    for spec in TABLES {
        for row in read_table(&mut *tx, spec).await? {
            let cells: Map<String, Value> = spec
                .columns
                .iter()
                .map(|c| (c.name.to_string(), cell_json(&row[c.name])))
                .collect();
            line(json!({"table": spec.name, "row": cells}));
        }
    }
    for r in sqlx::query("SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx")
        .fetch_all(&mut *tx)
        .await?
    {
        line(json!({"log": {
            "idx": r.try_get::<i64, _>("idx")?,
            "entry": r.try_get::<String, _>("entry")?,
            "leaf_hash": r.try_get::<String, _>("leaf_hash")?,
        }}));
    }
    for r in sqlx::query("SELECT size, note FROM checkpoints ORDER BY size")
        .fetch_all(&mut *tx)
        .await?
    {
        line(json!({"checkpoint": {
            "size": r.try_get::<i64, _>("size")?,
            "note": r.try_get::<String, _>("note")?,
        }}));
    }
    tx.commit().await?;
    Ok(out)
}

/// Restores a dump into `reg`, which must be empty (restore never overwrites), in one
/// transaction; then reloads the log. Check the result with `audit verify`.
pub async fn restore(reg: &Registry, dump: &str) -> Result<usize, RegistryError> {
    let mut lines = dump.lines().enumerate();
    let (_, head) = lines
        .next()
        .ok_or_else(|| RegistryError::Usage("the backup is empty".into()))?;
    let head: Value = serde_json::from_str(head)
        .map_err(|e| RegistryError::Usage(format!("backup line 1: {e}")))?;
    if head["format"] != FORMAT || head["version"] != 1 {
        return Err(RegistryError::Usage(
            "not a Lodestone registry backup (version 1)".into(),
        ));
    }
    if head["origin"].as_str() != Some(reg.origin()) {
        return Err(RegistryError::Key(format!(
            "the backup's log is {}, this registry's key signs {}; restore with the backup's key file",
            head["origin"],
            reg.origin()
        )));
    }
    let latest = schema::MIGRATIONS.last().map_or(0, |m| m.0);
    if head["schema"].as_i64() != Some(latest) {
        return Err(RegistryError::Usage(format!(
            "the backup has schema version {}, this Lodestone {latest}",
            head["schema"]
        )));
    }
    let mut tx = reg.pool().begin().await?;
    let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM log_entries")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    let mut nonempty = used > 0;
    for spec in TABLES {
        let q = format!("SELECT COUNT(*) AS n FROM {}", spec.name);
        nonempty |= sqlx::query(AssertSqlSafe(q))
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>("n")?
            > 0;
    }
    if nonempty {
        return Err(RegistryError::Conflict(
            "restore goes only into an empty registry; nothing was changed. Give a new database \
             with --db."
                .into(),
        ));
    }
    let mut count = 0;
    for (n, text) in lines {
        let at = |e: String| RegistryError::Usage(format!("backup line {}: {e}", n + 1));
        let v: Value = serde_json::from_str(text).map_err(|e| at(e.to_string()))?;
        if let Some(table) = v["table"].as_str() {
            let spec = schema::table(table).map_err(|e| at(e.to_string()))?;
            let row: Row = spec
                .columns
                .iter()
                .map(|c| Ok((c.name.to_string(), cell_of_json(&v["row"][c.name], c.ty)?)))
                .collect::<Result<_, RegistryError>>()
                .map_err(|e| at(e.to_string()))?;
            spec.check_row(&row).map_err(|e| at(e.to_string()))?;
            crate::store::insert_row(&mut tx, spec, &row).await?;
        } else if let Some(l) = v.get("log") {
            sqlx::query("INSERT INTO log_entries (idx, entry, leaf_hash) VALUES ($1, $2, $3)")
                .bind(l["idx"].as_i64().ok_or_else(|| at("log idx".into()))?)
                .bind(
                    l["entry"]
                        .as_str()
                        .ok_or_else(|| at("log entry".into()))?
                        .to_string(),
                )
                .bind(
                    l["leaf_hash"]
                        .as_str()
                        .ok_or_else(|| at("leaf hash".into()))?
                        .to_string(),
                )
                .execute(&mut *tx)
                .await?;
        } else if let Some(c) = v.get("checkpoint") {
            sqlx::query("INSERT INTO checkpoints (size, note) VALUES ($1, $2)")
                .bind(
                    c["size"]
                        .as_i64()
                        .ok_or_else(|| at("checkpoint size".into()))?,
                )
                .bind(
                    c["note"]
                        .as_str()
                        .ok_or_else(|| at("checkpoint note".into()))?
                        .to_string(),
                )
                .execute(&mut *tx)
                .await?;
        } else {
            return Err(at("neither a row, a log entry nor a checkpoint".into()));
        }
        count += 1;
    }
    tx.commit().await?;
    reg.reload().await?;
    Ok(count)
}
