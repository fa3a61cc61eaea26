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
