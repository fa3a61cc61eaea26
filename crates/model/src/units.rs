//! Units of measure, so that no quantity in Lodestone has an implicit unit.
//!
//! A [`Unit`] is a product of powers of mass, money and time with a scale factor and an optional
//! *basis* qualifier. The basis is what the mass counts: `t` is tonnes of the material itself,
//! `t REO` is tonnes of rare-earth-oxide equivalent. Units of different dimension or basis never
//! convert into each other: turning tonnes of magnet into tonnes of REO needs the material's
//! content, which is data, not arithmetic.

use std::fmt;

/// A parsed unit such as `t/yr`, `kt REO`, `USD/kg` or `%`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The unit as written (normalised spacing), e.g. `kt REO/yr`.
    pub symbol: String,
    /// Exponent of mass.
    pub mass: i8,
    /// Exponent of money (US dollars).
    pub money: i8,
    /// Exponent of time (years).
    pub time: i8,
    /// Factor to the coherent base (t, USD, yr); `%` is 0.01.
    pub scale: f64,
    /// What the mass counts, e.g. `REO`; `None` means mass of the material itself.
    pub basis: Option<String>,
}

/// Basis qualifiers a mass may carry.
pub const BASES: &[&str] = &["REO"];

/// Why a unit or a quantity did not parse or convert.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitError {
    /// The unit text is not a known unit.
    UnknownUnit(String),
    /// The text is not a number (optionally followed by a unit).
    NotANumber(String),
    /// The units measure different things (dimension or basis).
    Incompatible { from: String, to: String },
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitError::UnknownUnit(u) => write!(
                f,
                "unknown unit '{u}' (known: g kg t kt Mt, USD kUSD MUSD bUSD, yr month day, %, and a REO basis as in 't REO/yr')"
            ),
            UnitError::NotANumber(t) => write!(f, "'{t}' is not a number"),
            UnitError::Incompatible { from, to } => {
                write!(f, "unit '{from}' does not convert to '{to}'")
            }
        }
    }
}

impl std::error::Error for UnitError {}

fn symbol(sym: &str) -> Option<(i8, i8, i8, f64)> {
    // (mass, money, time, scale)
    Some(match sym {
        "g" => (1, 0, 0, 1e-6),
        "kg" => (1, 0, 0, 1e-3),
        "t" => (1, 0, 0, 1.0),
        "kt" => (1, 0, 0, 1e3),
        "Mt" => (1, 0, 0, 1e6),
        "USD" => (0, 1, 0, 1.0),
        "kUSD" => (0, 1, 0, 1e3),
        "MUSD" => (0, 1, 0, 1e6),
        "bUSD" => (0, 1, 0, 1e9),
        "yr" => (0, 0, 1, 1.0),
        "month" => (0, 0, 1, 1.0 / 12.0),
        "day" => (0, 0, 1, 1.0 / 365.0),
        "%" => (0, 0, 0, 0.01),
        _ => return None,
    })
}

impl Unit {
    /// The dimensionless unit (a plain number).
    pub fn one() -> Unit {
        Unit {
            symbol: String::new(),
            mass: 0,
            money: 0,
            time: 0,
            scale: 1.0,
            basis: None,
        }
    }

    /// Parses a unit: terms separated by `/` (the first is the numerator), each a symbol
    /// optionally followed by a basis word, e.g. `t REO/yr`. The empty string is dimensionless.
    pub fn parse(text: &str) -> Result<Unit, UnitError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Unit::one());
        }
        let unknown = || UnitError::UnknownUnit(text.to_string());
        let mut unit = Unit::one();
        let mut pieces = Vec::new();
        for (i, term) in text.split('/').enumerate() {
            let mut words = term.split_whitespace();
            let sym = words.next().ok_or_else(unknown)?;
            let (m, c, t, s) = symbol(sym).ok_or_else(unknown)?;
            let sign: i8 = if i == 0 { 1 } else { -1 };
            unit.mass += sign * m;
            unit.money += sign * c;
            unit.time += sign * t;
            unit.scale = if sign > 0 {
                unit.scale * s
            } else {
                unit.scale / s
            };
            let mut piece = sym.to_string();
            for word in words {
                if m == 0 || !BASES.contains(&word) || unit.basis.is_some() {
                    return Err(unknown());
                }
                unit.basis = Some(word.to_string());
                piece.push(' ');
                piece.push_str(word);
            }
            pieces.push(piece);
        }
        unit.symbol = pieces.join("/");
        Ok(unit)
    }

    /// True if quantities in `self` can be expressed in `other` (same dimension and basis).
    pub fn is_compatible(&self, other: &Unit) -> bool {
        self.mass == other.mass
            && self.money == other.money
            && self.time == other.time
            && self.basis == other.basis
    }

    /// The factor that turns a value in `self` into a value in `to`.
    pub fn factor_to(&self, to: &Unit) -> Result<f64, UnitError> {
        if self.is_compatible(to) {
            Ok(self.scale / to.scale)
        } else {
            Err(UnitError::Incompatible {
                from: self.symbol.clone(),
                to: to.symbol.clone(),
            })
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.symbol)
    }
}

/// A number with its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The magnitude, in `unit`.
    pub value: f64,
    /// The unit of `value`.
    pub unit: Unit,
}

/// Splits `12.5 kt/yr` into the number text and the unit text. The number is an optional sign,
/// digits with an optional decimal point, and an optional exponent; no thousands separators.
fn split_number(text: &str) -> (&str, &str) {
    let b = text.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let digits_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > digits_start {
            i = j;
        }
    }
    (&text[..i], &text[i..])
}

impl Quantity {
    /// Parses `number [unit]`. Without a unit the number is taken in `default_unit`; with one, it is
    /// converted to `default_unit` if compatible.
    pub fn parse_in(text: &str, default_unit: &Unit) -> Result<Quantity, UnitError> {
        let text = text.trim();
        let (num, rest) = split_number(text);
        let has_digit = num.bytes().any(|b| b.is_ascii_digit());
        let rest = rest.trim();
        let value: f64 = match num.parse() {
            Ok(v) if has_digit => v,
            _ => return Err(UnitError::NotANumber(text.to_string())),
        };
        if rest.is_empty() {
            return Ok(Quantity {
                value,
                unit: default_unit.clone(),
            });
        }
        // "12k" is a typo for a number; "12 bananas" names a unit we do not know.
        let separated = text[num.len()..].starts_with(char::is_whitespace);
        let unit = Unit::parse(rest).map_err(|e| {
            if separated {
                e
            } else {
                UnitError::NotANumber(text.to_string())
            }
        })?;
        let factor = unit.factor_to(default_unit)?;
        Ok(Quantity {
            value: value * factor,
            unit: default_unit.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Unit {
        Unit::parse(s).unwrap()
    }

    #[test]
    fn converts_within_a_dimension() {
        assert_eq!(u("kt/yr").factor_to(&u("t/yr")).unwrap(), 1000.0);
        assert_eq!(u("USD/kg").factor_to(&u("USD/t")).unwrap(), 1000.0);
        assert!((u("t/month").factor_to(&u("t/yr")).unwrap() - 12.0).abs() < 1e-12);
        assert_eq!(u("kt REO").factor_to(&u("t REO")).unwrap(), 1000.0);
    }

    #[test]
    fn refuses_other_dimensions_and_bases() {
        assert!(u("t").factor_to(&u("t REO")).is_err());
        assert!(u("USD").factor_to(&u("t")).is_err());
        assert!(u("t").factor_to(&u("t/yr")).is_err());
        assert!(Unit::parse("tonnes").is_err());
        assert!(Unit::parse("USD REO").is_err());
    }

    #[test]
    fn parses_quantities() {
        let t = u("t/yr");
        assert_eq!(Quantity::parse_in("12000", &t).unwrap().value, 12000.0);
        assert_eq!(Quantity::parse_in("12 kt/yr", &t).unwrap().value, 12000.0);
        assert_eq!(Quantity::parse_in("1.5e3", &t).unwrap().value, 1500.0);
        assert_eq!(Quantity::parse_in("-3", &t).unwrap().value, -3.0);
        assert!(matches!(
            Quantity::parse_in("12k", &t),
            Err(UnitError::NotANumber(_))
        ));
        assert!(matches!(
            Quantity::parse_in("1,200", &t),
            Err(UnitError::NotANumber(_))
        ));
        assert!(matches!(
            Quantity::parse_in("abc", &t),
            Err(UnitError::NotANumber(_))
        ));
        assert!(matches!(
            Quantity::parse_in(".", &t),
            Err(UnitError::NotANumber(_))
        ));
        assert!(matches!(
            Quantity::parse_in("nan", &t),
            Err(UnitError::NotANumber(_))
        ));
        assert!(matches!(
            Quantity::parse_in("5 USD", &t),
            Err(UnitError::Incompatible { .. })
        ));
        assert!(matches!(
            Quantity::parse_in("5 bananas", &t),
            Err(UnitError::UnknownUnit(_))
        ));
        assert_eq!(Quantity::parse_in("55 %", &u("%")).unwrap().value, 55.0);
    }
}
