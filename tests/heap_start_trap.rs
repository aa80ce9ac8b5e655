//! Heap gate (dhat): `_start` traps (`wat/start_trap.wat`) on every start.
//!
//! 1000 start -> health -> stop cycles of one actor on one shared `Runtime`,
//! after a warm-up: the live heap must end exactly where it started (0 bytes,
//! 0 blocks of growth). Its own test binary, so the dhat allocator sees only
//! this test.

mod heap_support;

use std::time::Duration;

use component_actor::{ComponentManifest, ErrorKind};
use heap_support::{Expect, Gate};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn start_trap_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "start_trap",
        Gate {
            fixture: "start_trap.wat",
            manifest: ComponentManifest::new("start_trap").unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::StartFails(ErrorKind::Trap),
            max_allocations_per_cycle: 48.0,
        },
    );
}
