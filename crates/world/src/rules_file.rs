//! Rule files (`policies/*.toml`): parsed into `lodestone_rules::Rule`, every problem located by
//! file and line. The keys are described in `docs/rules.md`.

use std::collections::BTreeSet;

use lodestone_model::{Date, Vocabulary};
use lodestone_rules::{
    Comparison, ContentTest, DestinationThreshold, Destinations, Event, Lifecycle, Measure,
    ProcurementTest, Rule, RuleKind, Scope,
};

use lodestone_format::Diagnostic;
use lodestone_format::{Dataset, TomlFile, suggest};

/// Every key of a rule file: (path, type, required, description). The parser checks files
/// against it and `docs/rules.md` is generated from it.
pub const RULE_KEYS: &[(&str, &str, &str, &str)] = &[
    (
        "id",
        "string",
        "yes",
        "Stable id; must equal the file name without `.toml`.",
    ),
    ("title", "string", "yes", "Title of the measure."),
    (
        "kind",
        "string",
        "yes",
        "`export_control`, `tariff`, `export_ban`, `procurement_restriction` or `benchmark`.",
    ),
    (
        "issuer",
        "string",
        "yes",
        "Issuing country (ISO3, in countries.csv) or `EU`.",
    ),
    (
        "summary",
        "string",
        "no",
        "What the measure does, in words.",
    ),
    (
        "source",
        "string",
        "yes*",
        "Source id (sources.csv). *`source` or `sources` is required.",
    ),
    ("sources", "array of strings", "no", "Further source ids."),
    (
        "confidence",
        "string",
        "no",
        "`high`, `medium` or `low`, where facts are unverified or sources conflict.",
    ),
    (
        "note",
        "string",
        "no",
        "Caveats: what the encoding simplifies or assumes.",
    ),
    (
        "conflict",
        "string",
        "no",
        "Where sources disagree, both versions and their sources.",
    ),
    (
        "scope.materials",
        "array of strings",
        "no",
        "Material ids covered (materials.csv); empty or absent: any.",
    ),
    (
        "scope.material_stages",
        "array of strings",
        "no",
        "Material stages covered (`ore`, `oxide`, `metal`, `magnet`, …); empty: any.",
    ),
    (
        "scope.hs_codes",
        "array of strings",
        "no",
        "HS code prefixes covered (`8505.11`, `2846`); empty: any.",
    ),
    (
        "scope.destinations",
        "array of strings",
        "yes",
        "`all`, `all_except_ISO3`, ISO3 codes, or `group:ID` (groups.csv).",
    ),
    (
        "scope.exclude_destinations",
        "array of strings",
        "no",
        "ISO3 codes excluded.",
    ),
    (
        "scope.end_uses",
        "array of strings",
        "no",
        "End uses covered (`defence`, `military`, …); empty: any.",
    ),
    (
        "scope.containing_elements",
        "array of strings",
        "no",
        "Elements (`sm`, `dy`, …) of which an item must contain some to be covered (items containing any of the seven); the product's element composition decides.",
    ),
    ("scope.note", "string", "no", "Caveats on the scope."),
    (
        "content_test.origin_tags",
        "array of strings",
        "yes",
        "Content tags whose share is measured (`separated:CHN`, `metal:CHN`); content carrying any of them counts once (their union, traced exactly).",
    ),
    (
        "content_test.elements",
        "array of strings",
        "no",
        "Elements (`sm`, `dy`, `tb`, …) whose content is measured, valued at each element's oxide price on the date; empty: all rare-earth content.",
    ),
    (
        "content_test.measure",
        "string",
        "yes",
        "`value` (origin value over the product's unit value) or `mass` (share of the product's REO).",
    ),
    (
        "content_test.comparison",
        "string",
        "yes",
        "`at_or_above` (met when share ≥ threshold) or `exceeds` (met when share > threshold).",
    ),
    (
        "content_test.threshold",
        "number",
        "yes",
        "The threshold as a fraction (0.001 for 0.1 %).",
    ),
    (
        "content_test.by_destination",
        "array of tables",
        "no",
        "`destinations` and `threshold` overriding the default for those destinations.",
    ),
    (
        "technology_clause.tags",
        "array of strings",
        "no",
        "Content tags (`tech:CHN`): any such content makes a licence necessary.",
    ),
    (
        "export_control.direct",
        "boolean",
        "no",
        "Items shipped from the issuer's own territory are controlled.",
    ),
    (
        "export_control.denied_end_uses",
        "array of strings",
        "no",
        "End uses for which a licence is presumed denied (determination `prohibited`).",
    ),
    (
        "tariff.importer",
        "string",
        "yes",
        "Importing country (ISO3).",
    ),
    (
        "tariff.origins",
        "array of strings",
        "yes",
        "Customs origins taxed (ISO3): the country of last substantial transformation.",
    ),
    (
        "tariff.rate",
        "number",
        "yes",
        "Ad-valorem rate as a fraction (1.0 for 100 %), added to other tariffs.",
    ),
    (
        "procurement.buyer",
        "string",
        "yes",
        "Country whose buyers are bound (ISO3).",
    ),
    (
        "procurement.tests",
        "array of tables",
        "yes",
        "Dated tests: `from` (YYYY-MM-DD), `wording`, `disqualifying_tags` (any share disqualifies: no de minimis).",
    ),
    (
        "benchmark.max_single_country_share",
        "number",
        "no",
        "Largest share of consumption from one third country, per stage.",
    ),
    (
        "benchmark.extraction_min",
        "number",
        "no",
        "Minimum domestic extraction share.",
    ),
    (
        "benchmark.processing_min",
        "number",
        "no",
        "Minimum domestic processing share.",
    ),
    (
        "benchmark.recycling_min",
        "number",
        "no",
        "Minimum recycling share.",
    ),
    (
        "events",
        "array of tables",
        "yes",
        "The lifecycle, in date order: `date` (YYYY-MM-DD, first day of the state), `state` (`announced`, `in_force`, `suspended`, `expired`, `withdrawn`, `never_implemented`), `source`, further `sources`, `note`, and `assumed = true` when the event is an assumption rather than a reported fact (its note says what is assumed; determinations resting on it show it); one event per date, at least one event. Before the first event the state is `not_announced`; only `in_force` applies.",
    ),
    (
        "facts",
        "table",
        "no",
        "Descriptive facts for readers (control codes, processing times, …); not interpreted.",
    ),
    (
        "clauses",
        "array of tables",
        "no",
        "Descriptive clauses (`kind`, `text`, `source`); not interpreted.",
    ),
];

/// Keys allowed directly under a section (`""` for the top level).
fn keys_of(section: &str) -> Vec<&'static str> {
    RULE_KEYS
        .iter()
        .filter_map(|(path, ..)| match path.split_once('.') {
            Some((s, k)) if s == section => Some(k),
            None if section.is_empty() => Some(*path),
            _ => None,
        })
        .chain(if section.is_empty() {
            vec![
                "scope",
                "content_test",
                "technology_clause",
                "export_control",
                "tariff",
                "procurement",
                "benchmark",
            ]
        } else {
            vec![]
        })
        .collect()
}

/// Markdown reference of the rule file format (`docs/rules.md`).
pub fn rules_reference() -> String {
    let mut s = String::from(
        "# Rule file reference\n\n<!-- Generated from RULE_KEYS in crates/world/src/rules_file.rs by `UPDATE_EXPECT=1 cargo test -p lodestone-world --test docs`. Do not edit by hand. -->\n\n",
    );
    s.push_str("Trade-policy rules are TOML files in a dataset's `policies/` directory, one rule per file. `lodestone check` validates them with the rest of the dataset and reports problems as `policies/FILE.toml:LINE: message`. Evaluation is described in docs/rules-engine.md.\n\n");
    s.push_str("| key | type | required | description |\n|---|---|---|---|\n");
    for (path, ty, req, desc) in RULE_KEYS {
        s.push_str(&format!(
            "| `{path}` | {ty} | {req} | {} |\n",
            desc.replace('|', "\\|")
        ));
    }
    s.push_str("\nThe kind-specific tables: `content_test`, `technology_clause` and `export_control` for `export_control`; `tariff`; `procurement`; `benchmark`. An `export_ban` needs only its scope. Content tags are those of the tracing engine: `mined:`, `separated:`, `metal:`, `magnet:`, `tech:` and `facility:` (docs/tracing.md).\n");
    s
}

/// Tag families the tracing engine produces, which rule tests may name.
const TAG_FAMILIES: &[&str] = &[
    "mined",
    "refined",
    "separated",
    "metal",
    "magnet",
    "tech",
    "facility",
];

struct Ctx<'a> {
    file: &'a TomlFile,
    lines: KeyLines,
    diags: &'a mut Vec<Diagnostic>,
    countries: BTreeSet<String>,
    groups: Vec<(String, Vec<String>)>,
    materials: BTreeSet<String>,
}

impl Ctx<'_> {
    /// Line of `key` inside section `section` (`""` for the top level, `events#2` for the third
    /// `[[events]]`); 1 if not found.
    fn line(&self, section: &str, key: &str) -> u64 {
        self.lines.line(section, key)
    }

    /// Reports every key of `t` that is not in `allowed` (a table named `label` in messages).
    fn unknown_keys(&mut self, t: &toml::Table, section: &str, label: &str, allowed: &[&str]) {
        for key in t.keys() {
            if !allowed.contains(&key.as_str()) {
                self.err(
                    section,
                    key,
                    format!(
                        "unknown key '{key}' in {label}{}; allowed: {}",
                        suggest(key, allowed),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// An optional boolean: any other type is an error (not silently false).
    fn boolean(&mut self, t: &toml::Table, section: &str, key: &str) -> Option<bool> {
        match t.get(key) {
            None => None,
            Some(toml::Value::Boolean(b)) => Some(*b),
            Some(other) => {
                self.err(
                    section,
                    key,
                    format!("{key} must be true or false, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn err(&mut self, section: &str, key: &str, msg: impl Into<String>) {
        let line = self.line(section, key);
        let column = if key.is_empty() { None } else { Some(key) };
        self.diags
            .push(Diagnostic::error(&self.file.path, Some(line), column, msg));
    }

    fn str<'t>(
        &mut self,
        t: &'t toml::Table,
        section: &str,
        key: &str,
        required: bool,
    ) -> Option<&'t str> {
        match t.get(key) {
            Some(toml::Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.err(section, key, format!("{key} must be a string"));
                None
            }
            None => {
                if required {
                    self.err(
                        section,
                        "",
                        format!("required key '{key}' is missing{}", in_section(section)),
                    );
                }
                None
            }
        }
    }

    fn strings(&mut self, t: &toml::Table, section: &str, key: &str) -> Vec<String> {
        match t.get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for v in items {
                    match v.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => {
                            self.err(section, key, format!("{key} must be an array of strings"))
                        }
                    }
                }
                out
            }
            Some(_) => {
                self.err(section, key, format!("{key} must be an array of strings"));
                Vec::new()
            }
        }
    }

    fn fraction(
        &mut self,
        t: &toml::Table,
        section: &str,
        key: &str,
        required: bool,
    ) -> Option<f64> {
        self.number_in(t, section, key, required, 1.0)
    }

    /// A rate (may exceed 1: a 145 % tariff is 1.45), at most 10.
    fn rate(&mut self, t: &toml::Table, section: &str, key: &str) -> Option<f64> {
        self.number_in(t, section, key, true, 10.0)
    }

    fn number_in(
        &mut self,
        t: &toml::Table,
        section: &str,
        key: &str,
        required: bool,
        max: f64,
    ) -> Option<f64> {
        let v = match t.get(key) {
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(_) => {
                self.err(
                    section,
                    key,
                    format!("{key} must be a number (a fraction: 0.001 for 0.1 %)"),
                );
                return None;
            }
            None => {
                if required {
                    self.err(
                        section,
                        "",
                        format!("required key '{key}' is missing{}", in_section(section)),
                    );
                }
                return None;
            }
        };
        if !(0.0..=max).contains(&v) || !v.is_finite() {
            self.err(
                section,
                key,
                format!("{key} = {v} is out of range: write shares as fractions (0.001 for 0.1 %)"),
            );
            return None;
        }
        Some(v)
    }

    fn table<'t>(
        &mut self,
        t: &'t toml::Table,
        section: &str,
        key: &str,
    ) -> Option<&'t toml::Table> {
        match t.get(key) {
            Some(toml::Value::Table(s)) => Some(s),
            Some(_) => {
                self.err(section, key, format!("{key} must be a table ([{key}])"));
                None
            }
            None => None,
        }
    }

    fn country(&mut self, section: &str, key: &str, code: &str) -> bool {
        if self.countries.contains(code) {
            true
        } else {
            let all: Vec<&str> = self.countries.iter().map(String::as_str).collect();
            self.err(
                section,
                key,
                format!(
                    "'{code}' is not a country in countries.csv{}",
                    suggest(code, &all)
                ),
            );
            false
        }
    }

    /// Expands a destination list: `all`, `all_except_ISO3`, ISO3 codes and `group:ID`.
    fn destinations(&mut self, t: &toml::Table, section: &str) -> Destinations {
        let mut d = Destinations::default();
        for item in self.strings(t, section, "destinations") {
            if item == "all" {
                d.all = true;
            } else if let Some(c) = item.strip_prefix("all_except_") {
                d.all = true;
                if self.country(section, "destinations", c) {
                    d.exclude.push(c.to_string());
                }
            } else if let Some(g) = item.strip_prefix("group:") {
                match self.groups.iter().find(|(id, _)| id == g) {
                    Some((_, members)) => d.include.extend(members.iter().cloned()),
                    None => {
                        let ids: Vec<&str> = self.groups.iter().map(|(i, _)| i.as_str()).collect();
                        self.err(
                            section,
                            "destinations",
                            format!("'{g}' is not a group in groups.csv{}", suggest(g, &ids)),
                        );
                    }
                }
            } else if self.country(section, "destinations", &item) {
                d.include.push(item);
            }
        }
        for c in self.strings(t, section, "exclude_destinations") {
            if self.country(section, "exclude_destinations", &c) {
                d.exclude.push(c);
            }
        }
        d
    }

    /// An array of element names (`dy`), each checked against the vocabulary.
    fn elements(
        &mut self,
        t: &toml::Table,
        section: &str,
        key: &str,
    ) -> Vec<lodestone_model::Element> {
        let mut out = Vec::new();
        for name in self.strings(t, section, key) {
            match lodestone_model::Element::parse(&name) {
                Ok(lodestone_model::Element::Other) | Err(_) => {
                    let e = lodestone_model::Element::parse(&name).err();
                    self.err(
                        section,
                        key,
                        match e {
                            Some(e) => e.to_string(),
                            None => "'other' is not an element a rule can name".to_string(),
                        },
                    );
                }
                Ok(e) => out.push(e),
            }
        }
        out
    }

    fn tags(&mut self, t: &toml::Table, section: &str, key: &str) -> Vec<String> {
        let tags = self.strings(t, section, key);
        for tag in &tags {
            let ok = tag
                .split_once(':')
                .is_some_and(|(f, v)| TAG_FAMILIES.contains(&f) && !v.is_empty());
            if !ok {
                self.err(
                    section,
                    key,
                    format!(
                        "'{tag}' is not a content tag: write FAMILY:CODE with FAMILY one of {}",
                        TAG_FAMILIES.join(", ")
                    ),
                );
            }
        }
        tags
    }

    fn date(&mut self, t: &toml::Table, section: &str, key: &str) -> Option<Date> {
        let text = match t.get(key) {
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Datetime(dt)) => dt.to_string(),
            Some(_) | None => {
                self.err(section, key, format!("{key} must be a date YYYY-MM-DD"));
                return None;
            }
        };
        match Date::parse(&text) {
            Some(d) if d.day.is_some() => Some(d),
            _ => {
                self.err(
                    section,
                    key,
                    format!("{key} '{text}' is not a full ISO 8601 date (YYYY-MM-DD)"),
                );
                None
            }
        }
    }
}

/// The line of every key of a TOML text, by section (`""` for the top level, `events#2` for the
/// third `[[events]]`), found in one pass; locating an error is then a look-up, so a file with
/// many errors costs linear time, not the square of its length.
#[derive(Debug, Default)]
pub(crate) struct KeyLines {
    keys: std::collections::HashMap<(String, usize, String), u64>,
    headers: std::collections::HashMap<(String, usize), u64>,
}

impl KeyLines {
    /// Indexes `text`.
    pub(crate) fn new(text: &str) -> KeyLines {
        let mut out = KeyLines::default();
        let mut current = String::new();
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        let mut index = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = i as u64 + 1;
            let l = raw.trim();
            if let Some(h) = l.strip_prefix("[[").and_then(|s| s.split("]]").next()) {
                current = h.trim().to_string();
                let c = counts.entry(current.clone()).or_insert(0);
                index = *c;
                *c += 1;
                out.headers.entry((current.clone(), index)).or_insert(line);
                continue;
            }
            if let Some(h) = l.strip_prefix('[').and_then(|s| s.split(']').next()) {
                current = h.trim().to_string();
                index = 0;
                out.headers.entry((current.clone(), 0)).or_insert(line);
                continue;
            }
            if l.contains('=') {
                let k = l.split('=').next().unwrap_or("").trim().trim_matches('"');
                if !k.is_empty() {
                    out.keys
                        .entry((current.clone(), index, k.to_string()))
                        .or_insert(line);
                }
            }
        }
        out
    }

    /// The line of `key` in `section`, else of the section's header, else 1.
    pub(crate) fn line(&self, section: &str, key: &str) -> u64 {
        let (name, nth) = match section.split_once('#') {
            Some((n, i)) => (n, i.parse::<usize>().unwrap_or(0)),
            None => (section, 0),
        };
        self.keys
            .get(&(name.to_string(), nth, key.to_string()))
            .or_else(|| self.headers.get(&(name.to_string(), nth)))
            .copied()
            .unwrap_or(1)
    }
}

/// The line of `key` in `section` of `text` (one pass; for a single look-up).
pub(crate) fn key_line(text: &str, section: &str, key: &str) -> u64 {
    KeyLines::new(text).line(section, key)
}

fn in_section(section: &str) -> String {
    if section.is_empty() {
        String::new()
    } else {
        format!(" in [{}]", section.split('#').next().unwrap_or(""))
    }
}

/// Parses every `policies/*.toml` of a loaded dataset into rules, appending located diagnostics.
pub fn load_rules(ds: &Dataset, diags: &mut Vec<Diagnostic>) -> Vec<Rule> {
    let countries = ds.ids("countries");
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    if let (Some(gt), Some(ct)) = (ds.table("groups"), ds.table("countries")) {
        for g in gt.rows.iter().filter_map(|r| gt.text(r, "id")) {
            let members = ct
                .rows
                .iter()
                .filter(|r| ct.get(r, "groups").items().contains(&g))
                .filter_map(|r| ct.text(r, "id").map(str::to_string))
                .collect();
            groups.push((g.to_string(), members));
        }
    }
    let materials = ds.ids("materials");
    let mut rules = Vec::new();
    for file in ds
        .toml_files
        .iter()
        .filter(|f| f.path.starts_with("policies/"))
    {
        let mut ctx = Ctx {
            file,
            lines: KeyLines::new(&file.text),
            diags: &mut *diags,
            countries: countries.clone(),
            groups: groups.clone(),
            materials: materials.clone(),
        };
        if let Some(rule) = parse_rule(&mut ctx) {
            rules.push(rule);
        }
    }
    rules
}

fn parse_rule(c: &mut Ctx) -> Option<Rule> {
    let doc = &c.file.document;
    let errors_before = c.diags.len();
    let top = keys_of("");
    for key in doc.keys() {
        if !top.contains(&key.as_str()) {
            c.err(
                "",
                key,
                format!(
                    "unknown key '{key}'{}; descriptive facts go under [facts]",
                    suggest(key, &top)
                ),
            );
        }
    }
    let stem = c
        .file
        .path
        .trim_start_matches("policies/")
        .trim_end_matches(".toml")
        .to_string();
    let id = c.str(doc, "", "id", true).unwrap_or_default().to_string();
    if !id.is_empty() && id != stem {
        c.err(
            "",
            "id",
            format!("id '{id}' differs from the file name '{stem}.toml'"),
        );
    }
    let title = c
        .str(doc, "", "title", true)
        .unwrap_or_default()
        .to_string();
    let kind_name = c.str(doc, "", "kind", true).unwrap_or_default().to_string();
    let issuer = c
        .str(doc, "", "issuer", true)
        .unwrap_or_default()
        .to_string();
    if !issuer.is_empty() && issuer != "EU" {
        c.country("", "issuer", &issuer);
    }
    let mut sources: Vec<String> = c
        .str(doc, "", "source", false)
        .map(str::to_string)
        .into_iter()
        .collect();
    sources.extend(c.strings(doc, "", "sources"));
    if sources.is_empty() {
        c.err("", "", "a rule needs a `source` (or `sources`)");
    }
    let confidence = c.str(doc, "", "confidence", false).map(str::to_string);
    if let Some(conf) = &confidence
        && !["high", "medium", "low"].contains(&conf.as_str())
    {
        c.err(
            "",
            "confidence",
            format!("confidence '{conf}' is not one of high, medium, low"),
        );
    }
    let note = c.str(doc, "", "note", false).map(str::to_string);

    let mut scope = Scope::default();
    if let Some(s) = c.table(doc, "", "scope") {
        let allowed = keys_of("scope");
        for key in s.keys() {
            if !allowed.contains(&key.as_str()) {
                c.err(
                    "scope",
                    key,
                    format!(
                        "unknown key '{key}' in [scope]{}; allowed: {}",
                        suggest(key, &allowed),
                        allowed.join(", ")
                    ),
                );
            }
        }
        scope.materials = c.strings(s, "scope", "materials");
        for m in scope.materials.clone() {
            if !c.materials.contains(&m) {
                let all: Vec<&str> = c.materials.iter().map(String::as_str).collect();
                let hint = suggest(&m, &all);
                c.err(
                    "scope",
                    "materials",
                    format!("material '{m}' is not in materials.csv{hint}"),
                );
            }
        }
        scope.material_stages = c.strings(s, "scope", "material_stages");
        scope.hs_codes = c.strings(s, "scope", "hs_codes");
        if !s.contains_key("destinations") {
            c.err(
                "scope",
                "",
                "[scope] needs `destinations` (\"all\", \"all_except_ISO3\", ISO3 codes or \"group:id\")",
            );
        }
        scope.destinations = c.destinations(s, "scope");
        scope.end_uses = c.strings(s, "scope", "end_uses");
        scope.containing_elements = c.elements(s, "scope", "containing_elements");
    } else {
        c.err(
            "",
            "",
            "a rule needs a [scope] table (at least `destinations`)",
        );
    }

    let kind = match kind_name.as_str() {
        "export_control" => {
            let content = c.table(doc, "", "content_test").and_then(|t| {
                c.unknown_keys(
                    t,
                    "content_test",
                    "[content_test]",
                    &keys_of("content_test"),
                );
                let origin_tags = c.tags(t, "content_test", "origin_tags");
                let measure = match c.str(t, "content_test", "measure", true) {
                    Some("value") => Measure::Value,
                    Some("mass") => Measure::Mass,
                    Some(other) => {
                        c.err(
                            "content_test",
                            "measure",
                            format!("measure '{other}' is not 'value' or 'mass'"),
                        );
                        Measure::Value
                    }
                    None => Measure::Value,
                };
                let comparison = match c.str(t, "content_test", "comparison", true) {
                    Some("at_or_above") => Comparison::AtOrAbove,
                    Some("exceeds") => Comparison::Exceeds,
                    Some(other) => {
                        c.err(
                            "content_test",
                            "comparison",
                            format!("comparison '{other}' is not 'at_or_above' or 'exceeds'"),
                        );
                        Comparison::AtOrAbove
                    }
                    None => Comparison::AtOrAbove,
                };
                let threshold = c.fraction(t, "content_test", "threshold", true)?;
                let mut by_destination = Vec::new();
                if let Some(toml::Value::Array(list)) = t.get("by_destination") {
                    for (i, item) in list.iter().enumerate() {
                        let sec = format!("content_test.by_destination#{i}");
                        if let Some(bt) = item.as_table() {
                            c.unknown_keys(
                                bt,
                                &sec,
                                "[[content_test.by_destination]]",
                                &["destinations", "exclude_destinations", "threshold"],
                            );
                            let destinations = c.destinations(bt, &sec);
                            if let Some(th) = c.fraction(bt, &sec, "threshold", true) {
                                by_destination.push(DestinationThreshold {
                                    destinations,
                                    threshold: th,
                                });
                            }
                        }
                    }
                }
                if origin_tags.is_empty() {
                    c.err("content_test", "", "content_test needs origin_tags");
                }
                let elements = c.elements(t, "content_test", "elements");
                Some(ContentTest {
                    origin_tags,
                    elements,
                    measure,
                    comparison,
                    threshold,
                    by_destination,
                })
            });
            let technology_tags = match c.table(doc, "", "technology_clause") {
                Some(t) => {
                    c.unknown_keys(
                        t,
                        "technology_clause",
                        "[technology_clause]",
                        &keys_of("technology_clause"),
                    );
                    c.tags(t, "technology_clause", "tags")
                }
                None => Vec::new(),
            };
            let (direct, denied_end_uses) = match c.table(doc, "", "export_control") {
                Some(t) => {
                    c.unknown_keys(
                        t,
                        "export_control",
                        "[export_control]",
                        &keys_of("export_control"),
                    );
                    (
                        c.boolean(t, "export_control", "direct").unwrap_or(false),
                        c.strings(t, "export_control", "denied_end_uses"),
                    )
                }
                None => (false, Vec::new()),
            };
            if doc.get("content_test").is_none() && technology_tags.is_empty() && !direct {
                c.err("", "kind", "an export_control needs a [content_test], a [technology_clause] or [export_control] direct = true");
            }
            RuleKind::ExportControl {
                content,
                technology_tags,
                direct,
                denied_end_uses,
            }
        }
        "tariff" => {
            let t = c.table(doc, "", "tariff");
            let Some(t) = t else {
                c.err(
                    "",
                    "kind",
                    "a tariff needs a [tariff] table with importer, origins and rate",
                );
                return None;
            };
            c.unknown_keys(t, "tariff", "[tariff]", &keys_of("tariff"));
            let importer = c
                .str(t, "tariff", "importer", true)
                .unwrap_or_default()
                .to_string();
            if !importer.is_empty() {
                c.country("tariff", "importer", &importer);
            }
            let origins = c.strings(t, "tariff", "origins");
            for o in &origins {
                c.country("tariff", "origins", o);
            }
            let rate = c.rate(t, "tariff", "rate").unwrap_or(0.0);
            RuleKind::Tariff {
                importer,
                origins,
                rate,
            }
        }
        "export_ban" => RuleKind::ExportBan,
        "procurement_restriction" => {
            let Some(t) = c.table(doc, "", "procurement") else {
                c.err("", "kind", "a procurement_restriction needs a [procurement] table with buyer and [[procurement.tests]]");
                return None;
            };
            c.unknown_keys(t, "procurement", "[procurement]", &keys_of("procurement"));
            let buyer = c
                .str(t, "procurement", "buyer", true)
                .unwrap_or_default()
                .to_string();
            if !buyer.is_empty() {
                c.country("procurement", "buyer", &buyer);
            }
            let mut tests = Vec::new();
            if let Some(toml::Value::Array(list)) = t.get("tests") {
                for (i, item) in list.iter().enumerate() {
                    let sec = format!("procurement.tests#{i}");
                    let Some(tt) = item.as_table() else { continue };
                    c.unknown_keys(
                        tt,
                        &sec,
                        "[[procurement.tests]]",
                        &["from", "disqualifying_tags", "wording", "note"],
                    );
                    let from = c.date(tt, &sec, "from");
                    let disqualifying_tags = c.tags(tt, &sec, "disqualifying_tags");
                    let wording = c
                        .str(tt, &sec, "wording", true)
                        .unwrap_or_default()
                        .to_string();
                    if let Some(from) = from {
                        tests.push(ProcurementTest {
                            from,
                            disqualifying_tags,
                            wording,
                        });
                    }
                }
            }
            if tests.is_empty() {
                c.err(
                    "procurement",
                    "",
                    "[procurement] needs at least one [[procurement.tests]]",
                );
            }
            if tests.windows(2).any(|w| w[1].from < w[0].from) {
                c.err(
                    "procurement",
                    "tests",
                    "[[procurement.tests]] must be in date order",
                );
            }
            RuleKind::Procurement { buyer, tests }
        }
        "benchmark" => {
            let Some(t) = c.table(doc, "", "benchmark") else {
                c.err("", "kind", "a benchmark needs a [benchmark] table");
                return None;
            };
            c.unknown_keys(t, "benchmark", "[benchmark]", &keys_of("benchmark"));
            let max_single_country_share =
                c.fraction(t, "benchmark", "max_single_country_share", false);
            let mut targets = Vec::new();
            for stage in ["extraction", "processing", "recycling"] {
                if let Some(v) = c.fraction(t, "benchmark", &format!("{stage}_min"), false) {
                    targets.push((stage.to_string(), v));
                }
            }
            RuleKind::Benchmark {
                max_single_country_share,
                targets,
            }
        }
        "" => return None,
        other => {
            let kinds = [
                "export_control",
                "tariff",
                "export_ban",
                "procurement_restriction",
                "benchmark",
            ];
            c.err(
                "",
                "kind",
                format!(
                    "kind '{other}' is not one of {}{}",
                    kinds.join(", "),
                    suggest(other, &kinds)
                ),
            );
            return None;
        }
    };

    let mut events = Vec::new();
    match doc.get("events") {
        Some(toml::Value::Array(list)) if list.is_empty() => c.err(
            "",
            "events",
            "the event list is empty: a rule needs at least one dated state",
        ),
        Some(toml::Value::Array(list)) => {
            for (i, item) in list.iter().enumerate() {
                let sec = format!("events#{i}");
                let Some(et) = item.as_table() else { continue };
                c.unknown_keys(
                    et,
                    &sec,
                    "[[events]]",
                    &["date", "state", "source", "sources", "note", "assumed"],
                );
                let date = c.date(et, &sec, "date");
                let state = match c.str(et, &sec, "state", true) {
                    Some(s) => match lodestone_rules::parse_event_state(s) {
                        Some(st) => Some(st),
                        None => {
                            c.err(&sec, "state", format!("state '{s}' is not one of announced, in_force, suspended, expired, withdrawn, never_implemented"));
                            None
                        }
                    },
                    None => None,
                };
                let source = c
                    .str(et, &sec, "source", true)
                    .unwrap_or_default()
                    .to_string();
                let note = c
                    .str(et, &sec, "note", false)
                    .unwrap_or_default()
                    .to_string();
                if let (Some(date), Some(state)) = (date, state) {
                    if let Some(prev) = events.last().map(|e: &Event| e.date) {
                        if date < prev {
                            c.err(&sec, "date", format!("event date {date} is before the previous event ({prev}): list events in date order"));
                        } else if date == prev {
                            c.err(&sec, "date", format!("two events on {date}: a rule has one state per day; merge them or date the later one"));
                        }
                    }
                    let assumed = c.boolean(et, &sec, "assumed").unwrap_or(false);
                    if assumed && note.is_empty() {
                        c.err(
                            &sec,
                            "note",
                            "an assumed event needs a note saying what is assumed",
                        );
                    }
                    events.push(Event {
                        date,
                        state,
                        source,
                        note,
                        assumed,
                    });
                }
            }
        }
        _ => c.err(
            "",
            "",
            "a rule needs [[events]] (its lifecycle: at least one dated state)",
        ),
    }
    if c.diags.len() > errors_before {
        return None;
    }
    Some(Rule {
        id,
        title,
        issuer,
        scope,
        kind,
        lifecycle: Lifecycle { events },
        sources,
        confidence,
        note,
        file: c.file.path.clone(),
    })
}
