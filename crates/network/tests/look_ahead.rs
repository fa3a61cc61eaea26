//! The flows reader resolves ids a batch of rows at a time (its look-ahead): every row is still
//! read once, in file order, across the pieces the file is split into for the threads, and each
//! problem is reported at its own line.

use std::fmt::Write as _;

use lodestone_network::read_network_dir;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// (from, to, quantity) of each flow, in order.
fn flows_of(net: &lodestone_trace::Network) -> Vec<(u32, u32, f64)> {
    net.flows
        .iter()
        .map(|f| (f.from, f.to, f.quantity))
        .collect()
}

/// 60,000 flows (over 1 MiB, so the file is split between threads; not a multiple of the batch),
/// with an unknown id, a row of the wrong width and a bad quantity at known lines.
#[test]
fn every_row_is_read_once_in_order_and_problems_are_located() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("look_ahead");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let nodes = 1000;
    let mut text = String::from("id,output\n");
    for i in 0..nodes {
        writeln!(text, "node-{i},1000000").unwrap();
    }
    write(&dir, "nodes.csv", &text);
    write(&dir, "content.csv", "node,tag,amount\nnode-0,a,1\n");
    let rows = 60_000usize;
    let (unknown, short, bad) = (31_337usize, 45_001usize, 59_999usize);
    let mut text = String::from("from,to,quantity\n");
    let mut expected = Vec::new();
    for k in 0..rows {
        let (from, to) = ((k * 7919) % nodes, (k * 104_729 + 1) % nodes);
        let q = (k % 97) as f64 + 0.5;
        if k == unknown {
            writeln!(text, "node-{from},node-x{to},{q}").unwrap();
        } else if k == short {
            writeln!(text, "node-{from},node-{to}").unwrap();
        } else if k == bad {
            writeln!(text, "node-{from},node-{to},lots").unwrap();
        } else {
            writeln!(text, "node-{from},node-{to},{q}").unwrap();
            expected.push((from as u32, to as u32, q));
        }
    }
    assert!(text.len() > 1 << 20);
    write(&dir, "flows.csv", &text);
    let errors = read_network_dir(&dir).unwrap_err();
    let located: Vec<(Option<u64>, Option<&str>)> = errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    // Line numbers count the header: row k is on line k + 2.
    assert_eq!(
        located,
        [
            (Some(unknown as u64 + 2), Some("to")),
            (Some(short as u64 + 2), None),
            (Some(bad as u64 + 2), Some("quantity")),
        ],
        "{:?}",
        &errors[..errors.len().min(5)]
    );
    assert!(
        errors[0].message.contains("'node-x"),
        "{}",
        errors[0].message
    );

    // Without the bad rows, the network holds every flow in file order.
    let good: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| ![unknown + 1, short + 1, bad + 1].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    write(&dir, "flows.csv", &good);
    let net = read_network_dir(&dir).unwrap();
    let got = flows_of(&net);
    assert_eq!(got, expected);
}

/// The reader's row shapes: ids padded with ASCII or other Unicode spaces resolve (the second
/// through the UTF-8 path), blank rows of any width are skipped, and a row that is too wide
/// reports how many fields it really has, not how many the reader keeps.
#[test]
fn padded_ids_blank_rows_and_wide_rows() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("row_shapes");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "nodes.csv", "id,output\na,10\nb,10\nc,10\n");
    write(&dir, "content.csv", "node,tag,amount\n a ,x,1\n");
    let flows = "from,to,quantity\n  a,b , 2\n,,,,,,\n\u{a0}b\u{a0},c,1.5\n \n";
    write(&dir, "flows.csv", flows);
    let net = read_network_dir(&dir).unwrap();
    let got = flows_of(&net);
    assert_eq!(got, [(0, 1, 2.0), (1, 2, 1.5)]);
    assert_eq!(net.additions.len(), 1);

    write(&dir, "flows.csv", "from,to,quantity\na,b,1,2,3,4,5\nb,c\n");
    let errors = read_network_dir(&dir).unwrap_err();
    let messages: Vec<(Option<u64>, &str)> = errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (Some(2), "row has 7 fields but the header has 3"),
            (Some(3), "row has 2 fields but the header has 3"),
        ]
    );

    std::fs::write(dir.join("flows.csv"), b"from,to,quantity\na,\xff\xfe,1\n").unwrap();
    let errors = read_network_dir(&dir).unwrap_err();
    assert_eq!(errors[0].line, Some(2));
    assert_eq!(errors[0].column.as_deref(), Some("to"));
    assert!(
        errors[0].message.contains("not valid UTF-8"),
        "{}",
        errors[0].message
    );
}
