//! Memory the heap profiler cannot see: linear memories, fiber stacks and
//! code are mmap'd, and each `Runtime` owns an epoch ticker thread.
//!
//! One test (this binary runs nothing else, so the thread and descriptor
//! counts are this test's alone): after a warm-up, 10,000 lifecycle cycles
//! over good and hostile fixtures must leave resident memory (`VmRSS`)
//! within 1 MiB of the baseline and the number of mappings
//! (`/proc/self/maps`), open descriptors (`/proc/self/fd`) and threads
//! (`/proc/self/task`) exactly at it; then 100 `Runtime`s created, used and
//! dropped must leave no ticker thread behind; then an idle runtime's
//! ticker must go to sleep (no wake-ups), be woken by the next guest call
//! (a spinning guest still meets its deadline) and end when the runtime is
//! dropped while it sleeps; last, a live actor must hold at least 4 GiB of
//! address space under wasmtime's memory reservation and at most 256 MiB
//! under `RuntimeConfig::memory_reservation` = 1 MiB.

use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentManifest,
    ComponentSource, ErrorKind, Preopen, ResourceLimits, Runtime, RuntimeConfig, WasiConfig,
};

const CYCLES: usize = 10_000;
const FIRST_REPORT: usize = 1_000;
const WARM_UP: usize = 200;
const RSS_BOUND_KIB: i64 = 1024;
/// The epoch ticker's thread name as the kernel keeps it (15 bytes of
/// "component-actor-epoch").
const TICKER_COMM: &str = "component-actor";

/// What one cycle of a fixture must do.
#[derive(Clone, Copy)]
enum Expect {
    Runs(CleanupOutcome2),
    StartFails(ErrorKind),
    /// Started, spawned into its task, sent three messages through its
    /// address (`Ok`: each echoed; `Err`: the first answered with this
    /// kind, the rest `Stopped`), stopped through the address, which is
    /// then dropped (the task ends).
    Messages(Result<(), ErrorKind>),
}

/// `CleanupOutcome` without its reason, so `Expect` is `Copy`.
#[derive(Clone, Copy, PartialEq, Debug)]
enum CleanupOutcome2 {
    Completed,
    TimedOut,
    NotExported,
}

struct Fixture {
    source: ComponentSource,
    manifest: ComponentManifest,
    stop_timeout: Duration,
    expect: Expect,
}

fn wasm(name: &str) -> ComponentSource {
    let path = format!("{}/wat/{name}", env!("CARGO_MANIFEST_DIR"));
    ComponentSource::from_bytes(wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn short_deadline() -> ResourceLimits {
    ResourceLimits {
        max_fuel: None,
        max_call_duration: Duration::from_millis(3),
        ..ResourceLimits::default()
    }
}

/// A WASI actor: the C command `guests/wasi_echo.wasm` with stdin from a
/// file, a read-only and a writable preopen (each start opens both
/// directories: file descriptors that must all be closed again).
fn wasi_echo() -> Fixture {
    let dir =
        std::env::temp_dir().join(format!("component-actor-resources-{}", std::process::id()));
    for sub in ["in", "out"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("in/input.txt"), "input\n").unwrap();
    std::fs::write(dir.join("stdin.bin"), "stdin\n").unwrap();
    let wasi = WasiConfig {
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
    Fixture {
        source: wasm("../guests/wasi_echo.wasm"),
        manifest: ComponentManifest::builder("wasi_echo")
            .limits(ResourceLimits {
                max_call_duration: Duration::from_secs(10),
                ..ResourceLimits::default()
            })
            .wasi(wasi)
            .build()
            .unwrap(),
        stop_timeout: Duration::from_millis(100),
        expect: Expect::Runs(CleanupOutcome2::NotExported),
    }
}

/// Fourteen fixtures, one per cycle in turn: half good (one a WASI command,
/// one an actor answering messages in its own task), half hostile (one a
/// WASI guest asleep in a host call past its deadline, one trapping in
/// `handle-message`).
fn fixtures() -> Vec<Fixture> {
    let fixture = |file: &str, limits: ResourceLimits, stop_ms: u64, expect: Expect| Fixture {
        source: wasm(file),
        manifest: ComponentManifest::builder(file.trim_end_matches(".wat"))
            .limits(limits)
            .build()
            .unwrap(),
        stop_timeout: Duration::from_millis(stop_ms),
        expect,
    };
    let good = || {
        fixture(
            "good.wat",
            ResourceLimits::default(),
            100,
            Expect::Runs(CleanupOutcome2::Completed),
        )
    };
    vec![
        good(),
        fixture(
            "start_trap.wat",
            ResourceLimits::default(),
            100,
            Expect::StartFails(ErrorKind::Trap),
        ),
        good(),
        fixture(
            "memory_grow_trap.wat",
            ResourceLimits {
                max_memory_bytes: 1 << 20,
                ..ResourceLimits::default()
            },
            100,
            Expect::StartFails(ErrorKind::MemoryLimit),
        ),
        good(),
        fixture(
            "start_infinite_loop.wat",
            short_deadline(),
            100,
            Expect::StartFails(ErrorKind::Deadline),
        ),
        wasi_echo(),
        fixture(
            "log_denied.wat",
            ResourceLimits::default(),
            100,
            Expect::StartFails(ErrorKind::PermissionDenied),
        ),
        good(),
        fixture(
            "cleanup_hang.wat",
            short_deadline(),
            3,
            Expect::Runs(CleanupOutcome2::TimedOut),
        ),
        fixture(
            "message_echo.wat",
            ResourceLimits::default(),
            100,
            Expect::Messages(Ok(())),
        ),
        fixture(
            "message_trap.wat",
            ResourceLimits::default(),
            100,
            Expect::Messages(Err(ErrorKind::Trap)),
        ),
        good(),
        Fixture {
            source: wasm("wasi_sleep.wat"),
            manifest: ComponentManifest::builder("wasi_sleep")
                .limits(short_deadline())
                .wasi(WasiConfig::default())
                .build()
                .unwrap(),
            stop_timeout: Duration::from_millis(100),
            expect: Expect::StartFails(ErrorKind::Deadline),
        },
    ]
}

/// One start -> health -> stop cycle of a fresh actor.
async fn cycle(runtime: &Runtime, f: &Fixture) {
    let mut actor = ComponentActor::new(runtime, f.source.clone(), f.manifest.clone());
    match f.expect {
        Expect::Runs(cleanup) => {
            actor.start().await.expect("start");
            assert_eq!(actor.health_check().await, ChildHealth::Healthy);
            actor.stop(f.stop_timeout).await.expect("stop");
            assert_eq!(actor.state(), ActorState::Terminated);
            let got = match actor.last_cleanup() {
                Some(CleanupOutcome::Completed) => CleanupOutcome2::Completed,
                Some(CleanupOutcome::TimedOut) => CleanupOutcome2::TimedOut,
                Some(CleanupOutcome::NotExported) => CleanupOutcome2::NotExported,
                other => panic!("cleanup outcome {other:?}"),
            };
            assert_eq!(got, cleanup);
        }
        Expect::StartFails(kind) => {
            let e = actor.start().await.expect_err("start must fail");
            assert_eq!(e.kind(), kind, "{e}");
            assert_eq!(actor.state().name(), "Failed");
        }
        Expect::Messages(first) => {
            actor.start().await.expect("start");
            let address = actor.spawn().expect("spawn");
            for i in 0..3 {
                let answer = address.request("ping").await;
                match (first, i) {
                    (Ok(()), _) => assert_eq!(&answer.expect("reply")[..], b"ping"),
                    (Err(kind), 0) => assert_eq!(answer.unwrap_err().kind(), kind),
                    (Err(_), _) => assert_eq!(answer.unwrap_err().kind(), ErrorKind::Stopped),
                }
            }
            address.stop(f.stop_timeout).await.expect("stop");
            assert_eq!(address.state(), ActorState::Terminated);
            drop(address);
            // The task ends once the last address is gone.
            tokio::task::yield_now().await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Usage {
    rss_kib: i64,
    maps: usize,
    fds: usize,
    threads: usize,
}

fn usage() -> Usage {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    let count = |dir: &str| std::fs::read_dir(dir).unwrap().count();
    Usage {
        rss_kib,
        maps: std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .count(),
        fds: count("/proc/self/fd"),
        threads: count("/proc/self/task"),
    }
}

/// Threads whose kernel name is `comm`.
fn threads_named(comm: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == comm)
        })
        .count()
}

/// The ticker thread's voluntary context switches: one per tick while it
/// ticks, none while it is parked.
fn ticker_wakeups() -> u64 {
    let task = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim_end() == TICKER_COMM)
        })
        .expect("a ticker thread");
    std::fs::read_to_string(task.path().join("status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("voluntary_ctxt_switches in the thread's status")
}

/// Wake-ups of the ticker over `window`, after `quiet` with no guest call.
fn idle_ticker_wakeups(quiet: Duration, window: Duration) -> u64 {
    std::thread::sleep(quiet);
    let before = ticker_wakeups();
    std::thread::sleep(window);
    ticker_wakeups() - before
}

/// Runs `f` on its own thread and waits for it at most `bound`: for code
/// that would hang, not return late, if the ticker never woke.
fn returns_within<T: Send + 'static>(
    what: &str,
    bound: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    finished
        .recv_timeout(bound)
        .unwrap_or_else(|e| panic!("{what} did not return within {bound:?}: {e}"))
}

/// Waits until every other thread is asleep: the first compile starts
/// wasmtime's parallel-compilation workers, which set up their
/// thread-locals (and their glibc arenas) when they first run, possibly
/// after a fast warm-up. A thread that never ran is runnable.
fn settle() {
    let me = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    for _ in 0..2000 {
        std::thread::sleep(Duration::from_millis(2));
        let busy = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(Result::ok)
            .any(|t| {
                let tid = t.file_name().to_string_lossy().into_owned();
                let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next());
                Some(&tid) != me.as_ref() && state == Some('R')
            });
        if !busy {
            return;
        }
    }
    panic!("other threads never went to sleep");
}

/// Polls `f` until it holds; a joined thread can linger in
/// `/proc/self/task` for a moment after `join` returns. The bound is only
/// "it happens at all".
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(10);
    while !f() {
        if Instant::now() > give_up {
            let names: Vec<String> = std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|c| c.trim_end().to_string())
                .collect();
            panic!("never happened: {what}; threads: {names:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn ten_thousand_cycles_and_a_hundred_runtimes_return_to_baseline() {
    // One blocking-pool thread, started in the warm-up: WASI file calls
    // run on tokio's blocking pool, whose threads are the embedder's to
    // size (see tests/heap_support), and the thread count must come back
    // exactly.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let mut fixtures = fixtures();

    // Phase 1: 10,000 cycles on one shared runtime.
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    // The new thread names itself when it first runs.
    eventually("the ticker thread is recognisable by name", || {
        threads_named(TICKER_COMM) == 1
    });
    let run = |n: usize| {
        tokio.block_on(async {
            for i in 0..n {
                cycle(&runtime, &fixtures[i % fixtures.len()]).await;
            }
        })
    };
    run(WARM_UP);
    settle();
    let base = usage();
    let started = Instant::now();
    run(FIRST_REPORT);
    settle();
    let at_first = usage();
    run(CYCLES - FIRST_REPORT);
    settle();
    let at_end = usage();
    println!(
        "resources: {CYCLES} cycles in {:.1?}; baseline {base:?}; after {FIRST_REPORT}: {at_first:?} \
         (RSS {:+} KiB); after {CYCLES}: {at_end:?} (RSS {:+} KiB)",
        started.elapsed(),
        at_first.rss_kib - base.rss_kib,
        at_end.rss_kib - base.rss_kib,
    );
    assert!(
        at_end.rss_kib - base.rss_kib < RSS_BOUND_KIB,
        "VmRSS grew {} KiB over {CYCLES} cycles (bound {RSS_BOUND_KIB} KiB)",
        at_end.rss_kib - base.rss_kib
    );
    assert_eq!(at_end.maps, base.maps, "mappings in /proc/self/maps");
    assert_eq!(at_end.fds, base.fds, "open file descriptors");
    assert_eq!(at_end.threads, base.threads, "threads");
    // log_denied is refused before it is compiled, so it is never cached:
    // good, start_trap, memory_grow_trap, start_infinite_loop,
    // cleanup_hang, wasi_echo, wasi_sleep, message_echo and message_trap are.
    assert_eq!(
        runtime.cached_modules(),
        9,
        "one cache entry per distinct admitted module"
    );
    drop(runtime);
    eventually("the shared runtime's ticker thread ends", || {
        threads_named(TICKER_COMM) == 0
    });

    // Phase 2: 100 runtimes, each used for one cycle and dropped.
    let before = usage();
    for _ in 0..100 {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        eventually("this runtime's ticker is running", || {
            threads_named(TICKER_COMM) == 1
        });
        tokio.block_on(cycle(&runtime, &fixtures[0]));
    }
    eventually("no ticker thread is left", || {
        threads_named(TICKER_COMM) == 0
    });
    eventually("the thread count returns to its baseline", || {
        usage().threads == before.threads
    });
    let after = usage();
    println!("resources: 100 runtimes: before {before:?}, after {after:?}");
    assert_eq!(
        after.fds, before.fds,
        "open file descriptors after 100 runtimes"
    );

    // Phase 3: an idle runtime's ticker sleeps; the next guest call wakes it.
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    eventually("the idle-test runtime's ticker is running", || {
        threads_named(TICKER_COMM) == 1
    });
    tokio.block_on(cycle(&runtime, &fixtures[0]));
    // It parks after 100 ms without a guest call; ticking every 1 ms it
    // would wake about 300 times in this window.
    let quiet = Duration::from_millis(400);
    let window = Duration::from_millis(300);
    let asleep = idle_ticker_wakeups(quiet, window);
    println!("resources: idle ticker woke {asleep} times in {window:?}");
    assert!(
        asleep <= 3,
        "an idle ticker woke {asleep} times in {window:?}"
    );
    // A spinning `_start` (3 ms deadline) and a hanging `_cleanup` (3 ms
    // timeout) begun while it sleeps: each must still be interrupted.
    let woken = runtime.clone();
    let hostile = [fixtures.swap_remove(9), fixtures.swap_remove(5)];
    returns_within(
        "guests begun while the ticker slept",
        Duration::from_secs(30),
        move || {
            let tokio = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            for f in &hostile {
                tokio.block_on(cycle(&woken, f));
            }
        },
    );
    let asleep = idle_ticker_wakeups(quiet, window);
    assert!(
        asleep <= 3,
        "the ticker did not go back to sleep: {asleep} wake-ups"
    );
    // Dropped while it sleeps, the runtime still stops and joins it.
    returns_within(
        "dropping a runtime whose ticker sleeps",
        Duration::from_secs(10),
        move || drop(runtime),
    );
    eventually("the sleeping ticker thread ends", || {
        threads_named(TICKER_COMM) == 0
    });

    // Phase 4: address space per live actor, under wasmtime's memory
    // reservation (4 GiB plus guards) and under a 1 MiB one.
    for (reservation, at_least_kib, at_most_kib) in [
        (None, 4u64 << 20, u64::MAX),
        (Some(1u64 << 20), 0, 256 << 10),
    ] {
        let per_actor = address_space_per_actor(&tokio, reservation);
        println!(
            "resources: memory_reservation {reservation:?}: {per_actor} KiB of address space per live actor"
        );
        assert!(
            (at_least_kib..=at_most_kib).contains(&per_actor),
            "memory_reservation {reservation:?}: {per_actor} KiB per actor, \
             expected {at_least_kib}..={at_most_kib}"
        );
    }
}

/// `VmSize` grown per live actor (KiB) while 50 actors with a one-page
/// memory are Ready on a runtime with this memory reservation.
fn address_space_per_actor(tokio: &tokio::runtime::Runtime, reservation: Option<u64>) -> u64 {
    const ACTORS: u64 = 50;
    let vm_size = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmSize:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmSize in /proc/self/status")
    };
    let runtime = Runtime::new(RuntimeConfig {
        memory_reservation: reservation,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let actor = || {
        ComponentActor::new(
            &runtime,
            ComponentSource::from_wat("(module (memory 1))"),
            ComponentManifest::new("reserved").unwrap(),
        )
    };
    tokio.block_on(async {
        // The first start compiles the module and maps its code.
        let mut first = actor();
        first.start().await.expect("start");
        let before = vm_size();
        let mut live = Vec::new();
        for _ in 0..ACTORS {
            let mut a = actor();
            a.start().await.expect("start");
            live.push(a);
        }
        let grown = vm_size().saturating_sub(before) / ACTORS;
        for a in live.iter_mut().chain([&mut first]) {
            a.stop(Duration::from_millis(50)).await.expect("stop");
        }
        grown
    })
}
