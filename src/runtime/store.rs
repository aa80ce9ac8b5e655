//! What one store holds ([`StoreData`]: who the guest is, its limiter, the
//! deadline of the guest call in progress, its WASI context), and the steps every guest call
//! takes on it: [`arm`] before (deadline, fuel refilled), [`fuel_used`]
//! after. Knows nothing of modules, instances or the engine beyond the
//! `Engine` a store is made in.
//!
//! The fuel budget and the running total are kept by the caller, not in
//! the store data: wasmtime allocates the store data with every store, and
//! 24 more bytes there were 24 more bytes on every start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::manifest::ResourceLimits;
use crate::runtime::limits::{Limiter, Refusals};

/// Per-store state: who the guest is, its limiter and the deadline of the
/// guest call in progress.
pub(crate) struct StoreData {
    component: Arc<str>,
    limiter: Limiter,
    /// When the guest call in progress must stop; `None`: no deadline (a
    /// timeout too large for the clock was asked for).
    deadline: Option<Instant>,
    logs: u64,
    /// The WASI context, exactly when the manifest grants WASI (and the
    /// linker then links preview1, whose functions reach it by [`Self::wasi`]).
    /// Boxed: a context is hundreds of bytes, and the store data is
    /// allocated and moved with every store, WASI or not.
    wasi: Option<Box<WasiP1Ctx>>,
}

impl StoreData {
    /// The component's name.
    pub(crate) fn component(&self) -> &Arc<str> {
        &self.component
    }

    /// Counts one `host::log` line and returns the component's name for it.
    pub(crate) fn note_log(&mut self) -> &Arc<str> {
        self.logs += 1;
        &self.component
    }

    /// Which caps refused a growth since the last [`arm`].
    pub(crate) fn refusals(&self) -> Refusals {
        self.limiter.refusals()
    }

    /// Bytes of linear memory now, over all memories.
    pub(crate) fn memory_bytes(&self) -> u64 {
        self.limiter.memory_bytes() as u64
    }

    /// The most linear memory the store ever had.
    pub(crate) fn peak_memory_bytes(&self) -> u64 {
        self.limiter.peak_memory_bytes() as u64
    }

    /// Lines the guest emitted through `host::log`.
    pub(crate) fn log_lines(&self) -> u64 {
        self.logs
    }

    /// Whether the store has a WASI context.
    pub(crate) fn has_wasi(&self) -> bool {
        self.wasi.is_some()
    }

    /// The WASI context, for preview1's host functions. They are linked
    /// only for manifests that grant WASI, and a store for such a manifest
    /// always has one; `WasmInstance::instantiate` refuses a store and
    /// module that disagree, so the panic below cannot be reached.
    pub(crate) fn wasi(&mut self) -> &mut WasiP1Ctx {
        match self.wasi.as_mut() {
            Some(w) => w,
            None => unreachable!("WASI is linked only for stores that have a WASI context"),
        }
    }
}

/// A store for `component` under `limits`: its limiter installed, and its
/// own deadline checked on every epoch tick (yield to the async executor
/// while there is time left, trap once it is past; the shared epoch is
/// never bumped to stop one actor), with `wasi` as its WASI context.
/// [`arm`] it before each guest call.
pub(crate) fn new(
    engine: &Engine,
    component: Arc<str>,
    limits: &ResourceLimits,
    wasi: Option<Box<WasiP1Ctx>>,
) -> Store<StoreData> {
    let data = StoreData {
        component,
        limiter: Limiter::new(limits),
        deadline: None,
        logs: 0,
        wasi,
    };
    let mut store = Store::new(engine, data);
    store.limiter(|d| &mut d.limiter);
    store.epoch_deadline_callback(|ctx| match ctx.data().deadline {
        Some(deadline) if Instant::now() >= deadline => Ok(UpdateDeadline::Interrupt),
        _ => Ok(UpdateDeadline::Yield(1)),
    });
    store
}

/// Before a guest call: its deadline `timeout` from now, the fuel refilled
/// to `budget` (`None`: no cap), and the limiter's refusals forgotten.
pub(crate) fn arm(store: &mut Store<StoreData>, timeout: Duration, budget: Option<u64>) {
    let data = store.data_mut();
    data.deadline = deadline_after(timeout);
    data.limiter.reset_refusals();
    // Fuel is always on in the engine; `None` means an effectively
    // infinite budget. `set_fuel` fails only when fuel is disabled.
    let _ = store.set_fuel(budget.unwrap_or(u64::MAX));
    store.set_epoch_deadline(1);
}

/// After a guest call [`arm`]ed with `budget`: the fuel it used (0 when
/// fuel is not capped).
pub(crate) fn fuel_used(store: &Store<StoreData>, budget: Option<u64>) -> u64 {
    match (budget, store.get_fuel()) {
        (Some(budget), Ok(left)) => budget - left.min(budget),
        _ => 0,
    }
}

/// `timeout` from now; `None` (no deadline) when that is past what the
/// clock can represent, as for `Duration::MAX`. Never clamped.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
