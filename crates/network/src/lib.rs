//! The network interchange format: any flow network, traced with `lodestone trace --network DIR`.
//!
//! * `nodes.csv` — `id,output[,unit_value]`; an empty or absent output means the sum of the node's
//!   outgoing flows, or for a node with none, of its incoming flows;
//! * `flows.csv` — `from,to,quantity`;
//! * `content.csv` — `node,tag,amount` (total amount of the tag added at the node);
//! * `segregation.csv` (optional) — `node,line,direction,peer`: the flow between `node` and `peer`
//!   (`direction` `in` or `out`) belongs to the segregated line `line` of `node`;
//! * `elements.csv` (optional) — `node,element,share`: the fraction of the node's output that is
//!   the element, for element-resolved tracing (`lodestone trace --element`). A network without
//!   it traces as before; an element not listed for a node is absent from its output.
//!
//! Reading is built for networks of millions of nodes: large files are parsed on several threads,
//! and errors are located by file and line like every other input of Lodestone.
//!
//! The same tables may be Apache Parquet files (`nodes.parquet`, … with the same columns; see
//! [`Encoding`] and `parquet.rs`), read through the same row functions.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

mod mem;
mod parquet;

use lodestone_trace::{Addition, Flow, Line, Network};

use lodestone_format::Diagnostic;

/// At most this many diagnostics are kept per file; the rest are counted.
const MAX_DIAGNOSTICS: usize = 200;

/// FxHash-style (as in rustc) with a final avalanche: a fast, non-cryptographic hash for the node-id map, which sees
/// tens of millions of lookups when loading a large network. Inputs are the user's own files.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        // Final avalanche (MurmurHash3's fmix64): the multiply above leaves the low bits depending
        // only on the first bytes, and the map indexes buckets by the low bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

fn fx_hash(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.finish()
}

/// Node ids to indices, for the tens of millions of look-ups a large network's flows make:
/// open addressing over 24-byte slots holding an id's first 16 bytes, its length and its index
/// plus one, at a load factor of at most one half. Most ids are short, so a look-up usually
/// reads one slot and nothing else (a map of `String`s reads a bucket and then the string's
/// heap allocation: two cache misses on a large table); longer ids are checked against their
/// full bytes, kept end to end in one buffer.
struct IdIndex {
    slots: Vec<Slot>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    prefix: [u8; 16],
    len: u32,
    /// Index plus one; 0 marks an empty slot.
    value: u32,
}

fn prefix_of(id: &[u8]) -> [u8; 16] {
    let mut p = [0u8; 16];
    let n = id.len().min(16);
    p[..n].copy_from_slice(&id[..n]);
    p
}

impl IdIndex {
    fn with_capacity(n: usize) -> IdIndex {
        let len = (2 * n.max(4)).next_power_of_two();
        let mut slots: Vec<Slot> = Vec::with_capacity(len);
        // Look-ups land on random slots of a table of tens of MB: with 4 KB pages nearly each
        // one also misses the TLB. Asked before the pages are touched.
        mem::advise_huge_pages(&slots);
        slots.resize(len, Slot::default());
        IdIndex {
            slots,
            bytes: Vec::new(),
            ends: Vec::with_capacity(n),
        }
    }

    fn id(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// The slot holding `id`, or the empty slot where it would go.
    fn probe(&self, id: &[u8], hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let prefix = prefix_of(id);
        let mut s = hash as usize & mask;
        loop {
            let slot = &self.slots[s];
            if slot.value == 0
                || (slot.len as usize == id.len()
                    && slot.prefix == prefix
                    && (id.len() <= 16 || self.id(slot.value as usize - 1) == id))
            {
                return s;
            }
            s = (s + 1) & mask;
        }
    }

    /// Starts loading the slot where a look-up of `id` begins, so that its cache miss is under
    /// way before the look-up needs it (`parse_rows_ahead`).
    fn touch(&self, id: &[u8]) {
        let s = fx_hash(id) as usize & (self.slots.len() - 1);
        mem::prefetch(&self.slots, s);
    }

    fn get(&self, id: &[u8]) -> Option<u32> {
        self.slots[self.probe(id, fx_hash(id))].value.checked_sub(1)
    }

    /// Adds `id` as the next index, or returns the index it already has.
    fn insert(&mut self, id: &[u8]) -> Result<u32, u32> {
        if 2 * (self.ends.len() + 1) > self.slots.len() {
            let mut bigger = vec![Slot::default(); self.slots.len() * 2];
            let mask = bigger.len() - 1;
            for old in self.slots.iter().filter(|x| x.value != 0) {
                let mut s = fx_hash(self.id(old.value as usize - 1)) as usize & mask;
                while bigger[s].value != 0 {
                    s = (s + 1) & mask;
                }
                bigger[s] = *old;
            }
            self.slots = bigger;
        }
        let s = self.probe(id, fx_hash(id));
        if let Some(existing) = self.slots[s].value.checked_sub(1) {
            return Err(existing);
        }
        let next = self.ends.len() as u32;
        self.bytes.extend_from_slice(id);
        self.ends.push(self.bytes.len());
        self.slots[s] = Slot {
            prefix: prefix_of(id),
            len: id.len() as u32,
            value: next + 1,
        };
        Ok(next)
    }
}

struct Diags {
    list: Vec<Diagnostic>,
    dropped: usize,
}

impl Diags {
    fn push(&mut self, d: Diagnostic) {
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push(d);
        } else {
            self.dropped += 1;
        }
    }
}

/// The largest network file read: networks are far larger than datasets (a 10⁹-flow network is
/// tens of GB), so `LODESTONE_MAX_FILE_BYTES` if set, else 64 GiB.
fn network_max_bytes() -> u64 {
    std::env::var("LODESTONE_MAX_FILE_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(64 << 30)
}

fn read(dir: &Path, file: &str, required: bool, diags: &mut Diags) -> Option<Vec<u8>> {
    let path = dir.join(file);
    if !path.exists() {
        if required {
            diags.push(Diagnostic::error(file, None, None, "file is missing"));
        }
        return None;
    }
    match lodestone_format::read_bounded(&path, network_max_bytes()) {
        Ok(mut bytes) => {
            if file.ends_with(".csv") && bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes.drain(..3);
            }
            Some(bytes)
        }
        Err(why) => {
            diags.push(Diagnostic::error(file, None, None, why));
            None
        }
    }
}

/// Positions of the wanted columns in the header; reports unknown and missing ones.
fn header(
    file: &str,
    head: &csv::ByteRecord,
    wanted: &[(&str, bool)],
    diags: &mut Diags,
) -> Option<Vec<Option<usize>>> {
    let mut pos = vec![None; wanted.len()];
    let mut ok = true;
    for (i, name) in head.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_string();
        match wanted.iter().position(|(w, _)| *w == name) {
            Some(c) if pos[c].is_none() => pos[c] = Some(i),
            _ => {
                let names: Vec<&str> = wanted.iter().map(|(w, _)| *w).collect();
                diags.push(Diagnostic::error(
                    file,
                    Some(1),
                    Some(&name),
                    format!(
                        "unexpected column '{name}'; the columns are: {}",
                        names.join(", ")
                    ),
                ));
                ok = false;
            }
        }
    }
    for (c, (w, required)) in wanted.iter().enumerate() {
        if *required && pos[c].is_none() {
            diags.push(Diagnostic::error(
                file,
                Some(1),
                Some(w),
                format!("required column '{w}' is missing from the header"),
            ));
            ok = false;
        }
    }
    ok.then_some(pos)
}

/// Splits a file's body into up to `parts` slices at line starts, with the line number each
/// starts at. Files with quotes are not split (a quoted field may hold a newline).
fn split_body(body: &[u8], first_line: u64, parts: usize) -> Vec<(&[u8], u64)> {
    if parts <= 1 || body.len() < 1 << 20 || memchr::memchr(b'"', body).is_some() {
        return vec![(body, first_line)];
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut line = first_line;
    for p in 1..parts {
        let mut cut = body.len() * p / parts;
        while cut < body.len() && body[cut - 1] != b'\n' {
            cut += 1;
        }
        if cut <= start {
            continue;
        }
        out.push((&body[start..cut], line));
        line += memchr::memchr_iter(b'\n', &body[start..cut]).count() as u64;
        start = cut;
    }
    out.push((&body[start..], line));
    out
}

/// How many rows `parse_rows_ahead` reads before it turns them into values: enough for the
/// memory reads of its look-ahead to overlap (a core keeps ten or more misses in flight).
const LOOK_AHEAD: usize = 32;

/// Parses CSV rows of `bytes` (header first) on several threads; `row` turns one record (its
/// line and fields) into a value or an error message with its column. Pieces without quotes are
/// split by hand, which is several times faster than a general CSV reader on large files. Rows
/// are read `LOOK_AHEAD` at a time: `ahead` is called on each row's wanted fields in one tight
/// loop, then `row` on each. The id look-ups of a large network's flows miss
/// the cache; touching all their slots first lets the misses of many rows overlap instead of
/// each row waiting for its own.
fn parse_rows_ahead<T: Send>(
    file: &str,
    bytes: &[u8],
    wanted: &[(&str, bool)],
    diags: &mut Diags,
    ahead: impl Fn(&[&[u8]]) + Sync,
    row: impl Fn(u64, &[&[u8]]) -> Result<T, (Option<String>, String)> + Sync,
) -> Option<Vec<T>> {
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| p + 1);
    let mut hreader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[..header_end]);
    let mut head = csv::ByteRecord::new();
    match hreader.read_byte_record(&mut head) {
        Ok(true) => {}
        _ => {
            diags.push(Diagnostic::error(
                file,
                Some(1),
                None,
                "file is empty: it needs a header line",
            ));
            return None;
        }
    }
    let pos = header(file, &head, wanted, diags)?;
    let width = head.len();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let pieces = split_body(&bytes[header_end..], 2, threads);
    let results: Vec<(Vec<T>, Vec<Diagnostic>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .map(|&(piece, first_line)| {
                let (pos, row, ahead) = (&pos, &row, &ahead);
                scope.spawn(move || parse_piece(file, piece, first_line, width, pos, ahead, row))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| (Vec::new(), Vec::new())))
            .collect()
    });
    // The first piece's rows are extended in place: growing a large allocation remaps its
    // pages instead of copying them, so only the later pieces' rows are copied.
    let total = results.iter().map(|r| r.0.len()).sum::<usize>();
    let mut all = Vec::new();
    for (rows, errs) in results {
        if all.is_empty() {
            all = rows;
            all.reserve_exact(total - all.len());
        } else {
            all.extend(rows);
        }
        for e in errs {
            diags.push(e);
        }
    }
    Some(all)
}

/// Parses one piece of a file's body into rows, picking the wanted columns by position.
fn parse_piece<'p, T>(
    file: &str,
    piece: &'p [u8],
    first_line: u64,
    width: usize,
    pos: &[Option<usize>],
    ahead: &(impl Fn(&[&[u8]]) + Sync),
    row: &(impl Fn(u64, &[&[u8]]) -> Result<T, (Option<String>, String)> + Sync),
) -> (Vec<T>, Vec<Diagnostic>) {
    // Sized by a count of the lines (memchr, a few ms per 100 MB): growing by doubling copies
    // and faults in every row again, which cost a tenth of the load of a large network.
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', piece).count() + 1);
    let mut errs = Vec::new();
    // Rows read but not yet turned into values: (line, wanted fields).
    let mut pending: Vec<(u64, [&'p [u8]; 4])> = Vec::with_capacity(LOOK_AHEAD);
    let error = |errs: &mut Vec<Diagnostic>, line: u64, col: Option<&str>, msg: String| {
        if errs.len() < MAX_DIAGNOSTICS {
            errs.push(Diagnostic::error(file, Some(line), col, msg));
        }
    };
    // At most four wanted columns in any interchange file. `None`: a blank row, or a row of the
    // wrong width (reported).
    // `row` is the row's shape: whether every field is blank, and how many fields it has
    // (`fields` may hold only the first few of a row that is too wide).
    fn pick<'f>(
        errs: &mut Vec<Diagnostic>,
        error: &impl Fn(&mut Vec<Diagnostic>, u64, Option<&str>, String),
        (width, pos): (usize, &[Option<usize>]),
        line: u64,
        (blank, count): (bool, usize),
        fields: &[&'f [u8]],
    ) -> Option<[&'f [u8]; 4]> {
        if blank {
            return None;
        }
        if count != width {
            let msg = format!("row has {count} fields but the header has {width}");
            error(errs, line, None, msg);
            return None;
        }
        let mut picked: [&[u8]; 4] = [b""; 4];
        for (c, p) in pos.iter().enumerate().take(4) {
            picked[c] = p.map_or(b"".as_slice(), |p| fields[p]);
        }
        Some(picked)
    }
    let mut finish = |errs: &mut Vec<Diagnostic>, line: u64, picked: &[&[u8]; 4]| match row(
        line,
        &picked[..pos.len()],
    ) {
        Ok(v) => out.push(v),
        Err((col, msg)) => error(errs, line, col.as_deref(), msg),
    };
    if memchr::memchr(b'"', piece).is_none() {
        // Lines found with memchr (SIMD), fields split into a fixed array: no allocation per
        // row. A header has at most four columns (any other is an error), so a row with more
        // fields is of the wrong width whatever they hold.
        let mut line_start = 0;
        let mut k = 0u64;
        while line_start < piece.len() {
            let line_end =
                memchr::memchr(b'\n', &piece[line_start..]).map_or(piece.len(), |e| line_start + e);
            let mut text = &piece[line_start..line_end];
            line_start = line_end + 1;
            k += 1;
            if let Some(l) = text.strip_suffix(b"\r") {
                text = l;
            }
            if text.is_empty() {
                continue;
            }
            let mut fields: [&[u8]; 5] = [b""; 5];
            let mut count = 0;
            for field in text.splitn(5, |&b| b == b',') {
                fields[count] = field;
                count += 1;
            }
            let line = first_line + k - 1;
            let blank = fields[0].iter().all(u8::is_ascii_whitespace)
                && text.iter().all(|&b| b == b',' || b.is_ascii_whitespace());
            // A row of the wrong width is reported after the rows before it.
            if count != width && !blank {
                count = memchr::memchr_iter(b',', text).count() + 1;
                for (l, p) in pending.drain(..) {
                    finish(&mut errs, l, &p);
                }
            }
            let shape = (blank, count);
            let Some(picked) = pick(&mut errs, &error, (width, pos), line, shape, &fields) else {
                continue;
            };
            pending.push((line, picked));
            if pending.len() == LOOK_AHEAD {
                for (_, p) in &pending {
                    ahead(&p[..pos.len()]);
                }
                for (l, p) in pending.drain(..) {
                    finish(&mut errs, l, &p);
                }
            }
        }
        for (l, p) in pending.drain(..) {
            finish(&mut errs, l, &p);
        }
    } else {
        // Quoted files are small (the generator writes none): no look-ahead.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(piece);
        let mut rec = csv::ByteRecord::new();
        loop {
            let line = first_line + reader.position().line() - 1;
            match reader.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    error(&mut errs, line, None, format!("malformed CSV: {e}"));
                    continue;
                }
            }
            let line = first_line + rec.position().map_or(1, |p| p.line()) - 1;
            let fields: Vec<&[u8]> = rec.iter().collect();
            let blank = fields.iter().all(|f| f.iter().all(u8::is_ascii_whitespace));
            let shape = (blank, fields.len());
            if let Some(picked) = pick(&mut errs, &error, (width, pos), line, shape, &fields) {
                finish(&mut errs, line, &picked);
            }
        }
    }
    (out, errs)
}

fn field<'a>(
    fields: &[&'a [u8]],
    c: usize,
    name: &str,
) -> Result<&'a str, (Option<String>, String)> {
    std::str::from_utf8(fields[c])
        .map(str::trim)
        .map_err(|_| (Some(name.to_string()), format!("{name} is not valid UTF-8")))
}

fn number(text: &str, name: &str) -> Result<f64, (Option<String>, String)> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err((
            Some(name.into()),
            format!("{name} '{text}' must be a finite number ≥ 0"),
        )),
        Err(_) => Err((
            Some(name.into()),
            format!("{name} '{text}' is not a number"),
        )),
    }
}

/// How a network directory's tables are stored: CSV (`nodes.csv`, …) or Apache Parquet
/// (`nodes.parquet`, …), with the same tables and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Comma-separated text, a header line first.
    Csv,
    /// Apache Parquet: ids and tags as UTF-8, quantities as 64-bit floats (see `parquet.rs`).
    Parquet,
}

impl Encoding {
    /// The node, flow, content and segregation files, in that order.
    pub fn files(self) -> [&'static str; 4] {
        match self {
            Encoding::Csv => NETWORK_FILES,
            Encoding::Parquet => PARQUET_FILES,
        }
    }
}

/// The encoding of table `table` in `dir`: Parquet when only `TABLE.parquet` is there, CSV
/// otherwise (present or not); both at once is an error naming `what` they hold.
fn encoding_of(dir: &Path, table: &str, what: &str) -> Result<Encoding, Vec<Diagnostic>> {
    match (
        dir.join(format!("{table}.csv")).exists(),
        dir.join(format!("{table}.parquet")).exists(),
    ) {
        (true, true) => Err(vec![Diagnostic::error(
            &dir.display().to_string(),
            None,
            None,
            format!("holds both {table}.csv and {table}.parquet: keep {what} in one encoding"),
        )]),
        (false, true) => Ok(Encoding::Parquet),
        _ => Ok(Encoding::Csv),
    }
}

/// A table's rows in either encoding, through the same row function (so both are validated by
/// one piece of code). `ahead` is the CSV reader's look-ahead (`parse_rows_ahead`).
fn table_rows<T: Send>(
    enc: Encoding,
    file: &str,
    bytes: Vec<u8>,
    wanted: &[(&str, bool)],
    diags: &mut Diags,
    ahead: impl Fn(&[&[u8]]) + Sync,
    row: impl Fn(u64, &[&[u8]]) -> Result<T, (Option<String>, String)> + Sync,
) -> Option<Vec<T>> {
    match enc {
        Encoding::Csv => parse_rows_ahead(file, &bytes, wanted, diags, ahead, row),
        Encoding::Parquet => parquet::parse_rows(file, bytes, wanted, diags, ahead, row),
    }
}

/// Reads a network directory: CSV files, or Parquet files when the directory has a
/// `nodes.parquet` (a directory with both `nodes.csv` and `nodes.parquet` is refused). Problems
/// in a Parquet file are located by its row number (1-based). On failure, returns every located problem (at most 200 per file,
/// the rest counted in a final message).
pub fn read_network_dir(dir: &Path) -> Result<Network, Vec<Diagnostic>> {
    let mut d = Diags {
        list: Vec::new(),
        dropped: 0,
    };
    if !dir.is_dir() {
        return Err(vec![Diagnostic::error(
            &dir.display().to_string(),
            None,
            None,
            "is not a directory: pass a network directory with --network",
        )]);
    }
    let enc = encoding_of(dir, "nodes", "the network")?;
    let [nodes_file, flows_file, content_file, seg_file] = enc.files();
    let nodes_bytes = read(dir, nodes_file, true, &mut d);
    let flows_bytes = read(dir, flows_file, true, &mut d);
    let content_bytes = read(dir, content_file, true, &mut d);
    let seg_bytes = read(dir, seg_file, false, &mut d);
    let (Some(nb), Some(fb), Some(cb)) = (nodes_bytes, flows_bytes, content_bytes) else {
        return Err(d.list);
    };

    // Bad numbers are kept beside the id, so a node with a bad output is still a node (no
    // cascade of "unknown node" errors from the flows that name it).
    type Cell = Result<Option<f64>, (Option<String>, String)>;
    type NodeRow = (u64, String, Cell, Cell);
    let opt_number = |t: &str, name: &str| {
        if t.is_empty() {
            Ok(None)
        } else {
            number(t, name).map(Some)
        }
    };
    let mut nodes: Vec<NodeRow> = table_rows(
        enc,
        nodes_file,
        nb,
        &[("id", true), ("output", false), ("unit_value", false)],
        &mut d,
        |_| {},
        |line, f| {
            let id = field(f, 0, "id")?;
            if id.is_empty() {
                return Err((Some("id".into()), "id is required but empty".into()));
            }
            Ok((
                line,
                id.to_string(),
                field(f, 1, "output").and_then(|t| opt_number(t, "output")),
                field(f, 2, "unit_value").and_then(|t| opt_number(t, "unit_value")),
            ))
        },
    )
    .unwrap_or_default();
    // Nodes are numbered with 32-bit indices (flows, the structure), two values kept as marks.
    if nodes.len() >= (u32::MAX - 1) as usize {
        d.push(Diagnostic::error(
            nodes_file,
            None,
            None,
            format!(
                "{} nodes: at most {} are supported (32-bit node indices); split the network",
                nodes.len(),
                u32::MAX - 2
            ),
        ));
        return Err(d.list);
    }
    let mut index = IdIndex::with_capacity(nodes.len());
    let mut node_line = Vec::with_capacity(nodes.len());
    let mut net = Network::default();
    for k in 0..nodes.len() {
        // As for the flows: the slot of a node LOOK_AHEAD rows on is loaded while this one is
        // inserted, so the table's cache misses overlap.
        if let Some(next) = nodes.get(k + LOOK_AHEAD) {
            index.touch(next.1.as_bytes());
        }
        let (line, id, output, value) =
            std::mem::replace(&mut nodes[k], (0, String::new(), Ok(None), Ok(None)));
        if let Err(first) = index.insert(id.as_bytes()) {
            d.push(Diagnostic::error(
                nodes_file,
                Some(line),
                Some("id"),
                format!(
                    "duplicate id '{id}' (first at line {})",
                    node_line[first as usize]
                ),
            ));
            continue;
        }
        let mut cell = |c: Cell| -> Option<f64> {
            c.unwrap_or_else(|(col, msg)| {
                d.push(Diagnostic::error(
                    nodes_file,
                    Some(line),
                    col.as_deref(),
                    msg,
                ));
                None
            })
        };
        let (output, value) = (cell(output), cell(value));
        net.node_ids.push(id);
        net.output.push(output.unwrap_or(f64::NAN));
        net.unit_value.push(value);
        node_line.push(line);
    }
    // The parsed rows (over 100 bytes each) are done with: freed before the flows are read.
    drop(nodes);
    let lookup = |id: &str, name: &str| -> Result<u32, (Option<String>, String)> {
        index.get(id.as_bytes()).ok_or_else(|| {
            (
                Some(name.into()),
                format!("{name} '{id}' is not a node in {nodes_file}"),
            )
        })
    };
    // An id field is matched on its bytes first; only when that fails is it checked as UTF-8
    // and trimmed of Unicode spaces, which then finds the same node or makes the error. (Node
    // ids are trimmed text, so a match on the ASCII-trimmed bytes is the match `str::trim`
    // would give.)
    let resolve = |f: &[&[u8]], c: usize, name: &str| -> Result<u32, (Option<String>, String)> {
        match index.get(f[c].trim_ascii()) {
            Some(i) => Ok(i),
            None => lookup(field(f, c, name)?, name),
        }
    };
    let flows = table_rows(
        enc,
        flows_file,
        fb,
        &[("from", true), ("to", true), ("quantity", true)],
        &mut d,
        |f| {
            index.touch(f[0]);
            index.touch(f[1]);
        },
        |_line, f| {
            Ok(Flow {
                from: resolve(f, 0, "from")?,
                to: resolve(f, 1, "to")?,
                quantity: number(field(f, 2, "quantity")?, "quantity")?,
            })
        },
    )
    .unwrap_or_default();
    net.flows = flows;
    let mut tag_index: FxMap<String, u32> = FxMap::default();
    let content = table_rows(
        enc,
        content_file,
        cb,
        &[("node", true), ("tag", true), ("amount", true)],
        &mut d,
        |_| {},
        |_line, f| {
            let node = resolve(f, 0, "node")?;
            let tag = field(f, 1, "tag")?;
            if tag.is_empty() {
                return Err((Some("tag".into()), "tag is required but empty".into()));
            }
            Ok((
                node,
                tag.to_string(),
                number(field(f, 2, "amount")?, "amount")?,
            ))
        },
    )
    .unwrap_or_default();
    for (node, tag, amount) in content {
        let next = tag_index.len() as u32;
        let t = *tag_index.entry(tag.clone()).or_insert_with(|| {
            net.tags.push(tag);
            next
        });
        net.additions.push(Addition {
            node,
            tag: t,
            amount,
        });
    }
    if let Some(sb) = seg_bytes {
        let rows = table_rows(
            enc,
            seg_file,
            sb,
            &[
                ("node", true),
                ("line", true),
                ("direction", true),
                ("peer", true),
            ],
            &mut d,
            |_| {},
            |_line, f| {
                let node = resolve(f, 0, "node")?;
                let line = field(f, 1, "line")?.to_string();
                let dir = field(f, 2, "direction")?;
                let out = match dir {
                    "in" => false,
                    "out" => true,
                    other => {
                        return Err((
                            Some("direction".into()),
                            format!("direction '{other}' is not 'in' or 'out'"),
                        ));
                    }
                };
                Ok((node, line, out, resolve(f, 3, "peer")?))
            },
        )
        .unwrap_or_default();
        for (node, name, out, peer) in rows {
            let i = match net
                .lines
                .iter()
                .position(|l| l.node == node && l.name == name)
            {
                Some(i) => i,
                None => {
                    net.lines.push(Line {
                        node,
                        name,
                        inputs: Vec::new(),
                        outputs: Vec::new(),
                    });
                    net.lines.len() - 1
                }
            };
            if out {
                net.lines[i].outputs.push(peer);
            } else {
                net.lines[i].inputs.push(peer);
            }
        }
    }
    // Missing outputs, then flows against outputs.
    let n = net.len();
    let mut outflow = vec![0.0; n];
    let mut inflow = vec![0.0; n];
    for f in &net.flows {
        outflow[f.from as usize] += f.quantity;
        inflow[f.to as usize] += f.quantity;
    }
    for j in 0..n {
        if net.output[j].is_nan() {
            net.output[j] = if outflow[j] > 0.0 {
                outflow[j]
            } else {
                inflow[j]
            };
        }
        let x = net.output[j];
        if outflow[j] > x * (1.0 + 1e-9) + 1e-12 {
            d.push(Diagnostic::error(
                nodes_file,
                Some(node_line[j]),
                Some("output"),
                format!(
                    "node '{}' ships {} in {flows_file} but its output is only {x}",
                    net.node_ids[j], outflow[j]
                ),
            ));
        }
    }
    if d.dropped > 0 {
        d.list.push(Diagnostic::error(
            "(network)",
            None,
            None,
            format!("… and {} more problems", d.dropped),
        ));
    }
    if d.list.is_empty() {
        Ok(net)
    } else {
        Err(d.list)
    }
}

/// The files of the interchange format, in the order they are written.
pub const NETWORK_FILES: [&str; 4] = ["nodes.csv", "flows.csv", "content.csv", "segregation.csv"];

/// The files of the interchange format in Parquet, in the order they are written.
pub const PARQUET_FILES: [&str; 4] = [
    "nodes.parquet",
    "flows.parquet",
    "content.parquet",
    "segregation.parquet",
];

/// Writes `net` into `dir` in the interchange format and returns the names of the files written
/// (`segregation.csv` only when the network has segregated lines). Each file is written to a
/// temporary name first and all are renamed into place only once every one is complete, so a
/// failed run leaves the previous files intact. Never deletes a file: a `segregation.csv` of an
/// earlier network is the caller's to remove (see `lodestone export network`).
pub fn write_network_dir(net: &Network, dir: &Path) -> std::io::Result<Vec<&'static str>> {
    write_network_dir_as(net, dir, Encoding::Csv)
}

/// `write_network_dir` in either encoding.
pub fn write_network_dir_as(
    net: &Network,
    dir: &Path,
    enc: Encoding,
) -> std::io::Result<Vec<&'static str>> {
    std::fs::create_dir_all(dir)?;
    let tmp = |name: &str| dir.join(format!("{name}.lodestone-tmp"));
    let mut written: Vec<&'static str> = Vec::new();
    let result = match enc {
        Encoding::Csv => write_temporaries(net, &tmp, &mut written),
        Encoding::Parquet => parquet::write_temporaries(net, &tmp, &mut written),
    };
    if let Err(e) = result {
        for name in &written {
            let _ = std::fs::remove_file(tmp(name));
        }
        return Err(e);
    }
    for name in &written {
        std::fs::rename(tmp(name), dir.join(name))?;
    }
    Ok(written)
}

fn write_temporaries(
    net: &Network,
    tmp: &dyn Fn(&str) -> std::path::PathBuf,
    written: &mut Vec<&'static str>,
) -> std::io::Result<()> {
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    let mut writer =
        |name: &'static str| -> std::io::Result<csv::Writer<std::io::BufWriter<std::fs::File>>> {
            written.push(name);
            let f = std::fs::File::create(tmp(name))?;
            Ok(csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(std::io::BufWriter::with_capacity(1 << 20, f)))
        };
    let priced = net.unit_value.iter().any(Option::is_some);
    let mut w = writer("nodes.csv")?;
    if priced {
        w.write_record(["id", "output", "unit_value"]).map_err(io)?;
    } else {
        w.write_record(["id", "output"]).map_err(io)?;
    }
    let mut buf = String::new();
    for j in 0..net.len() {
        let id = net.node_name(j);
        let x = format!("{}", net.output[j]);
        if priced {
            buf.clear();
            if let Some(Some(v)) = net.unit_value.get(j) {
                buf.push_str(&format!("{v}"));
            }
            w.write_record([id.as_str(), x.as_str(), buf.as_str()])
                .map_err(io)?;
        } else {
            w.write_record([id.as_str(), x.as_str()]).map_err(io)?;
        }
    }
    w.flush()?;
    let mut w = writer("flows.csv")?;
    w.write_record(["from", "to", "quantity"]).map_err(io)?;
    let mut q = String::new();
    for f in &net.flows {
        q.clear();
        q.push_str(&format!("{}", f.quantity));
        w.write_record([
            net.node_ids[f.from as usize].as_str(),
            net.node_ids[f.to as usize].as_str(),
            q.as_str(),
        ])
        .map_err(io)?;
    }
    w.flush()?;
    let mut w = writer("content.csv")?;
    w.write_record(["node", "tag", "amount"]).map_err(io)?;
    for a in &net.additions {
        w.write_record([
            net.node_ids[a.node as usize].as_str(),
            net.tags[a.tag as usize].as_str(),
            format!("{}", a.amount).as_str(),
        ])
        .map_err(io)?;
    }
    w.flush()?;
    if !net.lines.is_empty() {
        let mut w = writer("segregation.csv")?;
        w.write_record(["node", "line", "direction", "peer"])
            .map_err(io)?;
        for l in &net.lines {
            let node = net.node_ids[l.node as usize].as_str();
            for (dir, peers) in [("in", &l.inputs), ("out", &l.outputs)] {
                for &p in peers {
                    w.write_record([
                        node,
                        l.name.as_str(),
                        dir,
                        net.node_ids[p as usize].as_str(),
                    ])
                    .map_err(io)?;
                }
            }
        }
        w.flush()?;
    }
    Ok(())
}

/// The element compositions of a network's nodes (`elements.csv`): for each element, the
/// fraction of each node's output that is the element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ElementShares {
    /// Element names, in first-seen order.
    pub names: Vec<String>,
    /// `shares[e][j]`: fraction of node `j`'s output that is element `e` (0 where not listed).
    pub shares: Vec<Vec<f64>>,
}

/// The optional element file of the interchange format.
pub const ELEMENTS_FILE: &str = "elements.csv";

/// The element file in Parquet (`node`, `element` as UTF-8, `share` as a 64-bit float).
pub const ELEMENTS_PARQUET: &str = "elements.parquet";

impl Encoding {
    /// The element file's name in this encoding.
    pub fn elements_file(self) -> &'static str {
        match self {
            Encoding::Csv => ELEMENTS_FILE,
            Encoding::Parquet => ELEMENTS_PARQUET,
        }
    }
}

/// Reads `elements.csv` or `elements.parquet` (`node,element,share`, share a fraction 0..=1 of
/// the node's output) of a network directory: `None` when the network records no elements. Nodes
/// must be nodes of `net`; a node's shares may not add up to more than 1. A directory with both
/// files is refused.
pub fn read_element_shares(
    dir: &Path,
    net: &Network,
) -> Result<Option<ElementShares>, Vec<Diagnostic>> {
    let mut d = Diags {
        list: Vec::new(),
        dropped: 0,
    };
    let enc = encoding_of(dir, "elements", "the element shares")?;
    let file = enc.elements_file();
    let Some(bytes) = read(dir, file, false, &mut d) else {
        return if d.list.is_empty() {
            Ok(None)
        } else {
            Err(d.list)
        };
    };
    let index: FxMap<&str, u32> = net
        .node_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    let rows = table_rows(
        enc,
        file,
        bytes,
        &[("node", true), ("element", true), ("share", true)],
        &mut d,
        |_| {},
        |line, f| {
            let id = field(f, 0, "node")?;
            let node = index.get(id).copied().ok_or_else(|| {
                (
                    Some("node".to_string()),
                    format!("node '{id}' is not a node in nodes.csv"),
                )
            })?;
            let element = field(f, 1, "element")?;
            if element.is_empty() {
                return Err((
                    Some("element".into()),
                    "element is required but empty".into(),
                ));
            }
            let share = number(field(f, 2, "share")?, "share")?;
            if share > 1.0 {
                return Err((
                    Some("share".into()),
                    format!("share {share} is a fraction of the node's output: at most 1"),
                ));
            }
            Ok((line, node, element.to_string(), share))
        },
    )
    .unwrap_or_default();
    let mut out = ElementShares::default();
    let mut total = vec![0.0; net.len()];
    for (line, node, element, share) in rows {
        let e = match out.names.iter().position(|n| *n == element) {
            Some(e) => e,
            None => {
                out.names.push(element);
                out.shares.push(vec![0.0; net.len()]);
                out.names.len() - 1
            }
        };
        out.shares[e][node as usize] += share;
        total[node as usize] += share;
        if total[node as usize] > 1.0 + 1e-9 {
            d.push(Diagnostic::error(
                file,
                Some(line),
                Some("share"),
                format!(
                    "the shares of node '{}' add up to {} so far: more than its whole output",
                    net.node_ids[node as usize], total[node as usize]
                ),
            ));
        }
    }
    if d.list.is_empty() {
        Ok(Some(out))
    } else {
        Err(d.list)
    }
}

/// The rows of an element file: (node, element, share) for every non-zero share, by node.
fn element_rows<'a>(
    net: &'a Network,
    shares: &'a ElementShares,
) -> impl Iterator<Item = (usize, &'a str, f64)> + 'a {
    (0..net.len()).flat_map(move |j| {
        shares
            .names
            .iter()
            .enumerate()
            .map(move |(e, name)| (j, name.as_str(), shares.shares[e][j]))
            .filter(|&(_, _, s)| s > 0.0)
    })
}

/// Writes the element file of encoding `enc` into `dir` (atomically: a temporary file renamed
/// into place); rows only for non-zero shares. Returns the file's name.
pub fn write_element_shares(
    net: &Network,
    shares: &ElementShares,
    dir: &Path,
    enc: Encoding,
) -> std::io::Result<&'static str> {
    let file = enc.elements_file();
    let tmp = dir.join(format!("{file}.lodestone-tmp"));
    if enc == Encoding::Parquet {
        let rows: Vec<(usize, &str, f64)> = element_rows(net, shares).collect();
        if let Err(e) = parquet::write_elements(net, &rows, &tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, dir.join(file))?;
        return Ok(file);
    }
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    {
        let f = std::fs::File::create(&tmp)?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(std::io::BufWriter::with_capacity(1 << 20, f));
        w.write_record(["node", "element", "share"]).map_err(io)?;
        for (j, name, s) in element_rows(net, shares) {
            w.write_record([net.node_name(j).as_str(), name, format!("{s}").as_str()])
                .map_err(io)?;
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, dir.join(file))?;
    Ok(file)
}

#[cfg(test)]
mod id_index_tests {
    use super::IdIndex;

    /// Ids that share their first 16 bytes, ids of every length, growth past the initial
    /// capacity, duplicates and absent ids.
    #[test]
    fn every_id_is_found_at_its_index_and_only_there() {
        let long = |k: usize| format!("a-very-long-prefix-{k}");
        let mut ids: Vec<String> = (0..5000).map(|k| format!("n{k}")).collect();
        ids.extend((0..5000).map(long));
        ids.push(String::new());
        ids.push("0123456789abcdef".into()); // exactly 16 bytes
        ids.push("0123456789abcdef0".into()); // 17 bytes, same prefix
        let mut index = IdIndex::with_capacity(10);
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(index.insert(id.as_bytes()), Ok(k as u32), "{id}");
        }
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id.as_bytes()), Some(k as u32), "{id}");
            assert_eq!(index.insert(id.as_bytes()), Err(k as u32), "{id}");
        }
        for absent in ["n5000", "a-very-long-prefix-5000", "0123456789abcde", "n"] {
            assert_eq!(index.get(absent.as_bytes()), None, "{absent}");
        }
    }
}
