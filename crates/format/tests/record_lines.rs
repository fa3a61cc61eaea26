//! Problems in CSV files are located at the line a person sees in an editor, whatever the file's
//! line ends (LF or CRLF), blank lines or comment lines: the `csv` crate's own line numbers are
//! wrong after CRLF line ends and skipped lines, so readers count them with `RecordLines`.

use lodestone_format::RecordLines;

/// The first field and the line of every record, read as the dataset reader reads.
fn records(text: &str, comment: Option<u8>) -> Vec<(String, u64)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(comment)
        .from_reader(text.as_bytes());
    let mut lines = RecordLines::new(text.as_bytes(), comment);
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    while reader.read_byte_record(&mut rec).unwrap() {
        let line = lines.line_of(rec.position().unwrap());
        out.push((String::from_utf8_lossy(&rec[0]).into_owned(), line));
    }
    out
}

/// A text, the reader's comment byte, and the (first field, line) of each record.
type Case = (&'static str, Option<u8>, &'static [(&'static str, u64)]);

fn owned(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
    rows.iter().map(|&(f, l)| (f.to_string(), l)).collect()
}

#[test]
fn lines_count_crlf_blank_comment_and_quoted_lines() {
    let cases: [Case; 8] = [
        ("a,1\nb,2\n", None, &[("a", 1), ("b", 2)]),
        (
            "a,1\r\nb,2\r\nc,3\r\n",
            None,
            &[("a", 1), ("b", 2), ("c", 3)],
        ),
        ("a,1\n\nb,2\n", None, &[("a", 1), ("b", 3)]),
        ("a,1\r\n\r\n\r\nb,2", None, &[("a", 1), ("b", 4)]),
        ("a,1\n   \nb,2\n", None, &[("a", 1), ("   ", 2), ("b", 3)]),
        ("a,\"x\ny\"\r\nb,2\r\n", None, &[("a", 1), ("b", 3)]),
        ("a,1\n# c\nb,2\n", Some(b'#'), &[("a", 1), ("b", 3)]),
        (
            "h,i\r\n#c,d\r\n\r\na,1\r\n# e\r\nb,2\r\n",
            Some(b'#'),
            &[("h", 1), ("a", 4), ("b", 6)],
        ),
    ];
    for (text, comment, expected) in cases {
        assert_eq!(records(text, comment), owned(expected), "{text:?}");
    }
}
