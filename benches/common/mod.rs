//! Shared by the benches and the `perf_gate` / `footprint` examples: the
//! guest fixtures, our [`Runtime`] set up like the baseline, and the
//! raw-wasmtime baseline itself: the same `Engine` configuration (fuel and
//! epoch interruption on, same pooling settings), an `InstancePre`, and per
//! instance a `Store` with a limiter, a fuel budget and an epoch deadline,
//! instantiated and driven through the same exports with the same async
//! calls, then dropped.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Allocation, Child, ComponentActor, ComponentManifest, ComponentSource,
    ResourceLimits, Runtime, RuntimeConfig,
};
use wasmtime::{
    Config, Engine, Instance, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ResourceLimiter, Store, TypedFunc,
};

/// The guest every figure runs: one page of memory, a global, and quick
/// `_start`, `_health` and `_cleanup`.
pub const GUEST: &str = r#"(module
  (memory (export "memory") 1)
  (global $state (mut i32) (i32.const 0))
  (func (export "_start") (global.set $state (i32.const 1)))
  (func (export "_health") (result i32) (global.get $state) (i32.const 1) (i32.sub))
  (func (export "_cleanup") (global.set $state (i32.const 0))))"#;

/// Like [`GUEST`] but `_cleanup` never returns.
pub const HANGING: &str = r#"(module
  (memory (export "memory") 1)
  (global $state (mut i32) (i32.const 0))
  (func (export "_start") (global.set $state (i32.const 1)))
  (func (export "_health") (result i32) (i32.const 0))
  (func (export "_cleanup") (loop (br 0))))"#;

/// The timeout given to a hanging `_cleanup`.
pub const HANG_TIMEOUT: Duration = Duration::from_millis(10);

/// The timeout given to a quick `_cleanup`.
pub const STOP_TIMEOUT: Duration = Duration::from_millis(100);

/// Fuel per guest call, as in `ResourceLimits::default()`.
pub const FUEL: u64 = 10_000_000;
/// Memory cap, as in `ResourceLimits::default()`.
pub const MAX_MEMORY: usize = 16 << 20;
/// The epoch tick of both runtimes.
pub const TICK: Duration = Duration::from_millis(1);

/// The binary of [`GUEST`].
pub fn guest() -> Arc<[u8]> {
    wat::parse_str(GUEST).expect("GUEST parses").into()
}

/// The binary of [`HANGING`].
pub fn hanging() -> Arc<[u8]> {
    wat::parse_str(HANGING).expect("HANGING parses").into()
}

/// A binary like [`GUEST`] that no other `n` produces: a cold module.
pub fn unique_guest(n: u64) -> Arc<[u8]> {
    let text = GUEST.replace(
        "(global $state (mut i32) (i32.const 0))",
        &format!("(global $state (mut i32) (i32.const 0))\n  (global i64 (i64.const {n}))"),
    );
    wat::parse_str(text).expect("unique guest parses").into()
}

/// The pooling configuration both sides use in the benches.
pub fn pooling(slots: u32) -> Allocation {
    Allocation::Pooling {
        slots,
        max_memory_per_slot: MAX_MEMORY as u64,
    }
}

/// Name of an allocation for bench ids.
pub fn label(allocation: Allocation) -> &'static str {
    match allocation {
        Allocation::OnDemand => "on-demand",
        Allocation::Pooling { .. } => "pooling",
    }
}

/// Our runtime with `allocation` and a 1 ms tick. Panics if a pooling
/// runtime fell back to on-demand: the figure would be mislabelled.
pub fn runtime(allocation: Allocation) -> Runtime {
    let rt = Runtime::new(RuntimeConfig {
        allocation,
        epoch_tick: TICK,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    assert_eq!(rt.allocation(), allocation, "pool could not be reserved");
    rt
}

/// A new actor (state Creating) on `bytes` with default limits.
pub fn actor(rt: &Runtime, bytes: &Arc<[u8]>) -> ComponentActor {
    ComponentActor::new(
        rt,
        ComponentSource::Bytes(bytes.clone()),
        ComponentManifest::new("bench").unwrap(),
    )
}

/// A new actor on [`hanging`] bytes without a fuel cap, so only the
/// deadline ends its `_cleanup`.
pub fn hanging_actor(rt: &Runtime, bytes: &Arc<[u8]>) -> ComponentActor {
    let limits = ResourceLimits {
        max_fuel: None,
        ..ResourceLimits::default()
    };
    ComponentActor::new(
        rt,
        ComponentSource::Bytes(bytes.clone()),
        ComponentManifest::builder("bench")
            .limits(limits)
            .build()
            .unwrap(),
    )
}

/// Starts `actor` and asserts it is Ready.
pub async fn start_ready(actor: &mut ComponentActor) {
    actor.start().await.expect("start succeeds");
    assert_eq!(actor.state(), ActorState::Ready);
}

/// Stops `actor` and asserts it is Terminated.
pub async fn stop_terminated(actor: &mut ComponentActor, timeout: Duration) {
    actor.stop(timeout).await.expect("stop succeeds");
    assert_eq!(actor.state(), ActorState::Terminated);
}

/// The baseline's per-store state: a limiter like ours.
pub struct RawData {
    limiter: RawLimiter,
}

struct RawLimiter {
    max_memory: usize,
    memory: usize,
}

impl ResourceLimiter for RawLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory + desired.saturating_sub(current);
        if total > self.max_memory {
            return Ok(false);
        }
        self.memory = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }
}

/// The same engine configuration as `Runtime::new` builds.
pub fn raw_engine(allocation: Allocation) -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
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
            .max_memory_size(max_memory_per_slot as usize);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).expect("raw engine")
}

/// Raw wasmtime: one engine with its own 1 ms epoch ticker, one pre-linked
/// module.
pub struct Raw {
    pub engine: Engine,
    pre: InstancePre<RawData>,
    fuel: u64,
}

impl Raw {
    pub fn new(allocation: Allocation, bytes: &[u8]) -> Self {
        let engine = raw_engine(allocation);
        let weak = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        });
        let pre = Self::prepare(&engine, bytes);
        Self {
            engine,
            pre,
            fuel: FUEL,
        }
    }

    /// Like [`Raw::new`] for [`hanging`]: no fuel cap (as `max_fuel = None`
    /// is for us, `u64::MAX`), only the deadline ends `_cleanup`.
    pub fn unfuelled(allocation: Allocation, bytes: &[u8]) -> Self {
        Self {
            fuel: u64::MAX,
            ..Self::new(allocation, bytes)
        }
    }

    /// Compile + link: what a cold start adds.
    pub fn prepare(engine: &Engine, bytes: &[u8]) -> InstancePre<RawData> {
        let module = Module::from_binary(engine, bytes).expect("raw compile");
        Linker::new(engine)
            .instantiate_pre(&module)
            .expect("raw link")
    }

    /// Store + instantiate + `_start` on the cached `InstancePre`.
    pub async fn start(&self) -> RawInstance {
        RawInstance::start_with(&self.engine, &self.pre, self.fuel).await
    }
}

/// A live raw instance.
pub struct RawInstance {
    store: Store<RawData>,
    instance: Instance,
    fuel: u64,
    /// `_health`, looked up on the first health check and kept.
    health: Option<TypedFunc<(), i32>>,
}

fn ticks(timeout: Duration) -> u64 {
    (timeout.as_micros() / TICK.as_micros()).max(1) as u64
}

impl RawInstance {
    pub async fn start(engine: &Engine, pre: &InstancePre<RawData>) -> Self {
        Self::start_with(engine, pre, FUEL).await
    }

    async fn start_with(engine: &Engine, pre: &InstancePre<RawData>, fuel: u64) -> Self {
        let mut store = Store::new(
            engine,
            RawData {
                limiter: RawLimiter {
                    max_memory: MAX_MEMORY,
                    memory: 0,
                },
            },
        );
        store.limiter(|d| &mut d.limiter);
        store.set_fuel(fuel).expect("fuel");
        store.set_epoch_deadline(ticks(STOP_TIMEOUT));
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .expect("raw instantiate");
        // `_start` if exported (the echo guest has none).
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start").ok();
        let mut this = Self {
            store,
            instance,
            fuel,
            health: None,
        };
        if let Some(start) = start {
            this.arm(STOP_TIMEOUT);
            start
                .call_async(&mut this.store, ())
                .await
                .expect("raw _start");
        }
        this
    }

    fn arm(&mut self, timeout: Duration) {
        self.store.set_fuel(self.fuel).expect("fuel");
        self.store.set_epoch_deadline(ticks(timeout));
    }

    /// Calls `_health`; asserts it reports healthy.
    pub async fn health(&mut self) {
        self.arm(STOP_TIMEOUT);
        let health = match &self.health {
            Some(f) => f.clone(),
            None => {
                let f = self
                    .instance
                    .get_typed_func::<(), i32>(&mut self.store, "_health")
                    .expect("_health");
                self.health.insert(f).clone()
            }
        };
        let h = health
            .call_async(&mut self.store, ())
            .await
            .expect("raw _health");
        assert_eq!(h, 0);
    }

    /// Calls `_cleanup` under `timeout` and drops the store. Returns whether
    /// `_cleanup` completed (false: it was interrupted at its deadline).
    pub async fn stop(mut self, timeout: Duration) -> bool {
        self.arm(timeout);
        let cleanup = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, "_cleanup")
            .expect("_cleanup");
        let done = cleanup.call_async(&mut self.store, ()).await.is_ok();
        drop(self);
        done
    }
}

/// Percentile `p` (0..=100) of `samples` (sorted in place).
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    assert!(!samples.is_empty());
    samples.sort_unstable();
    let i = ((samples.len() - 1) as f64 * p / 100.0).round() as usize;
    samples[i]
}

/// Times `f` once.
pub async fn time<F: std::future::Future>(f: F) -> (Duration, F::Output) {
    let t = Instant::now();
    let out = f.await;
    (t.elapsed(), out)
}

/// A WASI command for the WASI figures: `_start` writes one line to stdout
/// through `fd_write` (the `wat/wasi_hello.wat` fixture, without headers).
pub const WASI_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\0c\00\00\00")
  (data (i32.const 16) "hello, wasi\n")
  (func (export "_start")
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32))
      (then unreachable))))"#;

/// The binary of [`WASI_GUEST`].
pub fn wasi_guest() -> Arc<[u8]> {
    wat::parse_str(WASI_GUEST)
        .expect("WASI_GUEST parses")
        .into()
}

/// A WASI actor for [`WASI_GUEST`]: `[wasi]` with its defaults (no
/// arguments, environment or directories; 1 MiB of output per stream).
pub fn wasi_actor(rt: &Runtime, bytes: &Arc<[u8]>) -> ComponentActor {
    let manifest = ComponentManifest::builder("wasi_hello")
        .wasi(component_actor::WasiConfig::default())
        .build()
        .expect("manifest");
    ComponentActor::new(rt, ComponentSource::Bytes(bytes.clone()), manifest)
}

/// The raw baseline's per-store state under WASI: wasmtime-wasi's
/// preview1 context and the same limiter.
pub struct RawWasiData {
    wasi: wasmtime_wasi::p1::WasiP1Ctx,
    limiter: RawLimiter,
}

/// Raw wasmtime + wasmtime-wasi doing what a WASI actor's start does: a
/// context like ours (argv[0] the name, empty stdin, stdout and stderr
/// captured in memory, no network), a store with the limiter, fuel and an
/// epoch deadline, instantiation, `_start`. Shares [`Raw`]'s engine.
pub struct RawWasi {
    engine: Engine,
    pre: InstancePre<RawWasiData>,
}

impl RawWasi {
    pub fn new(raw: &Raw, bytes: &[u8]) -> Self {
        let engine = raw.engine.clone();
        let module = Module::from_binary(&engine, bytes).expect("raw compile");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |d: &mut RawWasiData| &mut d.wasi)
            .expect("raw WASI link");
        let pre = linker.instantiate_pre(&module).expect("raw link");
        Self { engine, pre }
    }

    /// Builds the WASI context alone.
    pub fn context() -> wasmtime_wasi::p1::WasiP1Ctx {
        use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
        let mut b = wasmtime_wasi::WasiCtxBuilder::new();
        b.arg("wasi_hello")
            .stdin(MemoryInputPipe::new(bytes::Bytes::new()))
            .stdout(MemoryOutputPipe::new(1 << 20))
            .stderr(MemoryOutputPipe::new(1 << 20))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        b.build_p1()
    }

    /// Context + store + instantiate + `_start`; the store is returned, to
    /// be dropped outside the timing (as an actor's start keeps its store).
    pub async fn start(&self) -> Store<RawWasiData> {
        let mut store = Store::new(
            &self.engine,
            RawWasiData {
                wasi: Self::context(),
                limiter: RawLimiter {
                    max_memory: MAX_MEMORY,
                    memory: 0,
                },
            },
        );
        store.limiter(|d| &mut d.limiter);
        store.set_fuel(FUEL).expect("fuel");
        store.set_epoch_deadline(ticks(STOP_TIMEOUT));
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .expect("raw instantiate");
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .expect("_start");
        store.set_fuel(FUEL).expect("fuel");
        start.call_async(&mut store, ()).await.expect("raw _start");
        store
    }
}

/// The echo actor of the message figures (`wat/message_echo.wat`): the
/// reply is the message, where `alloc-message` put it.
pub const ECHO: &str = include_str!("../../wat/message_echo.wat");

/// The binary of [`ECHO`].
pub fn echo_guest() -> Arc<[u8]> {
    wat::parse_str(ECHO).expect("ECHO parses").into()
}

/// A started echo actor on `rt`, with a mailbox of `capacity`.
pub async fn echo_actor(rt: &Runtime, bytes: &Arc<[u8]>, capacity: usize) -> ComponentActor {
    let manifest = ComponentManifest::builder("echo")
        .mailbox(component_actor::MailboxConfig {
            capacity,
            ..Default::default()
        })
        .build()
        .expect("manifest");
    let mut actor = ComponentActor::new(rt, ComponentSource::Bytes(bytes.clone()), manifest);
    start_ready(&mut actor).await;
    actor
}

/// Raw wasmtime handling one message as an actor does: fuel and deadline
/// armed before each of `alloc-message` and `handle-message`
/// (`TypedFunc::call_async`), the message written to the guest's memory,
/// the reply copied out.
pub struct RawEcho {
    instance: RawInstance,
    memory: wasmtime::Memory,
    alloc: TypedFunc<i32, i32>,
    handle: TypedFunc<(i32, i32), i64>,
}

impl RawEcho {
    pub async fn start(raw: &Raw) -> Self {
        let mut instance = raw.start().await;
        let store = &mut instance.store;
        let memory = instance
            .instance
            .get_memory(&mut *store, "memory")
            .expect("memory");
        let alloc = instance
            .instance
            .get_typed_func(&mut *store, "alloc-message")
            .expect("alloc-message");
        let handle = instance
            .instance
            .get_typed_func(&mut *store, "handle-message")
            .expect("handle-message");
        Self {
            instance,
            memory,
            alloc,
            handle,
        }
    }

    /// One message: the reply.
    pub async fn message(&mut self, message: &[u8]) -> bytes::Bytes {
        self.try_message(message).await.expect("raw handle-message")
    }

    /// One message: the reply, or how `handle-message` failed (a trap).
    pub async fn try_message(&mut self, message: &[u8]) -> wasmtime::Result<bytes::Bytes> {
        let i = &mut self.instance;
        i.arm(STOP_TIMEOUT);
        let len = message.len() as i32;
        let ptr = self
            .alloc
            .call_async(&mut i.store, len)
            .await
            .expect("raw alloc-message");
        self.memory
            .write(&mut i.store, ptr as usize, message)
            .expect("raw write");
        i.arm(STOP_TIMEOUT);
        let packed = self.handle.call_async(&mut i.store, (ptr, len)).await?;
        let (at, n) = ((packed as u64 >> 32) as usize, packed as u32 as usize);
        Ok(bytes::Bytes::copy_from_slice(
            &self.memory.data(&i.store)[at..at + n],
        ))
    }

    /// Calls `_cleanup` under `timeout` and drops the store (see
    /// [`RawInstance::stop`]).
    pub async fn stop(self, timeout: Duration) -> bool {
        self.instance.stop(timeout).await
    }
}

/// This process's (VmRSS, VmSize) in KiB, from `/proc/self/status`.
pub fn status() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmSize:"))
}
