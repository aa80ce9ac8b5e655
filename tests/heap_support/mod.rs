//! Shared body of the dhat heap gates (`tests/heap_*.rs`). Each gate is its
//! own test binary with its own `#[global_allocator]`; this module only
//! drives the cycles and compares the heap before and after.
//!
//! A gate compiles its fixture and warms up (first compile, thread-local
//! caches, wasmtime's per-engine state) before taking the baseline, then
//! runs [`CYCLES`] start -> health -> stop cycles of one actor on one shared
//! [`Runtime`] and requires the live heap to be exactly where it was.

#![allow(dead_code)] // each gate uses part of this module

use std::time::Duration;

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentManifest,
    ComponentSource, ErrorKind, ResourceLimits, Runtime, RuntimeConfig,
};

/// Measured cycles after the warm-up (`HEAP_GATE_CYCLES` may raise it).
pub const CYCLES: u64 = 1000;

fn cycles() -> u64 {
    std::env::var("HEAP_GATE_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CYCLES)
        .max(CYCLES)
}
/// Cycles run before the baseline is taken.
pub const WARM_UP: u64 = 20;

/// What one cycle of a fixture must do.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Start succeeds, `health_check` gives this, stop gives this cleanup outcome.
    Runs(ChildHealth, CleanupOutcome),
    /// Start fails with this kind (then stop takes Failed -> Terminated).
    StartFails(ErrorKind),
}

/// One heap gate: a fixture, its manifest and what a cycle must do.
pub struct Gate {
    pub fixture: &'static str,
    pub manifest: ComponentManifest,
    pub stop_timeout: Duration,
    pub expect: Expect,
    /// Heap allocations one cycle may make (test-side ones included; the
    /// cycle code allocates nothing itself on the good path).
    pub max_allocations_per_cycle: f64,
}

/// The fixture `wat/<name>` compiled to a binary (so every cycle goes
/// through `ComponentSource::from_bytes`, no text parsing).
pub fn fixture(name: &str) -> ComponentSource {
    let path = format!("{}/wat/{name}", env!("CARGO_MANIFEST_DIR"));
    ComponentSource::from_bytes(wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Default limits with no fuel cap and a short deadline: only the wall
/// clock stops a spinning guest, and it does so quickly.
pub fn short_deadline() -> ResourceLimits {
    ResourceLimits {
        max_fuel: None,
        max_call_duration: Duration::from_millis(3),
        ..ResourceLimits::default()
    }
}

async fn cycle(actor: &mut ComponentActor, gate: &Gate) {
    match &gate.expect {
        Expect::Runs(health, cleanup) => {
            actor.start().await.expect("start");
            assert_eq!(actor.health_check().await, *health);
            actor.stop(gate.stop_timeout).await.expect("stop");
            assert_eq!(actor.state(), ActorState::Terminated);
            assert_eq!(actor.last_cleanup().as_ref(), Some(cleanup));
        }
        Expect::StartFails(kind) => {
            let e = actor.start().await.expect_err("start must fail");
            assert_eq!(e.kind(), *kind, "{e}");
            drop(e);
            actor.stop(gate.stop_timeout).await.expect("stop");
            assert_eq!(actor.state(), ActorState::Terminated);
        }
    }
}

/// Waits until every other thread of the process is asleep.
///
/// The first compile starts wasmtime's parallel-compilation (rayon) worker
/// threads, and each worker allocates its thread-locals when it first runs.
/// On a loaded 2-core machine a worker may first run only after a fast
/// warm-up, and its few blocks would then show up as "growth" (seen: 1-6
/// blocks, 3.8-10 KB, in about one run of two, on the `memory_initial`
/// gate). A thread that has never run is runnable, so once no other thread
/// is runnable, they all have started. The epoch ticker wakes every
/// millisecond, so the check is repeated until it sees everyone asleep.
pub fn settle() {
    let me = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    for _ in 0..2000 {
        std::thread::sleep(Duration::from_millis(2));
        let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
        let busy = tasks.filter_map(Result::ok).any(|t| {
            let tid = t.file_name().to_string_lossy().into_owned();
            if Some(&tid) == me.as_ref() {
                return false;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // The state follows the parenthesised name: "tid (name) S ...".
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            matches!(state, Some('R'))
        });
        if !busy {
            return;
        }
    }
    panic!("other threads never went to sleep");
}

/// Heap figures of one gate.
#[derive(Debug)]
pub struct Report {
    pub bytes_growth: i64,
    pub blocks_growth: i64,
    pub allocations_per_cycle: f64,
    pub bytes_allocated_per_cycle: f64,
}

/// Runs the gate: warm-up, baseline, [`CYCLES`] cycles, comparison. Must be
/// called with a `dhat::Profiler` running. Panics if the live heap grew.
pub fn run(name: &str, gate: Gate) -> Report {
    // One blocking-pool thread: a WASI guest's file calls run on tokio's
    // blocking pool, which otherwise may start a new thread for a call
    // made just before the last one's thread is idle again (threads that
    // live on for the pool's keep-alive, and would show as growth here).
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut actor = ComponentActor::new(&runtime, fixture(gate.fixture), gate.manifest.clone());

    tokio.block_on(async {
        for _ in 0..WARM_UP {
            cycle(&mut actor, &gate).await;
        }
    });
    settle();

    let cycles = cycles();
    let before = dhat::HeapStats::get();
    tokio.block_on(async {
        for _ in 0..cycles {
            cycle(&mut actor, &gate).await;
        }
    });
    let after = dhat::HeapStats::get();

    let report = Report {
        bytes_growth: after.curr_bytes as i64 - before.curr_bytes as i64,
        blocks_growth: after.curr_blocks as i64 - before.curr_blocks as i64,
        allocations_per_cycle: (after.total_blocks - before.total_blocks) as f64 / cycles as f64,
        bytes_allocated_per_cycle: (after.total_bytes - before.total_bytes) as f64 / cycles as f64,
    };
    println!(
        "heap gate {name}: {cycles} cycles, live heap growth {} bytes in {} blocks, \
         {:.2} allocations ({:.0} bytes) per cycle",
        report.bytes_growth,
        report.blocks_growth,
        report.allocations_per_cycle,
        report.bytes_allocated_per_cycle
    );
    assert_eq!(
        (report.bytes_growth, report.blocks_growth),
        (0, 0),
        "{name}: live heap grew over {cycles} cycles (bytes, blocks)"
    );
    assert!(
        report.allocations_per_cycle <= gate.max_allocations_per_cycle,
        "{name}: {} allocations per cycle, budget {}",
        report.allocations_per_cycle,
        gate.max_allocations_per_cycle
    );
    drop(actor);
    drop(runtime);
    report
}
