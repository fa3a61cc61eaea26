//! Identifier rules: record ids are lower-case slugs; countries are ISO 3166-1 alpha-3 codes.

/// ISO 3166-1 alpha-3 codes with short names, from Debian's `iso-codes`, one `CODE\tName` per line.
const ISO3166_ALPHA3: &str = include_str!("iso3166_alpha3.txt");

/// Codes that are not ISO 3166-1 assignments but that statistics publishers use for aggregates.
/// `WLD` is the World Bank / UN code for the world total (USGS world rows use it). `XXX` (a code
/// ISO 3166 leaves to users, and the ICAO's for "unspecified nationality") is an origin not
/// known: a feed whose source is not published ships from it, so that it is not mixed with what
/// flows through `ROW`, the rest-of-world market.
const AGGREGATE_CODES: &[(&str, &str)] = &[
    ("WLD", "World"),
    ("ROW", "Rest of world"),
    ("XXX", "Origin not known"),
];

/// True for a stable record id: 1–64 characters of `a-z`, `0-9` and `_`, starting with a letter.
///
/// Slugs are lower-case so that ids never differ only by case, and use `_` rather than `-` so they
/// can be used unquoted as TOML keys and in file names.
pub fn is_slug(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// The short name of an ISO 3166-1 alpha-3 code (or an aggregate code such as `WLD`), if assigned.
pub fn iso3_name(code: &str) -> Option<&'static str> {
    if let Some((_, name)) = AGGREGATE_CODES.iter().find(|(c, _)| *c == code) {
        return Some(name);
    }
    ISO3166_ALPHA3
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .find(|(c, _)| *c == code)
        .map(|(_, name)| name)
}

/// True if `code` is an assigned ISO 3166-1 alpha-3 code or a known aggregate code (`WLD`, `ROW`).
pub fn is_iso3(code: &str) -> bool {
    code.len() == 3 && iso3_name(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(is_slug("lynas_lamp_kuantan"));
        assert!(is_slug("a1"));
        for bad in ["", "Lynas", "1abc", "lynas-lamp", "lynas lamp", "é"] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert!(!is_slug(&"a".repeat(65)));
    }

    #[test]
    fn iso3_codes() {
        assert!(is_iso3("MYS"));
        assert_eq!(iso3_name("MMR"), Some("Myanmar"));
        assert!(is_iso3("WLD"));
        assert!(!is_iso3("mys"));
        assert!(is_iso3("XXX"), "origin not known");
        assert!(!is_iso3("QQQ"));
        assert!(!is_iso3("MY"));
    }
}
