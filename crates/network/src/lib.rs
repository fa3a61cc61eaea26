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
use std::hash::BuildHasher;
use std::path::Path;

mod mem;
mod parquet;

use lodestone_trace::{Addition, Flow, Line, Network};

use lodestone_format::Diagnostic;

/// At most this many diagnostics are kept per file; the rest are counted.
const MAX_DIAGNOSTICS: usize = 200;

/// The hash of the node-id table and of the small maps of the reader: foldhash (hashbrown's
/// default), a fast non-cryptographic hash with a fixed seed so that loads are repeatable. Inputs
/// are the user's own files. Measured on the 10 M `from` ids of the 1 M-node network: 5.6 ns a
/// hash, against 13.6 ns for the FxHash-style hasher with a MurmurHash3 finaliser it replaced.
const ID_HASH: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x6c6f_6465);

fn id_hash(bytes: &[u8]) -> u64 {
    ID_HASH.hash_one(bytes)
}

/// A map keyed by the reader's own strings (tags, ids), hashed as the id table is.
type IdMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

fn id_map<K, V>() -> IdMap<K, V> {
    HashMap::with_hasher(ID_HASH)
}

/// Node ids to indices, for the tens of millions of look-ups a large network's flows make:
/// open addressing over 32-byte slots holding an id's first 24 bytes, its length and its index
/// plus one, at a load factor of at most one half. Most ids are short, so a look-up usually
/// reads one slot and nothing else (a map of `String`s reads a bucket and then the string's
/// heap allocation: two cache misses on a large table); longer ids are checked against their
/// full bytes, kept end to end in one buffer.
struct IdIndex {
    slots: Vec<Slot>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// Aligned to 32 bytes, so that a slot never straddles two cache lines and a slot and the next
/// one (where a probe goes on) lie in at most two lines, both loaded by [`IdIndex::touch`].
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
struct Slot {
    /// The id's first 24 bytes as three words ([`Prefix::of`]).
    prefix: Prefix,
    len: u32,
    /// Index plus one; 0 marks an empty slot.
    value: u32,
}

/// An id's first 24 bytes as three words, read with a few loads of fixed size: copying a
/// variable-length slice into an array calls `memcpy` and then stalls on reading the array
/// back, which was a tenth of the look-up's time. Together with the id's length it tells ids
/// of up to 24 bytes apart (the packing of a short part is fixed by its length).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Prefix([u64; 3]);

/// The longest id a slot holds whole; longer ones are also compared with their full bytes.
const INLINE_ID: usize = 24;

impl Prefix {
    fn of(id: &[u8]) -> Prefix {
        let part = |from: usize| word(&id[from.min(id.len())..(from + 8).min(id.len())]);
        Prefix([part(0), part(8), part(16)])
    }
}

/// Up to 8 bytes as one word. For 4 to 8 bytes, the first four and the last four, overlapping
/// (the overlapping bytes are equal, so or-ing them keeps each byte in its place); for 1 to 3,
/// the first, middle and last byte.
fn word(b: &[u8]) -> u64 {
    let n = b.len();
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    match n {
        8.. => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        4..=7 => u32_at(0) | (u32_at(n - 4) << ((n - 4) * 8)),
        1..=3 => u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16),
        0 => 0,
    }
}

impl IdIndex {
    /// A table for `n` ids of `id_bytes` bytes in all.
    fn with_capacity(n: usize, id_bytes: usize) -> IdIndex {
        let len = (2 * n.max(4)).next_power_of_two();
        let mut slots: Vec<Slot> = Vec::with_capacity(len);
        // Look-ups land on random slots of a table of tens of MB: with 4 KB pages nearly each
        // one also misses the TLB. Asked before the pages are touched.
        mem::advise_huge_pages(&slots);
        slots.resize(len, Slot::default());
        IdIndex {
            slots,
            bytes: Vec::with_capacity(id_bytes),
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
        let prefix = Prefix::of(id);
        let mut s = hash as usize & mask;
        loop {
            let slot = &self.slots[s];
            if slot.value == 0
                || (slot.len as usize == id.len()
                    && slot.prefix == prefix
                    && (id.len() <= INLINE_ID || self.id(slot.value as usize - 1) == id))
            {
                return s;
            }
            s = (s + 1) & mask;
        }
    }

    /// Starts loading the slot where a look-up of `id` begins and the one after it (a probe
    /// reads two slots about half the time at this load factor), so that their cache misses
    /// are under way before the look-up needs them (`parse_rows_ahead`).
    fn touch(&self, id: &[u8]) {
        let mask = self.slots.len() - 1;
        let s = id_hash(id) as usize & mask;
        mem::prefetch(&self.slots, s);
        mem::prefetch(&self.slots, (s + 1) & mask);
    }

    fn get(&self, id: &[u8]) -> Option<u32> {
        self.slots[self.probe(id, id_hash(id))].value.checked_sub(1)
    }

    /// Adds `id` as the next index, or returns the index it already has.
    fn insert(&mut self, id: &[u8]) -> Result<u32, u32> {
        if 2 * (self.ends.len() + 1) > self.slots.len() {
            let mut bigger = vec![Slot::default(); self.slots.len() * 2];
            let mask = bigger.len() - 1;
            for old in self.slots.iter().filter(|x| x.value != 0) {
                let mut s = id_hash(self.id(old.value as usize - 1)) as usize & mask;
                while bigger[s].value != 0 {
                    s = (s + 1) & mask;
                }
                bigger[s] = *old;
            }
            self.slots = bigger;
        }
        let s = self.probe(id, id_hash(id));
        if let Some(existing) = self.slots[s].value.checked_sub(1) {
            return Err(existing);
        }
        let next = self.ends.len() as u32;
        self.bytes.extend_from_slice(id);
        self.ends.push(self.bytes.len());
        self.slots[s] = Slot {
            prefix: Prefix::of(id),
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
    fn new() -> Diags {
        Diags {
            list: Vec::new(),
            dropped: 0,
        }
    }

    /// Takes `other`'s problems after this one's.
    fn absorb(&mut self, other: Diags) {
        for d in other.list {
            self.push(d);
        }
        self.dropped += other.dropped;
    }

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

/// Splits a file's body into up to `parts` slices at line starts. Files with quotes are not
/// split (a quoted field may hold a newline).
fn split_body(body: &[u8], parts: usize) -> Vec<&[u8]> {
    if parts <= 1 || body.len() < 1 << 20 || memchr::memchr(b'"', body).is_some() {
        return vec![body];
    }
    let mut out = Vec::new();
    let mut start = 0;
    for p in 1..parts {
        let mut cut = body.len() * p / parts;
        while cut < body.len() && body[cut - 1] != b'\n' {
            cut += 1;
        }
        if cut <= start {
            continue;
        }
        out.push(&body[start..cut]);
        start = cut;
    }
    out.push(&body[start..]);
    out
}

/// The number of line ends in each piece, counted on one thread per piece (memchr, a few ms
/// per 100 MB): it gives each piece the line it starts at and the size of its output.
fn count_lines(pieces: &[&[u8]]) -> Vec<usize> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .map(|&piece| scope.spawn(move || memchr::memchr_iter(b'\n', piece).count()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    })
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
    let pieces = split_body(&bytes[header_end..], threads);
    let lines = count_lines(&pieces);
    let results: Vec<(Vec<T>, Vec<Diagnostic>)> = std::thread::scope(|scope| {
        let mut first_line = 2;
        let handles: Vec<_> = pieces
            .iter()
            .zip(&lines)
            .map(|(&piece, &count)| {
                let (pos, row, ahead) = (&pos, &row, &ahead);
                let piece = Piece {
                    bytes: piece,
                    first_line,
                    lines: count,
                };
                first_line += count as u64;
                scope.spawn(move || parse_piece(file, piece, width, pos, ahead, row))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                // A piece whose thread failed has lost its rows: the file is refused, never
                // read in part.
                h.join().unwrap_or_else(|_| {
                    let why =
                        "reading this file's rows failed (a bug in Lodestone: please report it)";
                    (Vec::new(), vec![Diagnostic::error(file, None, None, why)])
                })
            })
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

/// A slice of a file's body that starts at a line start: its bytes, the line number it starts
/// at, and how many line ends it holds.
#[derive(Clone, Copy)]
struct Piece<'p> {
    bytes: &'p [u8],
    first_line: u64,
    lines: usize,
}

/// Parses one piece of a file's body into rows, picking the wanted columns by position.
fn parse_piece<'p, T>(
    file: &str,
    piece: Piece<'p>,
    width: usize,
    pos: &[Option<usize>],
    ahead: &(impl Fn(&[&[u8]]) + Sync),
    row: &(impl Fn(u64, &[&[u8]]) -> Result<T, (Option<String>, String)> + Sync),
) -> (Vec<T>, Vec<Diagnostic>) {
    let Piece {
        bytes: piece,
        first_line,
        lines,
    } = piece;
    // Sized by the count of the lines: growing by doubling copies and faults in every row
    // again, which cost a tenth of the load of a large network.
    let mut out = Vec::with_capacity(lines + 1);
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
        // Commas and line ends found in one pass (memchr2, SIMD), fields kept in a fixed array:
        // no allocation and no search per row. A header has at most four columns (any other is
        // an error), so a row with more fields is of the wrong width whatever they hold; its
        // fields past the fifth are only counted.
        let mut fields: [&[u8]; 5] = [b""; 5];
        let mut count = 0;
        let (mut line_start, mut field_start) = (0, 0);
        let mut line = first_line;
        let ends = memchr::memchr2_iter(b',', b'\n', piece).chain(std::iter::once(piece.len()));
        for end in ends {
            if end < piece.len() && piece[end] == b',' {
                if count < fields.len() {
                    fields[count] = &piece[field_start..end];
                }
                count += 1;
                field_start = end + 1;
                continue;
            }
            // A line end, or the end of the piece.
            let last = &piece[field_start.min(end)..end];
            let last = last.strip_suffix(b"\r").unwrap_or(last);
            if count < fields.len() {
                fields[count] = last;
            }
            count += 1;
            let text = &piece[line_start.min(end)..end];
            (line_start, field_start) = (end + 1, end + 1);
            let this_line = line;
            line += 1;
            let row_count = std::mem::replace(&mut count, 0);
            if row_count == 1 && fields[0].is_empty() {
                continue;
            }
            let blank = fields[0].iter().all(u8::is_ascii_whitespace)
                && text.iter().all(|&b| b == b',' || b.is_ascii_whitespace());
            // A row of the wrong width is reported after the rows before it.
            if row_count != width && !blank {
                for (l, p) in pending.drain(..) {
                    finish(&mut errs, l, &p);
                }
            }
            let shape = (blank, row_count);
            let Some(picked) = pick(&mut errs, &error, (width, pos), this_line, shape, &fields)
            else {
                continue;
            };
            pending.push((this_line, picked));
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
        let mut record_lines = lodestone_format::RecordLines::new(piece, None);
        loop {
            let line = first_line + record_lines.line_of(reader.position()) - 1;
            match reader.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    error(&mut errs, line, None, format!("malformed CSV: {e}"));
                    continue;
                }
            }
            let line = first_line + rec.position().map_or(1, |p| record_lines.line_of(p)) - 1;
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

/// Field `c` as a finite number ≥ 0. A plain ASCII number is parsed from its bytes (fast-float2,
/// the parser Polars uses); anything else — not ASCII, not a number, negative, infinite — goes
/// through [`number`], which gives `str::parse`'s answer and the message. The fast path accepts
/// only what `str::parse` accepts, with the same value (test `number_field_agrees_with_str_parse`).
/// Measured on the 10 M quantities of the 1 M-node network: 24 ns a number, against 43 ns for
/// the UTF-8 check, trim and `str::parse`.
fn number_field(fields: &[&[u8]], c: usize, name: &str) -> Result<f64, (Option<String>, String)> {
    match fast_float2::parse::<f64, _>(fields[c].trim_ascii()) {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => number(field(fields, c, name)?, name),
    }
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

/// The nodes table, read: a network with its nodes (ids, outputs, unit values) and nothing
/// else yet, the id index the other tables resolve against, and each node's line.
struct Nodes {
    net: Network,
    index: IdIndex,
    line: Vec<u64>,
}

/// Reads the nodes table; `None` if the network has more nodes than 32-bit indices allow.
/// Problems with single rows are reported in `d`, and the rest of the nodes are read.
fn read_nodes(enc: Encoding, nodes_file: &str, bytes: Vec<u8>, d: &mut Diags) -> Option<Nodes> {
    // Bad numbers are kept beside the id, so a node with a bad output is still a node (no
    // cascade of "unknown node" errors from the flows that name it).
    // The problem is boxed: a row is 64 bytes instead of 144, and a million of them are
    // written, faulted in and moved.
    type Cell = Result<Option<f64>, Box<(Option<String>, String)>>;
    type NodeRow = (u64, String, Cell, Cell);
    // An empty (or blank) cell is no number; anything else must be one.
    let opt_number = |f: &[&[u8]], c: usize, name: &str| -> Cell {
        // Checked first: an absent column's cells are all empty, and the path below would
        // write (and drop) a message for each.
        if f[c].trim_ascii().is_empty() {
            return Ok(None);
        }
        match number_field(f, c, name) {
            Ok(v) => Ok(Some(v)),
            Err(e) => match field(f, c, name) {
                Ok("") => Ok(None),
                Ok(_) => Err(Box::new(e)),
                Err(utf8) => Err(Box::new(utf8)),
            },
        }
    };
    let mut nodes: Vec<NodeRow> = table_rows(
        enc,
        nodes_file,
        bytes,
        &[("id", true), ("output", false), ("unit_value", false)],
        d,
        |_| {},
        |line, f| {
            let id = field(f, 0, "id")?;
            if id.is_empty() {
                return Err((Some("id".into()), "id is required but empty".into()));
            }
            Ok((
                line,
                id.to_string(),
                opt_number(f, 1, "output"),
                opt_number(f, 2, "unit_value"),
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
        return None;
    }
    let id_bytes = nodes.iter().map(|row| row.1.len()).sum();
    let mut index = IdIndex::with_capacity(nodes.len(), id_bytes);
    let mut node_line = Vec::with_capacity(nodes.len());
    let mut net = Network::default();
    // Sized once: growing them by doubling copies and faults in tens of MB again.
    net.node_ids.reserve_exact(nodes.len());
    net.output.reserve_exact(nodes.len());
    net.unit_value.reserve_exact(nodes.len());
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
            c.unwrap_or_else(|problem| {
                let (col, msg) = *problem;
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
    Some(Nodes {
        net,
        index,
        line: node_line,
    })
}

/// Reads a network directory: CSV files, or Parquet files when the directory has a
/// `nodes.parquet` (a directory with both `nodes.csv` and `nodes.parquet` is refused). Problems
/// in a Parquet file are located by its row number (1-based). On failure, returns every located problem (at most 200 per file,
/// the rest counted in a final message).
pub fn read_network_dir(dir: &Path) -> Result<Network, Vec<Diagnostic>> {
    let mut d = Diags::new();
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
    // The other tables are read on a second thread while the nodes are parsed and indexed:
    // reading a large file is the kernel's copy and the first touches of the buffer's pages,
    // on one core, and indexing the nodes runs on one core too.
    let mut node_diags = Diags::new();
    let (nodes, rest) = std::thread::scope(|scope| {
        let rest = scope.spawn(|| {
            let mut d = Diags::new();
            let flows = read(dir, flows_file, true, &mut d);
            let content = read(dir, content_file, true, &mut d);
            let segregation = read(dir, seg_file, false, &mut d);
            (flows, content, segregation, d)
        });
        let nodes = nodes_bytes.map(|nb| read_nodes(enc, nodes_file, nb, &mut node_diags));
        (nodes, rest.join())
    });
    let Ok((flows_bytes, content_bytes, seg_bytes, read_diags)) = rest else {
        d.push(Diagnostic::error(
            &dir.display().to_string(),
            None,
            None,
            "reading the network's files failed",
        ));
        return Err(d.list);
    };
    d.absorb(read_diags);
    let (Some(nodes), Some(fb), Some(cb)) = (nodes, flows_bytes, content_bytes) else {
        return Err(d.list);
    };
    d.absorb(node_diags);
    let Some(Nodes {
        mut net,
        index,
        line: node_line,
    }) = nodes
    else {
        return Err(d.list);
    };

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
        // Trimmed as `resolve` trims them, so that a padded id's slot is the one loaded.
        |f| {
            index.touch(f[0].trim_ascii());
            index.touch(f[1].trim_ascii());
        },
        |_line, f| {
            Ok(Flow {
                from: resolve(f, 0, "from")?,
                to: resolve(f, 1, "to")?,
                quantity: number_field(f, 2, "quantity")?,
            })
        },
    )
    .unwrap_or_default();
    net.flows = flows;
    let mut tag_index: IdMap<String, u32> = id_map();
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
            Ok((node, tag.to_string(), number_field(f, 2, "amount")?))
        },
    )
    .unwrap_or_default();
    for (node, tag, amount) in content {
        // Looked up before it is cloned: most rows name a tag already seen.
        let t = match tag_index.get(&tag) {
            Some(&t) => t,
            None => {
                let t = tag_index.len() as u32;
                tag_index.insert(tag.clone(), t);
                net.tags.push(tag);
                t
            }
        };
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
        // Each node's lines found through a map: searching all the lines so far made reading
        // quadratic in the number of lines.
        let mut lines_of: IdMap<u32, Vec<usize>> = id_map();
        for (node, name, out, peer) in rows {
            let known = lines_of
                .get(&node)
                .and_then(|ls| ls.iter().copied().find(|&i| net.lines[i].name == name));
            let i = match known {
                Some(i) => i,
                None => {
                    lines_of.entry(node).or_default().push(net.lines.len());
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
    // Out- and inflows summed side by side, one on each core; each is summed over the flows in
    // file order, so the sums are the same on any number of cores.
    let sum_by = |node: fn(&Flow) -> u32| {
        let mut total = vec![0.0; n];
        for f in &net.flows {
            total[node(f) as usize] += f.quantity;
        }
        total
    };
    let (outflow, inflow) = std::thread::scope(|scope| {
        let outflow = scope.spawn(|| sum_by(|f| f.from));
        let inflow = sum_by(|f| f.to);
        (
            outflow.join().unwrap_or_else(|_| sum_by(|f| f.from)),
            inflow,
        )
    });
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
    let mut d = Diags::new();
    let enc = encoding_of(dir, "elements", "the element shares")?;
    let file = enc.elements_file();
    let Some(bytes) = read(dir, file, false, &mut d) else {
        return if d.list.is_empty() {
            Ok(None)
        } else {
            Err(d.list)
        };
    };
    let index: IdMap<&str, u32> = net
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
            let share = number_field(f, 2, "share")?;
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
mod tests {
    use super::IdIndex;

    /// The bytes' fast path of `number_field` gives `str::parse`'s value where it accepts a
    /// number, and every text it refuses or that is not a finite number ≥ 0 gets `number`'s
    /// answer: so the two paths accept the same texts with the same values.
    #[test]
    fn number_field_agrees_with_str_parse() {
        let texts = [
            "0",
            "1",
            "2.882776861798077",
            "10.763112536238024",
            " 7 ",
            "\t7\r",
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "1.",
            ".5",
            "+.5",
            "+1",
            "-0",
            "-0.0",
            "-1",
            "00012",
            "1e400",
            "1e-400",
            "4.9e-324",
            "1.7976931348623157e308",
            "inf",
            "Infinity",
            "-inf",
            "nan",
            "NaN",
            "",
            " ",
            ".",
            "e5",
            "1e",
            "1e+",
            "+",
            "-",
            "0x10",
            "1_000",
            "1,5",
            "1.2.3",
            "++1",
            "1d5",
            "1f",
            "١",
            "\u{a0}3",
            "3\u{a0}",
            "9007199254740993",
            "123456789012345678901234567890",
            "0.1000000000000000055511151231257827",
        ];
        for text in texts {
            let fields = [text.as_bytes()];
            let fast = super::number_field(&fields, 0, "q");
            let slow = super::number(text.trim(), "q");
            assert_eq!(
                fast.as_ref().map(|v| v.to_bits()).map_err(|e| &e.1),
                slow.as_ref().map(|v| v.to_bits()).map_err(|e| &e.1),
                "{text:?}"
            );
        }
        let not_utf8 = [b"1\xff".as_slice()];
        assert!(
            super::number_field(&not_utf8, 0, "q")
                .unwrap_err()
                .1
                .contains("UTF-8")
        );
    }

    /// Ids that share their first 24 bytes (what a slot holds), ids of every length from 0 to
    /// 40, growth past the initial capacity, duplicates and absent ids.
    #[test]
    fn every_id_is_found_at_its_index_and_only_there() {
        let long = |k: usize| format!("a-very-long-shared-prefix-{k}");
        let mut ids: Vec<String> = (0..5000).map(|k| format!("n{k}")).collect();
        ids.extend((0..5000).map(long));
        ids.extend((0..5000).map(|k| format!("mid-{k}")));
        let alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
        ids.extend((0..=40).map(|n| alphabet[..n].to_string()));
        ids.extend((1..=40).map(|n| alphabet[..n].replace('0', "Z")));
        ids.extend((1..=40).map(|n| format!("{}!", &alphabet[..n - 1])));
        let mut index = IdIndex::with_capacity(10, 0);
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(index.insert(id.as_bytes()), Ok(k as u32), "{id}");
        }
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id.as_bytes()), Some(k as u32), "{id}");
            assert_eq!(index.insert(id.as_bytes()), Err(k as u32), "{id}");
        }
        for absent in [
            "n5000",
            "a-very-long-shared-prefix-5000",
            "a-very-long-shared-prefix-",
            "0123456789abcdefghijklmnoZ",
            "n",
            "n00",
        ] {
            assert_eq!(index.get(absent.as_bytes()), None, "{absent}");
        }
    }
}
