//! Heap gate (dhat): start -> `_health` -> stop of `wat/good.wat` (`_start`,
//! `_health` and `_cleanup` all exported).
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
fn good_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "good",
        Gate {
            fixture: "good.wat",
            manifest: ComponentManifest::new("good").unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::Runs(ChildHealth::Healthy, CleanupOutcome::Completed),
            // Raw wasmtime does the same guest work in about 19 allocations (GUIDE.md).
            max_allocations_per_cycle: 30.0,
        },
    );
}
