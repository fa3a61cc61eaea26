//! The reader has two ways through a CSV file: its own row splitter for files without quotes
//! (one `memchr2` pass, several threads) and the `csv` crate for files with quotes. On the same
//! rows they must read the same network, or report the same problems at the same lines; and no
//! mangled file makes either panic or report a problem without saying where.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use lodestone_format::Diagnostic;
use lodestone_network::read_network_dir;
use lodestone_trace::generate::Rng;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

/// Everything a read gives, in a form two reads can be compared by.
#[derive(Debug, PartialEq)]
enum Read {
    Network {
        ids: Vec<String>,
        output: Vec<u64>,
        flows: Vec<(u32, u32, u64)>,
        additions: Vec<(u32, u32, u64)>,
        tags: Vec<String>,
    },
    Problems(Vec<(String, Option<u64>, Option<String>, String)>),
}

fn read(dir: &Path) -> Read {
    match read_network_dir(dir) {
        Ok(net) => Read::Network {
            ids: net.node_ids.clone(),
            output: net.output.iter().map(|x| x.to_bits()).collect(),
            flows: net
                .flows
                .iter()
                .map(|f| (f.from, f.to, f.quantity.to_bits()))
                .collect(),
            additions: net
                .additions
                .iter()
                .map(|a| (a.node, a.tag, a.amount.to_bits()))
                .collect(),
            tags: net.tags.clone(),
        },
        Err(problems) => Read::Problems(
            problems
                .into_iter()
                .map(|d: Diagnostic| (d.file, d.line, d.column, d.message))
                .collect(),
        ),
    }
}

/// A field with the padding and number spellings users' files have.
fn spelled(rng: &mut Rng, text: &str) -> String {
    let pad = [" ", "\t", "  ", ""];
    let (l, r) = (below(rng, 8), below(rng, 8));
    let left = if l < 4 { pad[l as usize] } else { "" };
    let right = if r < 4 { pad[r as usize] } else { "" };
    format!("{left}{text}{right}")
}

fn number(rng: &mut Rng) -> String {
    let v = below(rng, 100_000) as f64 / 64.0;
    match below(rng, 6) {
        0 => format!("{v:e}"),
        1 => format!("{}.", v.trunc()),
        2 => format!("{v:.3}"),
        3 => format!("+{v}"),
        _ => format!("{v}"),
    }
}

/// A line end: LF, CRLF, and now and then a blank line (empty, spaces, or only commas) before it.
fn end(rng: &mut Rng, text: &mut String) {
    match below(rng, 40) {
        0 => text.push_str("\n\n"),
        1 => text.push_str("\n   \n"),
        2 => text.push_str("\n,,\n"),
        3..=12 => text.push_str("\r\n"),
        _ => text.push('\n'),
    }
}

/// The three files of a random network of `nodes` nodes and about `flows` flows, with `bad`
/// rows of the wrong width or with a bad number among them when `bad` is set; each file's last
/// line ends or not at random.
fn files(rng: &mut Rng, nodes: usize, flows: usize, bad: bool) -> [String; 3] {
    let mut n = String::from("id,output\n");
    for i in 0..nodes {
        let output = if below(rng, 10) == 0 {
            String::new()
        } else {
            number(rng)
        };
        write!(n, "{},{}", spelled(rng, &format!("node-{i}")), output).unwrap();
        end(rng, &mut n);
    }
    let mut f = String::from("from,to,quantity\n");
    for _ in 0..flows {
        let (a, b) = (below(rng, nodes as u64), below(rng, nodes as u64));
        if bad && below(rng, 500) == 0 {
            match below(rng, 3) {
                0 => write!(f, "node-{a},node-{b}").unwrap(),
                1 => write!(f, "node-{a},node-{b},1,2").unwrap(),
                _ => write!(f, "node-{a},node-{b},lots").unwrap(),
            }
        } else {
            let (from, to) = (format!("node-{a}"), format!("node-{b}"));
            let (from, to) = (spelled(rng, &from), spelled(rng, &to));
            write!(f, "{from},{to},{}", spelled(rng, "0.001")).unwrap();
        }
        end(rng, &mut f);
    }
    let mut c = String::from("node,tag,amount\n");
    for i in 0..nodes / 4 {
        write!(c, "node-{},t{},{}", i * 4, i % 3, number(rng)).unwrap();
        end(rng, &mut c);
    }
    for text in [&mut n, &mut f, &mut c] {
        if below(rng, 2) == 0 {
            while text.ends_with(['\n', '\r']) {
                text.pop();
            }
        }
    }
    [n, f, c]
}

const NAMES: [&str; 3] = ["nodes.csv", "flows.csv", "content.csv"];

fn write_all(dir: &Path, texts: &[String; 3]) {
    for (name, text) in NAMES.iter().zip(texts) {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// The same rows with one unpadded id of a data row in quotes, which sends the whole file
/// through the `csv` crate (the quotes are not part of the value).
fn with_a_quoted_id(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    let mut quoted = false;
    for (k, line) in text.split_inclusive('\n').enumerate() {
        if !quoted && k > 0 && line.starts_with("node-") {
            let comma = line.find(',').unwrap_or(line.len());
            out.push('"');
            out.push_str(&line[..comma]);
            out.push('"');
            out.push_str(&line[comma..]);
            quoted = true;
        } else {
            out.push_str(line);
        }
    }
    assert!(quoted, "a data row starts with an unpadded id");
    out
}

/// Random networks, small (one piece) and over 1 MiB (split between threads), with and without
/// bad rows: each file read by the row splitter and by the `csv` crate gives the same network or
/// the same problems at the same lines.
#[test]
fn the_row_splitter_reads_what_the_csv_crate_reads() {
    let dir = fresh_dir("rows_agree");
    for seed in 0..12u64 {
        let mut rng = Rng::new(seed);
        let (nodes, flows) = if seed % 4 == 3 {
            (3_000, 60_000)
        } else {
            (40, 300)
        };
        let texts = files(&mut rng, nodes, flows, seed % 2 == 1);
        if seed % 4 == 3 {
            assert!(
                texts[1].len() > 1 << 20,
                "flows.csv is split between threads"
            );
        }
        write_all(&dir, &texts);
        let fast = read(&dir);
        if let Read::Network { flows, .. } = &fast {
            assert!(!flows.is_empty(), "seed {seed}: the flows are read");
        }
        for (k, name) in NAMES.iter().enumerate() {
            write_all(&dir, &texts);
            std::fs::write(dir.join(name), with_a_quoted_id(&texts[k])).unwrap();
            assert_eq!(
                read(&dir),
                fast,
                "seed {seed}: {name} through the csv crate"
            );
        }
    }
}

/// Bytes changed, inserted and deleted at random in one of a small network's files: the reader
/// returns a network or problems, never panics, and every problem names its file and line (or,
/// for the count of problems left out, says so).
#[test]
fn mangled_files_give_located_problems() {
    let dir = fresh_dir("mangled");
    let mut rng = Rng::new(7);
    let clean = files(&mut rng, 30, 200, false);
    let alphabet = b",\n\r\" .e-+0123456789\xff\xfe\t;node";
    for round in 0..400 {
        let mut texts: [Vec<u8>; 3] = clean.clone().map(String::into_bytes);
        let target = &mut texts[below(&mut rng, 3) as usize];
        for _ in 0..1 + below(&mut rng, 4) {
            let at = below(&mut rng, target.len() as u64 + 1) as usize;
            let byte = alphabet[below(&mut rng, alphabet.len() as u64) as usize];
            match below(&mut rng, 4) {
                0 if at < target.len() => target[at] = byte,
                1 if at < target.len() => {
                    target.remove(at);
                }
                2 => target.truncate(at),
                _ => target.insert(at, byte),
            }
        }
        for (name, bytes) in NAMES.iter().zip(&texts) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        if let Err(problems) = read_network_dir(&dir) {
            assert!(!problems.is_empty(), "round {round}");
            for p in &problems {
                let located = NAMES.contains(&p.file.as_str()) && p.line.is_some_and(|l| l >= 1);
                let summary = p.file == "(network)" && p.message.starts_with("… and ");
                assert!(located || summary, "round {round}: unlocated problem: {p}");
            }
        }
    }
}

/// Every missing file is named at once, and problems in the nodes are reported with those in
/// the flows (the nodes are read while another thread reads the other files).
#[test]
fn missing_files_and_problems_in_several_files_are_all_reported() {
    let dir = fresh_dir("missing_files");
    std::fs::write(dir.join("nodes.csv"), "id,output\na,1\n").unwrap();
    let problems = read_network_dir(&dir).unwrap_err();
    let missing: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.file.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        missing,
        [
            ("flows.csv", "file is missing"),
            ("content.csv", "file is missing")
        ]
    );

    std::fs::write(dir.join("nodes.csv"), "id,output\na,1\na,2\nb,-3\n").unwrap();
    std::fs::write(dir.join("flows.csv"), "from,to,quantity\na,c,1\n").unwrap();
    std::fs::write(dir.join("content.csv"), "node,tag,amount\na,x,1\n").unwrap();
    let problems = read_network_dir(&dir).unwrap_err();
    let located: Vec<(&str, Option<u64>, Option<&str>)> = problems
        .iter()
        .map(|p| (p.file.as_str(), p.line, p.column.as_deref()))
        .collect();
    assert_eq!(
        located,
        [
            ("nodes.csv", Some(3), Some("id")),
            ("nodes.csv", Some(4), Some("output")),
            ("flows.csv", Some(2), Some("to")),
        ],
        "{problems:?}"
    );
}
