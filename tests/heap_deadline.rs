//! Heap gate (dhat): `_start` spins forever with no fuel cap (`wat/start_infinite_loop.wat`) and a
//! 3 ms deadline interrupts it.
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
fn deadline_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "deadline",
        Gate {
            fixture: "start_infinite_loop.wat",
            manifest: ComponentManifest::builder("deadline")
                .limits(heap_support::short_deadline())
                .build()
                .unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::StartFails(ErrorKind::Deadline),
            max_allocations_per_cycle: 48.0,
        },
    );
}
