//! A fixed loop of warm starts and stops, ours or raw wasmtime's, for
//! instruction-count profiling (`valgrind --tool=callgrind`), where timing
//! noise does not reach:
//!
//! ```text
//! cargo build --release --example profile_start
//! valgrind --tool=callgrind target/release/examples/profile_start ours pooling 2000
//! valgrind --tool=callgrind target/release/examples/profile_start raw pooling 2000
//! ```
//!
//! Subtract a run with N = 0 from one with N > 0 and divide by N for the
//! instructions of one start+stop cycle.

#[path = "../benches/common/mod.rs"]
mod common;

use common::*;
use component_actor::{ActorState, Allocation};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let side = args.get(1).map(String::as_str).unwrap_or("ours");
    let allocation = match args.get(2).map(String::as_str) {
        Some("pooling") => pooling(64),
        _ => Allocation::OnDemand,
    };
    let n: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let bytes = guest();
    rt.block_on(async {
        match side {
            "raw" => {
                let raw = Raw::new(allocation, &bytes);
                assert!(raw.start().await.stop(STOP_TIMEOUT).await);
                for _ in 0..n {
                    assert!(raw.start().await.stop(STOP_TIMEOUT).await);
                }
            }
            _ => {
                let ours = runtime(allocation);
                let mut a = actor(&ours, &bytes);
                start_ready(&mut a).await;
                stop_terminated(&mut a, STOP_TIMEOUT).await;
                for _ in 0..n {
                    let mut a = actor(&ours, &bytes);
                    start_ready(&mut a).await;
                    stop_terminated(&mut a, STOP_TIMEOUT).await;
                }
                assert_eq!(a.state(), ActorState::Terminated);
            }
        }
    });
}
