//! Property test: arbitrary byte mutations of a valid dataset never panic, and every diagnostic
//! they produce is located (a known file, and a line for anything but whole-file problems).
//!
//! The mutations come from a fixed-seed generator, so a failure reproduces exactly; the seed and
//! the mutated file are printed when a property fails.

use std::path::Path;

use lodestone_format::{InputFiles, Schema, read_dir};
use lodestone_world::load;

/// SplitMix64: tiny, well-distributed, and deterministic across platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to CSV, TOML, UTF-8, numbers and units.
const INTERESTING: &[u8] = b",\"\n\r;#-.e0123456789 %/=[]\xff\xef\xbb\xbf\xc3\x00tkREOUSDa";

fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) {
    let n = 1 + rng.below(6);
    for _ in 0..n {
        let len = bytes.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                bytes[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(len + 1);
                bytes.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let j = (i + 1 + rng.below(16)).min(len);
                bytes.drain(i..j);
            }
            3 if len > 0 => {
                // Duplicate a slice (e.g. a whole line, making duplicate ids).
                let i = rng.below(len);
                let j = (i + 1 + rng.below(120)).min(len);
                let slice = bytes[i..j].to_vec();
                let at = rng.below(len + 1);
                bytes.splice(at..at, slice);
            }
            4 => bytes.truncate(rng.below(len + 1)),
            5 if len > 0 => {
                let i = rng.below(len);
                bytes[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            _ => {
                let i = rng.below(len + 1);
                let junk: Vec<u8> = (0..rng.below(8)).map(|_| rng.next() as u8).collect();
                bytes.splice(i..i, junk);
            }
        }
    }
}

#[test]
fn mutated_datasets_never_panic_and_always_locate_problems() {
    let schema = Schema::embedded().unwrap();
    let base_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/base");
    let base = read_dir(&base_dir, &schema);
    let (_, clean) = load(schema.clone(), &base);
    assert!(
        !clean.has_errors(),
        "the base dataset must be valid: {:?}",
        clean.diagnostics
    );

    let names: Vec<String> = base.files.keys().cloned().collect();
    let iterations: u64 = std::env::var("LODESTONE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    let mut located = 0;
    for seed in 0..iterations {
        let mut rng = Rng(seed);
        let mut input = InputFiles {
            files: base.files.clone(),
            unreadable: Vec::new(),
        };
        // Mutate one or two files.
        for _ in 0..1 + rng.below(2) {
            let name = &names[rng.below(names.len())];
            if let Some(bytes) = input.files.get_mut(name) {
                mutate(bytes, &mut rng);
            }
        }
        let (_, report) = load(schema.clone(), &input);
        for d in &report.diagnostics {
            assert!(
                input.files.contains_key(&d.file),
                "seed {seed}: diagnostic names unknown file: {d}"
            );
            assert!(!d.message.is_empty(), "seed {seed}: empty message");
            if d.line.is_none() {
                assert!(
                    d.message.starts_with("file is missing"),
                    "seed {seed}: unlocated: {d}"
                );
            } else {
                located += 1;
            }
            assert!(d.line != Some(0), "seed {seed}: line 0: {d}");
        }
    }
    assert!(
        located > 0,
        "the mutations should produce located diagnostics"
    );
}

/// A hostile value of any TOML type: extremes, non-finite floats, empty and long strings, wrong
/// types, nested structures.
fn hostile_value(rng: &mut Rng) -> toml::Value {
    match rng.below(16) {
        0 => toml::Value::Float(f64::NAN),
        1 => toml::Value::Float(f64::INFINITY),
        2 => toml::Value::Float(-f64::INFINITY),
        3 => toml::Value::Float(1e308),
        4 => toml::Value::Float(-1e-308),
        5 => toml::Value::Integer(i64::MAX),
        6 => toml::Value::Integer(i64::MIN),
        7 => toml::Value::Integer(-1),
        8 => toml::Value::Integer(0),
        9 => toml::Value::String(String::new()),
        10 => toml::Value::String("x".repeat(10_000)),
        11 => toml::Value::String("<script>\u{0}\u{202e}ﷺ".into()),
        12 => toml::Value::Boolean(true),
        13 => toml::Value::Array(vec![
            toml::Value::Integer(1),
            toml::Value::String("a".into()),
        ]),
        14 => {
            let mut t = toml::Table::new();
            t.insert("nested".into(), toml::Value::Float(f64::NAN));
            toml::Value::Table(t)
        }
        _ => toml::Value::Array(Vec::new()),
    }
}

/// Replaces one value anywhere in a TOML table (keys, array items, nested tables) by a hostile
/// one, or adds an unknown key.
fn poison(t: &mut toml::Table, rng: &mut Rng) {
    if t.is_empty() || rng.below(10) == 0 {
        t.insert(format!("unknown_{}", rng.below(100)), hostile_value(rng));
        return;
    }
    let keys: Vec<String> = t.keys().cloned().collect();
    let key = &keys[rng.below(keys.len())];
    let v = t.get_mut(key).unwrap();
    match v {
        toml::Value::Table(inner) if rng.below(2) == 0 => poison(inner, rng),
        toml::Value::Array(items) if !items.is_empty() && rng.below(2) == 0 => {
            let i = rng.below(items.len());
            match &mut items[i] {
                toml::Value::Table(inner) => poison(inner, rng),
                item => *item = hostile_value(rng),
            }
        }
        _ => *v = hostile_value(rng),
    }
}

#[test]
fn rule_and_scenario_files_with_hostile_values_never_panic_and_are_located() {
    let schema = Schema::embedded().unwrap();
    let world_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
    let base = read_dir(&world_dir, &schema);
    let records: Vec<String> = base
        .files
        .keys()
        .filter(|k| k.starts_with("policies/") || k.starts_with("scenarios/"))
        .cloned()
        .collect();
    assert!(records.len() >= 10);
    let iterations: u64 = std::env::var("LODESTONE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(150, |n| n / 10 + 1);
    let mut errors = 0;
    for seed in 0..iterations {
        let mut rng = Rng(1_000_000 + seed);
        let name = &records[rng.below(records.len())];
        let text = String::from_utf8(base.files[name].clone()).unwrap();
        let mut doc: toml::Table = toml::from_str(&text).unwrap();
        for _ in 0..1 + rng.below(3) {
            poison(&mut doc, &mut rng);
        }
        // Non-finite floats are valid TOML (`nan`, `inf`); the serialiser writes them as such.
        let Ok(hostile) = toml::to_string(&doc) else {
            continue;
        };
        let mut input = InputFiles {
            files: base.files.clone(),
            unreadable: Vec::new(),
        };
        input
            .files
            .insert(name.clone(), hostile.clone().into_bytes());
        let (_, report) = load(schema.clone(), &input);
        for d in &report.diagnostics {
            assert!(
                input.files.contains_key(&d.file),
                "seed {seed}: diagnostic names unknown file: {d}"
            );
            assert!(d.line.is_some(), "seed {seed}: unlocated {d}\n{hostile}");
            assert!(d.line != Some(0), "seed {seed}: line 0: {d}");
        }
        errors += report.errors().count();
    }
    assert!(errors > 0, "hostile values must be reported");
}

/// A table saved with CRLF line ends (as spreadsheet programs write it), with a blank line and a
/// comment line after its header: a duplicated row is reported at the line an editor shows, and
/// so is the row it repeats.
#[test]
fn problems_in_crlf_files_are_located_at_the_editors_line() {
    let schema = Schema::embedded().unwrap();
    let base_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/base");
    let mut input = read_dir(&base_dir, &schema);
    let text = String::from_utf8(input.files["facilities.csv"].clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let first_row = lines[1];
    assert!(
        first_row.matches('"').count().is_multiple_of(2),
        "the first row fits on one line: {first_row}"
    );
    lines.insert(1, "");
    lines.insert(2, "# facilities, saved from a spreadsheet");
    lines.push(first_row);
    let crlf = lines.join("\r\n") + "\r\n";
    input
        .files
        .insert("facilities.csv".into(), crlf.into_bytes());
    let (_, report) = load(schema, &input);
    let duplicate = report
        .diagnostics
        .iter()
        .find(|d| d.file == "facilities.csv" && d.message.starts_with("duplicate"))
        .unwrap_or_else(|| panic!("a duplicate is reported: {:?}", report.diagnostics));
    assert_eq!(duplicate.line, Some(lines.len() as u64), "{duplicate}");
    assert!(
        duplicate.message.ends_with("(first at line 4)"),
        "{duplicate}"
    );
}
