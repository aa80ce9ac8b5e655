//! What `RuntimeConfig::memory_reservation` costs a memory-bound guest:
//! a `_start` of 10 million loads and 10 million stores in a 128 KiB
//! memory, run under wasmtime's reservation (4 GiB plus guards: no bounds
//! checks in compiled code) and under a 256 KiB one (every access checked),
//! alternating, best of 5 starts each, three rounds.
//!
//! ```text
//! cargo run --release --example memory_reservation
//! ```
//!
//! What it buys (address space per actor, and so how many actors fit) is
//! measured by `cargo run --release --example messages -- --scale N
//! --memory-reservation 262144`; see docs/messages.md#figures.

use std::time::{Duration, Instant};

use component_actor::{
    Child, ComponentActor, ComponentManifest, ComponentSource, ResourceLimits, Runtime,
    RuntimeConfig,
};

/// 10 million iterations of a load and a store, each masked into the
/// memory's two pages.
const GUEST: &str = r#"(module
  (memory 2)
  (func (export "_start") (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum)
        (i32.load (i32.and (local.get $i) (i32.const 131068)))))
      (i32.store (i32.and (i32.add (local.get $i) (i32.const 64)) (i32.const 131068))
        (local.get $sum))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 40000000))))))"#;

const RESERVATIONS: [Option<u64>; 2] = [None, Some(256 << 10)];

fn main() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let runtimes: Vec<Runtime> = RESERVATIONS
        .iter()
        .map(|&memory_reservation| {
            Runtime::new(RuntimeConfig {
                memory_reservation,
                ..RuntimeConfig::default()
            })
            .expect("runtime")
        })
        .collect();
    let manifest = ComponentManifest::builder("loads-and-stores")
        .limits(ResourceLimits {
            max_fuel: None,
            max_call_duration: Duration::from_secs(10),
            ..ResourceLimits::default()
        })
        .build()
        .expect("manifest");
    for round in 1..=3 {
        let mut best = [f64::MAX; 2];
        for _ in 0..5 {
            for (runtime, best) in runtimes.iter().zip(&mut best) {
                let mut actor = ComponentActor::new(
                    runtime,
                    ComponentSource::from_wat(GUEST),
                    manifest.clone(),
                );
                let t = Instant::now();
                tokio.block_on(actor.start()).expect("start");
                *best = best.min(t.elapsed().as_secs_f64() * 1e3);
                tokio
                    .block_on(actor.stop(Duration::from_secs(1)))
                    .expect("stop");
            }
        }
        println!(
            "round {round}: wasmtime's reservation {:.2} ms, 256 KiB reservation {:.2} ms: {:.2}x",
            best[0],
            best[1],
            best[1] / best[0]
        );
    }
}
