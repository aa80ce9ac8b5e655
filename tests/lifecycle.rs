//! The lifecycle through the public API: transitions, limits, deadlines,
//! permissions, cleanup and health, each named by the behaviour it checks.

mod support;

use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::bounded;

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

/// A function body that counts to `n`: busy, but finite.
fn counting_body(n: u32) -> String {
    format!(
        r#"(local $i i32)
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))"#
    )
}

/// A `_start` that counts to $n: busy, but finite.
fn counting_start(n: u32) -> String {
    format!(r#"(module (func (export "_start") {}))"#, counting_body(n))
}

/// Polls `fut` to completion by hand, recording the actor's state after
/// every poll, so in-progress states are observed, not guessed.
fn drive<F: std::future::Future>(
    handle: &component_actor::ActorHandle,
    fut: F,
    seen: &mut Vec<ActorState>,
) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let polled = fut.as_mut().poll(&mut cx);
        let s = handle.state();
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        if let Poll::Ready(out) = polled {
            return out;
        }
        assert!(Instant::now() < give_up, "never completed: {seen:?}");
    }
}

#[test]
fn start_and_stop_walk_every_state_in_order() {
    let rt = runtime();
    // `_start` and `_cleanup` busy long enough to yield at epoch ticks, so
    // Starting and Stopping are observable between polls.
    let wat = counting_start(50_000_000).replace(
        "(module ",
        &format!(
            r#"(module (func (export "_cleanup") {})
                       (func (export "_health") (result i32) (i32.const 0)) "#,
            counting_body(50_000_000)
        ),
    );
    let manifest = ComponentManifest::builder("walk")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_secs(30);
        }))
        .build()
        .unwrap();
    let mut a = actor(&rt, &wat, manifest);
    let handle = a.handle();
    let mut seen = vec![a.state()];
    drive(&handle, a.start(), &mut seen).unwrap();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(tokio.block_on(a.health_check()), ChildHealth::Healthy);
    drive(&handle, a.stop(Duration::from_secs(30)), &mut seen).unwrap();
    assert_eq!(
        seen,
        [
            ActorState::Creating,
            ActorState::Starting,
            ActorState::Ready,
            ActorState::Stopping,
            ActorState::Terminated
        ]
    );
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
}

#[test]
fn the_handle_reads_state_from_another_thread_while_start_runs() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("slow")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_millis(300);
        }))
        .build()
        .unwrap();
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
    let err = tokio
        .block_on(bounded("spinning start", a.start()))
        .unwrap_err();
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
    let mut a = actor(&rt, GOOD, ComponentManifest::new("twice").unwrap());
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
    let mut a = actor(&rt, GOOD, ComponentManifest::new("idle").unwrap());
    a.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), None, "nothing ran");
    a.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);

    let mut f = actor(
        &rt,
        r#"(module (func (export "_start") unreachable))"#,
        ComponentManifest::new("f").unwrap(),
    );
    f.start().await.unwrap_err();
    assert!(matches!(f.state(), ActorState::Failed(_)));
    f.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(f.state(), ActorState::Terminated);
}

#[tokio::test]
async fn a_hundred_start_stop_cycles_on_one_actor() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("cycles").unwrap());
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
    // The same actor fails while its file is missing, then reaches Ready
    // once the file exists: Failed really is restartable.
    let dir = std::env::temp_dir().join(format!("ca-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("later.wat");
    let _ = std::fs::remove_file(&path);
    let mut a = ComponentActor::new(
        &rt,
        ComponentSource::from_file(&path),
        ComponentManifest::new("again").unwrap(),
    );
    for _ in 0..2 {
        assert_eq!(a.start().await.unwrap_err().kind(), ErrorKind::Load);
        assert!(matches!(a.state(), ActorState::Failed(ref r) if r.contains("cannot read")));
    }
    std::fs::write(&path, GOOD).unwrap();
    a.start().await.expect("the file exists now");
    assert_eq!(a.state(), ActorState::Ready);
    assert_eq!(a.health_check().await, ChildHealth::Healthy);
    a.stop(Duration::from_millis(100)).await.unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
    // And after a guest failure (not only a load failure) too.
    let mut t = actor(
        &rt,
        r#"(module (memory (export "memory") 1)
             (func (export "_health") (result i32) unreachable))"#,
        ComponentManifest::new("again-trap").unwrap(),
    );
    t.start().await.unwrap();
    assert!(matches!(t.health_check().await, ChildHealth::Failed(_)));
    assert!(matches!(t.state(), ActorState::Failed(_)));
    t.start().await.expect("a failed actor starts again");
    assert_eq!(t.state(), ActorState::Ready);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn errors_are_one_line_and_keep_the_wasmtime_error_as_source() {
    let rt = runtime();
    let mut a = actor(
        &rt,
        r#"(module (func (export "_start") unreachable))"#,
        ComponentManifest::new("trap").unwrap(),
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
    let mut a = actor(&rt, wat, ComponentManifest::new("deny").unwrap());
    let e = a.start().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        e.denied_imports(),
        [("env", "a"), ("host", "log"), ("wasi", "b")]
    );
    // Permitting one of them leaves the other two.
    let mut a = actor(
        &rt,
        wat,
        ComponentManifest::builder("deny")
            .allow_import("host", "log")
            .build()
            .unwrap(),
    );
    let e = a.start().await.unwrap_err();
    assert_eq!(e.denied_imports(), [("env", "a"), ("wasi", "b")]);
}

#[tokio::test]
async fn memory_over_the_limit_at_instantiation_is_a_memory_limit() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("big")
        .limits(limits(|l| l.max_memory_bytes = 2 * 65536))
        .build()
        .unwrap();
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
    let manifest = ComponentManifest::builder("cope")
        .limits(limits(|l| l.max_memory_bytes = 65536))
        .build()
        .unwrap();
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
    let manifest = ComponentManifest::builder("fuel")
        .limits(limits(|l| {
            l.max_fuel = Some(100_000);
            l.max_call_duration = Duration::from_secs(10);
        }))
        .build()
        .unwrap();
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
    let no_fuel = ComponentManifest::builder("nofuel")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_secs(20);
        }))
        .build()
        .unwrap();
    // 20 million iterations is far past the default fuel budget of 10 million.
    let mut a = actor(&rt, &counting_start(20_000_000), no_fuel);
    a.start().await.unwrap();
    let capped = ComponentManifest::builder("capped")
        .limits(limits(|l| l.max_call_duration = Duration::from_secs(20)))
        .build()
        .unwrap();
    let mut b = actor(&rt, &counting_start(20_000_000), capped);
    assert_eq!(b.start().await.unwrap_err().kind(), ErrorKind::OutOfFuel);
}

#[tokio::test]
async fn one_actors_deadline_never_interrupts_another() {
    let rt = runtime();
    let spinner = ComponentManifest::builder("spinner")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_millis(30);
        }))
        .build()
        .unwrap();
    let worker = ComponentManifest::builder("worker")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_secs(30);
        }))
        .build()
        .unwrap();
    let mut a = actor(&rt, SPIN_START, spinner);
    // Long enough to be running when the spinner's deadline passes.
    let mut b = actor(&rt, &counting_start(400_000_000), worker);
    let started = Instant::now();
    let (ra, rb) = bounded("two starts", async { tokio::join!(a.start(), b.start()) }).await;
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
    let manifest = ComponentManifest::builder("hang")
        .limits(limits(|l| l.max_fuel = None))
        .build()
        .unwrap();
    let mut a = actor(
        &rt,
        r#"(module (func (export "_cleanup") (loop (br 0))))"#,
        manifest,
    );
    a.start().await.unwrap();
    bounded("stop", a.stop(Duration::from_millis(20)))
        .await
        .unwrap();
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
        ComponentManifest::new("t").unwrap(),
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
    let mut a = actor(&rt, GOOD, ComponentManifest::new("h").unwrap());
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
        let mut a = actor(&rt, &wat, ComponentManifest::new("h").unwrap());
        a.start().await.unwrap();
        assert_eq!(a.health_check().await, want);
        assert_eq!(
            a.state(),
            ActorState::Ready,
            "a health check never changes state"
        );
    }
    let mut a = actor(&rt, "(module)", ComponentManifest::new("h").unwrap());
    a.start().await.unwrap();
    assert_eq!(a.health_check().await, ChildHealth::Healthy);
}

#[tokio::test]
async fn a_spinning_health_check_fails_at_the_deadline() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("spin")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_millis(20);
        }))
        .build()
        .unwrap();
    let mut a = actor(
        &rt,
        r#"(module (func (export "_health") (result i32) (loop (br 0)) (i32.const 0)))"#,
        manifest,
    );
    a.start().await.unwrap();
    match bounded("health_check", a.health_check()).await {
        ChildHealth::Failed(r) => assert!(r.contains("deadline"), "{r}"),
        other => panic!("{other:?}"),
    }
    // Cut off mid-call: the instance is discarded, `_cleanup` never runs.
    assert!(
        matches!(a.state(), ActorState::Failed(ref r) if r.contains("deadline")),
        "{}",
        a.state()
    );
    assert!(matches!(
        a.last_cleanup(),
        Some(CleanupOutcome::Poisoned(_))
    ));
}

#[tokio::test]
async fn a_cancelled_start_does_not_leave_the_actor_starting() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("cancel")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_secs(30);
        }))
        .build()
        .unwrap();
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
    let manifest = ComponentManifest::builder("cancel")
        .limits(limits(|l| l.max_fuel = None))
        .build()
        .unwrap();
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
        let mut a = actor(&rt, GOOD, ComponentManifest::new("x").unwrap());
        a.start().await.unwrap();
    }
    assert_eq!(rt.cached_modules(), 1);
    let mut b = actor(&rt, "(module)", ComponentManifest::new("y").unwrap());
    b.start().await.unwrap();
    assert_eq!(rt.cached_modules(), 2);
}

#[tokio::test]
async fn an_import_permitted_but_of_the_wrong_type_is_unsupported() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("t")
        .allow_import("host", "log")
        .build()
        .unwrap();
    let mut a = actor(
        &rt,
        r#"(module (import "host" "log" (func (param f32))))"#,
        manifest,
    );
    // No host function has that type: refused before compiling.
    assert_eq!(
        a.start().await.unwrap_err().kind(),
        ErrorKind::UnsupportedImport
    );
}

#[tokio::test]
async fn stack_overflow_is_a_trap() {
    let rt = runtime();
    let mut a = actor(
        &rt,
        r#"(module (func $f (export "_start") (call $f)))"#,
        ComponentManifest::new("deep").unwrap(),
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
            ComponentManifest::new("f").unwrap(),
        );
        a.start().await.unwrap();
    }
    // Text in a file not named .wat is not a binary.
    let mut a = ComponentActor::new(
        &rt,
        ComponentSource::from_file(&textual_wasm),
        ComponentManifest::new("f").unwrap(),
    );
    assert_eq!(a.start().await.unwrap_err().kind(), ErrorKind::InvalidMagic);
    let mut a = ComponentActor::new(
        &rt,
        ComponentSource::from_file(dir.join("missing.wasm")),
        ComponentManifest::new("f").unwrap(),
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
        ComponentManifest::builder("echo")
            .allow_import("host", "log")
            .build()
            .unwrap(),
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
    let manifest = ComponentManifest::builder("cancel-me")
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_secs(30);
        }))
        .build()
        .unwrap();
    // A `_start` busy for about a second, and a `_cleanup` whose outcome
    // shows the stop really ran.
    let wat =
        counting_start(1_200_000_000).replace("(module ", r#"(module (func (export "_cleanup")) "#);
    let mut a = actor(&rt, &wat, manifest);
    let handle = a.handle();
    let requester = std::thread::spawn(move || {
        let give_up = Instant::now() + Duration::from_secs(20);
        while handle.state() != ActorState::Starting {
            assert!(Instant::now() < give_up, "never saw Starting");
            std::thread::yield_now();
        }
        handle.request_stop().expect("taken while Starting");
        handle
    });
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = tokio
        .block_on(bounded("cancelled start", a.start()))
        .unwrap_err();
    let handle = requester.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(handle.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
    // A new start forgets an old request.
    tokio.block_on(async {
        a.start().await.unwrap();
        assert_eq!(a.state(), ActorState::Ready);
    });
}

/// Every stop request, from any handle, in any state, is honoured or
/// answered with a typed error; none is dropped.
#[tokio::test]
async fn a_stop_request_in_creating_terminates_the_actor() {
    let rt = runtime();
    let a = actor(&rt, GOOD, ComponentManifest::new("early").unwrap());
    a.handle().request_stop().expect("honoured");
    assert_eq!(a.state(), ActorState::Terminated);
}

#[tokio::test]
async fn a_stop_request_in_ready_is_refused_with_a_typed_error_naming_the_way() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("running").unwrap());
    a.start().await.unwrap();
    let e = a.handle().request_stop().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition);
    assert!(e.to_string().contains("ActorHandle::stop"), "{e}");
    assert!(!e.to_string().contains('\n'), "{e}");
    assert_eq!(a.state(), ActorState::Ready);
}

#[tokio::test]
async fn a_handle_stops_a_ready_actor_and_runs_its_cleanup() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("remote").unwrap());
    a.start().await.unwrap();
    let handle = a.handle();
    let stopper = tokio::spawn(async move { handle.stop(Duration::from_millis(100)).await });
    bounded("handle stop", stopper).await.unwrap().unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
    // The owner's stop after it is a no-op, and the actor starts again.
    a.stop(Duration::from_millis(100)).await.unwrap();
    a.start().await.unwrap();
    assert_eq!(a.state(), ActorState::Ready);
}

/// A handle's stop while the actor is Starting: it waits for the start,
/// which then runs `_cleanup` and returns `Cancelled`; the stop returns
/// only once the actor is Terminated.
async fn a_handle_stop_while_starting(name: &str) {
    let rt = runtime();
    let manifest = ComponentManifest::builder(name)
        .limits(limits(|l| {
            l.max_fuel = None;
            l.max_call_duration = Duration::from_secs(30);
        }))
        .build()
        .unwrap();
    let wat =
        counting_start(100_000_000).replace("(module ", r#"(module (func (export "_cleanup")) "#);
    let mut a = actor(&rt, &wat, manifest);
    let handle = a.handle();
    let starter = tokio::spawn(async move {
        let r = a.start().await;
        (a, r)
    });
    bounded("Starting", async {
        while handle.state() != ActorState::Starting {
            tokio::task::yield_now().await;
        }
    })
    .await;
    bounded("handle stop", handle.stop(Duration::from_millis(100)))
        .await
        .unwrap();
    assert_eq!(handle.state(), ActorState::Terminated);
    let (a, r) = bounded("start", starter).await.unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_stop_during_start_waits_for_the_start_and_stops_it() {
    a_handle_stop_while_starting("starting").await;
}

/// On one thread a waiting stop must really wait (yield to the start it
/// waits for), not spin: a spinning stop would never let the start finish
/// (and a timeout could not fire either; cargo-mutants reports it as one).
#[tokio::test(flavor = "current_thread")]
async fn a_handle_stop_during_start_yields_to_the_start_on_one_thread() {
    a_handle_stop_while_starting("one-thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stops_at_once_both_return_after_one_cleanup() {
    let rt = runtime();
    let manifest = ComponentManifest::builder("twice")
        .limits(limits(|l| l.max_fuel = None))
        .build()
        .unwrap();
    let wat = format!(
        r#"(module (func (export "_cleanup") {}))"#,
        counting_body(200_000_000)
    );
    let mut a = actor(&rt, &wat, manifest);
    a.start().await.unwrap();
    let (h1, h2) = (a.handle(), a.handle());
    let first = tokio::spawn(async move { h1.stop(Duration::from_secs(30)).await });
    bounded("Stopping", async {
        while a.state() != ActorState::Stopping {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // A request while Stopping is honoured: the stop under way carries it.
    h2.request_stop().expect("honoured while Stopping");
    bounded("second stop", h2.stop(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(a.state(), ActorState::Terminated);
    bounded("first stop", first).await.unwrap().unwrap();
    assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
}

#[tokio::test]
async fn a_handle_outliving_its_actor_stops_cleanly() {
    let rt = runtime();
    let mut a = actor(&rt, GOOD, ComponentManifest::new("gone").unwrap());
    a.start().await.unwrap();
    let handle = a.handle();
    drop(a);
    assert_eq!(handle.state(), ActorState::Terminated);
    handle.request_stop().expect("nothing left to stop");
    handle.stop(Duration::from_millis(10)).await.unwrap();
    assert_eq!(handle.state(), ActorState::Terminated);
}
