//! Resolving what people type into ids of the dataset: countries by ISO code or name, groups by
//! id or name, in any case; anything unknown is an error with the closest ids.

use lodestone_model::{UnknownValue, closest};
use schemars::JsonSchema;
use serde::Serialize;

use crate::World;

/// A country, or a group of countries, as a view names it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CountrySet {
    /// ISO3 code of the country, or the group's id (e.g. `eu`).
    pub id: String,
    /// The name people read ("Japan", "European Union").
    pub name: String,
    /// Whether this is a group.
    pub group: bool,
    /// Member countries (ISO3); the country itself for a country.
    pub members: Vec<String>,
}

/// (id, name) of every country of the dataset.
pub fn countries(world: &World) -> Vec<(String, String)> {
    world
        .table("countries")
        .map(|t| {
            t.rows
                .iter()
                .filter_map(|r| {
                    let id = t.text(r, "id")?;
                    Some((id.to_string(), t.text(r, "name").unwrap_or(id).to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// (id, name, members) of every group of the dataset that has members.
pub fn groups(world: &World) -> Vec<(String, String, Vec<String>)> {
    let (Some(gt), Some(ct)) = (world.table("groups"), world.table("countries")) else {
        return Vec::new();
    };
    gt.rows
        .iter()
        .filter_map(|r| {
            let id = gt.text(r, "id")?;
            let members: Vec<String> = ct
                .rows
                .iter()
                .filter(|c| ct.get(c, "groups").items().contains(&id))
                .filter_map(|c| ct.text(c, "id").map(str::to_string))
                .collect();
            (!members.is_empty()).then(|| {
                (
                    id.to_string(),
                    gt.text(r, "name").unwrap_or(id).to_string(),
                    members,
                )
            })
        })
        .collect()
}

/// The country with ISO3 code or name `text` (any case).
pub fn resolve_country(world: &World, text: &str) -> Result<CountrySet, UnknownValue> {
    let wanted = text.trim();
    let all = countries(world);
    all.iter()
        .find(|(id, name)| id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted))
        .map(|(id, name)| CountrySet {
            id: id.clone(),
            name: name.clone(),
            group: false,
            members: vec![id.clone()],
        })
        .ok_or_else(|| unknown("country", wanted, &all, &[]))
}

/// A country (ISO3 code or name) or a group (id such as `eu`, `group:eu`, or name), any case.
pub fn resolve_country_set(world: &World, text: &str) -> Result<CountrySet, UnknownValue> {
    if let Ok(c) = resolve_country(world, text) {
        return Ok(c);
    }
    let wanted = text.trim().trim_start_matches("group:");
    let gs = groups(world);
    gs.iter()
        .find(|(id, name, _)| id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted))
        .map(|(id, name, members)| CountrySet {
            id: id.clone(),
            name: name.clone(),
            group: true,
            members: members.clone(),
        })
        .ok_or_else(|| {
            let group_names: Vec<(String, String)> = gs
                .iter()
                .map(|(id, name, _)| (id.clone(), name.clone()))
                .collect();
            unknown("country or group", wanted, &countries(world), &group_names)
        })
}

/// An unknown country: the closest codes and names first, then (bounded) the rest of the codes.
fn unknown(
    what: &'static str,
    given: &str,
    countries: &[(String, String)],
    groups: &[(String, String)],
) -> UnknownValue {
    let words: Vec<&str> = countries
        .iter()
        .chain(groups)
        .flat_map(|(id, name)| [id.as_str(), name.as_str()])
        .collect();
    let suggestion = closest(given, words.iter().copied()).map(str::to_string);
    let mut valid: Vec<String> = groups.iter().map(|(id, _)| id.clone()).collect();
    valid.extend(
        countries
            .iter()
            .filter(|(id, _)| id.len() == 3)
            .map(|(id, _)| id.clone()),
    );
    UnknownValue {
        what,
        given: given.to_string(),
        valid,
        suggestion,
    }
}

/// The id of table `table` that `text` names (exactly, or by name in any case); otherwise an
/// error listing the closest ids.
pub fn resolve_id(
    world: &World,
    table: &str,
    what: &'static str,
    text: &str,
) -> Result<String, UnknownValue> {
    let Some(t) = world.table(table) else {
        return Err(UnknownValue::new(what, text, Vec::<String>::new()));
    };
    if t.contains(text) {
        return Ok(text.to_string());
    }
    let entries: Vec<(&str, &str)> = t
        .rows
        .iter()
        .filter_map(|r| {
            let id = t.text(r, "id")?;
            Some((id, t.text(r, "name").unwrap_or(id)))
        })
        .collect();
    if let Some((id, _)) = entries
        .iter()
        .find(|(id, name)| id.eq_ignore_ascii_case(text) || name.eq_ignore_ascii_case(text))
    {
        return Ok(id.to_string());
    }
    Err(similar(what, text, entries.iter().map(|(id, _)| *id)))
}

/// An unknown id among `ids`: the ids that contain the text (or that it contains) and the
/// closest by edit distance, at most 12.
pub fn similar<'a>(
    what: &'static str,
    given: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> UnknownValue {
    let ids: Vec<&str> = ids.into_iter().collect();
    let lower = given.to_lowercase();
    // Words of three letters or more of the input, so `<b>lynas` still finds `lynas_…`.
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .collect();
    let mut near: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| {
            !lower.is_empty()
                && (id.contains(&lower)
                    || lower.contains(*id)
                    || words.iter().any(|w| id.contains(w)))
        })
        .collect();
    let suggestion = closest(given, ids.iter().copied());
    if let Some(s) = suggestion
        && !near.contains(&s)
    {
        near.insert(0, s);
    }
    near.truncate(12);
    UnknownValue {
        what,
        given: given.to_string(),
        valid: near.iter().map(|s| s.to_string()).collect(),
        suggestion: suggestion.map(str::to_string),
    }
}
