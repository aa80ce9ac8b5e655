//! One live instance: its `Store`, its lifecycle exports, and the one
//! guarded call every export goes through ([`WasmInstance::call_export`]:
//! the instance's state checked, fuel refilled, a deadline set, the
//! outcome classified).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use wasmtime::{
    Extern, Instance, Memory, ModuleExport, Store, Trap, TypedFunc, Val, ValType, WasmParams,
    WasmResults,
};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::ResourceLimits;
use crate::runtime::classify::{self, Call, Phase};
use crate::runtime::prepare::{MESSAGE_MEMORY, Prepared};
use crate::runtime::store::{self, StoreData};
use crate::runtime::ticker::Wake;
use crate::runtime::wasi::Output;

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
    instance: Instance,
    /// Keeps the runtime's epoch ticker awake during each guest call.
    wake: Arc<Wake>,
    /// Fuel for each guest call; `None`: no cap.
    fuel_budget: Option<u64>,
    /// Fuel used by all guest calls so far (0 when fuel is not capped).
    fuel_consumed: u64,
    exports: Exports,
    /// The guest call that did not return normally, if one did not: the
    /// instance is half-run and no guest code runs on it again.
    poisoned: Option<Phase>,
    /// The guest's `proc_exit` code, once it called it (the call is then
    /// also `poisoned`: no guest code runs after an exit).
    exited: Option<i32>,
    /// Where the guest's WASI output and exit code are kept, for WASI.
    output: Option<Arc<Output>>,
}

/// The lifecycle exports, each looked up on its first call.
pub(crate) struct Exports {
    initialize: Lazy<(), ()>,
    start: Lazy<(), ()>,
    cleanup: Lazy<(), ()>,
    health: Lazy<(), i32>,
    alloc_message: Lazy<i32, i32>,
    handle_message: Lazy<(i32, i32), i64>,
    /// The memory messages go through, once a message needed it.
    memory: Option<Memory>,
}

/// Picks one lifecycle export out of [`Exports`].
pub(crate) type Pick<P, R> = fn(&mut Exports) -> &mut Lazy<P, R>;

/// An export looked up on its first call, so that a start pays only for
/// `_start`. Its type was checked in [`Prepared::new`].
pub(crate) enum Lazy<P, R> {
    Absent,
    Export(Instance, ModuleExport),
    Func(TypedFunc<P, R>),
}

impl<P: WasmParams, R: WasmResults> Lazy<P, R> {
    fn new(instance: Instance, export: Option<ModuleExport>) -> Self {
        match export {
            Some(e) => Lazy::Export(instance, e),
            None => Lazy::Absent,
        }
    }

    /// The typed function, looked up now if it was not yet; `None` when the
    /// module does not export it. A reference: cloning a `TypedFunc` clones
    /// its registered type, which costs on every call.
    fn get(
        &mut self,
        store: &mut Store<StoreData>,
    ) -> Result<Option<&TypedFunc<P, R>>, ComponentError> {
        if let Lazy::Export(instance, export) = self {
            *self = match instance
                .get_module_export(&mut *store, export)
                .and_then(Extern::into_func)
            {
                None => Lazy::Absent,
                Some(func) => Lazy::Func(
                    func.typed::<P, R>(&*store)
                        .map_err(|e| classify::export_mistyped(store.data().component(), e))?,
                ),
            };
        }
        Ok(match self {
            Lazy::Func(f) => Some(f),
            _ => None,
        })
    }
}

/// A WASI guest call's future, bounded from the outside too: epoch interruption stops guest code, but not a guest blocked in
/// a host call (`poll_oneoff` sleeping, a read), so the call is also cut
/// off by a timer at its deadline, as a [`Trap::Interrupt`] (a deadline).
/// Dropping the call's future there leaves the instance poisoned, as any
/// call that did not return normally does.
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(Trap::Interrupt.into()),
    }
}

impl WasmInstance {
    /// Instantiates `prepared` in a new store under `limits`, with `wasi`
    /// (its context and where its output goes) when the manifest grants
    /// WASI; `wake` keeps its runtime's ticker awake. The module's `start`
    /// section runs inside this, under the same deadline and fuel as any
    /// other guest call.
    pub(crate) async fn instantiate(
        wake: &Arc<Wake>,
        prepared: &Prepared,
        component: Arc<str>,
        limits: &ResourceLimits,
        wasi: Option<(Box<WasiP1Ctx>, Arc<Output>)>,
    ) -> Result<Self, ComponentError> {
        if prepared.wasi != wasi.is_some() {
            return Err(ComponentError::new(
                &*component,
                ErrorKind::Instantiation,
                "the module was linked for another manifest (WASI granted in one, not the other)",
            ));
        }
        let (ctx, output) = wasi.unzip();
        let has_wasi = ctx.is_some();
        // The store is made in the engine the module was compiled for.
        let mut store = store::new(prepared.pre.module().engine(), component, limits, ctx);
        let fuel_budget = limits.max_fuel;
        store::arm(&mut store, limits.max_call_duration, fuel_budget);
        let busy = wake.enter();
        let result = if has_wasi {
            bounded(
                limits.max_call_duration,
                prepared.pre.instantiate_async(&mut store),
            )
            .await
        } else {
            prepared.pre.instantiate_async(&mut store).await
        };
        drop(busy);
        let fuel_consumed = store::fuel_used(&store, fuel_budget);
        let instance = result.map_err(|e| {
            classify::guest_failure(
                Call {
                    component: store.data().component(),
                    phase: Phase::Instantiate,
                    timeout: limits.max_call_duration,
                    limits,
                    refused: store.data().refusals(),
                    pool_slots: prepared.pool_slots,
                },
                e,
            )
        })?;
        Ok(Self {
            store,
            instance,
            wake: wake.clone(),
            fuel_budget,
            fuel_consumed,
            exports: Exports {
                initialize: Lazy::new(instance, prepared.initialize),
                start: Lazy::new(instance, prepared.start),
                cleanup: Lazy::new(instance, prepared.cleanup),
                health: Lazy::new(instance, prepared.health),
                alloc_message: Lazy::new(instance, prepared.alloc_message),
                handle_message: Lazy::new(instance, prepared.handle_message),
                memory: None,
            },
            poisoned: None,
            exited: None,
            output,
        })
    }

    /// Calls `_initialize` (a reactor's) and then `_start`, each if
    /// exported. A `proc_exit(0)` in either ends the start successfully
    /// (nothing after it runs); any other exit code is an
    /// [`ErrorKind::Exit`] error.
    pub(crate) async fn call_start(
        &mut self,
        limits: &ResourceLimits,
    ) -> Result<(), ComponentError> {
        let timeout = limits.max_call_duration;
        let steps: [(Phase, Pick<(), ()>); 2] = [
            (Phase::Initialize, |e| &mut e.initialize),
            (Phase::Start, |e| &mut e.start),
        ];
        for (phase, export) in steps {
            if matches!(export(&mut self.exports), Lazy::Absent) {
                continue;
            }
            match self.call_export(phase, export, (), timeout, limits).await {
                None | Some(Ok(())) => {}
                Some(Err(e)) if e.exit_code() == Some(0) => return Ok(()),
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Calls `_health` if exported; `None` when it is not.
    pub(crate) async fn call_health(
        &mut self,
        limits: &ResourceLimits,
    ) -> Option<Result<i32, ComponentError>> {
        let timeout = limits.max_call_duration;
        self.call_export(Phase::Health, |e| &mut e.health, (), timeout, limits)
            .await
    }

    /// Calls `_cleanup` if exported, bounded by `timeout`; `None` when it is not.
    pub(crate) async fn call_cleanup(
        &mut self,
        timeout: Duration,
        limits: &ResourceLimits,
    ) -> Option<Result<(), ComponentError>> {
        self.call_export(Phase::Cleanup, |e| &mut e.cleanup, (), timeout, limits)
            .await
    }

    /// Handles one message through the message ABI: `alloc-message(len)`
    /// gives room (skipped for an empty message, which is passed as
    /// `(0, 0)`), the bytes are written there, `handle-message(ptr, len)`
    /// returns `reply_ptr << 32 | reply_len`, and the reply is copied out.
    /// Each of the two calls is guarded as every guest call is. `None` when
    /// the module has no `handle-message`.
    ///
    /// A pointer and length outside the memory is [`ErrorKind::MessageAbi`],
    /// a reply over `max_reply` bytes [`ErrorKind::MessageTooLarge`]; both
    /// leave the instance intact (the guest returned normally).
    pub(crate) async fn call_message(
        &mut self,
        message: &[u8],
        max_reply: u32,
        limits: &ResourceLimits,
    ) -> Option<Result<Bytes, ComponentError>> {
        match self.exports.handle_message.get(&mut self.store) {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        }
        Some(self.message(message, max_reply, limits).await)
    }

    async fn message(
        &mut self,
        message: &[u8],
        max_reply: u32,
        limits: &ResourceLimits,
    ) -> Result<Bytes, ComponentError> {
        let timeout = limits.max_call_duration;
        let abi = |this: &Self, what: String| {
            ComponentError::new(
                this.store.data().component().as_ref(),
                ErrorKind::MessageAbi,
                what,
            )
        };
        // Bounded by `max_message_bytes` (at most 16 MiB) before it got here.
        let len =
            i32::try_from(message.len()).map_err(|_| abi(self, "message over 2 GiB".into()))?;
        let memory = match self.exports.memory {
            Some(m) => m,
            None => {
                let m = self
                    .instance
                    .get_memory(&mut self.store, MESSAGE_MEMORY)
                    .ok_or_else(|| abi(self, "the module exports no memory `memory`".into()))?;
                self.exports.memory = Some(m);
                m
            }
        };
        let ptr = if len == 0 {
            0
        } else {
            let ptr = self
                .call_export(
                    Phase::AllocMessage,
                    |e| &mut e.alloc_message,
                    len,
                    timeout,
                    limits,
                )
                .await
                .unwrap_or_else(|| {
                    Err(abi(self, "the module exports no `alloc-message`".into()))
                })?;
            if memory
                .write(&mut self.store, ptr as u32 as usize, message)
                .is_err()
            {
                return Err(abi(
                    self,
                    format!(
                        "`alloc-message({len})` returned {}, but {len} bytes there are outside \
                         the memory's {} bytes",
                        ptr as u32,
                        memory.data_size(&self.store)
                    ),
                ));
            }
            ptr
        };
        let packed = self
            .call_export(
                Phase::HandleMessage,
                |e| &mut e.handle_message,
                (ptr, len),
                timeout,
                limits,
            )
            .await
            .unwrap_or_else(|| Err(abi(self, "the module exports no `handle-message`".into())))?;
        let (at, reply_len) = ((packed as u64 >> 32) as usize, packed as u32);
        if reply_len > max_reply {
            return Err(ComponentError::new(
                self.store.data().component().as_ref(),
                ErrorKind::MessageTooLarge,
                format!("the reply is {reply_len} bytes, over max_message_bytes = {max_reply}"),
            ));
        }
        let data = memory.data(&self.store);
        match at
            .checked_add(reply_len as usize)
            .and_then(|end| data.get(at..end))
        {
            Some(reply) => Ok(Bytes::copy_from_slice(reply)),
            None => Err(abi(
                self,
                format!(
                    "`handle-message` returned a reply of {reply_len} bytes at {at}, outside \
                     the memory's {} bytes",
                    data.len()
                ),
            )),
        }
    }

    /// The guest's `proc_exit` code, once it has called it.
    pub(crate) fn exited(&self) -> Option<i32> {
        self.exited
    }

    /// Memory and fuel figures so far.
    pub(crate) fn stats(&self) -> InstanceStats {
        let data = self.store.data();
        InstanceStats {
            memory_bytes: data.memory_bytes(),
            peak_memory_bytes: data.peak_memory_bytes(),
            fuel_consumed: self.fuel_consumed,
            log_lines: data.log_lines(),
        }
    }

    /// Refuses a call on an instance where an earlier one did not return
    /// normally (or the guest exited).
    fn refuse_if_half_run(&self, phase: &Phase) -> Result<(), ComponentError> {
        let component = self.store.data().component();
        match (&self.poisoned, self.exited) {
            (None, _) => Ok(()),
            (Some(earlier), Some(code)) => Err(classify::exited(component, phase, earlier, code)),
            (Some(earlier), None) => Err(classify::poisoned(component, phase, earlier)),
        }
    }

    /// What every guest call does before the guest runs: the instance
    /// marked half-run until the call returns normally, the deadline and
    /// fuel armed.
    fn begin(&mut self, phase: Phase, timeout: Duration) {
        self.poisoned = Some(phase);
        store::arm(&mut self.store, timeout, self.fuel_budget);
    }

    /// What every guest call does after the guest ran: fuel counted, and
    /// the outcome classified; only an `Ok` clears the half-run mark, and a
    /// `proc_exit` is recorded.
    fn end<R>(
        &mut self,
        phase: Phase,
        timeout: Duration,
        limits: &ResourceLimits,
        result: wasmtime::Result<R>,
    ) -> Result<R, ComponentError> {
        let used = store::fuel_used(&self.store, self.fuel_budget);
        self.fuel_consumed = self.fuel_consumed.saturating_add(used);
        let e = match result {
            Ok(r) => {
                self.poisoned = None;
                return Ok(r);
            }
            Err(e) => e,
        };
        let data = self.store.data();
        let error = classify::guest_failure(
            Call {
                component: data.component(),
                phase,
                timeout,
                limits,
                refused: data.refusals(),
                pool_slots: None,
            },
            e,
        );
        if let Some(code) = error.exit_code() {
            self.exited = Some(code);
            if let Some(output) = &self.output {
                output.set_exit_code(code);
            }
        }
        Err(error)
    }

    /// The one guarded guest call, for every lifecycle export: the export
    /// (`export` picks it) is looked up (`None`: not exported); the call is
    /// refused if an earlier call on this instance did not return normally;
    /// else it runs with `params` under a deadline of `timeout` and a full
    /// fuel budget, its failure classified. Unless it returns `Ok`, the
    /// instance is half-run (the guest was cut off mid-way, exited, or this
    /// future was dropped): it refuses every later call, and callers must
    /// discard it, as the actor does (`CallGuard` in
    /// `actor::component_actor`).
    pub(crate) async fn call_export<P, R>(
        &mut self,
        phase: Phase,
        export: Pick<P, R>,
        params: P,
        timeout: Duration,
        limits: &ResourceLimits,
    ) -> Option<Result<R, ComponentError>>
    where
        P: WasmParams + Sync,
        R: WasmResults + Sync,
    {
        match export(&mut self.exports).get(&mut self.store) {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        }
        if let Err(e) = self.refuse_if_half_run(&phase) {
            return Some(Err(e));
        }
        let wasi = self.store.data().has_wasi();
        self.begin(phase.clone(), timeout);
        let busy = self.wake.enter();
        let Lazy::Func(func) = export(&mut self.exports) else {
            return None;
        };
        // Only a WASI store pays for the timer (and the extra future).
        let result = if wasi {
            bounded(timeout, func.call_async(&mut self.store, params)).await
        } else {
            func.call_async(&mut self.store, params).await
        };
        drop(busy);
        Some(self.end(phase, timeout, limits, result))
    }

    /// Calls the export `name` with `params`, guarded exactly as the
    /// lifecycle exports are ([`call_export`](Self::call_export)). A name
    /// the module does not export as a function is
    /// [`ErrorKind::NotExported`], parameters of other types
    /// [`ErrorKind::ExportSignature`]; neither runs guest code nor marks
    /// the instance half-run.
    pub(crate) async fn call_named(
        &mut self,
        name: &str,
        params: &[Val],
        limits: &ResourceLimits,
    ) -> Result<Vec<Val>, ComponentError> {
        let component = self.store.data().component().clone();
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            return Err(ComponentError::new(
                &*component,
                ErrorKind::NotExported,
                format!("the module exports no function `{name}`"),
            ));
        };
        let ty = func.ty(&self.store);
        let given: Vec<Option<ValType>> = params.iter().map(|v| v.ty(&self.store).ok()).collect();
        let fits = given.len() == ty.params().len()
            && ty
                .params()
                .zip(&given)
                .all(|(want, got)| got.as_ref().is_some_and(|g| ValType::eq(&want, g)));
        if !fits {
            let list = |tys: Vec<String>| tys.join(" ");
            return Err(ComponentError::new(
                &*component,
                ErrorKind::ExportSignature,
                format!(
                    "`{name}` takes [{}], called with [{}]",
                    list(ty.params().map(|t| t.to_string()).collect()),
                    list(
                        given
                            .iter()
                            .map(|t| t.as_ref().map_or("?".into(), |t| t.to_string()))
                            .collect()
                    )
                ),
            ));
        }
        let phase = Phase::Call(name.into());
        self.refuse_if_half_run(&phase)?;
        let mut results: Vec<Val> = ty.results().map(|t| zero(&t)).collect();
        let timeout = limits.max_call_duration;
        let wasi = self.store.data().has_wasi();
        self.begin(phase.clone(), timeout);
        let busy = self.wake.enter();
        let result = if wasi {
            bounded(
                timeout,
                func.call_async(&mut self.store, params, &mut results),
            )
            .await
        } else {
            func.call_async(&mut self.store, params, &mut results).await
        };
        drop(busy);
        self.end(phase, timeout, limits, result).map(|()| results)
    }
}

/// A placeholder result of type `ty`, overwritten by the call.
fn zero(ty: &ValType) -> Val {
    Val::default_for_ty(ty).unwrap_or(Val::I32(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ComponentManifest, Runtime, RuntimeConfig};

    /// `_health` traps when asked the first time; `_cleanup` returns.
    const GUEST: &str = r#"(module
        (func (export "_health") (result i32) unreachable)
        (func (export "_cleanup")))"#;

    use crate::test_support::block_on;

    async fn instance(runtime: &Runtime, wat: &str) -> (WasmInstance, ResourceLimits) {
        let manifest = ComponentManifest::new("poison").unwrap();
        let bytes: Arc<[u8]> = wat::parse_str(wat).unwrap().into();
        let prepared = runtime.prepare(&bytes, &manifest).unwrap();
        let limits = manifest.limits().clone();
        let i =
            WasmInstance::instantiate(runtime.wake(), &prepared, "poison".into(), &limits, None)
                .await
                .unwrap();
        (i, limits)
    }

    #[test]
    fn a_call_that_did_not_return_normally_refuses_every_later_call() {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        block_on(async {
            let (mut i, limits) = instance(&runtime, GUEST).await;
            let trap = i.call_health(&limits).await.unwrap().unwrap_err();
            assert_eq!(trap.kind(), ErrorKind::Trap, "{trap}");
            let refused = i
                .call_cleanup(Duration::from_millis(50), &limits)
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::InvalidTransition, "{refused}");
            assert!(refused.message().contains("`_health`"), "{refused}");
            let again = i.call_health(&limits).await.unwrap().unwrap_err();
            assert_eq!(again.kind(), ErrorKind::InvalidTransition, "{again}");
        });
    }

    #[test]
    fn calls_that_return_leave_the_instance_usable() {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        block_on(async {
            let healthy = r#"(module
                (func (export "_health") (result i32) i32.const 1)
                (func (export "_cleanup")))"#;
            let (mut i, limits) = instance(&runtime, healthy).await;
            assert_eq!(i.call_start(&limits).await.ok(), Some(()));
            for _ in 0..2 {
                assert_eq!(i.call_health(&limits).await.unwrap().ok(), Some(1));
            }
            let cleanup = i.call_cleanup(Duration::from_millis(50), &limits).await;
            assert!(matches!(cleanup, Some(Ok(()))), "{cleanup:?}");
        });
    }
}
