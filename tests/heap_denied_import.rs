//! Heap gate (dhat): the module imports `host::log` without permission (`wat/log_denied.wat`);
//! refused before instantiation.
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
fn denied_import_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    heap_support::run(
        "denied_import",
        Gate {
            fixture: "log_denied.wat",
            manifest: ComponentManifest::new("denied_import").unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::StartFails(ErrorKind::PermissionDenied),
            max_allocations_per_cycle: 48.0,
        },
    );
}
