//! Prices for valuing content: an element by the price of its pure oxide, a product by its own
//! recorded price (or its parent material's), both in US dollars FOB China.
//!
//! One market is used for every valuation so that shares compare like with like: `fob_china`,
//! the series USGS publishes (Argus). China's domestic and Europe's prices are recorded in
//! `prices.csv` for reference; CNY quotes are never converted (no exchange rate is assumed).

use std::collections::HashMap;

use lodestone_format::{Compositions, Dataset, Value};
use lodestone_model::{Date, Element};
use lodestone_rules::PricePoint;

/// The market every valuation uses.
pub const VALUATION_MARKET: &str = "fob_china";

/// USD price points per material (per t of the material), in date order.
#[derive(Debug, Clone, Default)]
pub struct Prices {
    by_material: HashMap<String, Vec<PricePoint>>,
    /// Each material's parent and REO content (fraction), for product valuation.
    materials: HashMap<String, (Option<String>, Option<f64>, String)>,
}

fn period_label(period: &Date) -> String {
    if period.month.is_none() {
        format!("{} average", period.year)
    } else {
        period.to_string()
    }
}

impl Prices {
    /// Reads the `prices` and `materials` tables.
    pub fn from_dataset(ds: &Dataset) -> Prices {
        let mut materials = HashMap::new();
        if let Some(t) = ds.table("materials") {
            for r in &t.rows {
                if let Some(id) = t.text(r, "id") {
                    materials.insert(
                        id.to_string(),
                        (
                            t.text(r, "parent").map(str::to_string),
                            t.get(r, "reo_content").as_f64().map(|p| p / 100.0),
                            t.text(r, "stage").unwrap_or("").to_string(),
                        ),
                    );
                }
            }
        }
        let mut by_material: HashMap<String, Vec<PricePoint>> = HashMap::new();
        if let Some(t) = ds.table("prices") {
            for r in &t.rows {
                let (
                    Some(material),
                    Some(VALUATION_MARKET),
                    Some("usd"),
                    Some(price),
                    Value::Date(period),
                ) = (
                    t.text(r, "material"),
                    t.text(r, "market"),
                    t.text(r, "currency"),
                    t.get(r, "price").as_f64(),
                    t.get(r, "period"),
                )
                else {
                    continue;
                };
                let (y, m, d) = period.earliest();
                let Some(from) = Date::ymd(y, m, d) else {
                    continue;
                };
                by_material
                    .entry(material.to_string())
                    .or_default()
                    .push(PricePoint {
                        from,
                        usd_per_t: price * 1000.0,
                        label: format!("{material}, FOB China, {}", period_label(period)),
                        source: t.text(r, "source").unwrap_or("").to_string(),
                    });
            }
        }
        for series in by_material.values_mut() {
            series.sort_by_key(|a| a.from);
        }
        Prices {
            by_material,
            materials,
        }
    }

    /// The price of `element` per t of its oxide: the series of its pure oxide (a material of
    /// stage `oxide` whose composition is 100 % the element).
    pub fn element(&self, element: Element, comps: &Compositions) -> Vec<PricePoint> {
        comps
            .pure_materials(element)
            .into_iter()
            .filter(|m| self.materials.get(*m).is_some_and(|x| x.2 == "oxide"))
            .find_map(|m| self.by_material.get(m).cloned())
            .unwrap_or_default()
    }

    /// The recorded price of `material` per t of its REO: its own series, else its nearest
    /// ancestor's (a blank is priced as the magnet it becomes). Empty when none is recorded.
    pub fn product(&self, material: &str) -> Vec<PricePoint> {
        let mut m = material.to_string();
        for _ in 0..16 {
            let Some((parent, reo, _)) = self.materials.get(&m) else {
                break;
            };
            if let (Some(series), Some(reo)) = (self.by_material.get(&m), reo)
                && *reo > 0.0
            {
                return series
                    .iter()
                    .map(|p| PricePoint {
                        usd_per_t: p.usd_per_t / reo,
                        label: if m == material {
                            p.label.clone()
                        } else {
                            format!("{}, the price of its parent material", p.label)
                        },
                        ..p.clone()
                    })
                    .collect();
            }
            match parent {
                Some(p) => m = p.clone(),
                None => break,
            }
        }
        Vec::new()
    }
}
