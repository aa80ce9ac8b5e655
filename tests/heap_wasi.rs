//! Heap gate (dhat): start -> health -> stop of a real C command under
//! WASI (`guests/wasi_echo.wasm`, built with clang and wasi-libc), with
//! arguments, an environment, stdin from a file, a read-only and a
//! writable preopen: every cycle builds a WASI context, runs `main` (which
//! reads, writes a file and prints), and drops it all.
//!
//! 1000 cycles of one actor after a warm-up: the live heap must end exactly
//! where it started (0 bytes, 0 blocks of growth). Its own test binary.

mod heap_support;

use std::collections::BTreeMap;
use std::time::Duration;

use component_actor::{
    ChildHealth, CleanupOutcome, ComponentManifest, Preopen, ResourceLimits, WasiConfig,
};
use heap_support::{Expect, Gate};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn wasi_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let dir =
        std::env::temp_dir().join(format!("component-actor-heap-wasi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["in", "out"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("in/input.txt"), "input for the C guest\n").unwrap();
    std::fs::write(dir.join("stdin.bin"), "stdin for the C guest\n").unwrap();
    let wasi = WasiConfig {
        args: vec!["one".into(), "two".into()],
        env: BTreeMap::from([("GREETING".to_string(), "hi".to_string())]),
        stdin: Some(dir.join("stdin.bin")),
        preopens: vec![
            Preopen {
                host: dir.join("in"),
                guest: "/in".into(),
                writable: false,
            },
            Preopen {
                host: dir.join("out"),
                guest: "/out".into(),
                writable: true,
            },
        ],
        ..WasiConfig::default()
    };
    let manifest = ComponentManifest::builder("wasi_echo")
        .limits(ResourceLimits {
            max_call_duration: Duration::from_secs(10),
            ..ResourceLimits::default()
        })
        .wasi(wasi)
        .build()
        .unwrap();
    heap_support::run(
        "wasi",
        Gate {
            fixture: "../guests/wasi_echo.wasm",
            manifest,
            stop_timeout: Duration::from_millis(100),
            expect: Expect::Runs(ChildHealth::Healthy, CleanupOutcome::NotExported),
            // Building a WASI context (wasmtime-wasi's tables, the streams,
            // two preopened directories) and running a C `main` that opens
            // and writes files: 204 measured.
            max_allocations_per_cycle: 240.0,
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
}
