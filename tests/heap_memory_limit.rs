//! Heap gate (dhat): `_start` grows memory past a 1 MiB cap and traps (`wat/memory_grow_trap.wat`).
//!
//! 1000 start -> health -> stop cycles of one actor on one shared `Runtime`,
//! after a warm-up: the live heap must end exactly where it started (0 bytes,
//! 0 blocks of growth). Its own test binary, so the dhat allocator sees only
//! this test.

mod heap_support;

use std::time::Duration;

use component_actor::{ComponentManifest, ErrorKind, ResourceLimits};
use heap_support::{Expect, Gate};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn memory_limit_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "memory_limit",
        Gate {
            fixture: "memory_grow_trap.wat",
            manifest: ComponentManifest::builder("memory_limit")
                .limits(ResourceLimits {
                    max_memory_bytes: 1 << 20,
                    ..ResourceLimits::default()
                })
                .build()
                .unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::StartFails(ErrorKind::MemoryLimit),
            max_allocations_per_cycle: 48.0,
        },
    );
}
