//! Search by name or id over countries, groups, companies, facilities, materials and rules.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ViewError;
use super::resolve::groups;
use super::table::{Cell, Column, Tabular};
use crate::World;

/// What `search` is asked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find in names and ids (any case), e.g. `Japan`, `lynas`, `magnet`.
    pub q: String,
}

/// What kind of record a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A country.
    Country,
    /// A group of countries.
    Group,
    /// A company.
    Company,
    /// A facility.
    Facility,
    /// A material.
    Material,
    /// A trade rule.
    Rule,
}

/// The results of a search.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SearchView {
    /// The words searched for.
    pub q: String,
    /// Best matches first: exact names and ids, then those that start with the words, then those
    /// that contain them; at most 50.
    pub hits: Vec<SearchHit>,
}

/// One record found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SearchHit {
    /// What it is.
    pub kind: HitKind,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where to read it on the dashboard.
    pub url: String,
    /// A brief, where there is one (countries and groups).
    pub brief: Option<String>,
}

impl Tabular for SearchHit {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("kind", "Kind"),
            Column::new("name", "Name"),
            Column::new("id", "Id"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::word(&format!("{:?}", self.kind).to_lowercase()),
            Cell::Text(self.name.clone()),
            Cell::Text(self.id.clone()),
        ]
    }
}

/// How well `words` matches an id or a name: 0 exact, 1 prefix, 2 contained; `None` otherwise.
fn rank(words: &str, id: &str, name: &str) -> Option<u8> {
    let (id, name) = (id.to_lowercase(), name.to_lowercase());
    if id == words || name == words {
        Some(0)
    } else if id.starts_with(words) || name.starts_with(words) {
        Some(1)
    } else if id.contains(words) || name.contains(words) {
        Some(2)
    } else {
        None
    }
}

/// Countries, groups, companies, facilities, materials and rules whose id or name contains the
/// words.
pub fn search(world: &World, q: &SearchQuery) -> Result<SearchView, ViewError> {
    let words = q.q.trim().to_lowercase();
    if words.is_empty() {
        return Err(ViewError::Invalid(lodestone_model::UnknownValue::new(
            "search",
            "",
            vec!["a name or id, e.g. Japan, lynas, magnet"],
        )));
    }
    let mut hits: Vec<(u8, SearchHit)> = Vec::new();
    let mut push = |kind: HitKind, id: &str, name: &str, url: String, brief: Option<String>| {
        if let Some(r) = rank(&words, id, name) {
            hits.push((
                r,
                SearchHit {
                    kind,
                    id: id.to_string(),
                    name: name.to_string(),
                    url,
                    brief,
                },
            ));
        }
    };
    for (table, kind) in [
        ("countries", HitKind::Country),
        ("companies", HitKind::Company),
        ("facilities", HitKind::Facility),
        ("materials", HitKind::Material),
    ] {
        let Some(t) = world.table(table) else {
            continue;
        };
        for r in &t.rows {
            let Some(id) = t.text(r, "id") else { continue };
            let name = t.text(r, "name").unwrap_or(id);
            let brief = (kind == HitKind::Country).then(|| format!("/briefs/{id}"));
            push(kind, id, name, format!("/records/{table}/{id}"), brief);
        }
    }
    for (id, name, _) in groups(world) {
        push(
            HitKind::Group,
            &id,
            &name,
            format!("/records/groups/{id}"),
            Some(format!("/briefs/{id}")),
        );
    }
    for r in &world.rules {
        push(
            HitKind::Rule,
            &r.id,
            &r.title,
            format!("/rules#{}", r.id),
            None,
        );
    }
    hits.sort_by(|a, b| (a.0, a.1.kind, &a.1.name).cmp(&(b.0, b.1.kind, &b.1.name)));
    hits.truncate(50);
    Ok(SearchView {
        q: q.q.trim().to_string(),
        hits: hits.into_iter().map(|(_, h)| h).collect(),
    })
}
