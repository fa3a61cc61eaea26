//! ISO 8601 calendar dates at year, month or day precision.
//!
//! Sources are often dated only to a month ("2025-01") or a year; forcing a day would invent
//! precision, so a [`Date`] keeps the precision it was given.

use std::cmp::Ordering;
use std::fmt;

/// A calendar date written `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
///
/// Ordering compares the earliest day each date can mean, then the precision (a bare year sorts
/// before its first month), so comparisons never claim an order the data cannot support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Date {
    /// Calendar year, 1000..=9999.
    pub year: u16,
    /// Month 1..=12, if given.
    pub month: Option<u8>,
    /// Day of month, if given (then `month` is given too).
    pub day: Option<u8>,
}

impl Date {
    /// The civil (UTC) date of a moment given as seconds since 1970-01-01T00:00:00Z (Howard
    /// Hinnant's algorithm). Pure: the caller reads the clock.
    pub fn from_unix_seconds(secs: u64) -> Date {
        let z = (secs / 86_400) as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let y = (yoe + era * 400 + i64::from(m <= 2)).clamp(0, i64::from(u16::MAX)) as u16;
        Date::ymd(y, m, d).unwrap_or(Date {
            year: y,
            month: Some(1),
            day: Some(1),
        })
    }

    /// A date at day precision; `None` if the day does not exist.
    pub fn ymd(year: u16, month: u8, day: u8) -> Option<Date> {
        let d = Date {
            year,
            month: Some(month),
            day: Some(day),
        };
        d.is_valid().then_some(d)
    }

    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, rejecting impossible days such as 2025-02-29.
    pub fn parse(text: &str) -> Option<Date> {
        let parts: Vec<&str> = text.split('-').collect();
        let num = |s: &str, len: usize| -> Option<u16> {
            if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        };
        let date = match parts.as_slice() {
            [y] => Date {
                year: num(y, 4)?,
                month: None,
                day: None,
            },
            [y, m] => Date {
                year: num(y, 4)?,
                month: Some(num(m, 2)? as u8),
                day: None,
            },
            [y, m, d] => Date {
                year: num(y, 4)?,
                month: Some(num(m, 2)? as u8),
                day: Some(num(d, 2)? as u8),
            },
            _ => return None,
        };
        date.is_valid().then_some(date)
    }

    fn is_valid(&self) -> bool {
        if self.year < 1000 {
            return false;
        }
        match (self.month, self.day) {
            (None, None) => true,
            (Some(m), None) => (1..=12).contains(&m),
            (Some(m), Some(d)) => {
                (1..=12).contains(&m) && d >= 1 && d <= days_in_month(self.year, m)
            }
            (None, Some(_)) => false,
        }
    }

    /// The first day this date can mean, as a day number (days since 1970-01-01).
    pub fn first_day_number(&self) -> i64 {
        let (y, m, d) = self.earliest();
        day_number(y, m, d)
    }

    /// The last day this date can mean, as a day number (days since 1970-01-01).
    pub fn last_day_number(&self) -> i64 {
        let (y, m, d) = self.latest();
        day_number(y, m, d)
    }

    /// The first day this date can mean, as (year, month, day).
    pub fn earliest(&self) -> (u16, u8, u8) {
        (self.year, self.month.unwrap_or(1), self.day.unwrap_or(1))
    }

    /// The last day this date can mean, as (year, month, day).
    pub fn latest(&self) -> (u16, u8, u8) {
        let m = self.month.unwrap_or(12);
        (
            self.year,
            m,
            self.day.unwrap_or_else(|| days_in_month(self.year, m)),
        )
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`), the inverse of
/// [`Date::from_unix_seconds`]'s day part.
pub fn day_number(year: u16, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Number of days in `month` of `year` (Gregorian).
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

impl PartialOrd for Date {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Date {
    fn cmp(&self, other: &Self) -> Ordering {
        let precision = |d: &Date| d.month.is_some() as u8 + d.day.is_some() as u8;
        self.earliest()
            .cmp(&other.earliest())
            .then(precision(self).cmp(&precision(other)))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_numbers_invert_unix_days() {
        for days in [0u64, 59, 365, 11_016, 19_723, 20_453, 2_932_896] {
            let d = Date::from_unix_seconds(days * 86_400);
            assert_eq!(d.first_day_number(), days as i64, "{d}");
        }
        assert_eq!(
            Date::parse("2024").unwrap().last_day_number()
                - Date::parse("2024").unwrap().first_day_number()
                + 1,
            366
        );
        assert_eq!(
            Date::parse("2025-02").unwrap().last_day_number()
                - Date::parse("2025-02").unwrap().first_day_number()
                + 1,
            28
        );
    }

    use super::*;

    #[test]
    fn parses_all_precisions_and_round_trips() {
        for s in ["2025", "2025-01", "2024-02-29", "1999-12-31"] {
            assert_eq!(Date::parse(s).map(|d| d.to_string()).as_deref(), Some(s));
        }
    }

    #[test]
    fn rejects_impossible_and_malformed_dates() {
        for s in [
            "2025-02-29",
            "2025-13",
            "2025-00-10",
            "25-01-01",
            "2025/01/01",
            "",
            "2025-1-1",
            "n.d.",
        ] {
            assert_eq!(Date::parse(s), None, "{s}");
        }
    }

    #[test]
    fn orders_by_earliest_day_then_precision() {
        let p = |s| Date::parse(s).unwrap();
        assert!(p("2025") < p("2025-01"));
        assert!(p("2025-01") < p("2025-01-02"));
        assert!(p("2024-12-31") < p("2025"));
        assert_eq!(p("2025-03").latest(), (2025, 3, 31));
    }
}

#[cfg(test)]
mod unix_tests {
    use super::Date;

    #[test]
    fn unix_seconds_give_civil_dates() {
        assert_eq!(Date::from_unix_seconds(0).to_string(), "1970-01-01");
        // 2026-12-01T08:00:00Z
        assert_eq!(
            Date::from_unix_seconds(1_796_112_000).to_string(),
            "2026-12-01"
        );
        // A leap day: 2024-02-29T12:00:00Z
        assert_eq!(
            Date::from_unix_seconds(1_709_208_000).to_string(),
            "2024-02-29"
        );
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Date::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "'{text}' is not a date; valid: YYYY-MM-DD, YYYY-MM or YYYY, e.g. 2025-12-01"
            ))
        })
    }
}

impl schemars::JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$",
            "description": "ISO 8601 date at year, month or day precision, e.g. 2025-12-01"
        })
    }
}
