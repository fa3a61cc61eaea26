//! Agreements as OCDS-style releases: every change to an agreement is a new, immutable, dated
//! release, and the current record is compiled from them by the OCDS merge rules (see
//! docs/registry.md and docs/research/resourcecontracts-ocds.md).
//!
//! A release is a JSON object with `ocid` (`lodestone-agreement-<agreement id>`), `id` (unique
//! within its ocid), `date` (ISO 8601 at year, month or day precision), `tag` (OCDS release tags)
//! and any of the agreement's fields: `title`, `kind`, `status`, `signed`, `summary`, `value`,
//! `parties`, `facility`, `clauses`, `documents`, `sources`, `notes`, `effects`. Clauses are
//! classified by the ResourceContracts.org annotation categories, extended with the classes
//! critical-mineral agreements need (`data/clause_categories.csv`).

use crate::RegistryError;
use crate::schema::{Cell, Row, row};
use crate::store::{Receipt, Registry, canonical_json};
use lodestone_model::UnknownValue;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The prefix of every agreement's ocid.
pub const OCID_PREFIX: &str = "lodestone-agreement-";

/// OCDS release tags (the `releaseTag` codelist).
pub const RELEASE_TAGS: &[&str] = &[
    "planning",
    "planningUpdate",
    "tender",
    "tenderAmendment",
    "tenderUpdate",
    "tenderCancellation",
    "award",
    "awardUpdate",
    "awardCancellation",
    "contract",
    "contractUpdate",
    "contractAmendment",
    "implementation",
    "implementationUpdate",
    "contractTermination",
];

/// Kinds of agreement.
pub const KINDS: &[&str] = &[
    "framework",
    "mou",
    "offtake",
    "joint_venture",
    "investment",
    "licence",
    "concession",
    "financing",
    "talks",
    "proposal",
];

/// Statuses an agreement passes through.
pub const STATUSES: &[&str] = &[
    "proposed",
    "talks",
    "signed",
    "in_force",
    "operating",
    "concluded",
    "suspended",
    "terminated",
];

/// Fields a release may carry besides its identity.
const FIELDS: &[&str] = &[
    "title",
    "kind",
    "status",
    "signed",
    "summary",
    "value",
    "parties",
    "facility",
    "clauses",
    "documents",
    "sources",
    "notes",
    "effects",
    "assessment",
];

/// A clause category: a ResourceContracts.org annotation category or a Lodestone extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseCategory {
    /// Machine key.
    pub key: String,
    /// English label.
    pub label: String,
    /// The group the source puts it in.
    pub group: String,
    /// `resourcecontracts` or `lodestone`.
    pub standard: String,
}

/// Every clause category, in the order of `data/clause_categories.csv`.
pub fn clause_categories() -> &'static [ClauseCategory] {
    static CATS: OnceLock<Vec<ClauseCategory>> = OnceLock::new();
    CATS.get_or_init(|| {
        let mut r =
            csv::Reader::from_reader(include_str!("../data/clause_categories.csv").as_bytes());
        r.records()
            .map(|rec| {
                let rec = rec.expect("the bundled category table parses");
                ClauseCategory {
                    key: rec[0].to_string(),
                    label: rec[1].to_string(),
                    group: rec[2].to_string(),
                    standard: rec[3].to_string(),
                }
            })
            .collect()
    })
}

/// Accepts `value` if it is one of `allowed`; otherwise the model's error for an unknown word,
/// with the closest valid word and the valid ones.
fn one_of<S: AsRef<str>>(
    what: &'static str,
    value: &str,
    allowed: impl IntoIterator<Item = S>,
) -> Result<(), RegistryError> {
    let allowed: Vec<S> = allowed.into_iter().collect();
    if allowed.iter().any(|a| a.as_ref() == value) {
        return Ok(());
    }
    Err(RegistryError::Usage(
        UnknownValue::new(what, value, allowed).to_string(),
    ))
}

fn is_iso_date(s: &str) -> bool {
    lodestone_model::Date::parse(s).is_some()
}

/// Checks a release: identity, known vocabulary, clause categories, and that every party is an
/// entity `known_party` accepts (a dataset company, country or government).
pub fn validate_release(
    release: &Value,
    known_party: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(), RegistryError> {
    let bad = |m: String| Err(RegistryError::Usage(m));
    let Some(obj) = release.as_object() else {
        return bad("a release is a JSON object".into());
    };
    let ocid = obj.get("ocid").and_then(Value::as_str).unwrap_or_default();
    let Some(agreement) = ocid.strip_prefix(OCID_PREFIX).filter(|a| is_slug(a)) else {
        return bad(format!("ocid {ocid:?} is not {OCID_PREFIX}<agreement id>"));
    };
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
    if id.is_empty() || id.len() > 100 || id.contains(char::is_whitespace) {
        return bad(format!(
            "{agreement}: release id {id:?} must be 1–100 characters without spaces"
        ));
    }
    let date = obj.get("date").and_then(Value::as_str).unwrap_or_default();
    if !is_iso_date(date) {
        return bad(format!(
            "{agreement}/{id}: date {date:?} is not YYYY, YYYY-MM or YYYY-MM-DD"
        ));
    }
    let tags = obj
        .get("tag")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty());
    let Some(tags) = tags else {
        return bad(format!("{agreement}/{id}: a release has at least one tag"));
    };
    for t in tags {
        one_of("release tag", t.as_str().unwrap_or_default(), RELEASE_TAGS)?;
    }
    for key in obj.keys() {
        if !["ocid", "id", "date", "tag"].contains(&key.as_str()) {
            one_of("release field", key, FIELDS)?;
        }
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str) {
        one_of("agreement kind", k, KINDS)?;
    }
    if let Some(s) = obj.get("status").and_then(Value::as_str) {
        one_of("agreement status", s, STATUSES)?;
    }
    for p in obj
        .get("parties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pid = p["id"].as_str().unwrap_or_default();
        if !known_party(pid) {
            return bad(format!(
                "{agreement}/{id}: party {pid:?} is not a company, country or group of the dataset"
            ));
        }
    }
    for c in obj
        .get("clauses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if c["id"].as_str().is_none_or(str::is_empty) {
            return bad(format!("{agreement}/{id}: every clause has an id"));
        }
        // An amendment may restate only a clause's text; the category comes from earlier releases.
        if let Some(cat) = c.get("category") {
            let cat = cat.as_str().unwrap_or_default();
            one_of(
                "clause category",
                cat,
                clause_categories().iter().map(|c| &c.key),
            )?;
        }
    }
    Ok(())
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Merges one value into another by the OCDS rules: objects field by field (null removes a
/// field), arrays of objects that all have an `id` by id (new ids appended), anything else
/// replaced.
fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(k);
                } else if let Some(slot) = a.get_mut(k) {
                    merge(slot, v);
                } else {
                    let mut fresh = Value::Null;
                    merge(&mut fresh, v);
                    a.insert(k.clone(), fresh);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if identified(b) && identified(a) => {
            for item in b {
                match a.iter_mut().find(|x| x["id"] == item["id"]) {
                    Some(slot) => merge(slot, item),
                    None => a.push(item.clone()),
                }
            }
        }
        (slot, v) => {
            *slot = match v {
                Value::Object(m) => {
                    // Nulls inside a new object are dropped, as in a compiled release.
                    let mut clean = Value::Object(Map::new());
                    merge(&mut clean, &Value::Object(m.clone()));
                    clean
                }
                other => other.clone(),
            }
        }
    }
}

fn identified(items: &[Value]) -> bool {
    items
        .iter()
        .all(|x| x.get("id").is_some_and(|id| !id.is_null()))
}

/// An agreement's record: its releases in date order and the compiled current state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The agreement's ocid.
    pub ocid: String,
    /// The releases, oldest first.
    pub releases: Vec<Value>,
    /// The merged current state, tagged `compiled`.
    #[serde(rename = "compiledRelease")]
    pub compiled: Value,
    /// Every status the releases set, with the release date: the status history.
    #[serde(rename = "statusHistory")]
    pub status_history: Vec<(String, String)>,
}

/// Compiles releases of one ocid (any order) into a record.
pub fn compile(mut releases: Vec<Value>) -> Record {
    releases.sort_by(|a, b| {
        (a["date"].as_str(), a["id"].as_str()).cmp(&(b["date"].as_str(), b["id"].as_str()))
    });
    let ocid = releases
        .first()
        .and_then(|r| r["ocid"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut compiled = json!({});
    let mut history = Vec::new();
    for r in &releases {
        let mut body = r.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("id");
            o.remove("date");
            o.remove("tag");
        }
        merge(&mut compiled, &body);
        if let Some(s) = r["status"].as_str() {
            history.push((
                r["date"].as_str().unwrap_or_default().to_string(),
                s.to_string(),
            ));
        }
    }
    if let Some(o) = compiled.as_object_mut() {
        o.insert("tag".into(), json!(["compiled"]));
        if let Some(last) = releases.last() {
            o.insert("date".into(), last["date"].clone());
        }
    }
    Record {
        ocid,
        releases,
        compiled,
        status_history: history,
    }
}

/// Adds a release, refusing one whose (ocid, id) exists: releases are immutable.
pub async fn add_release(
    reg: &Registry,
    actor: &str,
    release: &Value,
    known_party: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Receipt, RegistryError> {
    validate_release(release, known_party)?;
    let ocid = release["ocid"].as_str().unwrap_or_default();
    let mut releases: Vec<Value> = records(reg)
        .await?
        .into_iter()
        .find(|r| r.ocid == ocid)
        .map(|r| r.releases)
        .unwrap_or_default();
    releases.push(release.clone());
    let compiled = compile(releases).compiled;
    for c in compiled["clauses"].as_array().into_iter().flatten() {
        if c["category"].as_str().is_none() {
            return Err(RegistryError::Usage(format!(
                "{ocid}: clause {} has no category in this or any earlier release",
                c["id"]
            )));
        }
    }
    let r = row([
        (
            "ocid",
            Cell::from(release["ocid"].as_str().unwrap_or_default()),
        ),
        (
            "release_id",
            Cell::from(release["id"].as_str().unwrap_or_default()),
        ),
        (
            "date",
            Cell::from(release["date"].as_str().unwrap_or_default()),
        ),
        ("body", Cell::Text(canonical_json(release))),
    ]);
    reg.insert(actor, "agreement.release", "agreement_releases", r)
        .await
}

/// Every agreement's record, by ocid.
pub async fn records(reg: &Registry) -> Result<Vec<Record>, RegistryError> {
    let mut by_ocid: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in reg.rows("agreement_releases").await? {
        let body = r["body"].as_text().unwrap_or_default();
        let v: Value = serde_json::from_str(body)
            .map_err(|e| RegistryError::Tampered(format!("release body is not JSON: {e}")))?;
        by_ocid
            .entry(r["ocid"].as_text().unwrap_or_default().to_string())
            .or_default()
            .push(v);
    }
    Ok(by_ocid.into_values().map(compile).collect())
}

/// One agreement's record; an unknown id is an error that names the closest ones.
pub async fn record(reg: &Registry, agreement: &str) -> Result<Record, RegistryError> {
    let all = records(reg).await?;
    let ocid = format!("{OCID_PREFIX}{agreement}");
    if let Some(r) = all.iter().find(|r| r.ocid == ocid) {
        return Ok(r.clone());
    }
    let ids: Vec<&str> = all
        .iter()
        .filter_map(|r| r.ocid.strip_prefix(OCID_PREFIX))
        .collect();
    Err(RegistryError::NotFound(
        UnknownValue::new("agreement", agreement, ids).to_string(),
    ))
}

/// The open export: an OCDS-style record package of every agreement.
pub async fn export_package(reg: &Registry) -> Result<Value, RegistryError> {
    let records = records(reg).await?;
    Ok(json!({
        "uri": format!("{}/records", reg.origin()),
        "publisher": {"name": reg.origin()},
        "records": records.iter().map(|r| json!({
            "ocid": r.ocid,
            "releases": r.releases,
            "compiledRelease": r.compiled,
        })).collect::<Vec<_>>(),
    }))
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Releases added.
    pub added: usize,
    /// Releases already present with identical content.
    pub unchanged: usize,
}

/// Imports releases (from a record package or a list): new ones are added, identical ones
/// skipped, and a release whose (ocid, id) exists with different content is refused before
/// anything is written.
pub async fn import_releases(
    reg: &Registry,
    actor: &str,
    releases: &[Value],
    known_party: &(dyn Fn(&str) -> bool + Sync),
) -> Result<ImportSummary, RegistryError> {
    let mut todo = Vec::new();
    let mut summary = ImportSummary::default();
    for r in releases {
        validate_release(r, known_party)?;
        let key = row([
            ("ocid", Cell::from(r["ocid"].as_str().unwrap_or_default())),
            (
                "release_id",
                Cell::from(r["id"].as_str().unwrap_or_default()),
            ),
        ]);
        match reg.get("agreement_releases", &key).await? {
            Some(existing) if existing["body"].as_text() == Some(&canonical_json(r)) => {
                summary.unchanged += 1
            }
            Some(_) => {
                return Err(RegistryError::Conflict(format!(
                    "release {} of {} exists with different content; releases are immutable, so \
                     publish the change as a new release. Nothing was imported.",
                    r["id"], r["ocid"]
                )));
            }
            None => todo.push(r),
        }
    }
    for r in todo {
        add_release(reg, actor, r, known_party).await?;
        summary.added += 1;
    }
    Ok(summary)
}

/// The releases of a record package (`records[].releases[]`) or of a release package
/// (`releases[]`).
pub fn releases_of_package(package: &Value) -> Result<Vec<Value>, RegistryError> {
    if let Some(records) = package["records"].as_array() {
        return Ok(records
            .iter()
            .flat_map(|r| r["releases"].as_array().cloned().unwrap_or_default())
            .collect());
    }
    if let Some(releases) = package["releases"].as_array() {
        return Ok(releases.clone());
    }
    Err(RegistryError::Usage(
        "not a record package (records[]) or a release package (releases[])".into(),
    ))
}

/// The category a bundled clause `kind` is filed under.
fn category_of_bundled(kind: &str) -> &'static str {
    match kind {
        "technology_transfer" => "technology-transfer",
        "offtake" => "offtake",
        "royalty" => "royalties",
        "environmental_safeguards" => "environmental-protections",
        "disclosure" => "public-disclosure",
        "financing" => "financing",
        "stockpiling" => "stockpiling",
        "export_restraint" | "export_restrictions" => "export-restrictions",
        "investment" => "work-and-investment-commitments",
        "processing_location" => "processing-location",
        "residue_handling" => "residue-handling",
        "local_workforce" => "local-workforce-and-equity",
        _ => "other",
    }
}

/// The first release of a bundled agreement record (`data/world/agreements/*.toml`).
pub fn release_of_bundled(text: &str, file: &str) -> Result<Value, RegistryError> {
    let t: toml::Table = toml::from_str(text)
        .map_err(|e| RegistryError::Usage(format!("{file}: not valid TOML: {e}")))?;
    let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let id = s("id").ok_or_else(|| RegistryError::Usage(format!("{file}: no id")))?;
    let status = s("status").unwrap_or_else(|| "proposed".into());
    let kind = s("kind").unwrap_or_default();
    let tag = match status.as_str() {
        "proposed" | "talks" => "planning",
        "concluded" => "contractTermination",
        "operating" | "in_force" => "implementation",
        _ => "contract",
    };
    let strings = |k: &str| -> Vec<String> {
        t.get(k)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let clauses: Vec<Value> = t
        .get("clauses")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| {
            let kind = c.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
            json!({
                "id": format!("c{}", i + 1),
                "category": category_of_bundled(kind),
                "bundledKind": kind,
                "text": c.get("text").and_then(|v| v.as_str()),
                "source": c.get("source").and_then(|v| v.as_str()),
            })
        })
        .collect();
    let mut notes = Map::new();
    for (k, v) in &t {
        if k.ends_with("_note") || k == "conflicts" {
            notes.insert(k.clone(), serde_json::to_value(v).unwrap_or(Value::Null));
        }
    }
    let mut r = json!({
        "ocid": format!("{OCID_PREFIX}{id}"),
        "id": "bundled-1",
        "date": s("signed").unwrap_or_else(|| "2025".into()),
        "tag": [tag],
        "title": s("title"),
        "kind": kind,
        "status": status,
        "signed": s("signed"),
        "summary": s("summary"),
        "parties": strings("parties").iter().map(|p| json!({"id": p})).collect::<Vec<_>>(),
        "clauses": clauses,
        "sources": strings("sources"),
    });
    let o = r.as_object_mut().expect("an object");
    if let Some(v) = t
        .get("value_usd")
        .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
    {
        o.insert("value".into(), json!({"amount": v, "currency": "USD"}));
    }
    if let Some(f) = s("facility") {
        o.insert("facility".into(), json!(f));
    }
    if !notes.is_empty() {
        o.insert("notes".into(), Value::Object(notes));
    }
    // What the agreement would change in the dataset, and how to assess it (see
    // docs/registry.md): rows as CSV text, so numbers become text here.
    if let Some(effects) = t.get("effects") {
        let mut effects = serde_json::to_value(effects)
            .map_err(|e| RegistryError::Usage(format!("{file}: effects: {e}")))?;
        for e in effects.as_array_mut().into_iter().flatten() {
            for v in e["row"]
                .as_object_mut()
                .into_iter()
                .flat_map(|r| r.values_mut())
            {
                if !v.is_string() {
                    *v = Value::String(v.to_string());
                }
            }
        }
        o.insert("effects".into(), effects);
    }
    if let Some(a) = t.get("assessment") {
        let a = serde_json::to_value(a)
            .map_err(|e| RegistryError::Usage(format!("{file}: assessment: {e}")))?;
        o.insert("assessment".into(), a);
    }
    o.retain(|_, v| !v.is_null());
    Ok(r)
}

/// The first releases of the bundled agreement records, given as (path, text) pairs (a
/// dataset's `agreements/*.toml`, as loaded), in path order.
pub fn bundled_releases<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Value>, RegistryError> {
    let mut files: Vec<(&str, &str)> = files.into_iter().collect();
    files.sort();
    files
        .iter()
        .map(|(path, text)| release_of_bundled(text, path))
        .collect()
}

/// A row's text column, for callers reading rows.
pub fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Cell::as_text)
        .unwrap_or_default()
        .to_string()
}
