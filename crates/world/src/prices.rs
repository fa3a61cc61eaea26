//! Prices for valuing content: an element by the price of its pure oxide, a product by its own
//! recorded price (or its parent material's), else by its element content at the elements'
//! oxide prices plus its material's stated fabrication value, all in US dollars FOB China.
//!
//! One market is used for every valuation so that shares compare like with like: `fob_china`,
//! the series USGS publishes (Argus). China's domestic and Europe's prices are recorded in
//! `prices.csv` for reference; CNY quotes are never converted (no exchange rate is assumed).

use std::collections::HashMap;

use lodestone_format::{Compositions, Dataset, Value};
use lodestone_model::{Date, Element};
use lodestone_rules::{ElementFacts, PricePoint, price_on};

/// The market every valuation uses.
pub const VALUATION_MARKET: &str = "fob_china";

/// USD price points per material (per t of the material), in date order.
#[derive(Debug, Clone, Default)]
pub struct Prices {
    by_material: HashMap<String, Vec<PricePoint>>,
    /// Each material's facts for product valuation.
    materials: HashMap<String, MaterialFacts>,
}

/// What valuation needs to know of a material.
#[derive(Debug, Clone, Default)]
struct MaterialFacts {
    parent: Option<String>,
    /// REO content, t REO per t of material.
    reo: Option<f64>,
    stage: String,
    /// Value added beyond its elements' oxide prices, USD per t of its REO.
    fabrication: Option<f64>,
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
                        MaterialFacts {
                            parent: t.text(r, "parent").map(str::to_string),
                            reo: t.get(r, "reo_content").as_f64().map(|p| p / 100.0),
                            stage: t.text(r, "stage").unwrap_or("").to_string(),
                            fabrication: t
                                .get(r, "fabrication_value")
                                .as_f64()
                                .map(|usd_per_kg| usd_per_kg * 1000.0),
                        },
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
            .filter(|m| self.materials.get(*m).is_some_and(|x| x.stage == "oxide"))
            .find_map(|m| self.by_material.get(m).cloned())
            .unwrap_or_default()
    }

    /// The recorded price of `material` per t of its REO: its own series, else its nearest
    /// ancestor's (a blank is priced as the magnet it becomes). Empty when none is recorded.
    pub fn product(&self, material: &str) -> Vec<PricePoint> {
        let mut m = material.to_string();
        for _ in 0..16 {
            let Some(MaterialFacts { parent, reo, .. }) = self.materials.get(&m) else {
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

    /// An estimate of `material`'s value per t of its REO from its element content: at every
    /// date on which one of its elements' oxide prices changes, the content valued at the
    /// prices of that date, plus the material's fabrication value. Empty when the material
    /// states no fabrication value, part of its content is not resolved to elements, or an
    /// element has no price.
    pub fn from_elements(&self, material: &str, elements: &[ElementFacts]) -> Vec<PricePoint> {
        let Some(fabrication) = self.materials.get(material).and_then(|x| x.fabrication) else {
            return Vec::new();
        };
        let resolved: f64 = elements
            .iter()
            .filter(|e| e.element != Element::Other)
            .map(|e| e.share)
            .sum();
        let priced = elements
            .iter()
            .all(|e| e.element != Element::Other && !e.prices.is_empty());
        if elements.is_empty() || !priced || (resolved - 1.0).abs() > 1e-6 {
            return Vec::new();
        }
        let mut dates: Vec<Date> = elements
            .iter()
            .flat_map(|e| e.prices.iter().map(|p| p.from))
            .collect();
        dates.sort();
        dates.dedup();
        dates
            .into_iter()
            .map(|date| {
                // Before an element's first price, its first price stands in.
                let at = |e: &ElementFacts| {
                    price_on(&e.prices, date).unwrap_or(&e.prices[0]).clone()
                };
                let content: f64 = elements.iter().map(|e| e.share * at(e).usd_per_t).sum();
                let mut sources: Vec<String> = elements.iter().map(|e| at(e).source).collect();
                sources.sort();
                sources.dedup();
                let mix: Vec<String> = elements
                    .iter()
                    .map(|e| format!("{} {:.1} %", e.element.symbol(), e.share * 100.0))
                    .collect();
                PricePoint {
                    from: date,
                    usd_per_t: content + fabrication,
                    label: format!(
                        "an estimate: its element content ({}) at FOB China oxide prices from {date}, plus a fabrication value of US${}/kg (materials.csv)",
                        mix.join(", "),
                        fabrication / 1000.0
                    ),
                    source: sources.join(", "),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(from: &str, usd_per_t: f64) -> PricePoint {
        PricePoint {
            from: Date::parse(from).expect("date"),
            usd_per_t,
            label: format!("test {from}"),
            source: "test_source".into(),
        }
    }

    fn facts(element: Element, share: f64, prices: Vec<PricePoint>) -> ElementFacts {
        ElementFacts {
            element,
            share,
            tags: Default::default(),
            prices,
        }
    }

    fn prices_with(material: &str, fabrication: Option<f64>) -> Prices {
        let mut p = Prices::default();
        p.materials.insert(
            material.into(),
            MaterialFacts {
                stage: "metal".into(),
                fabrication,
                ..Default::default()
            },
        );
        p
    }

    /// NdPr metal of 75 % Nd and 25 % Pr (by oxide), US$5,000/t of REO to make: Nd oxide at
    /// US$56,000/t from 2024 and US$73,000/t from 2025, Pr oxide at US$56,000/t from 2024 and
    /// US$80,000/t from June 2025. By hand: 2024: 0.75 × 56,000 + 0.25 × 56,000 + 5,000 =
    /// 61,000; January 2025: 0.75 × 73,000 + 0.25 × 56,000 + 5,000 = 73,750; June 2025:
    /// 54,750 + 0.25 × 80,000 + 5,000 = 79,750.
    #[test]
    fn a_product_without_a_price_is_valued_from_its_elements_plus_fabrication() {
        let p = prices_with("ndpr_metal", Some(5_000.0));
        let nd = facts(
            Element::Nd,
            0.75,
            vec![point("2024", 56_000.0), point("2025", 73_000.0)],
        );
        let pr = facts(
            Element::Pr,
            0.25,
            vec![point("2024", 56_000.0), point("2025-06", 80_000.0)],
        );
        let value = p.from_elements("ndpr_metal", &[nd.clone(), pr.clone()]);
        let got: Vec<(String, f64)> = value
            .iter()
            .map(|v| (v.from.to_string(), v.usd_per_t))
            .collect();
        assert_eq!(
            got,
            [
                ("2024".to_string(), 61_000.0),
                ("2025".to_string(), 73_750.0),
                ("2025-06".to_string(), 79_750.0)
            ]
        );
        assert!(
            value[0].label.contains("Nd 75.0 %, Pr 25.0 %"),
            "{}",
            value[0].label
        );
        assert!(value[0].label.contains("US$5/kg"), "{}", value[0].label);
        assert_eq!(value[0].source, "test_source");
        // No stated fabrication value, unresolved content, or an unpriced element: not valued.
        let unstated = prices_with("ndpr_metal", None);
        assert!(
            unstated
                .from_elements("ndpr_metal", &[nd.clone(), pr.clone()])
                .is_empty()
        );
        let part = facts(Element::Nd, 0.65, nd.prices.clone());
        let other = facts(Element::Other, 0.1, vec![]);
        assert!(
            p.from_elements("ndpr_metal", &[part, pr.clone(), other])
                .is_empty()
        );
        let unpriced = facts(Element::Pr, 0.25, vec![]);
        assert!(p.from_elements("ndpr_metal", &[nd, unpriced]).is_empty());
        assert!(p.from_elements("ndpr_metal", &[]).is_empty());
    }
}
