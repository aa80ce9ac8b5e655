//! `component-actor`: runs the bundled fixture suite through the lifecycle.

use std::path::PathBuf;
use std::process::ExitCode;

use component_actor::suite;
use component_actor::{Runtime, RuntimeConfig};

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wat"));
    let fixtures = match suite::discover(&dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match Runtime::new(RuntimeConfig::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "{:<26} {:<32} {:<32} {:>10} {:>10}  result",
        "fixture", "expected", "observed", "start", "stop"
    );
    let mut failed = 0;
    for fixture in &fixtures {
        let observed = rt.block_on(suite::run(&runtime, fixture));
        match observed {
            Ok(o) => {
                let problems = suite::mismatches(fixture, &o);
                println!(
                    "{:<26} {:<32} {:<32} {:>10} {:>10}  {}",
                    fixture.name,
                    fixture.expect.to_string(),
                    o.summary(),
                    format!("{:.2?}", o.start_time),
                    format!("{:.2?}", o.stop_time),
                    if problems.is_empty() { "ok" } else { "MISMATCH" }
                );
                for p in &problems {
                    println!("    {p}");
                }
                failed += usize::from(!problems.is_empty());
            }
            Err(e) => {
                println!("{:<26} fixture error: {e}", fixture.name);
                failed += 1;
            }
        }
    }
    println!("{} passed, {} failed", fixtures.len() - failed, failed);
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
