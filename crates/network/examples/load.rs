//! Times the reader alone (`read_network_dir`: parse, validate, resolve ids), best of several
//! rounds, for measuring changes to it:
//!
//!     cargo run --release -p lodestone-network --example load -- DIR [ROUNDS]
fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(std::path::PathBuf::from) else {
        eprintln!("usage: load DIR [ROUNDS]  (DIR: a network directory)");
        return std::process::ExitCode::FAILURE;
    };
    let Ok(rounds) = args.next().map_or(Ok(3), |r| r.parse::<usize>()) else {
        eprintln!("ROUNDS must be a whole number");
        return std::process::ExitCode::FAILURE;
    };
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        match lodestone_network::read_network_dir(&dir) {
            Ok(net) => {
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "load {secs:.3} s ({} nodes, {} flows)",
                    net.len(),
                    net.flows.len()
                );
            }
            Err(problems) => {
                for p in problems {
                    eprintln!("{p}");
                }
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
