//! [`Runtime`]: the one `Engine` many actors share, its epoch ticker, and
//! the cache of compiled, pre-linked modules.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::{ComponentError, ErrorKind};
use crate::runtime::instance::one_line;
use crate::runtime::prepare::ModuleCache;
use crate::runtime::ticker::{Ticker, Wake};

/// How instances get their memory, tables and stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Map memory for each instance when it is created (wasmtime's default).
    #[default]
    OnDemand,
    /// Reserve `slots` instances' worth of memory up front and reuse it.
    /// A start beyond `slots` live instances fails with
    /// [`ErrorKind::Instantiation`]; a module whose memory may exceed
    /// `max_memory_per_slot` is refused the same way.
    Pooling {
        /// How many instances may be live at once.
        slots: u32,
        /// The largest linear memory a slot holds, in bytes.
        max_memory_per_slot: u64,
    },
}

/// Settings of a [`Runtime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Instance allocation strategy.
    pub allocation: Allocation,
    /// How often the epoch ticker ticks while guest code runs: the
    /// granularity of every deadline and of the guest's yields to the async
    /// executor. The ticker parks after 100 ms without a guest call and the
    /// next call wakes it, so an idle runtime costs no wake-ups.
    pub epoch_tick: Duration,
    /// How many distinct modules the compile cache keeps (oldest evicted first).
    pub module_cache_capacity: usize,
}

impl Default for RuntimeConfig {
    /// On-demand allocation, a 1 ms tick, 64 cached modules.
    fn default() -> Self {
        Self {
            allocation: Allocation::OnDemand,
            epoch_tick: Duration::from_millis(1),
            module_cache_capacity: 64,
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
    cache: Mutex<ModuleCache>,
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
    /// Builds the engine for untrusted code (fuel and epoch interruption on,
    /// threads and shared memory off) and starts its epoch ticker.
    ///
    /// With [`Allocation::Pooling`], if the pool cannot be reserved (for
    /// example the address space is too small), falls back to on-demand
    /// allocation with a warning; [`allocation`](Self::allocation) tells
    /// which is in use.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Compile`] if wasmtime rejects the configuration.
    pub fn new(config: RuntimeConfig) -> Result<Self, ComponentError> {
        let (engine, allocation) = match config.allocation {
            Allocation::OnDemand => (engine(Allocation::OnDemand)?, Allocation::OnDemand),
            pooling @ Allocation::Pooling { .. } => match engine(pooling) {
                Ok(e) => (e, pooling),
                Err(err) => {
                    tracing::warn!(error = %err, "pooling allocator unavailable; using on-demand allocation");
                    (engine(Allocation::OnDemand)?, Allocation::OnDemand)
                }
            },
        };
        let wake = Arc::new(Wake::new());
        let tick = config.epoch_tick.max(Duration::from_micros(100));
        let ticker = Ticker::spawn(&engine, tick, wake.clone()).map_err(|e| {
            ComponentError::new(
                "<runtime>",
                ErrorKind::Compile,
                format!("cannot start the epoch ticker: {e}"),
            )
            .with_source(e)
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                allocation,
                cache: Mutex::new(ModuleCache::new(config.module_cache_capacity.max(1))),
                wake,
                ticker: Some(ticker),
            }),
        })
    }

    /// The allocation strategy in use (on-demand after a pooling fallback).
    pub fn allocation(&self) -> Allocation {
        self.inner.allocation
    }

    /// How many distinct modules are compiled and cached.
    pub fn cached_modules(&self) -> usize {
        self.lock_cache().modules.len()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// What every guest call on this runtime holds to keep the epoch
    /// ticker awake.
    pub(crate) fn wake(&self) -> &Arc<Wake> {
        &self.inner.wake
    }

    pub(crate) fn lock_cache(&self) -> std::sync::MutexGuard<'_, ModuleCache> {
        // The cache holds no invariant a panic could break halfway.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn engine(allocation: Allocation) -> Result<Engine, ComponentError> {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
    // Threads and shared memory stay off: wasmtime is built without its
    // `threads` feature, so the validator rejects shared memories.
    if let Allocation::Pooling {
        slots,
        max_memory_per_slot,
    } = allocation
    {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(slots)
            .total_memories(slots)
            .total_tables(slots)
            .total_stacks(slots)
            .max_memory_size(usize::try_from(max_memory_per_slot).unwrap_or(usize::MAX));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| {
        ComponentError::new(
            "<runtime>",
            ErrorKind::Compile,
            format!("engine configuration rejected: {}", one_line(&e)),
        )
        .with_source(e)
    })
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
    use crate::{ActorState, Child, ComponentActor, ComponentManifest, ComponentSource};

    const GUEST: &str = r#"(module (memory 1) (func (export "_start")))"#;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(f)
    }

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

    #[test]
    fn a_pool_that_cannot_be_reserved_falls_back_to_on_demand() {
        // A million slots of 4 GiB reservations each: petabytes of address
        // space, more than any 64-bit host offers.
        for runtime in [pooled(1_000_000, 1 << 20), pooled(4, 8 << 30)] {
            assert_eq!(runtime.allocation(), Allocation::OnDemand);
            let mut a = actor(&runtime, "fallback");
            block_on(a.start()).expect("on-demand start");
            assert_eq!(a.state(), ActorState::Ready);
        }
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
    }
}
