//! One live instance: its `Store`, its typed lifecycle exports, and the one
//! function that runs a guest call under a deadline and a fuel budget
//! ([`WasmInstance::call`]) and the one that turns a wasmtime failure into an
//! [`ErrorKind`] ([`classify`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{
    Extern, Instance, ModuleExport, PoolConcurrencyLimitError, Store, Trap, TypedFunc,
    UpdateDeadline, WasmResults,
};

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::ResourceLimits;
use crate::runtime::engine::Runtime;
use crate::runtime::limits::{Limiter, Refusals};
use crate::runtime::prepare::Prepared;
use crate::runtime::ticker::Wake;

/// Per-store state: who the guest is, its limiter, and the deadline of the
/// guest call in progress.
pub(crate) struct StoreData {
    component: Arc<str>,
    limiter: Limiter,
    /// When the guest call in progress must stop; `None`: no deadline (a
    /// timeout too large for the clock was asked for).
    deadline: Option<Instant>,
    logs: u64,
}

impl StoreData {
    /// Counts one `host::log` line and returns the component's name for it.
    pub(crate) fn note_log(&mut self) -> &Arc<str> {
        self.logs += 1;
        &self.component
    }
}

/// Memory and fuel figures of one instance.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstanceStats {
    /// Bytes of linear memory now, over all memories.
    pub memory_bytes: u64,
    /// The most linear memory the instance ever had.
    pub peak_memory_bytes: u64,
    /// Fuel consumed by all guest calls so far (0 when fuel is not capped).
    pub fuel_consumed: u64,
    /// Lines the guest emitted through `host::log`.
    pub log_lines: u64,
}

/// A live instance and its lifecycle exports.
pub(crate) struct WasmInstance {
    store: Store<StoreData>,
    /// Keeps the runtime's epoch ticker awake during each guest call.
    wake: Arc<Wake>,
    fuel_budget: Option<u64>,
    fuel_consumed: u64,
    start: Option<TypedFunc<(), ()>>,
    cleanup: Lazy<()>,
    health: Lazy<i32>,
}

/// A lifecycle export looked up on its first call, so that a start pays
/// only for `_start`. Its type was checked in [`Prepared::new`].
enum Lazy<R> {
    Absent,
    Export(Instance, ModuleExport),
    Func(TypedFunc<(), R>),
}

impl<R: WasmResults> Lazy<R> {
    fn new(instance: Instance, export: Option<ModuleExport>) -> Self {
        match export {
            Some(e) => Lazy::Export(instance, e),
            None => Lazy::Absent,
        }
    }

    /// The typed function, looked up now if it was not yet; `None` when the
    /// module does not export it.
    fn get(
        &mut self,
        store: &mut Store<StoreData>,
    ) -> Result<Option<TypedFunc<(), R>>, ComponentError> {
        match self {
            Lazy::Absent => Ok(None),
            Lazy::Func(f) => Ok(Some(f.clone())),
            Lazy::Export(instance, export) => {
                let Some(func) = instance
                    .get_module_export(&mut *store, export)
                    .and_then(Extern::into_func)
                else {
                    *self = Lazy::Absent;
                    return Ok(None);
                };
                let f = func
                    .typed::<(), R>(&*store)
                    .map_err(|e| signature_error(store, e))?;
                *self = Lazy::Func(f.clone());
                Ok(Some(f))
            }
        }
    }
}

/// Which guest code a failure happened in, for messages and classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Instantiate,
    Start,
    Health,
    Cleanup,
}

impl Phase {
    fn describe(self) -> &'static str {
        match self {
            Phase::Instantiate => "instantiation",
            Phase::Start => "`_start`",
            Phase::Health => "`_health`",
            Phase::Cleanup => "`_cleanup`",
        }
    }
}

impl WasmInstance {
    /// Instantiates `prepared` in a new store under `limits`. The module's
    /// `start` section runs inside this, under the same deadline and fuel as
    /// any other guest call.
    pub(crate) async fn instantiate(
        runtime: &Runtime,
        prepared: &Prepared,
        component: Arc<str>,
        limits: &ResourceLimits,
    ) -> Result<Self, ComponentError> {
        let data = StoreData {
            component,
            limiter: Limiter::new(limits),
            deadline: deadline_after(limits.max_call_duration),
            logs: 0,
        };
        let mut store = Store::new(runtime.engine(), data);
        store.limiter(|d| &mut d.limiter);
        // Each store checks its own deadline on every epoch tick: yield to
        // the async executor while there is time left, trap once it is past.
        // The shared epoch is never bumped to stop one actor.
        store.epoch_deadline_callback(|ctx| match ctx.data().deadline {
            Some(deadline) if Instant::now() >= deadline => Ok(UpdateDeadline::Interrupt),
            _ => Ok(UpdateDeadline::Yield(1)),
        });
        let mut this = Self {
            store,
            wake: runtime.wake().clone(),
            fuel_budget: limits.max_fuel,
            fuel_consumed: 0,
            start: None,
            cleanup: Lazy::Absent,
            health: Lazy::Absent,
        };
        // The deadline is already in the store data.
        this.refill();
        let busy = this.wake.enter();
        let result = prepared.pre.instantiate_async(&mut this.store).await;
        drop(busy);
        this.settle_fuel();
        let instance = result.map_err(|e| match prepared.pool_slots {
            Some(slots) if is_pool_exhausted(&e) => pool_exhausted(&this.store, slots, e),
            _ => this.classify(Phase::Instantiate, limits.max_call_duration, limits, e),
        })?;
        // Types were checked in `Prepared::new`; `typed` re-checks cheaply.
        this.start = Lazy::new(instance, prepared.start).get(&mut this.store)?;
        this.cleanup = Lazy::new(instance, prepared.cleanup);
        this.health = Lazy::new(instance, prepared.health);
        Ok(this)
    }

    /// Calls `_start` if exported.
    pub(crate) async fn call_start(
        &mut self,
        limits: &ResourceLimits,
    ) -> Result<(), ComponentError> {
        match self.start.clone() {
            Some(f) => {
                self.call(Phase::Start, f, limits.max_call_duration, limits)
                    .await
            }
            None => Ok(()),
        }
    }

    /// Calls `_health` if exported; `None` when it is not.
    pub(crate) async fn call_health(
        &mut self,
        limits: &ResourceLimits,
    ) -> Option<Result<i32, ComponentError>> {
        let f = match self.health.get(&mut self.store) {
            Ok(f) => f?,
            Err(e) => return Some(Err(e)),
        };
        Some(
            self.call(Phase::Health, f, limits.max_call_duration, limits)
                .await,
        )
    }

    /// Calls `_cleanup` if exported, bounded by `timeout`; `None` when it is not.
    pub(crate) async fn call_cleanup(
        &mut self,
        timeout: Duration,
        limits: &ResourceLimits,
    ) -> Option<Result<(), ComponentError>> {
        let f = match self.cleanup.get(&mut self.store) {
            Ok(f) => f?,
            Err(e) => return Some(Err(e)),
        };
        Some(self.call(Phase::Cleanup, f, timeout, limits).await)
    }

    /// Memory and fuel figures so far.
    pub(crate) fn stats(&self) -> InstanceStats {
        let data = self.store.data();
        InstanceStats {
            memory_bytes: data.limiter.memory_bytes() as u64,
            peak_memory_bytes: data.limiter.peak_memory_bytes() as u64,
            fuel_consumed: self.fuel_consumed,
            log_lines: data.logs,
        }
    }

    /// Runs one guest call under a fresh deadline and fuel budget. Unless
    /// it returns `Ok`, the instance is half-run (the guest was cut off
    /// mid-way, or this future was dropped): callers must discard it, and
    /// the actor does (`CallGuard` in `actor::component_actor`).
    async fn call<R: WasmResults + Sync>(
        &mut self,
        phase: Phase,
        func: TypedFunc<(), R>,
        timeout: Duration,
        limits: &ResourceLimits,
    ) -> Result<R, ComponentError> {
        self.arm(timeout);
        let busy = self.wake.enter();
        let result = func.call_async(&mut self.store, ()).await;
        drop(busy);
        self.settle_fuel();
        result.map_err(|e| self.classify(phase, timeout, limits, e))
    }

    /// Sets the deadline and refills the fuel for the next guest call.
    fn arm(&mut self, timeout: Duration) {
        self.store.data_mut().deadline = deadline_after(timeout);
        self.refill();
    }

    /// Refills the fuel and forgets refusals, for a call whose deadline is set.
    fn refill(&mut self) {
        self.store.data_mut().limiter.reset_refusals();
        // Fuel is always on in the engine; `None` means an effectively
        // infinite budget. `set_fuel` fails only when fuel is disabled.
        let _ = self.store.set_fuel(self.fuel_budget.unwrap_or(u64::MAX));
        self.store.set_epoch_deadline(1);
    }

    fn settle_fuel(&mut self) {
        if let (Some(budget), Ok(left)) = (self.fuel_budget, self.store.get_fuel()) {
            self.fuel_consumed = self.fuel_consumed.saturating_add(budget - left.min(budget));
        }
    }

    /// The one place a wasmtime failure becomes an [`ErrorKind`].
    fn classify(
        &self,
        phase: Phase,
        deadline: Duration,
        limits: &ResourceLimits,
        err: wasmtime::Error,
    ) -> ComponentError {
        let data = self.store.data();
        classify(
            &data.component,
            phase,
            deadline,
            limits,
            data.limiter.refusals(),
            err,
        )
    }
}

/// `timeout` from now; `None` (no deadline) when that is past what the
/// clock can represent, as for `Duration::MAX`. Never clamped.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Whether instantiation failed because a pool (instances, memories,
/// tables or stacks) had no free slot.
fn is_pool_exhausted(err: &wasmtime::Error) -> bool {
    err.chain().any(|e| e.is::<PoolConcurrencyLimitError>())
}

/// The one-line error of a start that finds every pool slot taken.
fn pool_exhausted(store: &Store<StoreData>, slots: u32, err: wasmtime::Error) -> ComponentError {
    ComponentError::new(
        &*store_name(store),
        ErrorKind::Instantiation,
        format!(
            "instance pool exhausted: all {slots} slots are in use ({})",
            one_line(&err)
        ),
    )
    .with_source(err)
}

fn store_name(store: &Store<StoreData>) -> Arc<str> {
    store.data().component.clone()
}

fn signature_error(store: &Store<StoreData>, e: wasmtime::Error) -> ComponentError {
    ComponentError::new(
        &*store_name(store),
        ErrorKind::ExportSignature,
        one_line(&e),
    )
    .with_source(e)
}

/// Maps a failed guest call (or instantiation) to an error kind and message:
/// fuel and deadline traps by their trap code; any other failure after a
/// refused memory or table growth as that limit; other traps as `Trap`; and
/// non-trap instantiation failures as `Instantiation`.
pub(crate) fn classify(
    component: &str,
    phase: Phase,
    deadline: Duration,
    limits: &ResourceLimits,
    refused: Refusals,
    err: wasmtime::Error,
) -> ComponentError {
    let what = phase.describe();
    let trap = err.downcast_ref::<Trap>().copied();
    let (kind, message) = match trap {
        Some(Trap::OutOfFuel) => (
            ErrorKind::OutOfFuel,
            format!(
                "{what} ran out of fuel (budget {})",
                limits.max_fuel.unwrap_or(u64::MAX)
            ),
        ),
        Some(Trap::Interrupt) => (
            ErrorKind::Deadline,
            format!("{what} exceeded its deadline of {deadline:?}"),
        ),
        _ if refused.memory => (
            ErrorKind::MemoryLimit,
            format!(
                "{what} failed after memory growth past max_memory_bytes = {} was refused: {}",
                limits.max_memory_bytes,
                one_line(&err)
            ),
        ),
        _ if refused.table => (
            ErrorKind::TableLimit,
            format!(
                "{what} failed after table growth past max_table_elements = {} was refused: {}",
                limits.max_table_elements,
                one_line(&err)
            ),
        ),
        Some(t) => (ErrorKind::Trap, format!("{what} trapped: {t}")),
        None if phase == Phase::Instantiate => (
            ErrorKind::Instantiation,
            format!("{what} failed: {}", one_line(&err)),
        ),
        None => (
            ErrorKind::Trap,
            format!("{what} failed: {}", one_line(&err)),
        ),
    };
    ComponentError::new(component, kind, message).with_source(err)
}

/// The first line of the innermost message of a wasmtime error.
pub(crate) fn one_line(err: &wasmtime::Error) -> String {
    let root = err.root_cause().to_string();
    root.lines().next().unwrap_or("unknown error").to_string()
}
