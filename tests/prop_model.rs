//! Model-based property test of the actor lifecycle, through the public API
//! only.
//!
//! Random sequences of start / stop / health / cancelled start / drop over
//! random fixtures and random limits (including operations that are illegal
//! in the current state) run against a real `ComponentActor`; a reference
//! model predicts the result of every operation and the state after it.
//!
//! The runtime uses the pooling allocator with exactly one instance slot, so
//! whether an instance exists is observable from outside: after every step
//! a probe actor is started on the same runtime. It must fail for lack of a
//! slot exactly when the model says the actor is Ready (never Ready without
//! an instance) and succeed otherwise (never an instance in Creating,
//! Terminated or Failed, nor after a drop).

mod support;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use support::cases;

use component_actor::{
    ActorHandle, ActorState, Allocation, Child, ChildHealth, CleanupOutcome, ComponentActor,
    ComponentManifest, ComponentSource, ErrorKind, ResourceLimits, Runtime, RuntimeConfig,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const PAGE: u64 = 64 * KIB;

/// A fixture's observable behaviour, as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fx {
    Good,
    Minimal,
    HealthDegraded,
    HealthUnhealthy,
    HealthTrap,
    HealthSpin,
    StartTrap,
    StartSpin,
    FuelBurner,
    MemoryGrow,
    MemoryInitialOver,
    TableGrow,
    TableOver,
    CleanupHang,
    CleanupTrap,
    LogPermitted,
    UnknownImport,
    ExportBadStart,
}

const FIXTURES: [Fx; 18] = [
    Fx::Good,
    Fx::Minimal,
    Fx::HealthDegraded,
    Fx::HealthUnhealthy,
    Fx::HealthTrap,
    Fx::HealthSpin,
    Fx::StartTrap,
    Fx::StartSpin,
    Fx::FuelBurner,
    Fx::MemoryGrow,
    Fx::MemoryInitialOver,
    Fx::TableGrow,
    Fx::TableOver,
    Fx::CleanupHang,
    Fx::CleanupTrap,
    Fx::LogPermitted,
    Fx::UnknownImport,
    Fx::ExportBadStart,
];

/// The health a fixture reports, without the reason.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Health {
    Healthy,
    Degraded,
    Failed,
}

fn health_kind(h: &ChildHealth) -> Health {
    match h {
        ChildHealth::Healthy => Health::Healthy,
        ChildHealth::Degraded(_) => Health::Degraded,
        ChildHealth::Failed(_) => Health::Failed,
    }
}

impl Fx {
    fn file(self) -> &'static str {
        match self {
            Fx::Good => "good.wat",
            Fx::Minimal => "minimal.wat",
            Fx::HealthDegraded => "health_degraded.wat",
            Fx::HealthUnhealthy => "health_unhealthy.wat",
            Fx::HealthTrap => "health_trap.wat",
            Fx::HealthSpin => "health_spin.wat",
            Fx::StartTrap => "start_trap.wat",
            Fx::StartSpin => "start_infinite_loop.wat",
            Fx::FuelBurner => "fuel_burner.wat",
            Fx::MemoryGrow => "memory_grow_trap.wat",
            Fx::MemoryInitialOver => "memory_initial_over.wat",
            Fx::TableGrow => "table_grow_trap.wat",
            Fx::TableOver => "table_over.wat",
            Fx::CleanupHang => "cleanup_hang.wat",
            Fx::CleanupTrap => "cleanup_trap.wat",
            Fx::LogPermitted => "log_permitted.wat",
            Fx::UnknownImport => "unknown_import.wat",
            Fx::ExportBadStart => "export_bad_start.wat",
        }
    }

    /// Whether some guest call of this fixture never ends by itself: only
    /// fuel or the wall clock stops it.
    fn spins(self) -> bool {
        matches!(
            self,
            Fx::HealthSpin | Fx::StartSpin | Fx::FuelBurner | Fx::CleanupHang
        )
    }

    /// What `start` returns from a startable state.
    fn start(self, l: &Limits) -> Result<(), ErrorKind> {
        let fuel_or_deadline = if l.fuel.is_some() {
            ErrorKind::OutOfFuel
        } else {
            ErrorKind::Deadline
        };
        match self {
            // Imports are checked before anything is instantiated.
            Fx::LogPermitted if !l.permit_log => Err(ErrorKind::PermissionDenied),
            Fx::Good | Fx::LogPermitted if l.memory < PAGE => Err(ErrorKind::MemoryLimit),
            Fx::StartTrap => Err(ErrorKind::Trap),
            Fx::StartSpin | Fx::FuelBurner => Err(fuel_or_deadline),
            // 1 page, then grows by 16: needs 17 pages.
            Fx::MemoryGrow if l.memory < 17 * PAGE => Err(ErrorKind::MemoryLimit),
            Fx::MemoryInitialOver if l.memory < 257 * PAGE => Err(ErrorKind::MemoryLimit),
            // 10 elements, then grows by 10,000.
            Fx::TableGrow if l.table < 10 => Err(ErrorKind::TableLimit),
            Fx::TableGrow if l.table < 10_010 => Err(ErrorKind::TableLimit),
            Fx::TableOver if l.table < 10_001 => Err(ErrorKind::TableLimit),
            Fx::UnknownImport => Err(ErrorKind::PermissionDenied),
            Fx::ExportBadStart => Err(ErrorKind::ExportSignature),
            _ => Ok(()),
        }
    }

    /// Whether `_health` fails to return normally (a trap or its deadline),
    /// which discards the instance and fails the actor.
    fn health_crashes(self) -> bool {
        matches!(self, Fx::HealthTrap | Fx::HealthSpin)
    }

    /// What `health_check` gives in Ready.
    fn health(self) -> Health {
        match self {
            Fx::HealthDegraded => Health::Degraded,
            Fx::HealthUnhealthy | Fx::HealthTrap | Fx::HealthSpin => Health::Failed,
            _ => Health::Healthy,
        }
    }

    /// The name of the cleanup outcome `stop` records from Ready.
    fn cleanup(self, l: &Limits) -> &'static str {
        match self {
            Fx::Good | Fx::HealthTrap | Fx::HealthSpin | Fx::LogPermitted => "Completed",
            Fx::CleanupTrap => "Trapped",
            Fx::CleanupHang if l.fuel.is_some() => "Trapped", // out of fuel
            Fx::CleanupHang => "TimedOut",
            _ => "NotExported",
        }
    }
}

/// An actor's limits, as generated.
#[derive(Debug, Clone, Copy)]
struct Limits {
    memory: u64,
    table: u64,
    fuel: Option<u64>,
    permit_log: bool,
}

/// A fixture and the limits it runs under.
#[derive(Debug, Clone, Copy)]
struct Spec {
    fx: Fx,
    limits: Limits,
}

impl Spec {
    /// Deadlines are never raced against fuel or against scheduling: a
    /// spinning fixture with no fuel cap gets a 5 ms deadline (the wall clock
    /// is the only thing that can stop it); everything else gets 10 s, far
    /// beyond any call that ends by itself.
    fn deadline(&self) -> Duration {
        if self.fx.spins() && self.limits.fuel.is_none() {
            Duration::from_millis(5)
        } else {
            Duration::from_secs(10)
        }
    }

    fn manifest(&self) -> ComponentManifest {
        let l = &self.limits;
        let m = ComponentManifest::builder(format!("{:?}", self.fx)).limits(ResourceLimits {
            max_memory_bytes: l.memory,
            max_table_elements: l.table,
            max_fuel: l.fuel,
            max_call_duration: self.deadline(),
            ..ResourceLimits::default()
        });
        let m = if l.permit_log {
            m.allow_import("host", "log")
        } else {
            m
        };
        m.build().unwrap()
    }

    fn actor(&self, runtime: &Runtime, sources: &[ComponentSource]) -> ComponentActor {
        let i = FIXTURES.iter().position(|f| *f == self.fx).unwrap();
        ComponentActor::new(runtime, sources[i].clone(), self.manifest())
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        proptest::sample::select(FIXTURES.to_vec()),
        proptest::sample::select(vec![PAGE - 1, PAGE, MIB, 2 * MIB, 16 * MIB, 32 * MIB]),
        proptest::sample::select(vec![9u64, 10, 1_000, 15_000]),
        proptest::sample::select(vec![None, Some(50_000u64), Some(10_000_000)]),
        any::<bool>(),
    )
        .prop_map(|(fx, memory, table, fuel, permit_log)| {
            // A spinner under a 10 M fuel budget would race its 10 s
            // deadline only in theory, but it takes ~20 ms: keep it small.
            let fuel = if fx.spins() && fuel.is_some() {
                Some(50_000)
            } else {
                fuel
            };
            Spec {
                fx,
                limits: Limits {
                    memory,
                    table,
                    fuel,
                    permit_log,
                },
            }
        })
}

#[derive(Debug, Clone)]
enum Op {
    Start,
    /// Polls `start` once, then drops the future.
    CancelStart,
    Health,
    Stop,
    /// Drops the actor and makes a new one.
    Drop(Spec),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Start),
        1 => Just(Op::CancelStart),
        3 => Just(Op::Health),
        3 => Just(Op::Stop),
        1 => spec().prop_map(Op::Drop),
    ]
}

/// The model's state: what the actor's state must be (Failed without its
/// reason).
#[derive(Debug, Clone, Copy, PartialEq)]
enum M {
    Creating,
    Ready,
    Terminated,
    Failed,
}

fn model_of(s: &ActorState) -> M {
    match s {
        ActorState::Creating => M::Creating,
        ActorState::Ready => M::Ready,
        ActorState::Terminated => M::Terminated,
        ActorState::Failed(_) => M::Failed,
        other => panic!("state {other} seen between operations"),
    }
}

/// What the cases exercised, printed at the end.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    steps: u64,
    started: u64,
    start_failed: u64,
    refused: u64,
    cancelled: u64,
    stopped_running: u64,
    dropped_running: u64,
    probes_refused: u64,
}

/// Everything one test case needs that outlives a case.
struct World {
    tally: std::cell::RefCell<Tally>,
    tokio: tokio::runtime::Runtime,
    runtime: Runtime,
    sources: Vec<ComponentSource>,
    probe_source: ComponentSource,
}

impl World {
    fn new() -> Self {
        let runtime = Runtime::new(RuntimeConfig {
            allocation: Allocation::Pooling {
                slots: 1,
                max_memory_per_slot: 64 * MIB,
            },
            ..RuntimeConfig::default()
        })
        .unwrap();
        assert!(
            matches!(runtime.allocation(), Allocation::Pooling { .. }),
            "the probe needs the pool"
        );
        let wasm = |file: &str| {
            let path = format!("{}/wat/{file}", env!("CARGO_MANIFEST_DIR"));
            ComponentSource::from_bytes(
                wat::parse_file(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
            )
        };
        World {
            tally: Default::default(),
            tokio: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            runtime,
            sources: FIXTURES.iter().map(|f| wasm(f.file())).collect(),
            probe_source: wasm("minimal.wat"),
        }
    }

    /// Whether an instance slot is free: starts (and stops) a probe actor.
    fn slot_is_free(&self) -> Result<bool, TestCaseError> {
        let mut probe = ComponentActor::new(
            &self.runtime,
            self.probe_source.clone(),
            ComponentManifest::new("probe").unwrap(),
        );
        self.tokio.block_on(async {
            match probe.start().await {
                Ok(()) => {
                    probe.stop(Duration::from_secs(1)).await.unwrap();
                    Ok(true)
                }
                Err(e) if e.kind() == ErrorKind::Instantiation => Ok(false),
                Err(e) => Err(TestCaseError::fail(format!("probe failed oddly: {e}"))),
            }
        })
    }
}

/// Runs `ops` against a real actor and the model, checking every step.
fn run_case(world: &World, first: Spec, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut spec = first;
    let mut actor = spec.actor(&world.runtime, &world.sources);
    let mut handle: ActorHandle = actor.handle();
    let mut m = M::Creating;
    world.tally.borrow_mut().cases += 1;
    let mut last_cleanup: Option<&'static str> = None;

    for (step, op) in ops.iter().enumerate() {
        world.tally.borrow_mut().steps += 1;
        let at = format!("step {step} {op:?} on {spec:?} in {m:?}");
        match op {
            Op::Start | Op::CancelStart => {
                let result = if let Op::Start = op {
                    Some(world.tokio.block_on(actor.start()))
                } else {
                    let _enter = world.tokio.enter();
                    let mut fut = pin!(actor.start());
                    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                        Poll::Ready(r) => Some(r),
                        Poll::Pending => None,
                    }
                };
                match (m, result) {
                    (M::Ready, Some(r)) => {
                        let e = r
                            .err()
                            .ok_or_else(|| TestCaseError::fail(format!("{at}: started twice")))?;
                        prop_assert_eq!(e.kind(), ErrorKind::InvalidTransition, "{}", at);
                        world.tally.borrow_mut().refused += 1;
                    }
                    (M::Ready, None) => {
                        prop_assert!(false, "{}: a refused start must not pend", at)
                    }
                    (_, Some(r)) => {
                        let want = spec.fx.start(&spec.limits);
                        prop_assert_eq!(
                            r.as_ref().map(|_| ()).map_err(|e| e.kind()),
                            want,
                            "{}: {:?}",
                            at,
                            r
                        );
                        if let Err(e) = &r {
                            prop_assert_eq!(e.component(), format!("{:?}", spec.fx), "{}", at);
                            prop_assert!(!e.to_string().contains('\n'), "{}: {}", at, e);
                        }
                        m = if want.is_ok() { M::Ready } else { M::Failed };
                        let mut t = world.tally.borrow_mut();
                        if want.is_ok() {
                            t.started += 1
                        } else {
                            t.start_failed += 1
                        }
                    }
                    (_, None) => {
                        // Pending at an epoch yield, then dropped: the
                        // cancelled start must leave Failed, not Starting.
                        prop_assert_eq!(
                            actor.state(),
                            ActorState::Failed("start was cancelled".into()),
                            "{}",
                            at
                        );
                        m = M::Failed;
                        world.tally.borrow_mut().cancelled += 1;
                    }
                }
            }
            Op::Health => {
                let h = world.tokio.block_on(actor.health_check());
                let want = if m == M::Ready {
                    spec.fx.health()
                } else {
                    Health::Failed
                };
                prop_assert_eq!(health_kind(&h), want, "{}: {:?}", at, h);
                if m == M::Ready && spec.fx.health_crashes() {
                    // Poisoned: the instance is gone without `_cleanup`.
                    m = M::Failed;
                    last_cleanup = Some("Poisoned");
                    prop_assert!(
                        matches!(actor.state(), ActorState::Failed(_)),
                        "{}: {}",
                        at,
                        actor.state()
                    );
                }
            }
            Op::Stop => {
                let timeout = if spec.fx == Fx::CleanupHang && spec.limits.fuel.is_none() {
                    Duration::from_millis(5)
                } else {
                    Duration::from_secs(10)
                };
                let r = world.tokio.block_on(actor.stop(timeout));
                prop_assert!(r.is_ok(), "{}: {:?}", at, r);
                if m == M::Ready {
                    last_cleanup = Some(spec.fx.cleanup(&spec.limits));
                    world.tally.borrow_mut().stopped_running += 1;
                }
                m = M::Terminated;
            }
            Op::Drop(next) => {
                drop(actor);
                world.tally.borrow_mut().dropped_running += u64::from(m == M::Ready);
                // The old handle must not claim a running actor that is gone.
                let old = handle.state();
                prop_assert!(
                    !old.has_instance(),
                    "{}: dropped actor's handle says {}",
                    at,
                    old
                );
                // Ready -> Terminated; any other state is left as it was.
                let want = if m == M::Ready { M::Terminated } else { m };
                prop_assert_eq!(model_of(&old), want, "{}: handle says {}", at, old);
                spec = *next;
                actor = spec.actor(&world.runtime, &world.sources);
                handle = actor.handle();
                m = M::Creating;
                last_cleanup = None;
            }
        }

        // Invariants after every step.
        let state = actor.state();
        prop_assert_eq!(model_of(&state), m, "{}: actor is {}", at, state);
        prop_assert_eq!(handle.state(), state.clone(), "{}: handle disagrees", at);
        prop_assert_eq!(
            actor.last_cleanup().as_ref().map(CleanupOutcome::name),
            last_cleanup,
            "{}",
            at
        );
        let free = world.slot_is_free()?;
        world.tally.borrow_mut().probes_refused += u64::from(!free);
        prop_assert_eq!(
            free,
            m != M::Ready,
            "{}: instance slot free = {} in {}",
            at,
            free,
            state
        );
    }
    drop(actor);
    prop_assert!(
        world.slot_is_free()?,
        "dropping the actor must release its instance"
    );
    Ok(())
}

#[test]
fn lifecycle_matches_the_model() {
    let world = World::new();
    let mut runner = TestRunner::new(Config {
        cases: cases(1000),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop_model.txt",
        ))),
        ..Config::default()
    });
    let strategy = (spec(), proptest::collection::vec(op(), 1..16));
    let result = runner.run(&strategy, |(first, ops)| run_case(&world, first, &ops));
    println!("model: {:?}", world.tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
}
