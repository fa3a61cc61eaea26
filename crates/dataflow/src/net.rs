//! The connections between the processes of a cluster, made here rather than by timely: quietly
//! (timely's own set-up prints to standard output, where the results go), with a deadline
//! instead of retrying forever, and with a handshake that refuses a process given other work.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::DataflowError;

/// The first word of the handshake, so that a stray connection is told apart.
const MAGIC: u64 = 0x4C4F_4445_5354_4E31; // "LODESTN1"

/// How long a process waits for the others to start and connect.
pub const CONNECT_WAIT: Duration = Duration::from_secs(120);

/// Pause between attempts while waiting.
const POLL: Duration = Duration::from_millis(20);

fn cluster_error(message: String) -> DataflowError {
    DataflowError::Cluster(message)
}

fn read_words<const N: usize>(s: &mut TcpStream) -> std::io::Result<[u64; N]> {
    let mut bytes = [0u8; 8];
    let mut words = [0u64; N];
    for w in &mut words {
        s.read_exact(&mut bytes)?;
        *w = u64::from_be_bytes(bytes);
    }
    Ok(words)
}

fn write_words(s: &mut TcpStream, words: &[u64]) -> std::io::Result<()> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    s.write_all(&bytes)
}

fn different_work(other: usize) -> DataflowError {
    cluster_error(format!(
        "process {other} was given other work (another network, scenario, --runs or --workers): \
         start every process with the same arguments but --process"
    ))
}

/// Connects process `me` of `hosts` to every other: it listens on its own address, connects to
/// the processes before it and accepts those after it, all within `wait`. Every pair exchanges
/// the `fingerprint` of its work, and a difference is an error on both sides. Returns one stream
/// per process, `None` at `me`, as timely expects.
pub fn connect(
    hosts: &[String],
    me: usize,
    fingerprint: u64,
    wait: Duration,
) -> Result<Vec<Option<TcpStream>>, DataflowError> {
    let deadline = Instant::now() + wait;
    let listener = TcpListener::bind(&hosts[me])
        .map_err(|e| cluster_error(format!("process {me} cannot listen on {}: {e}", hosts[me])))?;
    let mut streams: Vec<Option<TcpStream>> = (0..hosts.len()).map(|_| None).collect();
    for (other, host) in hosts.iter().enumerate().take(me) {
        let mut s = loop {
            match TcpStream::connect(host) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(cluster_error(format!(
                        "process {other} at {host} did not answer within {} s ({e}): is it running, with the same hosts file?",
                        wait.as_secs()
                    )));
                }
                Err(_) => std::thread::sleep(POLL),
            }
        };
        let io = |e: std::io::Error| {
            cluster_error(format!(
                "the connection to process {other} at {host} failed: {e}"
            ))
        };
        s.set_nodelay(true).map_err(io)?;
        s.set_read_timeout(Some(
            deadline.saturating_duration_since(Instant::now()).max(POLL),
        ))
        .map_err(io)?;
        write_words(&mut s, &[MAGIC, me as u64, fingerprint]).map_err(io)?;
        let [theirs] = read_words::<1>(&mut s).map_err(io)?;
        if theirs != fingerprint {
            return Err(different_work(other));
        }
        s.set_read_timeout(None).map_err(io)?;
        streams[other] = Some(s);
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| cluster_error(format!("process {me}: {e}")))?;
    while streams.iter().skip(me + 1).any(Option::is_none) {
        let (mut s, from) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = (me + 1..hosts.len())
                        .filter(|&p| streams[p].is_none())
                        .map(|p| format!("{p} ({})", hosts[p]))
                        .collect();
                    return Err(cluster_error(format!(
                        "process(es) {} did not connect within {} s: are they running, with the same hosts file?",
                        missing.join(", "),
                        wait.as_secs()
                    )));
                }
                std::thread::sleep(POLL);
                continue;
            }
            Err(e) => return Err(cluster_error(format!("process {me}: {e}"))),
        };
        let io = |e: std::io::Error| {
            cluster_error(format!(
                "process {me}: the connection from {from} failed: {e}"
            ))
        };
        s.set_nonblocking(false).map_err(io)?;
        s.set_nodelay(true).map_err(io)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        // Something that is not a process of this cluster is ignored, never trusted.
        let Ok([magic, index, theirs]) = read_words::<3>(&mut s) else {
            continue;
        };
        let index = index as usize;
        if magic != MAGIC || index <= me || index >= hosts.len() || streams[index].is_some() {
            continue;
        }
        write_words(&mut s, &[fingerprint]).map_err(io)?;
        if theirs != fingerprint {
            return Err(different_work(index));
        }
        s.set_read_timeout(None).map_err(io)?;
        streams[index] = Some(s);
    }
    Ok(streams)
}
