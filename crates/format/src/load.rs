//! Reading a dataset: bytes → typed tables, with every problem located.
//!
//! [`read_dir`] is the only function here that touches the file system; [`load`] is a pure
//! function of the files' bytes, so tests (and the fuzz test) run it on data in memory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use lodestone_model::{Date, Quantity, UnitError, is_iso3, is_slug};

use crate::diag::{Diagnostic, Report};
use crate::schema::{ColumnSchema, ColumnType, Schema, TOML_DIRS, TableSchema};
use crate::validate;
use crate::value::Value;

/// The raw files of a dataset directory, keyed by path relative to it (`/`-separated).
#[derive(Debug, Clone, Default)]
pub struct InputFiles {
    /// File contents by relative path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files that exist but could not be read, with the reason, and a problem with the directory.
    pub unreadable: Vec<(String, String)>,
}

/// One row of a table, its values in the schema's column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line where the record starts in its file.
    pub line: u64,
    /// One value per schema column (absent columns are `Empty` or their default).
    pub values: Vec<Value>,
}

/// A loaded table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's schema.
    pub schema: TableSchema,
    /// Rows in file order, including rows with invalid cells (marked [`Value::Invalid`]).
    pub rows: Vec<Row>,
    /// False when the file is missing, undecodable or has a wrong header, so its rows are absent:
    /// checks of references into it are skipped rather than reported once per referring row.
    pub complete: bool,
    /// Row index by key (see [`Table::key_of`]); the first row wins when keys repeat.
    index: HashMap<String, usize>,
}

impl Table {
    /// An empty table of `schema`.
    pub fn new(schema: TableSchema) -> Table {
        Table {
            schema,
            rows: Vec::new(),
            complete: false,
            index: HashMap::new(),
        }
    }

    /// The value of `column` in `row`; `Empty` for an unknown column.
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> &'a Value {
        static EMPTY: Value = Value::Empty;
        self.schema
            .column_index(column)
            .and_then(|i| row.values.get(i))
            .unwrap_or(&EMPTY)
    }

    /// The text of `column` in `row`, if it is a single text value.
    pub fn text<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        self.get(row, column).as_str()
    }

    /// The row's key: its key columns' canonical text joined by `;`; `None` if any is missing.
    pub fn key_of(&self, row: &Row) -> Option<String> {
        let mut parts = Vec::new();
        for k in &self.schema.key {
            match self.get(row, k) {
                Value::Invalid => return None,
                v => parts.push(v.to_csv_text()),
            }
        }
        let key = parts.join(";");
        (!key.is_empty()).then_some(key)
    }

    /// The row with this key (an id, or `a;b` for composite keys).
    pub fn find(&self, key: &str) -> Option<&Row> {
        self.index.get(key).map(|&i| &self.rows[i])
    }

    /// True if a row has this key.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Adds a row, indexing its key unless the key is already taken. Returns the first row's line
    /// when the key is a duplicate.
    pub fn push(&mut self, row: Row) -> Option<u64> {
        let dup = match self.key_of(&row) {
            Some(key) => match self.index.get(&key) {
                Some(&first) => Some(self.rows[first].line),
                None => {
                    self.index.insert(key, self.rows.len());
                    None
                }
            },
            None => None,
        };
        self.rows.push(row);
        dup
    }
}

/// A parsed TOML record file from `policies/`, `scenarios/` or `agreements/`.
#[derive(Debug, Clone)]
pub struct TomlFile {
    /// Path relative to the dataset directory.
    pub path: String,
    /// The file's text (for locating values).
    pub text: String,
    /// The parsed document.
    pub document: toml::Table,
}

/// A loaded dataset: every table of the schema (possibly empty) and the TOML record files.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The schema the dataset was loaded with.
    pub schema: Schema,
    /// One table per schema table, in schema order.
    pub tables: Vec<Table>,
    /// TOML files that parsed.
    pub toml_files: Vec<TomlFile>,
}

impl Dataset {
    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.schema.name == name)
    }

    /// The ids (first key column) of a table's rows; empty for an unknown table.
    pub fn ids(&self, table: &str) -> std::collections::BTreeSet<String> {
        self.table(table)
            .map(|t| {
                t.rows
                    .iter()
                    .filter_map(|r| t.text(r, &t.schema.key[0]).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reads every schema table file and every `*.toml` under the record directories of `dir`.
///
/// Files that are missing are simply absent from the result (the loader reports them); a
/// directory that cannot be read is recorded in `unreadable`.
pub fn read_dir(dir: &Path, schema: &Schema) -> InputFiles {
    let mut input = InputFiles::default();
    if !dir.is_dir() {
        input.unreadable.push((
            dir.display().to_string(),
            "is not a directory: pass a dataset directory with --data".into(),
        ));
        return input;
    }
    for table in &schema.tables {
        let path = dir.join(&table.file);
        if path.exists() {
            match read_bounded(&path, max_file_bytes()) {
                Ok(bytes) => {
                    input.files.insert(table.file.clone(), bytes);
                }
                Err(why) => input.unreadable.push((table.file.clone(), why)),
            }
        }
    }
    for sub in TOML_DIRS {
        let path = dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        for name in names {
            let rel = format!("{sub}/{name}");
            match read_bounded(&path.join(&name), max_file_bytes()) {
                Ok(bytes) => {
                    input.files.insert(rel, bytes);
                }
                Err(why) => input.unreadable.push((rel, why)),
            }
        }
    }
    input
}

/// The default largest file a dataset may hold: far above any real table, far below memory.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The largest file read: `LODESTONE_MAX_FILE_BYTES` if set to a number, else
/// [`MAX_FILE_BYTES`].
pub fn max_file_bytes() -> u64 {
    std::env::var("LODESTONE_MAX_FILE_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(MAX_FILE_BYTES)
}

/// Reads a regular file of at most `limit` bytes. A device, a pipe or a socket (a table linked
/// to `/dev/zero`, say) is refused before it is opened for reading, and a file that grows past
/// the limit while it is read is cut off with an error.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err(
            "is not a regular file (a device, pipe, socket or directory): a dataset holds only files"
                .into(),
        );
    }
    if meta.len() > limit {
        return Err(format!(
            "is {} bytes, more than the limit of {limit} bytes (set LODESTONE_MAX_FILE_BYTES to raise it)",
            meta.len()
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "grew past the limit of {limit} bytes while it was read (set LODESTONE_MAX_FILE_BYTES to raise it)"
        ));
    }
    Ok(bytes)
}

/// Loads and validates a dataset directory: [`read_dir`] then [`load`].
pub fn load_dir(dir: &Path) -> Result<(Dataset, Report), String> {
    let schema = Schema::embedded()?;
    let input = read_dir(dir, &schema);
    Ok(load(schema, &input))
}

/// Sorts diagnostics into the schema's table order, then by file, line and message, and drops
/// repeats.
pub fn sort_diagnostics(schema: &Schema, diags: &mut Vec<Diagnostic>) {
    let order: HashMap<&str, usize> = schema
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.file.as_str(), i))
        .collect();
    diags.sort_by(|a, b| {
        let rank = |d: &Diagnostic| order.get(d.file.as_str()).copied().unwrap_or(usize::MAX);
        (rank(a), &a.file, a.line, &a.message).cmp(&(rank(b), &b.file, b.line, &b.message))
    });
    diags.dedup();
}

/// Parses and validates the files of a dataset. Never panics, whatever the bytes: every problem
/// becomes a diagnostic, and every row that parsed is kept.
pub fn load(schema: Schema, input: &InputFiles) -> (Dataset, Report) {
    let mut diags = Vec::new();
    for (file, why) in &input.unreadable {
        diags.push(Diagnostic::error(file, None, None, why.clone()));
    }
    let mut tables = Vec::new();
    for ts in &schema.tables {
        let mut table = Table::new(ts.clone());
        match input.files.get(&ts.file) {
            Some(bytes) => parse_table(&mut table, bytes, &mut diags),
            None if input.unreadable.iter().any(|(f, _)| *f == ts.file) => {}
            None if input.unreadable.is_empty() => diags.push(Diagnostic::error(
                &ts.file,
                None,
                None,
                format!(
                    "file is missing: create it with the header line `{}` (it may have no rows)",
                    ts.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )),
            None => {}
        }
        tables.push(table);
    }
    let mut toml_files = Vec::new();
    for (path, bytes) in &input.files {
        if TOML_DIRS.iter().any(|d| path.starts_with(&format!("{d}/")))
            && let Some(f) = parse_toml(path, bytes, &mut diags)
        {
            toml_files.push(f);
        }
    }
    let dataset = Dataset {
        schema,
        tables,
        toml_files,
    };
    validate::cross_checks(&dataset, &mut diags);
    sort_diagnostics(&dataset.schema, &mut diags);
    (dataset, Report { diagnostics: diags })
}

/// Checks UTF-8 and strips a byte-order mark, reporting the line of the first invalid byte.
fn decode<'a>(file: &str, bytes: &'a [u8], diags: &mut Vec<Diagnostic>) -> Option<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let col =
                valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
            diags.push(Diagnostic::error(
                file,
                Some(line),
                None,
                format!("not valid UTF-8 (byte {col} of the line); save the file as UTF-8"),
            ));
            None
        }
    }
}

fn parse_toml(path: &str, bytes: &[u8], diags: &mut Vec<Diagnostic>) -> Option<TomlFile> {
    let text = decode(path, bytes, diags)?;
    match toml::from_str::<toml::Table>(text) {
        Ok(document) => Some(TomlFile {
            path: path.to_string(),
            text: text.to_string(),
            document,
        }),
        Err(e) => {
            let line = e.span().map(|s| line_of_offset(text, s.start));
            diags.push(Diagnostic::error(
                path,
                line,
                None,
                format!("invalid TOML: {}", e.message().trim()),
            ));
            None
        }
    }
}

/// 1-based line of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> u64 {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// The 1-based line each record of a CSV text starts on, from the record's byte offset.
///
/// The `csv` crate's own `Position::line` is wrong in two common cases: after CRLF line ends (it
/// counts a line end when it consumes the `\n`, which it leaves to the next record: rust-csv
/// issue 395, open) and after blank or comment lines, which it skips without counting. A
/// record's byte offset is right, but may point at the line ends and skipped lines before the
/// record; they are stepped over here. Records are asked for in order; each call counts only the
/// line ends since the last.
pub struct RecordLines<'a> {
    text: &'a [u8],
    comment: Option<u8>,
    at: usize,
    line: u64,
}

impl<'a> RecordLines<'a> {
    /// Lines of `text`, read by a `csv` reader with this comment byte (if any).
    pub fn new(text: &'a [u8], comment: Option<u8>) -> RecordLines<'a> {
        RecordLines {
            text,
            comment,
            at: 0,
            line: 1,
        }
    }

    /// The line of the record (or error) at `pos`.
    pub fn line_of(&mut self, pos: &csv::Position) -> u64 {
        let mut k = usize::try_from(pos.byte()).map_or(self.text.len(), |b| b.min(self.text.len()));
        loop {
            match self.text.get(k) {
                Some(b'\r' | b'\n') => k += 1,
                Some(&c) if Some(c) == self.comment => {
                    k = self.text[k..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(self.text.len(), |e| k + e + 1);
                }
                _ => break,
            }
        }
        if k < self.at {
            (self.at, self.line) = (0, 1);
        }
        self.line += self.text[self.at..k]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.at = k;
        self.line
    }
}

fn parse_table(table: &mut Table, bytes: &[u8], diags: &mut Vec<Diagnostic>) {
    let file = table.schema.file.clone();
    let Some(text) = decode(&file, bytes, diags) else {
        return;
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut lines = RecordLines::new(text.as_bytes(), Some(b'#'));
    let mut records = reader.records();
    // The header: map each schema column to its position in the file.
    let header = match records.next() {
        None => {
            diags.push(Diagnostic::error(
                &file,
                Some(1),
                None,
                "file is empty: it needs at least a header line",
            ));
            return;
        }
        Some(Err(e)) => {
            diags.push(csv_error(&file, &e, &mut lines));
            return;
        }
        Some(Ok(h)) => h,
    };
    let header_line = header.position().map_or(1, |p| lines.line_of(p));
    let mut positions: Vec<Option<usize>> = vec![None; table.schema.columns.len()];
    let mut header_ok = true;
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        match table.schema.column_index(name) {
            Some(c) if positions[c].is_some() => {
                diags.push(Diagnostic::error(
                    &file,
                    Some(header_line),
                    Some(name),
                    format!("column '{name}' appears twice in the header"),
                ));
                header_ok = false;
            }
            Some(c) => positions[c] = Some(i),
            None => {
                let names: Vec<&str> = table
                    .schema
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                diags.push(Diagnostic::error(
                    &file,
                    Some(header_line),
                    Some(name),
                    format!(
                        "unknown column '{name}'{}; the columns are: {}",
                        suggest(name, &names),
                        names.join(", ")
                    ),
                ));
                header_ok = false;
            }
        }
    }
    for (c, col) in table.schema.columns.iter().enumerate() {
        if positions[c].is_none() && col.required {
            diags.push(Diagnostic::error(
                &file,
                Some(header_line),
                Some(&col.name),
                format!("required column '{}' is missing from the header", col.name),
            ));
            header_ok = false;
        }
    }
    if !header_ok {
        // Reading rows against a wrong header would bury the one real problem under noise.
        return;
    }
    table.complete = true;
    let width = header.len();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                diags.push(csv_error(&file, &e, &mut lines));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.line_of(p));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != width {
            diags.push(Diagnostic::error(
                &file,
                Some(line),
                None,
                if record.len() < width && record.iter().any(|f| f.contains('\n')) {
                    format!(
                        "row has {} fields but the header has {width}: a quote opened on this line is never closed",
                        record.len()
                    )
                } else {
                    format!("row has {} fields but the header has {width}; quote values that contain commas", record.len())
                },
            ));
            continue;
        }
        let mut values = Vec::with_capacity(table.schema.columns.len());
        for (c, col) in table.schema.columns.iter().enumerate() {
            let raw = positions[c].and_then(|p| record.get(p)).unwrap_or("");
            match parse_cell(col, raw) {
                Ok(v) => values.push(v),
                Err(msg) => {
                    diags.push(Diagnostic::error(&file, Some(line), Some(&col.name), msg));
                    values.push(Value::Invalid);
                }
            }
        }
        let row = Row { line, values };
        let key_text = table.key_of(&row);
        if let Some(first) = table.push(row) {
            let key_name = table.schema.key.join(";");
            diags.push(Diagnostic::error(
                &file,
                Some(line),
                Some(&table.schema.key[0]),
                format!(
                    "duplicate {key_name} '{}' (first at line {first})",
                    key_text.unwrap_or_default()
                ),
            ));
        }
    }
}

fn csv_error(file: &str, e: &csv::Error, lines: &mut RecordLines) -> Diagnostic {
    let line = e.position().map(|p| lines.line_of(p));
    Diagnostic::error(file, line, None, format!("malformed CSV: {e}"))
}

/// ` (did you mean 'x'?)` for the closest candidate, or nothing.
pub fn suggest(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d > 0)
        .min()
        .map(|(_, c)| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default()
}

/// "Did you mean" over many candidates, from an index: the candidates sorted, and sorted by their
/// reversed text; a word is compared only with its neighbours in both orders (those sharing its
/// longest prefix or suffix), so each look-up costs a binary search and a bounded number of
/// comparisons, and checking thousands of dangling references against hundreds of thousands of
/// ids stays near linear. Short words (ISO codes) are compared with every short candidate.
pub struct Suggester<'a> {
    sorted: Vec<&'a str>,
    reversed: Vec<(String, &'a str)>,
    short: Vec<&'a str>,
}

/// Neighbours compared on each side of a word's place in each order.
const NEIGHBOURS: usize = 32;

impl<'a> Suggester<'a> {
    /// Indexes the candidates.
    pub fn new(candidates: impl IntoIterator<Item = &'a str>) -> Suggester<'a> {
        let mut sorted: Vec<&'a str> = candidates.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut reversed: Vec<(String, &'a str)> = sorted
            .iter()
            .map(|c| (c.chars().rev().collect(), *c))
            .collect();
        reversed.sort_unstable();
        let short = sorted
            .iter()
            .copied()
            .filter(|c| c.chars().count() <= 4)
            .collect();
        Suggester {
            sorted,
            reversed,
            short,
        }
    }

    /// ` (did you mean 'x'?)` for the closest candidate within the bound of [`suggest`], or
    /// nothing.
    pub fn suggest(&self, word: &str) -> String {
        let window = |n: usize, p: usize| p.saturating_sub(NEIGHBOURS)..(p + NEIGHBOURS).min(n);
        let p = self.sorted.partition_point(|c| *c < word);
        let rword: String = word.chars().rev().collect();
        let q = self
            .reversed
            .partition_point(|(r, _)| r.as_str() < rword.as_str());
        let near = self.sorted[window(self.sorted.len(), p)]
            .iter()
            .copied()
            .chain(
                self.reversed[window(self.reversed.len(), q)]
                    .iter()
                    .map(|(_, c)| *c),
            );
        let short = if word.chars().count() <= 6 {
            &self.short[..]
        } else {
            &[]
        };
        let mut best: Option<(usize, &str)> = None;
        for c in near.chain(short.iter().copied()) {
            let d = strsim::levenshtein(word, c);
            if d > 0 && d <= 2.max(c.len() / 4) && best.is_none_or(|b| (d, c) < b) {
                best = Some((d, c));
            }
        }
        best.map(|(_, c)| format!(" (did you mean '{c}'?)"))
            .unwrap_or_default()
    }
}

/// Parses one cell by its column's schema. Errors are complete messages naming the column.
pub fn parse_cell(col: &ColumnSchema, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    let name = &col.name;
    let text = if raw.is_empty() {
        match &col.default {
            Some(d) => d.as_str(),
            None if col.required => return Err(format!("{name} is required but empty")),
            None => return Ok(Value::Empty),
        }
    } else {
        raw
    };
    let single =
        |item: &str| -> Result<String, String> { check_item(col, item).map(|()| item.to_string()) };
    Ok(match col.ty {
        ColumnType::Text => Value::Text(text.to_string()),
        ColumnType::Id
        | ColumnType::Iso3
        | ColumnType::Ref
        | ColumnType::Node
        | ColumnType::Enum => Value::Text(single(text)?),
        ColumnType::Refs | ColumnType::Enums | ColumnType::HsCodes => {
            let items: Vec<&str> = text
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            Value::List(items.into_iter().map(single).collect::<Result<_, _>>()?)
        }
        ColumnType::Number => {
            let q = Quantity::parse_in(text, &col.unit).map_err(|e| match e {
                UnitError::NotANumber(_) if col.unit.symbol.is_empty() => {
                    format!("{name} '{text}' is not a number")
                }
                UnitError::NotANumber(_) => {
                    format!("{name} '{text}' is not a number ({})", col.unit)
                }
                other => format!("{name} '{text}': {other}"),
            })?;
            if !q.value.is_finite() {
                return Err(format!("{name} '{text}' is not a finite number"));
            }
            check_range(col, text, q.value)?;
            Value::Number(q.value)
        }
        ColumnType::Integer => {
            let v: i64 = text
                .parse()
                .map_err(|_| format!("{name} '{text}' is not a whole number"))?;
            check_range(col, text, v as f64)?;
            Value::Integer(v)
        }
        ColumnType::Date => Value::Date(Date::parse(text).ok_or_else(|| {
            format!("{name} '{text}' is not an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD)")
        })?),
        ColumnType::Url => {
            let ok = (text.starts_with("https://") || text.starts_with("http://"))
                && text.len() > 8
                && !text.contains(char::is_whitespace);
            if !ok {
                return Err(format!("{name} '{text}' is not an http(s) URL"));
            }
            Value::Text(text.to_string())
        }
        ColumnType::Hs => Value::Text(single(text)?),
    })
}

fn is_hs_code(text: &str) -> bool {
    let digits =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('.') {
        None => digits(text, &[4]),
        Some((head, tail)) => digits(head, &[4]) && digits(tail, &[2, 4]),
    }
}

/// Format checks of one id, code or enum item (existence of references is checked later).
fn check_item(col: &ColumnSchema, item: &str) -> Result<(), String> {
    let name = &col.name;
    let country_ref = col.references.iter().any(|r| r == "countries");
    match col.ty {
        ColumnType::Enum | ColumnType::Enums => {
            if col.values.iter().any(|v| v == item) {
                Ok(())
            } else {
                let vals: Vec<&str> = col.values.iter().map(String::as_str).collect();
                Err(format!(
                    "{name} '{item}' is not one of: {}{}",
                    vals.join(", "),
                    suggest(item, &vals)
                ))
            }
        }
        ColumnType::Iso3 => {
            if is_iso3(item) {
                Ok(())
            } else {
                Err(format!(
                    "{name} '{item}' is not an ISO 3166-1 alpha-3 country code (e.g. MYS, CHN; WLD for the world)"
                ))
            }
        }
        ColumnType::Hs | ColumnType::HsCodes => {
            if is_hs_code(item) {
                Ok(())
            } else {
                Err(format!(
                    "{name} '{item}' is not an HS code (NNNN, NNNN.NN or NNNN.NNNN)"
                ))
            }
        }
        _ if col.ty == ColumnType::Ref && country_ref && col.references.len() == 1 => {
            if is_iso3(item) {
                Ok(())
            } else {
                Err(format!(
                    "{name} '{item}' is not an ISO 3166-1 alpha-3 country code (e.g. MYS, CHN; WLD for the world)"
                ))
            }
        }
        _ => {
            let looks_iso = item.len() == 3 && item.bytes().all(|b| b.is_ascii_uppercase());
            if is_slug(item) || (country_ref && looks_iso) {
                Ok(())
            } else {
                Err(format!(
                    "{name} '{item}' is not a valid id: use lower-case letters, digits and '_', starting with a letter{}",
                    if country_ref {
                        ", or an ISO3 country code"
                    } else {
                        ""
                    }
                ))
            }
        }
    }
}

fn check_range(col: &ColumnSchema, text: &str, v: f64) -> Result<(), String> {
    let name = &col.name;
    let unit = if col.unit.symbol.is_empty() {
        String::new()
    } else {
        format!(" {}", col.unit)
    };
    if let Some(min) = col.min
        && v < min
    {
        return Err(if min == 0.0 {
            format!("{name} '{text}' must not be negative")
        } else {
            format!("{name} '{text}' is below the minimum {min}{unit}")
        });
    }
    if let Some(max) = col.max
        && v > max
    {
        return Err(format!("{name} '{text}' is above the maximum {max}{unit}"));
    }
    Ok(())
}

#[cfg(test)]
mod suggester_tests {
    use super::{Suggester, suggest};

    #[test]
    fn the_index_suggests_as_close_a_candidate_as_comparing_with_every_one() {
        let ids: Vec<String> = (0..3000)
            .map(|i| format!("source_{}_{}", ["usgs", "iea", "lynas", "mp"][i % 4], i))
            .chain(
                [
                    "lynas_lamp_kuantan",
                    "mp_mountain_pass",
                    "ndpr_oxide",
                    "THA",
                    "USA",
                    "MYX",
                ]
                .map(String::from),
            )
            .collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let index = Suggester::new(refs.iter().copied());
        for typo in [
            "lynas_lamp_kuantn",
            "lynas_lmap_kuantan",
            "mp_mountain_pas",
            "ndpr_oxid",
            "source_iea_1",
            "source_usgs_40x",
            "nothing_like_it",
            "FRA",
            "MYS",
            "MY",
        ] {
            // The same distance as comparing with every candidate (ties may pick another).
            let distance = |s: String| s.split('\'').nth(1).map(|c| strsim::levenshtein(typo, c));
            assert_eq!(
                distance(index.suggest(typo)),
                distance(suggest(typo, &refs)),
                "{typo}"
            );
        }
    }
}
