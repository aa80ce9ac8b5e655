//! Hostile inputs: random bytes, and valid modules (every `wat/` fixture)
//! mutated by bit flips, truncation, inserted and deleted bytes and swapped
//! sections, fed through `ComponentSource::from_bytes` and started under
//! tight limits.
//!
//! Whatever the bytes, `start` returns (a watchdog aborts the process if a
//! case runs for a minute), nothing panics, and the result is `Ok` (then the
//! actor is Ready, answers a health check and stops to Terminated) or a
//! typed error of a kind a start may report, with the actor Failed.
//! The WASI guests (the `wat/wasi_*` fixtures and the C modules of
//! `guests/`) are mutated too and started with WASI granted (no
//! directories, a small output cap), where `proc_exit` may also end them.
//! `PROPTEST_CASES` sets the number of cases of each test (default 10,000
//! for bytes and for mutated modules, 1,000 for mutated WASI modules).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Child, ComponentActor, ComponentManifest, ComponentSource, ErrorKind,
    ResourceLimits, Runtime, RuntimeConfig, WASM_MAGIC, WasiConfig,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

/// Kinds a `start` of arbitrary bytes may fail with.
const START_ERRORS: [ErrorKind; 12] = [
    ErrorKind::EmptyModule,
    ErrorKind::InvalidMagic,
    ErrorKind::Compile,
    ErrorKind::PermissionDenied,
    // A permitted `host::log` imported as a memory, table or global.
    ErrorKind::UnsupportedImport,
    ErrorKind::Instantiation,
    ErrorKind::MemoryLimit,
    ErrorKind::TableLimit,
    ErrorKind::OutOfFuel,
    ErrorKind::Deadline,
    ErrorKind::Trap,
    ErrorKind::ExportSignature,
];

fn tight() -> ComponentManifest {
    ComponentManifest::builder("hostile")
        .limits(ResourceLimits {
            max_memory_bytes: 1 << 20,
            max_table_elements: 1_000,
            max_fuel: Some(100_000),
            max_call_duration: Duration::from_millis(5),
            ..ResourceLimits::default()
        })
        .allow_import("host", "log")
        .build()
        .unwrap()
}

/// [`tight`], with WASI granted: no arguments, no directories, 4 KiB of
/// output per stream.
fn tight_wasi() -> ComponentManifest {
    ComponentManifest::builder("hostile")
        .limits(tight().limits().clone())
        .allow_import("host", "log")
        .wasi(WasiConfig {
            max_output_bytes: 4096,
            ..WasiConfig::default()
        })
        .build()
        .unwrap()
}

/// The WASI guests: `wat/wasi_*.wat` compiled, and `guests/*.wasm`.
fn wasi_seeds() -> Vec<Vec<u8>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut paths: Vec<_> = ["wat", "guests"]
        .iter()
        .flat_map(|d| std::fs::read_dir(format!("{root}/{d}")).unwrap())
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            (name.starts_with("wasi_") && name.ends_with(".wat")) || name.ends_with(".wasm")
        })
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .filter_map(|p| wat::parse_file(p).ok())
        .collect();
    assert!(seeds.len() >= 10, "only {} WASI seeds", seeds.len());
    seeds
}

/// Every fixture that parses, compiled to a binary.
fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/wat");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .filter_map(|p| wat::parse_file(p).ok())
        .collect();
    assert!(seeds.len() >= 20, "only {} fixtures parsed", seeds.len());
    seeds
}

/// The `(start, end)` byte ranges of a binary's sections, if it parses that far.
fn sections(wasm: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut at = 8;
    let mut out = Vec::new();
    while at < wasm.len() {
        let start = at;
        at += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let b = *wasm.get(at)?;
            at += 1;
            size |= usize::from(b & 0x7f).checked_shl(shift)?;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
            if shift > 28 {
                return None;
            }
        }
        at = at.checked_add(size)?;
        if at > wasm.len() {
            return None;
        }
        out.push((start, at));
    }
    Some(out)
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit { at: usize, bit: u8 },
    Truncate { keep: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    SwapSections { a: usize, b: usize },
}

impl Mutation {
    /// Positions are taken modulo the length; they skip the 8-byte header
    /// (which only ever yields InvalidMagic or Compile) when there is a body.
    fn apply(&self, wasm: &mut Vec<u8>) {
        let n = wasm.len().max(1);
        let body = |at: usize, len: usize| {
            if len > 8 {
                8 + at % (len - 8)
            } else {
                at % len.max(1)
            }
        };
        match self {
            Mutation::FlipBit { at, bit } => {
                let at = body(*at, wasm.len());
                if let Some(b) = wasm.get_mut(at) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Mutation::Truncate { keep } => wasm.truncate(keep % n),
            Mutation::Insert { at, bytes } => {
                let at = body(*at, wasm.len() + 1);
                wasm.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete { at, len } => {
                let at = body(*at, wasm.len());
                let end = (at + len).min(wasm.len());
                if at < end {
                    wasm.drain(at..end);
                }
            }
            Mutation::SwapSections { a, b } => {
                let Some(secs) = sections(wasm) else { return };
                if secs.len() < 2 {
                    return;
                }
                let (i, j) = (a % secs.len(), b % secs.len());
                let (i, j) = (i.min(j), i.max(j));
                if i == j {
                    return;
                }
                let (si, sj) = (secs[i], secs[j]);
                let mut out = wasm[..si.0].to_vec();
                out.extend_from_slice(&wasm[sj.0..sj.1]);
                out.extend_from_slice(&wasm[si.1..sj.0]);
                out.extend_from_slice(&wasm[si.0..si.1]);
                out.extend_from_slice(&wasm[sj.1..]);
                *wasm = out;
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (any::<usize>(), 1..8usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapSections { a, b }),
    ]
}

/// What the cases did, printed at the end.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    started: u64,
    errors: BTreeMap<&'static str, u64>,
    slowest: Duration,
}

struct World {
    /// The manifest every case starts under.
    manifest: ComponentManifest,
    tokio: tokio::runtime::Runtime,
    runtime: Runtime,
    tally: std::cell::RefCell<Tally>,
    heartbeat: Arc<AtomicU64>,
    epoch: Instant,
}

impl World {
    /// A runtime and a watchdog: if no case finishes for 60 s, the process
    /// aborts, so a hang fails the test instead of stalling CI.
    fn new(name: &'static str) -> Self {
        let heartbeat = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let beat = heartbeat.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let last = Duration::from_millis(beat.load(Ordering::Relaxed));
                if epoch.elapsed().saturating_sub(last) > Duration::from_secs(60) {
                    eprintln!("{name}: a case has not returned for 60 s: hang");
                    std::process::abort();
                }
            }
        });
        World {
            manifest: tight(),
            tokio: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            runtime: Runtime::new(RuntimeConfig::default()).unwrap(),
            tally: Default::default(),
            heartbeat,
            epoch,
        }
    }

    /// Starts `bytes` under tight limits and checks the whole lifecycle.
    fn check(&self, bytes: Vec<u8>) -> Result<(), TestCaseError> {
        let began = Instant::now();
        let mut actor = ComponentActor::new(
            &self.runtime,
            ComponentSource::from_bytes(bytes),
            self.manifest.clone(),
        );
        let result = self.tokio.block_on(async {
            let r = actor.start().await;
            let state = actor.state();
            let health = actor.health_check().await;
            let stop = actor.stop(Duration::from_millis(5)).await;
            (r, state, health, stop, actor.state())
        });
        let (r, state, _health, stop, end) = result;
        let took = began.elapsed();
        self.heartbeat
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        let mut tally = self.tally.borrow_mut();
        tally.cases += 1;
        tally.slowest = tally.slowest.max(took);
        match &r {
            Ok(()) => {
                tally.started += 1;
                prop_assert_eq!(&state, &ActorState::Ready);
            }
            Err(e) => {
                *tally.errors.entry(e.kind().as_str()).or_default() += 1;
                // `proc_exit(n)`, n != 0, from a WASI guest.
                let exit = e.kind() == ErrorKind::Exit && self.manifest.wasi().is_some();
                prop_assert!(
                    START_ERRORS.contains(&e.kind()) || exit,
                    "unexpected kind: {}",
                    e
                );
                prop_assert_eq!(e.component(), "hostile");
                prop_assert!(!e.to_string().contains('\n'), "multi-line error: {}", e);
                prop_assert_eq!(state.name(), "Failed", "after {}", e);
            }
        }
        prop_assert!(stop.is_ok(), "stop failed: {:?}", stop);
        prop_assert_eq!(end, ActorState::Terminated);
        Ok(())
    }
}

fn runner(cases_default: u32, file: &'static str) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases_default);
    TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::default()
    })
}

#[test]
fn random_bytes_never_panic_or_hang() {
    let world = World::new("random_bytes_never_panic_or_hang");
    let mut runner = runner(10_000, "proptest-regressions/prop_hostile_random.txt");
    let header: Vec<u8> = WASM_MAGIC.iter().copied().chain([1, 0, 0, 0]).collect();
    let strategy = (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(move |(with_header, rest)| {
            if with_header {
                header.iter().copied().chain(rest).collect()
            } else {
                rest
            }
        });
    let result = runner.run(&strategy, |bytes| world.check(bytes));
    println!("hostile random bytes: {:?}", world.tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn mutated_modules_never_panic_or_hang() {
    let world = World::new("mutated_modules_never_panic_or_hang");
    let seeds = seeds();
    let mut runner = runner(10_000, "proptest-regressions/prop_hostile_mutated.txt");
    let strategy = (
        proptest::sample::select(seeds),
        proptest::collection::vec(mutation(), 1..4),
    )
        .prop_map(|(mut wasm, mutations)| {
            for m in &mutations {
                m.apply(&mut wasm);
            }
            wasm
        });
    let result = runner.run(&strategy, |bytes| world.check(bytes));
    println!("hostile mutated modules: {:?}", world.tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn mutated_wasi_modules_never_panic_or_hang() {
    let mut world = World::new("mutated_wasi_modules_never_panic_or_hang");
    world.manifest = tight_wasi();
    let seeds = wasi_seeds();
    let mut runner = runner(1_000, "proptest-regressions/prop_hostile_wasi.txt");
    let strategy = (
        proptest::sample::select(seeds),
        proptest::collection::vec(mutation(), 1..4),
    )
        .prop_map(|(mut wasm, mutations)| {
            for m in &mutations {
                m.apply(&mut wasm);
            }
            wasm
        });
    let result = runner.run(&strategy, |bytes| world.check(bytes));
    println!("hostile mutated WASI modules: {:?}", world.tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn section_swap_really_swaps() {
    let wasm = wat::parse_str(r#"(module (memory 1) (func (export "_start")))"#).unwrap();
    let before = sections(&wasm).unwrap();
    assert!(before.len() >= 3, "{before:?}");
    let mut swapped = wasm.clone();
    Mutation::SwapSections { a: 0, b: 1 }.apply(&mut swapped);
    assert_eq!(swapped.len(), wasm.len());
    assert_ne!(swapped, wasm);
    let after = sections(&swapped).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(
        swapped[after[0].0], wasm[before[1].0],
        "first section is now the old second"
    );
}
