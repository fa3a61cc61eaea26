//! `audit verify`: checks a registry's stored data against its log, offline, with only the
//! log's public key.
//!
//! 1. Every log entry's stored leaf hash is the hash of its text, entries are numbered 0, 1, …
//!    without gaps, and each names its own index.
//! 2. Every stored checkpoint is signed by the key and its tree head is the Merkle tree head of
//!    the entries up to its size; the latest covers the whole log. (Every commit signs one, so a
//!    rewritten entry is pinned to the checkpoint of its own size.)
//! 3. Replaying the entries in order, each change's "before" image is what the earlier entries
//!    left, and the tables' rows now are exactly what the replay gives.
//! 4. Optionally, a checkpoint held by an outsider is consistent with the log (the log only grew).
//!
//! The first failure is reported by name: the entry, checkpoint or row that does not match.

use crate::RegistryError;
use crate::merkle::{self, CompactRange, Hash};
use crate::note::{Checkpoint, NoteVerifier};
use crate::schema::{self, TABLES};
use crate::store::{canonical_json, read_table};
use serde_json::Value;
use sqlx::{AnyPool, Row as _};
use std::collections::BTreeMap;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Log entries checked.
    pub entries: u64,
    /// Signed checkpoints checked.
    pub checkpoints: u64,
    /// Table rows compared with the replay.
    pub rows: u64,
    /// The tree head of the whole log.
    pub root: Hash,
}

fn tampered<T>(msg: String) -> Result<T, RegistryError> {
    Err(RegistryError::Tampered(msg))
}

/// Verifies the registry at `pool` with the log's verifier key; `held` is a checkpoint note an
/// outsider kept from earlier, to prove the log only grew since.
pub async fn verify(
    pool: &AnyPool,
    verifier: &NoteVerifier,
    held: Option<&str>,
) -> Result<AuditReport, RegistryError> {
    // 1. Entries and their leaf hashes.
    let rows = sqlx::query("SELECT idx, entry, leaf_hash FROM log_entries ORDER BY idx")
        .fetch_all(pool)
        .await?;
    let mut leaves = Vec::with_capacity(rows.len());
    let mut entries = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let idx: i64 = r.try_get("idx")?;
        if idx != i as i64 {
            return tampered(format!(
                "log entry {i} is missing (the next stored entry is {idx})"
            ));
        }
        let text: String = r.try_get("entry")?;
        let stored: String = r.try_get("leaf_hash")?;
        let leaf = merkle::leaf_hash(text.as_bytes());
        if Hash::from_hex(&stored) != Some(leaf) {
            return tampered(format!(
                "log entry {i}: its text does not match its leaf hash"
            ));
        }
        let entry: Value = serde_json::from_str(&text)
            .map_err(|e| RegistryError::Tampered(format!("log entry {i} is not JSON: {e}")))?;
        if entry["index"].as_u64() != Some(i as u64) || canonical_json(&entry) != text {
            return tampered(format!(
                "log entry {i}: not in canonical form or misnumbered"
            ));
        }
        leaves.push(leaf);
        entries.push(entry);
    }

    // 2. Checkpoints.
    let mut heads = Vec::with_capacity(leaves.len() + 1);
    let mut range = CompactRange::new();
    heads.push(range.root());
    for l in &leaves {
        range.push(*l);
        heads.push(range.root());
    }
    let cps = sqlx::query("SELECT size, note FROM checkpoints ORDER BY size")
        .fetch_all(pool)
        .await?;
    let mut latest = 0u64;
    for r in &cps {
        let size: i64 = r.try_get("size")?;
        let note: String = r.try_get("note")?;
        let cp = Checkpoint::open(&note, verifier)
            .map_err(|e| RegistryError::Tampered(format!("checkpoint of size {size}: {e}")))?;
        if cp.size != size as u64 {
            return tampered(format!(
                "checkpoint of size {size} is stored under the wrong size"
            ));
        }
        let Some(head) = heads.get(cp.size as usize) else {
            return tampered(format!(
                "checkpoint of size {size} covers entries the log no longer has (it has {}): \
                 entries were removed",
                leaves.len()
            ));
        };
        if *head != cp.root {
            return tampered(format!(
                "log entry {}: the log up to it does not match the signed checkpoint of size {size}",
                size - 1
            ));
        }
        latest = latest.max(cp.size);
    }
    if latest != leaves.len() as u64 {
        return tampered(format!(
            "log entries {latest}..{} are not covered by any signed checkpoint",
            leaves.len()
        ));
    }
    if let Some(note) = held {
        let old = Checkpoint::open(note, verifier)
            .map_err(|e| RegistryError::Tampered(format!("the checkpoint you hold: {e}")))?;
        let proof = merkle::consistency_proof(&leaves, old.size as usize).ok_or_else(|| {
            RegistryError::Tampered(format!(
                "the checkpoint you hold has {} entries, the log only {}: entries were removed",
                old.size,
                leaves.len()
            ))
        })?;
        merkle::verify_consistency(old.size, leaves.len() as u64, &proof, &old.root, &range.root())
            .map_err(|e| {
                RegistryError::Tampered(format!(
                    "the log is not an extension of the checkpoint you hold ({e}): history was rewritten"
                ))
            })?;
    }

    // 3. Replay and compare.
    let mut state: BTreeMap<(String, String), Value> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        for change in entry["changes"].as_array().into_iter().flatten() {
            let table = change["table"].as_str().unwrap_or_default().to_string();
            let key = canonical_json(&change["key"]);
            let slot = (table.clone(), key.clone());
            let before = state.get(&slot).cloned().unwrap_or(Value::Null);
            if before != change["before"] {
                return tampered(format!(
                    "log entry {i}: the image of {table} {key} before the change is not what \
                     earlier entries left"
                ));
            }
            match &change["after"] {
                Value::Null => state.remove(&slot),
                after => state.insert(slot, after.clone()),
            };
        }
    }
    let mut compared = 0u64;
    for spec in TABLES {
        let mut logged: BTreeMap<String, Value> = state
            .iter()
            .filter(|((t, _), _)| t == spec.name)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        for row in read_table(pool, spec).await? {
            let key = canonical_json(&schema::row_json(&spec.key_of(&row)?));
            let image = spec.image(&row);
            match logged.remove(&key) {
                None => {
                    return tampered(format!("{} {key}: the row is not in the log", spec.name));
                }
                Some(v) if v != image => {
                    let column = image
                        .as_object()
                        .and_then(|o| o.iter().find(|(c, val)| v.get(c.as_str()) != Some(val)))
                        .map_or(String::new(), |(c, _)| format!(" (column {c})"));
                    return tampered(format!(
                        "{} {key}: the stored row differs from the log{column}",
                        spec.name
                    ));
                }
                Some(_) => compared += 1,
            }
        }
        if let Some((key, _)) = logged.into_iter().next() {
            return tampered(format!(
                "{} {key}: the log has the row, the table does not",
                spec.name
            ));
        }
    }
    Ok(AuditReport {
        entries: leaves.len() as u64,
        checkpoints: cps.len() as u64,
        rows: compared,
        root: range.root(),
    })
}
