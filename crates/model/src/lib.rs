//! Lodestone's domain vocabulary: identifiers, ISO country codes, calendar dates and units of
//! measure, and the closed vocabularies (stages, bases, scopes, views, tag families, custody
//! models, determinations) as enums.
//!
//! This crate deliberately knows nothing about files, formats or the network: it is plain data and
//! the rules that make a value well-formed. Parsing a *file* belongs to `lodestone-format`; parsing
//! a *value* (a date, a unit, an id) belongs here, because every engine needs the same answer.

pub mod date;
pub mod ids;
pub mod units;
pub mod vocab;

pub use date::Date;
pub use ids::{is_iso3, is_slug, iso3_name};
pub use units::{Quantity, Unit, UnitError};
pub use vocab::{
    Basis, Confidence, Content, Custody, CustodyChoice, Determination, Element, FigureStatus,
    FlowBasis, OutputFormat, RuleState, Scope, Stage, TagFamily, UnknownValue, View, Vocabulary,
    closest,
};
