//! Heap gate (dhat): instantiation fails because the initial memory (257 pages) is over the
//! 16 MiB cap (`wat/memory_initial_over.wat`).
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
fn memory_initial_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "memory_initial",
        Gate {
            fixture: "memory_initial_over.wat",
            manifest: ComponentManifest::new("memory_initial").unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::StartFails(ErrorKind::MemoryLimit),
            max_allocations_per_cycle: 48.0,
        },
    );
}
