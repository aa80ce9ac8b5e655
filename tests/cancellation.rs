//! Cancellation safety, mechanically: for each operation (`start`, `stop`,
//! `health_check`, and a start whose requested stop is running
//! `_cleanup`), poll its future N times and drop it, for N = 0, 1, 2, ...
//! until one run completes. After every drop the actor must be Terminated
//! or Failed (never Starting, Stopping, or Ready without an instance) and
//! must start again. Guests here count in loops long enough to yield to
//! the executor at several epoch ticks (fewer on a loaded machine), so the
//! futures have await points to be dropped at; each test requires that at
//! least one drop fell inside the operation, so none can pass vacuously.

mod support;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use support::block_on;

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentManifest,
    ComponentSource, ErrorKind, ResourceLimits, Runtime, RuntimeConfig,
};

/// Polls `fut` at most `n` times with a no-op waker; `Some(output)` if it
/// completed, `None` if it was dropped unfinished.
fn poll_then_drop<F: Future>(fut: F, n: usize) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..n {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

/// The largest N tried before a test gives up on the operation completing:
/// a regression that makes an operation never finish fails here instead
/// of looping forever.
const MAX_POLLS: usize = 20_000;

/// A function body that counts to `n` (busy for a few ms, yielding at
/// every epoch tick), then does `then`.
fn count(n: u32, then: &str) -> String {
    format!(
        r#"(local $i i32)
           (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))
           {then}"#
    )
}

/// `_start`, `_health` and `_cleanup` that each count for a while.
fn busy_module() -> String {
    format!(
        r#"(module
             (func (export "_start") {})
             (func (export "_health") (result i32) {})
             (func (export "_cleanup") {}))"#,
        count(8_000_000, ""),
        count(8_000_000, "(i32.const 0)"),
        count(8_000_000, "")
    )
}

fn manifest(name: &str) -> ComponentManifest {
    ComponentManifest::builder(name)
        .limits(ResourceLimits {
            max_fuel: None,
            max_call_duration: Duration::from_secs(30),
            ..ResourceLimits::default()
        })
        .build()
        .expect("manifest")
}

fn new_actor(rt: &Runtime, name: &str) -> ComponentActor {
    ComponentActor::new(rt, ComponentSource::from_wat(busy_module()), manifest(name))
}

/// After a dropped operation: not in an in-progress state, and a full
/// cycle works again.
fn assert_settled_and_restartable(a: &mut ComponentActor, n: usize) {
    let state = a.state();
    assert!(
        matches!(
            state,
            ActorState::Creating | ActorState::Terminated | ActorState::Failed(_)
        ),
        "after {n} polls: {state}"
    );
    block_on(async {
        a.start()
            .await
            .unwrap_or_else(|e| panic!("after {n} polls: {e}"));
        assert_eq!(a.state(), ActorState::Ready, "after {n} polls");
        assert_eq!(a.health_check().await, ChildHealth::Healthy);
        a.stop(Duration::from_secs(30)).await.unwrap();
        assert_eq!(a.state(), ActorState::Terminated, "after {n} polls");
        assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
    });
}

#[test]
fn a_start_dropped_at_any_await_point_leaves_the_actor_startable() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut dropped = 0;
    for n in 0..MAX_POLLS {
        let mut a = new_actor(&rt, "start");
        match poll_then_drop(a.start(), n) {
            Some(result) => {
                result.expect("the start completed");
                assert!(dropped >= 1, "no drop fell inside the start");
                return;
            }
            // N = 0 drops a future never polled: no await point reached.
            None => dropped += usize::from(n > 0),
        }
        if n > 0 {
            assert_eq!(a.state(), ActorState::Failed("start was cancelled".into()));
        }
        assert_settled_and_restartable(&mut a, n);
    }
    panic!("start never completed within {MAX_POLLS} polls");
}

#[test]
fn a_stop_dropped_at_any_await_point_terminates_the_actor() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut dropped = 0;
    for n in 0..MAX_POLLS {
        let mut a = new_actor(&rt, "stop");
        block_on(a.start()).unwrap();
        match poll_then_drop(a.stop(Duration::from_secs(30)), n) {
            Some(result) => {
                result.expect("the stop completed");
                assert_eq!(a.state(), ActorState::Terminated);
                assert!(dropped >= 1, "no drop fell inside the stop");
                return;
            }
            None => dropped += usize::from(n > 0),
        }
        let want = if n == 0 {
            ActorState::Ready
        } else {
            ActorState::Terminated
        };
        assert_eq!(a.state(), want, "after {n} polls");
        if n == 0 {
            block_on(a.stop(Duration::from_secs(30))).unwrap();
        }
        assert_settled_and_restartable(&mut a, n);
    }
    panic!("stop never completed within {MAX_POLLS} polls");
}

#[test]
fn a_health_check_dropped_mid_call_discards_the_instance_and_fails_the_actor() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut dropped_mid_call = 0;
    for n in 0..MAX_POLLS {
        let mut a = new_actor(&rt, "health");
        block_on(a.start()).unwrap();
        match poll_then_drop(a.health_check(), n) {
            Some(health) => {
                assert_eq!(health, ChildHealth::Healthy);
                assert_eq!(a.state(), ActorState::Ready);
                assert!(dropped_mid_call >= 1, "no drop fell inside `_health`");
                return;
            }
            None if n == 0 => assert_eq!(a.state(), ActorState::Ready),
            None => {
                dropped_mid_call += 1;
                // Poisoned: the half-run instance is gone, `_cleanup` never
                // runs on it, and nothing else does either.
                assert_eq!(
                    a.state(),
                    ActorState::Failed("`_health` was cancelled mid-call".into()),
                    "after {n} polls"
                );
                assert!(
                    matches!(a.last_cleanup(), Some(CleanupOutcome::Poisoned(_))),
                    "{:?}",
                    a.last_cleanup()
                );
                assert_eq!(
                    block_on(a.health_check()),
                    ChildHealth::Failed("not running: Failed".into())
                );
                block_on(a.stop(Duration::from_secs(30))).unwrap();
                assert!(matches!(
                    a.last_cleanup(),
                    Some(CleanupOutcome::Poisoned(_))
                ));
            }
        }
        if a.state() == ActorState::Ready {
            block_on(a.stop(Duration::from_secs(30))).unwrap();
        }
        assert_settled_and_restartable(&mut a, n);
    }
    panic!("health_check never completed within {MAX_POLLS} polls");
}

/// The reported defect: a stop requested from another handle while `start`
/// runs, and the `start` future dropped while the stop it then carries out
/// runs `_cleanup`. Every drop point on that path ends Terminated or Failed.
#[test]
fn a_start_dropped_while_its_requested_stop_runs_cleanup_terminates() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut dropped_in_cleanup = 0;
    for n in 0..MAX_POLLS {
        let mut a = new_actor(&rt, "requested");
        let handle = a.handle();
        let outcome = {
            let mut fut = pin!(a.start());
            let mut cx = Context::from_waker(Waker::noop());
            // The first poll begins the start and runs into `_start`, which
            // yields at its first epoch tick. On a loaded machine the tick
            // may come too late; that run then proves nothing and is retried.
            if fut.as_mut().poll(&mut cx).is_ready() {
                continue;
            }
            assert_eq!(handle.state(), ActorState::Starting);
            handle
                .request_stop()
                .expect("a stop is taken while Starting");
            let mut out = None;
            for _ in 0..n {
                if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                    out = Some(r);
                    break;
                }
            }
            if out.is_none() && handle.state() == ActorState::Stopping {
                dropped_in_cleanup += 1;
            }
            out
        };
        match outcome {
            Some(result) => {
                let e = result.expect_err("the requested stop cancels the start");
                assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
                assert_eq!(a.state(), ActorState::Terminated);
                assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
                assert!(dropped_in_cleanup >= 1, "no drop fell inside `_cleanup`");
                return;
            }
            None => {
                let state = a.state();
                assert!(
                    matches!(state, ActorState::Terminated | ActorState::Failed(_)),
                    "after {n} polls: {state}"
                );
            }
        }
        assert_settled_and_restartable(&mut a, n);
    }
    panic!("start never completed within {MAX_POLLS} polls");
}
