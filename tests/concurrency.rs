//! 100 actors on one `Runtime`, started and stopped from many tasks of a
//! multi-thread tokio runtime, half of them hostile. Every good actor reaches
//! Ready, is healthy and ends Terminated with its cleanup completed; every
//! hostile one fails in its own way (its own error kind, or its own cleanup
//! outcome); an observer task watching every handle only ever sees each
//! actor move forward along its own path. No actor's deadline, fuel or
//! memory limit leaks into another's.

use std::sync::Arc;
use std::time::Duration;

use component_actor::{
    ActorHandle, ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentManifest,
    ComponentSource, ErrorKind, ResourceLimits, Runtime, RuntimeConfig,
};
use tokio::sync::Barrier;

const ACTORS: usize = 100;

/// How an actor must behave.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `wat/good.wat`: Ready, Healthy, Terminated, cleanup Completed.
    Good,
    /// `_start` spins with no fuel cap: Deadline.
    Spinner,
    /// `_start` counts to 2^31 under a small fuel budget: OutOfFuel.
    FuelBurner,
    /// `_start` grows memory past 1 MiB: MemoryLimit.
    MemoryHog,
    /// `_start` traps: Trap.
    Trapper,
    /// `_health` spins: starts, health Failed at its deadline, which
    /// discards the instance (cleanup Poisoned, actor Failed until stopped).
    HealthSpinner,
    /// `_cleanup` spins: starts, healthy, stop still succeeds, TimedOut.
    CleanupHang,
}

const HOSTILE: [Kind; 6] = [
    Kind::Spinner,
    Kind::FuelBurner,
    Kind::MemoryHog,
    Kind::Trapper,
    Kind::HealthSpinner,
    Kind::CleanupHang,
];

fn wasm(name: &str) -> ComponentSource {
    let path = format!("{}/wat/{name}", env!("CARGO_MANIFEST_DIR"));
    ComponentSource::from_bytes(wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

impl Kind {
    fn of(i: usize) -> Kind {
        if i.is_multiple_of(2) {
            Kind::Good
        } else {
            HOSTILE[(i / 2) % HOSTILE.len()]
        }
    }

    /// The fixture and limits. Good actors get a generous deadline: the
    /// point is that hostile neighbours cannot push them anywhere near it.
    fn actor(self, runtime: &Runtime, i: usize) -> ComponentActor {
        let spin = ResourceLimits {
            max_fuel: None,
            max_call_duration: Duration::from_millis(20),
            ..ResourceLimits::default()
        };
        let (file, limits) = match self {
            Kind::Good => (
                "good.wat",
                ResourceLimits {
                    max_call_duration: Duration::from_secs(10),
                    ..ResourceLimits::default()
                },
            ),
            Kind::Spinner => ("start_infinite_loop.wat", spin),
            Kind::FuelBurner => (
                "fuel_burner.wat",
                ResourceLimits {
                    max_fuel: Some(1_000_000),
                    max_call_duration: Duration::from_secs(10),
                    ..ResourceLimits::default()
                },
            ),
            Kind::MemoryHog => (
                "memory_grow_trap.wat",
                ResourceLimits {
                    max_memory_bytes: 1 << 20,
                    ..ResourceLimits::default()
                },
            ),
            Kind::Trapper => ("start_trap.wat", ResourceLimits::default()),
            Kind::HealthSpinner => ("health_spin.wat", spin),
            Kind::CleanupHang => ("cleanup_hang.wat", spin),
        };
        let manifest = ComponentManifest::builder(format!("{self:?}-{i}"))
            .limits(limits)
            .build()
            .unwrap();
        ComponentActor::new(runtime, wasm(file), manifest)
    }

    fn start_error(self) -> Option<ErrorKind> {
        match self {
            Kind::Spinner => Some(ErrorKind::Deadline),
            Kind::FuelBurner => Some(ErrorKind::OutOfFuel),
            Kind::MemoryHog => Some(ErrorKind::MemoryLimit),
            Kind::Trapper => Some(ErrorKind::Trap),
            Kind::Good | Kind::HealthSpinner | Kind::CleanupHang => None,
        }
    }

    /// The states the actor passes through, in order.
    fn path(self) -> Vec<ActorState> {
        use ActorState::*;
        match (self.start_error(), self) {
            (Some(_), _) => vec![Creating, Starting, Failed(String::new()), Terminated],
            // `_health` cut off at its deadline discards the instance.
            (None, Kind::HealthSpinner) => {
                vec![Creating, Starting, Ready, Failed(String::new()), Terminated]
            }
            (None, _) => vec![Creating, Starting, Ready, Stopping, Terminated],
        }
    }
}

/// What happened to one actor.
#[derive(Debug)]
struct Outcome {
    start: Result<(), ErrorKind>,
    state_after_start: ActorState,
    health: ChildHealth,
    cleanup: Option<CleanupOutcome>,
    final_state: ActorState,
}

/// Positions of `seen` along `path` (Failed matched by name) must never go back.
fn check_order(i: usize, kind: Kind, seen: &[ActorState]) {
    let path = kind.path();
    let mut at = 0;
    for s in seen {
        let pos = path
            .iter()
            .position(|p| p.name() == s.name())
            .unwrap_or_else(|| {
                panic!("actor {i} ({kind:?}) was seen {s}, not on its path {path:?}")
            });
        assert!(pos >= at, "actor {i} ({kind:?}) went back: {seen:?}");
        at = pos;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_actors_half_hostile_do_not_disturb_each_other() {
    // A guest that never yields would stall every worker, and no tokio
    // timer could fire: a plain thread turns such a hang into a failure.
    // The bound is only "it returns at all".
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            for _ in 0..600 {
                std::thread::sleep(Duration::from_millis(100));
                if finished.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
            }
            eprintln!("the actors have not finished in 60 s: hang");
            std::process::abort();
        })
    };
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let kinds: Vec<Kind> = (0..ACTORS).map(Kind::of).collect();
    let actors: Vec<ComponentActor> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| k.actor(&runtime, i))
        .collect();
    let handles: Vec<ActorHandle> = actors.iter().map(ComponentActor::handle).collect();

    // The observer: records every change of every handle until told to stop.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let observer = {
        let handles = handles.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen: Vec<Vec<ActorState>> = vec![Vec::new(); handles.len()];
            loop {
                // Read the flag before the sweep, so the last sweep sees
                // every actor's final state.
                let last = done.load(std::sync::atomic::Ordering::Acquire);
                for (h, seen) in handles.iter().zip(&mut seen) {
                    let s = h.state();
                    if seen.last() != Some(&s) {
                        seen.push(s);
                    }
                }
                if last {
                    break;
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };

    // Start and health-check every actor in its own task, all at once.
    let barrier = Arc::new(Barrier::new(ACTORS));
    let starters: Vec<_> = actors
        .into_iter()
        .map(|mut actor| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let start = actor.start().await.map_err(|e| e.kind());
                let state_after_start = actor.state();
                let health = actor.health_check().await;
                (actor, start, state_after_start, health)
            })
        })
        .collect();
    let mut started = Vec::new();
    for s in starters {
        started.push(s.await.expect("start task"));
    }

    // Stop every actor from another task, again all at once.
    let barrier = Arc::new(Barrier::new(ACTORS));
    let stoppers: Vec<_> = started
        .into_iter()
        .map(|(mut actor, start, state_after_start, health)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                actor
                    .stop(Duration::from_millis(20))
                    .await
                    .expect("stop always succeeds");
                Outcome {
                    start,
                    state_after_start,
                    health,
                    cleanup: actor.last_cleanup(),
                    final_state: actor.state(),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for s in stoppers {
        outcomes.push(s.await.expect("stop task"));
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    let seen = observer.await.expect("observer task");

    for (i, (kind, o)) in kinds.iter().zip(&outcomes).enumerate() {
        let kind = *kind;
        let what = format!("actor {i} ({kind:?}): {o:?}");
        assert_eq!(o.final_state, ActorState::Terminated, "{what}");
        match kind.start_error() {
            Some(err) => {
                assert_eq!(o.start, Err(err), "{what}");
                assert_eq!(o.state_after_start.name(), "Failed", "{what}");
                assert!(matches!(o.health, ChildHealth::Failed(_)), "{what}");
                assert_eq!(o.cleanup, None, "{what}");
            }
            None => {
                assert_eq!(o.start, Ok(()), "{what}");
                assert_eq!(o.state_after_start, ActorState::Ready, "{what}");
                let (health_ok, cleanup_ok) = match kind {
                    Kind::Good => (
                        o.health == ChildHealth::Healthy,
                        o.cleanup == Some(CleanupOutcome::Completed),
                    ),
                    Kind::HealthSpinner => (
                        matches!(o.health, ChildHealth::Failed(_)),
                        matches!(o.cleanup, Some(CleanupOutcome::Poisoned(_))),
                    ),
                    Kind::CleanupHang => (
                        o.health == ChildHealth::Healthy,
                        o.cleanup == Some(CleanupOutcome::TimedOut),
                    ),
                    _ => unreachable!(),
                };
                assert!(health_ok, "{what}");
                assert!(cleanup_ok, "{what}: {:?}", o.cleanup);
            }
        }
        check_order(i, kind, &seen[i]);
        assert_eq!(
            seen[i].last(),
            Some(&ActorState::Terminated),
            "actor {i}: {:?}",
            seen[i]
        );
    }
    let good = kinds.iter().filter(|k| **k == Kind::Good).count();
    assert_eq!(good, ACTORS / 2);
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    watchdog.join().unwrap();
}
