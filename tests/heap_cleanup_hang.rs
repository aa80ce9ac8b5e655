//! Heap gate (dhat): `_cleanup` never returns (`wat/cleanup_hang.wat`); a 3 ms stop timeout
//! interrupts it and stop still succeeds.
//!
//! 1000 start -> health -> stop cycles of one actor on one shared `Runtime`,
//! after a warm-up: the live heap must end exactly where it started (0 bytes,
//! 0 blocks of growth). Its own test binary, so the dhat allocator sees only
//! this test.

mod heap_support;

use std::time::Duration;

use component_actor::{ChildHealth, CleanupOutcome, ComponentManifest};
use heap_support::{Expect, Gate};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn cleanup_hang_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "cleanup_hang",
        Gate {
            fixture: "cleanup_hang.wat",
            manifest: ComponentManifest::builder("cleanup_hang")
                .limits(heap_support::short_deadline())
                .build()
                .unwrap(),
            stop_timeout: Duration::from_millis(3),
            expect: Expect::Runs(ChildHealth::Healthy, CleanupOutcome::TimedOut),
            max_allocations_per_cycle: 48.0,
        },
    );
}
