//! [`Runtime`]: the one `Engine` many actors share, its configuration
//! (every proposal set explicitly, [`PROPOSALS`]), its epoch ticker, and
//! the cache of compiled, pre-linked modules.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OperatorCost, PoolingAllocationConfig, WasmFeatures,
};

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::{ComponentManifest, MAX_MEMORY_BYTES};
use crate::runtime::classify;
use crate::runtime::prepare::{ModuleCache, Prepared};
use crate::runtime::ticker::{Ticker, Wake};

/// How instances get their memory, tables and stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Map memory for each instance when it is created (wasmtime's default).
    #[default]
    OnDemand,
    /// Reserve `slots` instances' worth of memory up front and reuse it.
    /// A start beyond `slots` live instances fails with
    /// [`ErrorKind::Instantiation`]; a module whose initial memory exceeds
    /// `max_memory_per_slot` never fits, and wasmtime refuses it when it
    /// compiles the module ([`ErrorKind::Compile`]).
    Pooling {
        /// How many instances may be live at once.
        slots: u32,
        /// The largest linear memory a slot holds, in bytes.
        max_memory_per_slot: u64,
    },
}

/// The finest [`RuntimeConfig::epoch_tick`]: a finer tick costs more
/// wake-ups than the deadlines it sharpens are worth.
pub const MIN_EPOCH_TICK: Duration = Duration::from_micros(100);
/// The coarsest [`RuntimeConfig::epoch_tick`]: every deadline is late by up
/// to one tick.
pub const MAX_EPOCH_TICK: Duration = Duration::from_secs(1);

/// Settings of a [`Runtime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Instance allocation strategy.
    pub allocation: Allocation,
    /// How often the epoch ticker ticks while guest code runs: the
    /// granularity of every deadline and of the guest's yields to the async
    /// executor, from [`MIN_EPOCH_TICK`] to [`MAX_EPOCH_TICK`]. The ticker
    /// parks after 100 ms without a guest call and the next call wakes it,
    /// so an idle runtime costs no wake-ups.
    pub epoch_tick: Duration,
    /// How many distinct modules the compile cache keeps (oldest evicted
    /// first); at least 1.
    pub module_cache_capacity: usize,
    /// With [`Allocation::Pooling`]: use on-demand allocation instead when
    /// the pool cannot be set up (no slots, or a reservation the host
    /// refuses), rather than failing [`Runtime::new`]. Off by default: a
    /// configuration asked for either works or fails.
    /// [`Runtime::allocation`] tells which allocation is in use.
    pub pooling_fallback: bool,
    /// Address space reserved for each linear memory, in bytes. `None`
    /// (the default) keeps wasmtime's: 4 GiB plus 32 MiB guard regions on
    /// 64-bit hosts, so compiled code needs no bounds checks, but each live
    /// actor holds about 4.26 GB of address space and a process has
    /// 128 TiB: about 32,000 actors at most. `Some(bytes)` reserves `bytes`
    /// (plus the guards): compiled code then checks the bounds of memory
    /// accesses explicitly (a loop of loads and stores measured 1.25x
    /// slower with 256 KiB: `examples/memory_reservation.rs`), and a memory that
    /// grows past its reservation is moved to a new one of its size plus
    /// `bytes`. At most [`MAX_MEMORY_BYTES`], the most memory a manifest
    /// grants. Under [`Allocation::Pooling`] it is each slot's memory
    /// reservation, and must hold `max_memory_per_slot`. The manifest's
    /// memory limit is enforced either way.
    pub memory_reservation: Option<u64>,
}

impl RuntimeConfig {
    /// The settings no engine is needed to judge; [`Runtime::new`] calls it.
    fn validate(&self) -> Result<(), ComponentError> {
        let bad =
            |message: String| Err(ComponentError::new("<runtime>", ErrorKind::Config, message));
        if !(MIN_EPOCH_TICK..=MAX_EPOCH_TICK).contains(&self.epoch_tick) {
            return bad(format!(
                "epoch_tick = {:?} is outside {MIN_EPOCH_TICK:?}..={MAX_EPOCH_TICK:?}",
                self.epoch_tick
            ));
        }
        if self.module_cache_capacity == 0 {
            return bad("module_cache_capacity = 0: the cache must hold at least 1 module".into());
        }
        if let Some(reservation) = self.memory_reservation
            && reservation > MAX_MEMORY_BYTES
        {
            return bad(format!(
                "memory_reservation = {reservation} bytes is above {MAX_MEMORY_BYTES}, the most \
                 memory a manifest may grant (None keeps wasmtime's reservation)"
            ));
        }
        if let (
            Some(reservation),
            Allocation::Pooling {
                max_memory_per_slot,
                ..
            },
        ) = (self.memory_reservation, self.allocation)
            && max_memory_per_slot > reservation
        {
            return bad(format!(
                "memory_reservation = {reservation} bytes cannot hold a pool slot's \
                 max_memory_per_slot = {max_memory_per_slot} bytes"
            ));
        }
        Ok(())
    }
}

impl Default for RuntimeConfig {
    /// On-demand allocation, a 1 ms tick, 64 cached modules, no pooling
    /// fallback, wasmtime's memory reservation.
    fn default() -> Self {
        Self {
            allocation: Allocation::OnDemand,
            epoch_tick: Duration::from_millis(1),
            module_cache_capacity: 64,
            pooling_fallback: false,
            memory_reservation: None,
        }
    }
}

/// The shared engine many actors run on. Cheap to clone; the epoch ticker
/// thread ends (and is joined) when the last clone is dropped.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    allocation: Allocation,
    cache: ModuleCache,
    wake: Arc<Wake>,
    ticker: Option<Ticker>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("allocation", &self.inner.allocation)
            .field("cached_modules", &self.cached_modules())
            .finish()
    }
}

impl Runtime {
    /// Builds the engine for untrusted code and starts its epoch ticker.
    /// Fuel and epoch interruption are on, and every WebAssembly proposal
    /// is set explicitly (one table in `src/runtime/engine.rs` says which
    /// and why): threads, shared memory, custom page sizes and the
    /// component model are refused at compile time whatever wasmtime's
    /// cargo features are.
    ///
    /// With [`Allocation::Pooling`], a pool of no slots, or one whose
    /// reservation wasmtime or the host refuses (a million slots, a 64 GiB
    /// slot), fails, unless [`RuntimeConfig::pooling_fallback`] asks for
    /// on-demand allocation instead; [`allocation`](Self::allocation) tells
    /// which is in use.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`], in one line, if `epoch_tick` is outside
    /// [`MIN_EPOCH_TICK`]`..=`[`MAX_EPOCH_TICK`], `module_cache_capacity` is
    /// 0, `memory_reservation` is above [`MAX_MEMORY_BYTES`] or cannot hold
    /// a pool slot's memory, the pool
    /// cannot be set up (and no fallback was asked for),
    /// wasmtime rejects the configuration, or the epoch ticker's thread
    /// cannot be started.
    pub fn new(config: RuntimeConfig) -> Result<Self, ComponentError> {
        config.validate()?;
        let reservation = config.memory_reservation;
        let (engine, allocation) = match config.allocation {
            Allocation::OnDemand => (
                engine(Allocation::OnDemand, reservation)?,
                Allocation::OnDemand,
            ),
            pooling @ Allocation::Pooling { .. } => match engine(pooling, reservation) {
                Ok(e) => (e, pooling),
                Err(err) if config.pooling_fallback => {
                    tracing::warn!(error = %err, "pooling allocator unavailable; using on-demand allocation as asked");
                    (
                        engine(Allocation::OnDemand, reservation)?,
                        Allocation::OnDemand,
                    )
                }
                Err(err) => return Err(err),
            },
        };
        let wake = Arc::new(Wake::new());
        let ticker = Ticker::spawn(&engine, config.epoch_tick, wake.clone())
            .map_err(classify::ticker_failed)?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                allocation,
                cache: ModuleCache::new(config.module_cache_capacity),
                wake,
                ticker: Some(ticker),
            }),
        })
    }

    /// The allocation strategy in use (on-demand after a pooling fallback
    /// that [`RuntimeConfig::pooling_fallback`] asked for).
    pub fn allocation(&self) -> Allocation {
        self.inner.allocation
    }

    /// How many distinct modules are compiled and cached.
    pub fn cached_modules(&self) -> usize {
        self.inner.cache.len()
    }

    /// What every guest call on this runtime holds to keep the epoch
    /// ticker awake.
    pub(crate) fn wake(&self) -> &Arc<Wake> {
        &self.inner.wake
    }

    /// `bytes` checked against `manifest`, compiled and pre-linked for
    /// this engine, from the cache when it holds them.
    pub(crate) fn prepare(
        &self,
        bytes: &Arc<[u8]>,
        manifest: &ComponentManifest,
    ) -> Result<Arc<Prepared>, ComponentError> {
        let pool_slots = match self.inner.allocation {
            Allocation::Pooling { slots, .. } => Some(slots),
            Allocation::OnDemand => None,
        };
        self.inner
            .cache
            .prepare(&self.inner.engine, pool_slots, bytes, manifest)
    }
}

/// The WebAssembly proposals the engine accepts: every proposal wasmtime 48's
/// `Config` knows is set here, on or off, whatever wasmtime's cargo features
/// and defaults are (a build that unifies wasmtime's default features on,
/// `threads` and `component-model` among them, gets exactly this set too;
/// `tests/downstream` proves it).
///
/// | proposal | accepted | why |
/// |---|---|---|
/// | mutable globals, sign extension, non-trapping float-to-int, multi-value, bulk memory, reference types, SIMD (WebAssembly 1.0 and 2.0) | yes | every current toolchain emits them; refusing them buys no safety |
/// | extended constant expressions, tail calls | yes | WebAssembly 3.0; no resource a limit must see |
/// | multi-memory, memory64 | yes | WebAssembly 3.0; every memory, 32- or 64-bit, grows through the store's limiter and counts against `max_memory_bytes` (`tests/limits.rs`) |
/// | relaxed SIMD | yes, deterministic | WebAssembly 3.0; `relaxed_simd_deterministic` makes a module compute the same on every host |
/// | floats, GC types (wasmparser switches, not proposals) | yes | without them any `f32` and every `externref` would be refused |
/// | typed function references, GC, exceptions | yes | WebAssembly 3.0, in wasmtime's defaults (this crate builds wasmtime with `gc`); the GC heap grows through the same limiter |
/// | threads (shared memory, atomics), shared-everything threads | no | a shared memory outlives its store and its growth is not reported to the store's limiter; actors share nothing |
/// | custom page sizes | no | not yet standard and off in wasmtime by default; its 1-byte pages add growth that wasmtime fails without asking the limiter |
/// | wide arithmetic, stack switching | no | not yet standard, off in wasmtime by default (stack switching is experimental and x86-64 only) |
/// | legacy exceptions | no | the pre-standard encoding; `exceptions` covers the standard one |
/// | memory control, custom descriptors, compact imports | no | not implemented by wasmtime 48 |
/// | component model, with every `cm_*` extension | no | component-actor runs core modules |
///
/// Branch hinting is not a validation feature (wasmtime reads hints as
/// advice only) and stays at wasmtime's default.
pub(crate) const PROPOSALS: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::MEMORY64)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::FUNCTION_REFERENCES)
    .union(WasmFeatures::GC)
    .union(WasmFeatures::GC_TYPES)
    .union(WasmFeatures::EXCEPTIONS);

fn engine(allocation: Allocation, reservation: Option<u64>) -> Result<Engine, ComponentError> {
    let mut config = Config::new();
    // Every proposal, on or off, from the one table above: nothing is left
    // to wasmtime's defaults or to which of its cargo features are on.
    config.wasm_features(WasmFeatures::all(), false);
    config.wasm_features(PROPOSALS, true);
    config.relaxed_simd_deterministic(true);
    config.consume_fuel(true);
    config.operator_cost(operator_cost());
    config.epoch_interruption(true);
    if let Some(bytes) = reservation {
        // A memory that outgrows its reservation moves to one of its size
        // plus `bytes` (wasmtime's default slack is 2 GiB, which would give
        // back what a small reservation saves).
        config
            .memory_reservation(bytes)
            .memory_reservation_for_growth(bytes);
    }
    if let Allocation::Pooling {
        slots,
        max_memory_per_slot,
    } = allocation
    {
        if slots == 0 {
            return Err(ComponentError::new(
                "<runtime>",
                ErrorKind::Config,
                "a pool of 0 slots cannot hold any instance",
            ));
        }
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(slots)
            .total_memories(slots)
            .total_tables(slots)
            .total_stacks(slots)
            .max_memory_size(usize::try_from(max_memory_per_slot).unwrap_or(usize::MAX));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| {
        let what = match allocation {
            Allocation::OnDemand => "engine configuration rejected".to_string(),
            Allocation::Pooling {
                slots,
                max_memory_per_slot,
            } => format!("cannot reserve a pool of {slots} slots of {max_memory_per_slot} bytes"),
        };
        classify::engine_rejected(what, e)
    })
}

/// Wasmtime's fuel costs, but for `table.grow`: wasmtime charges it one
/// unit per *requested* element before the limiter is asked, so a guest
/// asking for 2^64 - 1 elements paid `i64::MAX` fuel for a growth that is
/// refused, and three such requests exhausted even the "no cap" budget of
/// `u64::MAX` (issue 9, defect 9). Here a `table.grow` pays its flat cost
/// only. Nothing unbounded gets cheaper: a refused growth does no work, and
/// the elements a store's successful growths fill add up to at most
/// `max_table_elements` over its whole life, as tables never shrink.
fn operator_cost() -> OperatorCost {
    let mut cost = OperatorCost::new();
    cost.variable.table_grow_per_element = 0;
    cost
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Stop the ticker before the engine goes.
        drop(self.ticker.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ActorState, Child, ChildHealth, ComponentActor, ComponentManifest, ComponentSource,
    };

    const GUEST: &str = r#"(module (memory 1) (func (export "_start")))"#;

    use crate::test_support::block_on;

    fn pooled(slots: u32, max_memory_per_slot: u64) -> Runtime {
        Runtime::new(RuntimeConfig {
            allocation: Allocation::Pooling {
                slots,
                max_memory_per_slot,
            },
            ..RuntimeConfig::default()
        })
        .expect("runtime")
    }

    fn actor(runtime: &Runtime, name: &str) -> ComponentActor {
        ComponentActor::new(
            runtime,
            ComponentSource::from_wat(GUEST),
            ComponentManifest::new(name).expect("manifest"),
        )
    }

    #[test]
    fn a_start_beyond_the_pool_fails_with_one_line_naming_the_slots() {
        let runtime = pooled(2, 1 << 20);
        assert_eq!(
            runtime.allocation(),
            Allocation::Pooling {
                slots: 2,
                max_memory_per_slot: 1 << 20
            }
        );
        block_on(async {
            let mut live: Vec<ComponentActor> =
                (0..2).map(|i| actor(&runtime, &format!("a{i}"))).collect();
            for a in &mut live {
                a.start().await.expect("a slot is free");
                assert_eq!(a.state(), ActorState::Ready);
            }
            let mut third = actor(&runtime, "third");
            let err = third.start().await.expect_err("no slot is free");
            assert_eq!(err.kind(), ErrorKind::Instantiation, "{err}");
            let text = err.to_string();
            assert!(text.contains("instance pool exhausted"), "{text}");
            assert!(text.contains("all 2 slots are in use"), "{text}");
            assert!(!text.contains('\n'), "{text}");
            assert!(
                matches!(third.state(), ActorState::Failed(_)),
                "{:?}",
                third.state()
            );

            // A stop gives the slot back: the same actor now starts.
            live[0].stop(Duration::from_millis(50)).await.expect("stop");
            third.start().await.expect("a slot was released");
            assert_eq!(third.state(), ActorState::Ready);
        });
    }

    fn pooling(slots: u32, max_memory_per_slot: u64, fallback: bool) -> RuntimeConfig {
        RuntimeConfig {
            allocation: Allocation::Pooling {
                slots,
                max_memory_per_slot,
            },
            pooling_fallback: fallback,
            ..RuntimeConfig::default()
        }
    }

    /// No slots; a million slots (each with its own multi-GiB reservation:
    /// more address space than any 64-bit host has); a 64 GiB slot.
    const IMPOSSIBLE_POOLS: [(u32, u64); 3] = [(0, 1 << 20), (1_000_000, 1 << 20), (4, 64 << 30)];

    #[test]
    fn a_pool_that_cannot_be_set_up_fails_with_a_one_line_config_error() {
        for (slots, per_slot) in IMPOSSIBLE_POOLS {
            let err = Runtime::new(pooling(slots, per_slot, false))
                .expect_err("an impossible pool must not become on-demand allocation");
            assert_eq!(err.kind(), ErrorKind::Config, "{slots} x {per_slot}: {err}");
            let text = err.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.contains(&format!("{slots} slots")), "{text}");
        }
    }

    #[test]
    fn a_pool_that_cannot_be_set_up_falls_back_to_on_demand_only_when_asked() {
        for (slots, per_slot) in IMPOSSIBLE_POOLS {
            let runtime = Runtime::new(pooling(slots, per_slot, true)).expect("fallback");
            assert_eq!(runtime.allocation(), Allocation::OnDemand);
            let mut a = actor(&runtime, "fallback");
            block_on(a.start()).expect("on-demand start");
            assert_eq!(a.state(), ActorState::Ready);
        }
        // A pool that can be set up is used, fallback or not.
        let runtime = Runtime::new(pooling(2, 1 << 20, true)).expect("pool");
        assert!(matches!(runtime.allocation(), Allocation::Pooling { .. }));
    }

    /// A tick or cache size no runtime can honour is a typed one-line
    /// `Config` error naming the setting, never a silent clamp; the bounds
    /// themselves are accepted.
    #[test]
    fn ticks_and_cache_sizes_out_of_bounds_are_config_errors() {
        let with = |epoch_tick, module_cache_capacity| {
            Runtime::new(RuntimeConfig {
                epoch_tick,
                module_cache_capacity,
                ..RuntimeConfig::default()
            })
        };
        for tick in [MIN_EPOCH_TICK, MAX_EPOCH_TICK] {
            assert!(with(tick, 1).is_ok(), "{tick:?}");
        }
        for (tick, capacity, needle) in [
            (MIN_EPOCH_TICK - Duration::from_nanos(1), 64, "epoch_tick"),
            (Duration::ZERO, 64, "epoch_tick"),
            (MAX_EPOCH_TICK + Duration::from_nanos(1), 64, "epoch_tick"),
            (Duration::from_millis(1), 0, "module_cache_capacity"),
        ] {
            let e = with(tick, capacity).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(e.to_string().contains(needle), "{e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    /// Stores 42, grows from 1 page to 5 (past a small reservation, so the
    /// memory moves), checks the 42 survived and the new last word is
    /// usable; `_health` loads a word that crosses the end of memory.
    const GROWER: &str = r#"(module
      (memory 1)
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 42))
        (if (i32.ne (memory.grow (i32.const 4)) (i32.const 1)) (then unreachable))
        (if (i32.ne (i32.load (i32.const 0)) (i32.const 42)) (then unreachable))
        (i32.store (i32.const 327676) (i32.const 7))
        (if (i32.ne (i32.load (i32.const 327676)) (i32.const 7)) (then unreachable)))
      (func (export "_health") (result i32)
        (drop (i32.load (i32.const 327677)))
        (i32.const 0)))"#;

    /// With a reservation smaller than the memory, or none at all, memory
    /// still grows (moving, its contents kept) and an access past its end
    /// still traps: compiled code checks bounds instead of relying on the
    /// guard region.
    #[test]
    fn a_small_memory_reservation_keeps_growth_and_bounds() {
        for reservation in [None, Some(0), Some(64 << 10), Some(1 << 20)] {
            let runtime = Runtime::new(RuntimeConfig {
                memory_reservation: reservation,
                ..RuntimeConfig::default()
            })
            .expect("runtime");
            let mut a = ComponentActor::new(
                &runtime,
                ComponentSource::from_wat(GROWER),
                ComponentManifest::new("grower").expect("manifest"),
            );
            block_on(a.start()).unwrap_or_else(|e| panic!("{reservation:?}: {e}"));
            match block_on(a.health_check()) {
                ChildHealth::Failed(reason) => assert!(
                    reason.contains("out of bounds memory access"),
                    "{reservation:?}: {reason}"
                ),
                other => panic!("{reservation:?}: a load past the end answered {other:?}"),
            }
        }
    }

    /// A pool slot's memory must fit in the reservation asked for: a
    /// contradiction is refused before any engine is built, fallback or
    /// not; so is a reservation above the most memory a manifest grants.
    #[test]
    fn a_reservation_smaller_than_a_pool_slot_or_above_4_gib_is_a_config_error() {
        for fallback in [false, true] {
            let config = RuntimeConfig {
                memory_reservation: Some(1 << 20),
                ..pooling(2, 2 << 20, fallback)
            };
            let e = Runtime::new(config).expect_err("the slot does not fit");
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            let text = e.to_string();
            assert!(text.contains("memory_reservation = 1048576"), "{text}");
            assert!(text.contains("max_memory_per_slot = 2097152"), "{text}");
        }
        for too_much in [MAX_MEMORY_BYTES + 1, u64::MAX] {
            let e = Runtime::new(RuntimeConfig {
                memory_reservation: Some(too_much),
                ..RuntimeConfig::default()
            })
            .expect_err("more than any manifest grants");
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("memory_reservation = {too_much}")),
                "{e}"
            );
        }
        assert!(
            Runtime::new(RuntimeConfig {
                memory_reservation: Some(MAX_MEMORY_BYTES),
                ..RuntimeConfig::default()
            })
            .is_ok()
        );
        let fits = Runtime::new(RuntimeConfig {
            memory_reservation: Some(1 << 20),
            ..pooling(2, 1 << 20, false)
        })
        .expect("a slot the size of the reservation fits");
        let mut a = actor(&fits, "pooled");
        block_on(a.start()).expect("start in a slot");
        assert_eq!(a.state(), ActorState::Ready);
    }

    #[test]
    fn the_cache_finds_modules_by_content_not_by_allocation() {
        let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
        let manifest = ComponentManifest::new("cache").expect("manifest");
        let bytes: Arc<[u8]> = wat::parse_str(GUEST).expect("wat").into();
        let copy: Arc<[u8]> = bytes.to_vec().into();
        let first = runtime.prepare(&bytes, &manifest).expect("prepare");
        let second = runtime.prepare(&copy, &manifest).expect("prepare");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(runtime.cached_modules(), 1);
        let other: Arc<[u8]> = wat::parse_str(r#"(module (memory 2) (func (export "_start")))"#)
            .expect("wat")
            .into();
        let third = runtime.prepare(&other, &manifest).expect("prepare");
        assert!(!Arc::ptr_eq(&first, &third));
        assert_eq!(runtime.cached_modules(), 2);
        // `Debug` shows the allocation and the cache.
        let shown = format!("{runtime:?}");
        assert!(
            shown.starts_with("Runtime {")
                && shown.contains("allocation: OnDemand")
                && shown.contains("cached_modules: 2"),
            "{shown}"
        );
    }
}
