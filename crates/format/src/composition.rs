//! Element compositions: how a material's rare-earth content (t REO) splits by element oxide.
//!
//! A composition is given for a material in general, or for a material as shipped by one
//! producer (a mine's concentrate differs from another mine's). A flow takes its producer's
//! composition first, else the material's; there is no fallback to a parent material, because a
//! child (neodymium oxide) rarely has its parent's (NdPr oxide) split.

use std::collections::HashMap;

use lodestone_model::{Element, Vocabulary};

use crate::load::Dataset;

/// One composition: `(element, fraction of the REO)`, fractions summing to 1 (within the
/// schema's tolerance), in element order.
pub type Split = Vec<(Element, f64)>;

/// Every composition of a dataset, indexed for lookup by material and producer.
#[derive(Debug, Clone, Default)]
pub struct Compositions {
    by_key: HashMap<(String, String), Split>,
}

impl Compositions {
    /// Reads the `compositions` table (rows that did not parse are skipped: their own
    /// diagnostics say why).
    pub fn from_dataset(ds: &Dataset) -> Compositions {
        let mut by_key: HashMap<(String, String), Split> = HashMap::new();
        let Some(t) = ds.table("compositions") else {
            return Compositions { by_key };
        };
        for r in &t.rows {
            let (Some(material), Some(element), Some(share)) = (
                t.text(r, "material"),
                t.text(r, "element").and_then(|e| Element::parse(e).ok()),
                t.get(r, "share").as_f64(),
            ) else {
                continue;
            };
            let producer = t.text(r, "producer").unwrap_or("").to_string();
            let split = by_key.entry((material.to_string(), producer)).or_default();
            match split.iter_mut().find(|(e, _)| *e == element) {
                Some(slot) => slot.1 += share / 100.0,
                None => split.push((element, share / 100.0)),
            }
        }
        for split in by_key.values_mut() {
            split.sort_by_key(|(e, _)| *e);
        }
        Compositions { by_key }
    }

    /// The composition of `material` as shipped by `producer`: the producer's own, else the
    /// material's general one, else `None` (not resolved).
    pub fn of(&self, material: &str, producer: &str) -> Option<&Split> {
        self.by_key
            .get(&(material.to_string(), producer.to_string()))
            .or_else(|| self.by_key.get(&(material.to_string(), String::new())))
    }

    /// The fraction of `material`'s REO (as shipped by `producer`) that is `element`; `None` when
    /// the composition is not resolved.
    pub fn fraction(&self, material: &str, producer: &str, element: Element) -> Option<f64> {
        self.of(material, producer).map(|s| {
            s.iter()
                .find(|(e, _)| *e == element)
                .map_or(0.0, |(_, f)| *f)
        })
    }

    /// Materials with a general composition that is 100 % one element: the element's pure
    /// products (its oxide, its metal), for pricing an element by its products.
    pub fn pure_materials(&self, element: Element) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .by_key
            .iter()
            .filter(|((_, producer), split)| {
                producer.is_empty()
                    && split.len() == 1
                    && split[0].0 == element
                    && (split[0].1 - 1.0).abs() < 1e-9
            })
            .map(|((m, _), _)| m.as_str())
            .collect();
        v.sort_unstable();
        v
    }

    /// True when no composition is recorded.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
