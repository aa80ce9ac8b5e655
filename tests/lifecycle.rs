//! The lifecycle through the public API: transitions, limits, deadlines,
//! permissions, cleanup and health, each named by the behaviour it checks.

use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentManifest,
    ComponentSource, ErrorKind, ResourceLimits, Runtime, RuntimeConfig,
};

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig::default()).unwrap()
}

fn actor(rt: &Runtime, wat: &str, manifest: ComponentManifest) -> ComponentActor {
    ComponentActor::new(rt, ComponentSource::from_wat(wat), manifest)
}

fn limits(f: impl FnOnce(&mut ResourceLimits)) -> ResourceLimits {
    let mut l = ResourceLimits::default();
    f(&mut l);
    l
}

const GOOD: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") (i32.store (i32.const 0) (i32.const 42)))
  (func (export "_health") (result i32) (i32.ne (i32.load (i32.const 0)) (i32.const 42)))
  (func (export "_cleanup")))"#;

const SPIN_START: &str = r#"(module (func (export "_start") (loop (br 0))))"#;

/// A `_start` that counts to $n: busy, but finite.
fn counting_start(n: u32) -> String {
    format!(
        r#"(module (func (export "_start") (local $i i32)
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))))"#
    )
}

#[tokio::test]
async fn start_and_stop_walk_the_states_in_order() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("good"));
    assert_eq!(a.state(), ActorState::Creating);
    a.start().await.unwrap();
    assert_eq!(a.state(), ActorState::Ready);
    assert_eq!(a.health_check().await, ChildHealth::Healthy);
    a.stop(Duration::from_millis(100)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
}

#[test]
fn the_handle_reads_state_from_another_thread_while_start_runs() {
    let rt = runtime();
    let manifest = ComponentManifest::new("slow").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_millis(300);
    }));
    let mut a = actor(&rt, SPIN_START, manifest);
    let handle = a.handle();
    assert_eq!(handle.state(), ActorState::Creating);
    assert_eq!(handle.component(), "slow");
    let seen = Arc::new(Mutex::new(Vec::<ActorState>::new()));
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let watcher = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            loop {
                let s = handle.state();
                let mut seen = seen.lock().unwrap();
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
                drop(seen);
                if stop_rx.try_recv().is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = tokio.block_on(a.start()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deadline);
    std::thread::sleep(Duration::from_millis(5));
    stop_tx.send(()).unwrap();
    watcher.join().unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.contains(&ActorState::Starting), "{seen:?}");
    assert!(
        matches!(seen.last(), Some(ActorState::Failed(_))),
        "{seen:?}"
    );
    for pair in seen.windows(2) {
        assert!(
            component_actor::is_legal_step(&pair[0], &pair[1]),
            "{seen:?}"
        );
    }
}

#[tokio::test]
async fn start_while_ready_is_an_invalid_transition_and_changes_nothing() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("twice"));
    a.start().await.unwrap();
    let e = a.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition);
    assert_eq!(
        e.to_string(),
        "component `twice`: cannot start: actor is Ready"
    );
    assert_eq!(a.state(), ActorState::Ready);
    assert_eq!(a.health_check().await, ChildHealth::Healthy);
}

#[tokio::test]
async fn stop_when_not_running_is_ok_and_terminates() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("idle"));
    a.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), None, "nothing ran");
    a.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);

    let mut f = actor(
        &rt,
        r#"(module (func (export "_start") unreachable))"#,
        ComponentManifest::new("f"),
    );
    f.start().await.unwrap_err();
    assert!(matches!(f.state(), ActorState::Failed(_)));
    f.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(f.state(), ActorState::Terminated);
}

#[tokio::test]
async fn a_hundred_start_stop_cycles_on_one_actor() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("cycles"));
    for i in 0..100 {
        a.start().await.unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        assert_eq!(a.health_check().await, ChildHealth::Healthy, "cycle {i}");
        a.stop(Duration::from_millis(50)).await.unwrap();
        assert_eq!(a.state(), ActorState::Terminated);
        assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
    }
    assert_eq!(rt.cached_modules(), 1);
}

#[tokio::test]
async fn a_failed_actor_can_be_started_again() {
    let rt = runtime();
    // `_start` traps the first time only: a global survives only within an
    // instance, so use the fuel budget instead: start under a tiny budget
    // fails, and the same actor cannot change its manifest, so check that a
    // restart is attempted and fails the same way, not InvalidTransition.
    let mut a = actor(
        &rt,
        r#"(module (func (export "_start") unreachable))"#,
        ComponentManifest::new("again"),
    );
    for _ in 0..3 {
        assert_eq!(a.start().await.unwrap_err().kind(), ErrorKind::Trap);
        assert!(matches!(a.state(), ActorState::Failed(ref r) if r.contains("unreachable")));
    }
}

#[tokio::test]
async fn errors_are_one_line_and_keep_the_wasmtime_error_as_source() {
    let rt = runtime();
    let mut a = actor(
        &rt,
        r#"(module (func (export "_start") unreachable))"#,
        ComponentManifest::new("trap"),
    );
    let e = a.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap);
    assert_eq!(e.component(), "trap");
    assert!(!e.to_string().contains('\n'), "{e}");
    assert!(e.to_string().contains("`_start` trapped"), "{e}");
    let mut chain = Vec::new();
    let mut next = e.source();
    while let Some(s) = next {
        chain.push(s.to_string());
        next = s.source();
    }
    assert!(
        chain.iter().any(|s| s.contains("wasm backtrace")),
        "{chain:?}"
    );
    assert!(chain.iter().any(|s| s.contains("unreachable")), "{chain:?}");
}

#[tokio::test]
async fn every_denied_import_is_listed_before_anything_runs() {
    let rt = runtime();
    let wat = r#"(module
        (import "env" "a" (func))
        (import "host" "log" (func (param i32 i32)))
        (import "wasi" "b" (memory 1))
        (func $s (unreachable)) (start $s))"#;
    let mut a = actor(&rt, wat, ComponentManifest::new("deny"));
    let e = a.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(e.denied_imports(), ["env::a", "host::log", "wasi::b"]);
    // Permitting one of them leaves the other two.
    let mut a = actor(
        &rt,
        wat,
        ComponentManifest::new("deny").allow_import("host", "log"),
    );
    let e = a.start().await.unwrap_err();
    assert_eq!(e.denied_imports(), ["env::a", "wasi::b"]);
}

#[tokio::test]
async fn memory_over_the_limit_at_instantiation_is_a_memory_limit() {
    let rt = runtime();
    let manifest =
        ComponentManifest::new("big").with_limits(limits(|l| l.max_memory_bytes = 2 * 65536));
    let mut a = actor(&rt, "(module (memory 3))", manifest.clone());
    let e = a.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MemoryLimit, "{e}");
    // Exactly at the limit is fine.
    let mut a = actor(&rt, "(module (memory 2))", manifest);
    a.start().await.unwrap();
}

#[tokio::test]
async fn a_refused_growth_is_forgotten_by_the_next_call() {
    // `_start` copes with a refused memory.grow; `_health` later traps for
    // an unrelated reason, which must be reported as a trap, not MemoryLimit.
    let rt = runtime();
    let manifest =
        ComponentManifest::new("cope").with_limits(limits(|l| l.max_memory_bytes = 65536));
    let wat = r#"(module (memory 1)
        (func (export "_start") (drop (memory.grow (i32.const 1))))
        (func (export "_health") (result i32) unreachable))"#;
    let mut a = actor(&rt, wat, manifest);
    a.start().await.unwrap();
    match a.health_check().await {
        ChildHealth::Failed(reason) => {
            assert!(reason.contains("trapped"), "{reason}");
            assert!(!reason.contains("memory"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fuel_is_refilled_before_every_call() {
    // Each `_health` burns about half of the budget: with one fill for the
    // actor's life, the second check would run out of fuel.
    let rt = runtime();
    let manifest = ComponentManifest::new("fuel").with_limits(limits(|l| {
        l.max_fuel = Some(100_000);
        l.max_call_duration = Duration::from_secs(10);
    }));
    let wat = r#"(module (func (export "_health") (result i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 7000))))
        (i32.const 0)))"#;
    let mut a = actor(&rt, wat, manifest);
    a.start().await.unwrap();
    for i in 0..5 {
        assert_eq!(a.health_check().await, ChildHealth::Healthy, "check {i}");
    }
    let used = a.stats().unwrap().fuel_consumed;
    assert!(used > 5 * 40_000 && used < 5 * 100_000, "fuel used {used}");
}

#[tokio::test]
async fn without_a_fuel_cap_only_the_deadline_bounds_a_call() {
    let rt = runtime();
    let no_fuel = ComponentManifest::new("nofuel").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_secs(20);
    }));
    // 20 million iterations is far past the default fuel budget of 10 million.
    let mut a = actor(&rt, &counting_start(20_000_000), no_fuel);
    a.start().await.unwrap();
    let capped = ComponentManifest::new("capped")
        .with_limits(limits(|l| l.max_call_duration = Duration::from_secs(20)));
    let mut b = actor(&rt, &counting_start(20_000_000), capped);
    assert_eq!(b.start().await.unwrap_err().kind(), ErrorKind::OutOfFuel);
}

#[tokio::test]
async fn one_actors_deadline_never_interrupts_another() {
    let rt = runtime();
    let spinner = ComponentManifest::new("spinner").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_millis(30);
    }));
    let worker = ComponentManifest::new("worker").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_secs(30);
    }));
    let mut a = actor(&rt, SPIN_START, spinner);
    // Long enough to be running when the spinner's deadline passes.
    let mut b = actor(&rt, &counting_start(400_000_000), worker);
    let started = Instant::now();
    let (ra, rb) = tokio::join!(a.start(), b.start());
    assert_eq!(ra.unwrap_err().kind(), ErrorKind::Deadline);
    rb.unwrap();
    assert!(
        started.elapsed() > Duration::from_millis(30),
        "the worker ran past the spinner's deadline"
    );
    assert_eq!(b.state(), ActorState::Ready);
}

#[tokio::test]
async fn a_hanging_cleanup_is_cut_off_and_stop_still_succeeds() {
    let rt = runtime();
    let manifest = ComponentManifest::new("hang").with_limits(limits(|l| l.max_fuel = None));
    let mut a = actor(
        &rt,
        r#"(module (func (export "_cleanup") (loop (br 0))))"#,
        manifest,
    );
    a.start().await.unwrap();
    let t = Instant::now();
    a.stop(Duration::from_millis(20)).await.unwrap();
    // Only "it returns at all": the bound is 100x the timeout.
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::TimedOut));
    // And the actor starts again cleanly.
    a.start().await.unwrap();
    assert_eq!(a.state(), ActorState::Ready);
}

#[tokio::test]
async fn a_trapping_cleanup_is_recorded_and_stop_still_succeeds() {
    let rt = runtime();
    let mut a = actor(
        &rt,
        r#"(module (func (export "_cleanup") unreachable))"#,
        ComponentManifest::new("t"),
    );
    a.start().await.unwrap();
    a.stop(Duration::from_millis(50)).await.unwrap();
    assert!(
        matches!(a.last_cleanup(), Some(CleanupOutcome::Trapped(ref r)) if r.contains("unreachable"))
    );
    assert_eq!(a.state(), ActorState::Terminated);
}

#[tokio::test]
async fn health_outside_ready_is_failed_with_the_state() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("h"));
    assert_eq!(
        a.health_check().await,
        ChildHealth::Failed("not running: Creating".into())
    );
    a.start().await.unwrap();
    a.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(
        a.health_check().await,
        ChildHealth::Failed("not running: Terminated".into())
    );
}

#[tokio::test]
async fn health_maps_the_guest_answer() {
    let rt = runtime();
    for (ret, want) in [
        ("(i32.const 0)", ChildHealth::Healthy),
        (
            "(i32.const 1)",
            ChildHealth::Degraded("`_health` returned 1 (degraded)".into()),
        ),
        (
            "(i32.const -5)",
            ChildHealth::Failed("`_health` returned -5".into()),
        ),
    ] {
        let wat = format!(r#"(module (func (export "_health") (result i32) {ret}))"#);
        let mut a = actor(&rt, &wat, ComponentManifest::new("h"));
        a.start().await.unwrap();
        assert_eq!(a.health_check().await, want);
        assert_eq!(
            a.state(),
            ActorState::Ready,
            "a health check never changes state"
        );
    }
    let mut a = actor(&rt, "(module)", ComponentManifest::new("h"));
    a.start().await.unwrap();
    assert_eq!(a.health_check().await, ChildHealth::Healthy);
}

#[tokio::test]
async fn a_spinning_health_check_fails_at_the_deadline() {
    let rt = runtime();
    let manifest = ComponentManifest::new("spin").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_millis(20);
    }));
    let mut a = actor(
        &rt,
        r#"(module (func (export "_health") (result i32) (loop (br 0)) (i32.const 0)))"#,
        manifest,
    );
    a.start().await.unwrap();
    match a.health_check().await {
        ChildHealth::Failed(r) => assert!(r.contains("deadline"), "{r}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.state(), ActorState::Ready);
}

#[tokio::test]
async fn a_cancelled_start_does_not_leave_the_actor_starting() {
    let rt = runtime();
    let manifest = ComponentManifest::new("cancel").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_secs(30);
    }));
    let mut a = actor(&rt, SPIN_START, manifest);
    let r = tokio::time::timeout(Duration::from_millis(20), a.start()).await;
    assert!(r.is_err(), "the outer timeout fired");
    assert_eq!(a.state(), ActorState::Failed("start was cancelled".into()));
    // Not stuck: stop and start are accepted again.
    a.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
}

#[tokio::test]
async fn a_cancelled_stop_does_not_leave_the_actor_stopping() {
    let rt = runtime();
    let manifest = ComponentManifest::new("cancel").with_limits(limits(|l| l.max_fuel = None));
    let mut a = actor(
        &rt,
        r#"(module (func (export "_cleanup") (loop (br 0))))"#,
        manifest,
    );
    a.start().await.unwrap();
    let r = tokio::time::timeout(Duration::from_millis(20), a.stop(Duration::from_secs(30))).await;
    assert!(r.is_err(), "the outer timeout fired");
    assert_eq!(a.state(), ActorState::Terminated);
    a.start().await.unwrap();
    assert_eq!(a.state(), ActorState::Ready);
}

#[tokio::test]
async fn the_same_bytes_are_compiled_once() {
    let rt = runtime();
    for _ in 0..3 {
        let mut a = actor(&rt, GOOD, ComponentManifest::new("x"));
        a.start().await.unwrap();
    }
    assert_eq!(rt.cached_modules(), 1);
    let mut b = actor(&rt, "(module)", ComponentManifest::new("y"));
    b.start().await.unwrap();
    assert_eq!(rt.cached_modules(), 2);
}

#[tokio::test]
async fn an_import_permitted_but_of_the_wrong_type_fails_instantiation() {
    let rt = runtime();
    let manifest = ComponentManifest::new("t").allow_import("host", "log");
    let mut a = actor(
        &rt,
        r#"(module (import "host" "log" (func (param f32))))"#,
        manifest,
    );
    assert_eq!(
        a.start().await.unwrap_err().kind(),
        ErrorKind::Instantiation
    );
}

#[tokio::test]
async fn stack_overflow_is_a_trap() {
    let rt = runtime();
    let mut a = actor(
        &rt,
        r#"(module (func $f (export "_start") (call $f)))"#,
        ComponentManifest::new("deep"),
    );
    let e = a.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap);
    assert!(e.to_string().contains("call stack exhausted"), "{e}");
}

#[tokio::test]
async fn a_file_source_reads_binary_and_text() {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("ca-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("good.wasm");
    std::fs::write(&wasm, wat::parse_str(GOOD).unwrap()).unwrap();
    let watf = dir.join("good.wat");
    std::fs::write(&watf, GOOD).unwrap();
    let textual_wasm = dir.join("text.wasm");
    std::fs::write(&textual_wasm, GOOD).unwrap();
    for path in [&wasm, &watf] {
        let mut a = ComponentActor::new(
            &rt,
            ComponentSource::from_file(path),
            ComponentManifest::new("f"),
        );
        a.start().await.unwrap();
    }
    // Text in a file not named .wat is not a binary.
    let mut a = ComponentActor::new(
        &rt,
        ComponentSource::from_file(&textual_wasm),
        ComponentManifest::new("f"),
    );
    assert_eq!(a.start().await.unwrap_err().kind(), ErrorKind::InvalidMagic);
    let mut a = ComponentActor::new(
        &rt,
        ComponentSource::from_file(dir.join("missing.wasm")),
        ComponentManifest::new("f"),
    );
    assert_eq!(a.start().await.unwrap_err().kind(), ErrorKind::Load);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `tracing` writer that keeps everything written to it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn host_log_and_every_transition_are_traced_with_the_component_id() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rt = runtime();
    let wat = r#"(module
        (import "host" "log" (func $log (param i32 i32)))
        (memory (export "memory") 1)
        (data (i32.const 8) "hello, host")
        (func (export "_start") (call $log (i32.const 8) (i32.const 11))))"#;
    let mut a = actor(
        &rt,
        wat,
        ComponentManifest::new("echo").allow_import("host", "log"),
    );
    tokio.block_on(async {
        a.start().await.unwrap();
        a.stop(Duration::from_millis(10)).await.unwrap();
    });
    assert_eq!(a.stats().unwrap().log_lines, 1);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let guest: Vec<&str> = text.lines().filter(|l| l.contains("hello, host")).collect();
    assert_eq!(guest.len(), 1, "{text}");
    assert!(guest[0].contains("component=echo"), "{text}");
    for (from, to) in [
        ("Creating", "Starting"),
        ("Starting", "Ready"),
        ("Ready", "Stopping"),
        ("Stopping", "Terminated"),
    ] {
        assert!(
            text.lines().any(|l| l.contains("state transition")
                && l.contains("component=echo")
                && l.contains(&format!("from={from} to={to}"))),
            "no {from} -> {to} event in:\n{text}"
        );
    }
}

#[test]
fn a_stop_requested_from_another_thread_during_start_is_taken_when_it_completes() {
    let rt = runtime();
    let manifest = ComponentManifest::new("cancel-me").with_limits(limits(|l| {
        l.max_fuel = None;
        l.max_call_duration = Duration::from_secs(30);
    }));
    // A `_start` busy for about a second, and a `_cleanup` whose outcome
    // shows the stop really ran.
    let wat =
        counting_start(1_200_000_000).replace("(module ", r#"(module (func (export "_cleanup")) "#);
    let mut a = actor(&rt, &wat, manifest);
    let handle = a.handle();
    assert!(!handle.request_stop(), "nothing to stop while Creating");
    assert_eq!(handle.state(), ActorState::Creating);
    let requester = std::thread::spawn(move || {
        let give_up = Instant::now() + Duration::from_secs(20);
        while handle.state() != ActorState::Starting {
            assert!(Instant::now() < give_up, "never saw Starting");
            std::thread::yield_now();
        }
        assert!(handle.request_stop());
        handle
    });
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = tokio.block_on(a.start()).unwrap_err();
    let handle = requester.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(handle.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
    // Ready is not stoppable from a handle: its owner stops it.
    tokio.block_on(async {
        let mut b = actor(&rt, GOOD, ComponentManifest::new("ready"));
        b.start().await.unwrap();
        assert!(!b.handle().request_stop());
        assert_eq!(b.state(), ActorState::Ready);
        // And a new start forgets an old request.
        a.start().await.unwrap();
        assert_eq!(a.state(), ActorState::Ready);
    });
}
