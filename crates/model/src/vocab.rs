//! Closed vocabularies: the words a user may type for a stage, a basis, a scope, a view, a tag
//! family, a custody model or a determination, each an enum with one canonical name per value.
//!
//! Every input is parsed into these types at the edge (CLI argument, query parameter, form
//! field), so a typo is an error that names what would be valid — never an empty table — and code
//! downstream matches on variants instead of comparing free strings.

use std::fmt;

/// A closed set of named values.
pub trait Vocabulary: Sized + Copy + Eq + 'static {
    /// What one value is called in messages, e.g. `stage`.
    const WHAT: &'static str;
    /// Every value, in their documented order.
    const ALL: &'static [Self];
    /// The canonical name (lower case, words joined by `_`).
    fn name(self) -> &'static str;

    /// Parses a name: case-insensitive, `-` and ` ` accepted for `_`. A word that is not a value
    /// is an [`UnknownValue`] with the closest valid name, if one is close.
    fn parse(text: &str) -> Result<Self, UnknownValue> {
        let wanted = normalise(text);
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == wanted)
            .ok_or_else(|| UnknownValue::new(Self::WHAT, text, Self::names()))
    }

    /// Every canonical name, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.name()).collect()
    }
}

fn normalise(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A word that is not in a vocabulary (or not an id of the dataset): what was given, what is
/// valid, and the closest valid word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// What the word should have named, e.g. `stage` or `country`.
    pub what: &'static str,
    /// The word as given.
    pub given: String,
    /// The valid words (for ids: a bounded list of the closest).
    pub valid: Vec<String>,
    /// The closest valid word, if one is close enough to be a likely typo.
    pub suggestion: Option<String>,
}

impl UnknownValue {
    /// An unknown `given` among `valid`, with the closest of them as the suggestion.
    pub fn new<S: AsRef<str>>(what: &'static str, given: &str, valid: Vec<S>) -> UnknownValue {
        let suggestion = closest(given, valid.iter().map(AsRef::as_ref)).map(str::to_string);
        UnknownValue {
            what,
            given: given.to_string(),
            valid: valid.iter().map(|v| v.as_ref().to_string()).collect(),
            suggestion,
        }
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let article = if self.what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        write!(f, "'{}' is not {article} {}", self.given, self.what)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean '{s}'?)")?;
        }
        if !self.valid.is_empty() {
            write!(f, "; valid: {}", self.valid.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownValue {}

/// The candidate closest to `word` by edit distance (ignoring case), if it is close enough to be
/// a likely typo: at most 2 edits, or a quarter of the candidate's length for long words.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&w, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.chars().count() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Declares a vocabulary enum with its names, [`Vocabulary`], `Display`, `FromStr` and serde's
/// `Serialize`/`Deserialize` as the canonical name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident as $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl Vocabulary for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                <$name as Vocabulary>::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "enum": [$($text),+],
                    "description": concat!("A ", $what, ".")
                })
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$name as Vocabulary>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// A stage of the rare-earth chain, as the views name it.
    Stage as "stage" {
        /// Ore and concentrate.
        Mining = "mining",
        /// Cracking and leaching of concentrate into mixed intermediates.
        Cracking = "cracking",
        /// Solvent-extraction separation into individual oxides (the IEA's "refining" of rare
        /// earths).
        Separation = "separation",
        /// Metals and alloys.
        Metal = "metal",
        /// Permanent magnets.
        Magnet = "magnet",
        /// Components and end-use products.
        Component = "component",
    }
}

impl Stage {
    /// The chain stage of a material by its `materials.stage` value.
    pub fn of_material(material_stage: &str) -> Stage {
        match material_stage {
            "ore" | "concentrate" => Stage::Mining,
            "intermediate" => Stage::Cracking,
            "oxide" => Stage::Separation,
            "metal" | "alloy" => Stage::Metal,
            "magnet" => Stage::Magnet,
            _ => Stage::Component,
        }
    }

    /// The stage of a `production.stage` value: `refining` is the IEA's word for separation into
    /// oxides; `reserves` is not a stage.
    pub fn of_production(production_stage: &str) -> Option<Stage> {
        match production_stage {
            "mining" => Some(Stage::Mining),
            "refining" | "separation" => Some(Stage::Separation),
            "metal" => Some(Stage::Metal),
            "magnet" => Some(Stage::Magnet),
            _ => None,
        }
    }

    /// The trace tag family that marks content having passed this stage, if the lowering tags it.
    pub fn family(self) -> Option<TagFamily> {
        match self {
            Stage::Mining => Some(TagFamily::Mined),
            Stage::Separation => Some(TagFamily::Separated),
            Stage::Metal => Some(TagFamily::Metal),
            Stage::Magnet => Some(TagFamily::Magnet),
            Stage::Cracking | Stage::Component => None,
        }
    }
}

vocabulary! {
    /// What a concentration share is a share of.
    Basis as "basis" {
        /// Stated capacity of operating facilities (t/yr of the capacity material).
        Capacity = "capacity",
        /// t REO first reaching the stage in the year, from the traced flows.
        Flow = "flow",
        /// Production as published (USGS, IEA).
        Production = "production",
    }
}

vocabulary! {
    /// Which suppliers a concentration table covers.
    Scope as "scope" {
        /// Every supplier.
        World = "world",
        /// Suppliers located outside China.
        OutsideChina = "outside_china",
    }
}

vocabulary! {
    /// What a concentration table ranks.
    View as "view" {
        /// The country where the work is done.
        Location = "location",
        /// The country of the ultimate owner.
        Ownership = "ownership",
        /// The ultimate owner company.
        Company = "company",
        /// The facility.
        Facility = "facility",
    }
}

vocabulary! {
    /// The families of trace tags: what a share of content is a share of.
    TagFamily as "tag family" {
        /// Where the REO was mined.
        Mined = "mined",
        /// Where it was first refined: cracked or leached from concentrate (into mixed compounds,
        /// or straight into separated oxides at an integrated plant).
        Refined = "refined",
        /// Where it was first separated into oxides.
        Separated = "separated",
        /// Where it was first made into metal or alloy.
        Metal = "metal",
        /// Where it was first made into magnets.
        Magnet = "magnet",
        /// Whose processing technology it passed.
        Tech = "tech",
        /// Which facility it passed.
        Facility = "facility",
    }
}

impl TagFamily {
    /// The families that name the country where a stage happened, in chain order.
    pub const STAGES: [TagFamily; 4] = [
        TagFamily::Mined,
        TagFamily::Separated,
        TagFamily::Metal,
        TagFamily::Magnet,
    ];

    /// The family of a tag `family:value`, if it is one of the vocabulary.
    pub fn of_tag(tag: &str) -> Option<(TagFamily, &str)> {
        // A union of tags (`separated:CHN|metal:CHN`) belongs to no single family.
        if tag.contains('|') {
            return None;
        }
        let (family, value) = tag.split_once(':')?;
        TagFamily::ALL
            .iter()
            .find(|f| f.name() == family)
            .map(|f| (*f, value))
    }

    /// The chain stage this family marks, for the stage families.
    pub fn stage(self) -> Option<Stage> {
        match self {
            TagFamily::Mined => Some(Stage::Mining),
            TagFamily::Refined => Some(Stage::Cracking),
            TagFamily::Separated => Some(Stage::Separation),
            TagFamily::Metal => Some(Stage::Metal),
            TagFamily::Magnet => Some(Stage::Magnet),
            TagFamily::Tech | TagFamily::Facility => None,
        }
    }
}

vocabulary! {
    /// A rare-earth element, counted as its oxide (the REO basis): the unit of element-resolved
    /// content. `other` is a remainder a composition names with a stated reason (elements a
    /// source does not report, or a basket whose mix is not published).
    Element as "element" {
        /// Lanthanum (La2O3).
        La = "la",
        /// Cerium (CeO2).
        Ce = "ce",
        /// Praseodymium (Pr6O11).
        Pr = "pr",
        /// Neodymium (Nd2O3).
        Nd = "nd",
        /// Samarium (Sm2O3).
        Sm = "sm",
        /// Europium (Eu2O3).
        Eu = "eu",
        /// Gadolinium (Gd2O3).
        Gd = "gd",
        /// Terbium (Tb4O7).
        Tb = "tb",
        /// Dysprosium (Dy2O3).
        Dy = "dy",
        /// Holmium (Ho2O3).
        Ho = "ho",
        /// Erbium (Er2O3).
        Er = "er",
        /// Thulium (Tm2O3).
        Tm = "tm",
        /// Ytterbium (Yb2O3).
        Yb = "yb",
        /// Lutetium (Lu2O3).
        Lu = "lu",
        /// Yttrium (Y2O3).
        Y = "y",
        /// Scandium (Sc2O3).
        Sc = "sc",
        /// A remainder whose elements are not resolved (the composition says why).
        Other = "other",
    }
}

impl Element {
    /// The seven medium and heavy rare earths of China's April 2025 controls (MOFCOM/GAC No. 18)
    /// and of Part I of No. 61's annex: Sm, Gd, Tb, Dy, Lu, Sc, Y.
    pub const CHINA_CONTROLLED_2025: [Element; 7] = [
        Element::Sm,
        Element::Gd,
        Element::Tb,
        Element::Dy,
        Element::Lu,
        Element::Sc,
        Element::Y,
    ];

    /// The element's chemical symbol, for people (`Dy`).
    pub fn symbol(self) -> &'static str {
        match self {
            Element::La => "La",
            Element::Ce => "Ce",
            Element::Pr => "Pr",
            Element::Nd => "Nd",
            Element::Sm => "Sm",
            Element::Eu => "Eu",
            Element::Gd => "Gd",
            Element::Tb => "Tb",
            Element::Dy => "Dy",
            Element::Ho => "Ho",
            Element::Er => "Er",
            Element::Tm => "Tm",
            Element::Yb => "Yb",
            Element::Lu => "Lu",
            Element::Y => "Y",
            Element::Sc => "Sc",
            Element::Other => "other",
        }
    }
}

vocabulary! {
    /// What a published figure counts of a stage's output: all its rare-earth content, or the
    /// elements a source singles out.
    Content as "content" {
        /// All rare-earth oxides (t REO).
        Reo = "reo",
        /// Neodymium and praseodymium oxides (NdPr, t REO).
        Ndpr = "ndpr",
        /// The IEA's magnet rare earths: Nd, Pr, Dy and Tb oxides (t REO).
        MagnetRareEarths = "magnet_rare_earths",
    }
}

vocabulary! {
    /// How a flow's quantity was obtained (`flows.basis`).
    FlowBasis as "flow basis" {
        /// As published.
        Reported = "reported",
        /// Computed from reported figures.
        Derived = "derived",
        /// Estimated; the row's `method` says how.
        Estimate = "estimate",
    }
}

vocabulary! {
    /// How sure an estimate is (`confidence` columns).
    Confidence as "confidence" {
        /// Close to a published figure, or several sources agree.
        High = "high",
        /// One source, or a derivation with a stated assumption.
        Medium = "medium",
        /// A rough estimate.
        Low = "low",
    }
}

vocabulary! {
    /// What became of a published figure when the flows were reconciled with it.
    FigureStatus as "figure status" {
        /// Met by the reconciled flows within what the uncertainties allow (normalized
        /// residual at most 3).
        Reconciled = "reconciled",
        /// Cannot be reconciled with the rest of the data: set aside, shown with both values.
        Conflict = "conflict",
        /// Nothing in the flows measures it: shown, not used.
        NotRepresented = "not_represented",
    }
}

impl Content {
    /// The elements counted, or `None` for all rare-earth content.
    pub fn elements(self) -> Option<&'static [Element]> {
        match self {
            Content::Reo => None,
            Content::Ndpr => Some(&[Element::Pr, Element::Nd]),
            Content::MagnetRareEarths => {
                Some(&[Element::Pr, Element::Nd, Element::Tb, Element::Dy])
            }
        }
    }
}

vocabulary! {
    /// How mixed inputs are attributed to outputs.
    Custody as "custody model" {
        /// Proportional mixing.
        MassBalance = "mass_balance",
        /// Declared lines keep their inputs apart.
        Segregated = "segregated",
    }
}

vocabulary! {
    /// A custody model, or both side by side.
    CustodyChoice as "custody choice" {
        /// Proportional mixing.
        MassBalance = "mass_balance",
        /// Declared lines keep their inputs apart.
        Segregated = "segregated",
        /// Both, side by side.
        Compare = "compare",
    }
}

impl CustodyChoice {
    /// The models to run.
    pub fn models(self) -> &'static [Custody] {
        match self {
            CustodyChoice::MassBalance => &[Custody::MassBalance],
            CustodyChoice::Segregated => &[Custody::Segregated],
            CustodyChoice::Compare => &[Custody::MassBalance, Custody::Segregated],
        }
    }
}

vocabulary! {
    /// What a rule says about a product on a date.
    Determination as "determination" {
        /// An export licence is required.
        LicenceRequired = "licence_required",
        /// The rule applies but its test is not met.
        NotRequired = "not_required",
        /// The rule does not apply (not in force, out of scope, other destination …).
        NotApplicable = "not_applicable",
        /// Prohibited (export ban, disqualified for procurement).
        Prohibited = "prohibited",
        /// An import tariff applies.
        Tariff = "tariff",
        /// The facts needed are missing.
        Indeterminate = "indeterminate",
    }
}

impl Determination {
    /// Whether the rule bites: a licence, a prohibition or a tariff.
    pub fn bites(self) -> bool {
        matches!(
            self,
            Determination::LicenceRequired | Determination::Prohibited | Determination::Tariff
        )
    }

    /// The determination in words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Determination::LicenceRequired => "licence required",
            Determination::NotRequired => "not required",
            Determination::NotApplicable => "does not apply",
            Determination::Prohibited => "prohibited",
            Determination::Tariff => "tariff",
            Determination::Indeterminate => "cannot be decided",
        }
    }
}

vocabulary! {
    /// The state of a trade rule on a date.
    RuleState as "rule state" {
        /// No event yet.
        NotAnnounced = "not_announced",
        /// Announced, not (yet) in force.
        Announced = "announced",
        /// In force: the rule applies.
        InForce = "in_force",
        /// Suspended: does not apply until a later event.
        Suspended = "suspended",
        /// Expired.
        Expired = "expired",
        /// Withdrawn.
        Withdrawn = "withdrawn",
        /// Announced but never implemented.
        NeverImplemented = "never_implemented",
    }
}

vocabulary! {
    /// Machine and human output formats of a table.
    OutputFormat as "format" {
        /// An aligned plain-text table.
        Table = "table",
        /// JSON: the view's struct.
        Json = "json",
        /// CSV: one line per row of the view.
        Csv = "csv",
        /// An Excel workbook with one sheet.
        Xlsx = "xlsx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_typos_get_suggestions() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.name()), Ok(*s));
        }
        assert_eq!(Scope::parse("outside-china"), Ok(Scope::OutsideChina));
        assert_eq!(Scope::parse("Outside China"), Ok(Scope::OutsideChina));
        let e = Stage::parse("seperation").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("separation"));
        assert_eq!(
            e.to_string(),
            "'seperation' is not a stage (did you mean 'separation'?); valid: mining, cracking, separation, metal, magnet, component"
        );
        let e = Stage::parse("magnets").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("magnet"));
        assert_eq!(Stage::parse("zzz").unwrap_err().suggestion, None);
    }

    #[test]
    fn serde_uses_the_canonical_names() {
        use serde::Serialize;
        // A minimal serializer is not worth writing here: check through the Display form that
        // serde's impl uses, and through a round trip of the names.
        assert_eq!(Basis::Production.to_string(), "production");
        fn is_serialize<T: Serialize>() {}
        is_serialize::<Determination>();
    }

    #[test]
    fn production_refining_is_separation() {
        assert_eq!(Stage::of_production("refining"), Some(Stage::Separation));
        assert_eq!(Stage::of_production("reserves"), None);
        assert_eq!(Stage::of_material("alloy"), Stage::Metal);
        assert_eq!(
            TagFamily::of_tag("separated:CHN"),
            Some((TagFamily::Separated, "CHN"))
        );
        assert_eq!(TagFamily::of_tag("bogus:CHN"), None);
        assert_eq!(TagFamily::of_tag("separated:CHN|metal:CHN"), None);
    }
}
