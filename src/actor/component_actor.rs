//! [`ComponentActor`]: one WebAssembly module driven through the lifecycle.
//!
//! What the actor and its handles share ([`Shared`]) is the state cell and
//! the slot that holds the live instance. The slot's async lock is also the
//! actor's operation lock: whoever runs guest code, stops the instance or
//! puts a new one in holds it, so a stop from a handle and a health check
//! never interleave, and each state change that says an instance exists is
//! made under that lock together with the change of the slot.
//!
//! Cancellation: every `async fn` here may be dropped at any `.await`. A
//! [`Unfinished`] guard is armed for as long as the state says something is
//! in progress (Starting, Stopping) and applies
//! [`Transition::Abandon`] when dropped armed; a guest call whose future is
//! dropped leaves its instance poisoned, and a [`CallGuard`] then discards
//! that instance and fails the actor.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::actor::child::{Child, ChildHealth};
use crate::actor::recipe::{Made, Recipe, Standby};
use crate::actor::state::{ActorState, Applied, Refused, StateCell, Transition};
use crate::error::{ComponentError, ErrorKind};
use crate::manifest::{ComponentManifest, ResourceLimits};
use crate::runtime::engine::Runtime;
use crate::runtime::instance::{InstanceStats, WasmInstance};
use crate::runtime::loader::ComponentSource;
use crate::runtime::prepare::Prepared;
use crate::runtime::wasi::{self, Output, WasiOutput};
use wasmtime::Val;

/// How the last `stop` went for the guest's `_cleanup`.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CleanupOutcome {
    /// `_cleanup` returned within the timeout.
    Completed,
    /// The module exports no `_cleanup`.
    NotExported,
    /// `_cleanup` ran past the timeout and was interrupted.
    TimedOut,
    /// `_cleanup` trapped (or ran out of fuel), with the reason.
    Trapped(String),
    /// `_cleanup` was not run: a guest call on the instance did not return
    /// normally (trap, deadline, fuel, or its caller dropped the call), so
    /// the instance was discarded and the actor failed. The reason says
    /// which call.
    Poisoned(String),
    /// `_cleanup` was not run: the guest had called `proc_exit` with this
    /// code (in `_start`, say), after which no guest code runs.
    Exited(i32),
}

impl CleanupOutcome {
    /// The outcome's name without its reason (`"TimedOut"`).
    pub fn name(&self) -> &'static str {
        match self {
            CleanupOutcome::Completed => "Completed",
            CleanupOutcome::NotExported => "NotExported",
            CleanupOutcome::TimedOut => "TimedOut",
            CleanupOutcome::Trapped(_) => "Trapped",
            CleanupOutcome::Poisoned(_) => "Poisoned",
            CleanupOutcome::Exited(_) => "Exited",
        }
    }
}

/// What an actor and all its handles share.
struct Shared {
    id: Arc<str>,
    state: StateCell,
    /// Woken when Starting or Stopping ends, for stops that wait for a
    /// start (or another stop) to finish.
    changed: tokio::sync::Notify,
    /// The live instance: `Some` exactly in Ready (and while a stop that
    /// took the lock is running). The lock is the operation lock.
    slot: tokio::sync::Mutex<Option<WasmInstance>>,
    /// Fuel and memory limits `_cleanup` runs under (its deadline is the
    /// stop's timeout).
    limits: ResourceLimits,
    /// The largest reply a message may have.
    max_message_bytes: u32,
    record: Mutex<Record>,
    /// The instance being made for the next start, when the actor keeps a
    /// standby ([`ComponentActor::with_standby`]).
    standby: Mutex<Option<Standby>>,
}

/// What the last stop and the last instance left behind.
#[derive(Default)]
struct Record {
    last_cleanup: Option<CleanupOutcome>,
    last_stats: Option<InstanceStats>,
    /// The WASI output of the last start, for WASI actors.
    wasi: Option<Arc<Output>>,
}

impl Shared {
    /// Applies a transition, logs it and wakes waiters; the one way the
    /// state changes.
    fn transition(&self, t: Transition) -> Result<Applied, Refused> {
        let result = self.state.apply(t);
        if let Ok(a) = &result
            && a.from != a.to
        {
            tracing::info!(component = %self.id, from = %a.from, to = %a.to, "state transition");
            // Stops wait only for Starting or Stopping to end.
            if matches!(a.from, ActorState::Starting | ActorState::Stopping) {
                self.changed.notify_waiters();
            }
        }
        result
    }

    /// The operation lock: taken at once when free (the common case, no
    /// future to build), else waited for.
    async fn lock_slot(&self) -> tokio::sync::MutexGuard<'_, Option<WasmInstance>> {
        match self.slot.try_lock() {
            Ok(slot) => slot,
            Err(_) => self.slot.lock().await,
        }
    }

    fn refused(&self, op: &str, r: Refused) -> ComponentError {
        ComponentError::new(
            &*self.id,
            ErrorKind::InvalidTransition,
            format!("cannot {op}: actor is {}", r.state.name()),
        )
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        // Plain assignments only: a panic cannot leave it half-written.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The standby slot (a plain swap of an `Option`: a panic cannot
    /// leave it half-written either).
    fn standby(&self) -> std::sync::MutexGuard<'_, Option<Standby>> {
        self.standby.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records how the instance ended and releases it.
    fn retire(&self, instance: WasmInstance, outcome: CleanupOutcome) {
        let mut record = self.record();
        record.last_stats = Some(instance.stats());
        record.last_cleanup = Some(outcome);
        drop(record);
        drop(instance);
    }

    /// Runs `_cleanup` (bounded by `timeout`), records the outcome and
    /// releases the instance.
    async fn shut_down(&self, mut instance: WasmInstance, timeout: Duration) {
        if let Some(code) = instance.exited() {
            self.retire(instance, CleanupOutcome::Exited(code));
            return;
        }
        let outcome = match instance.call_cleanup(timeout, &self.limits).await {
            None => CleanupOutcome::NotExported,
            Some(Ok(())) => CleanupOutcome::Completed,
            Some(Err(e)) if e.kind() == ErrorKind::Deadline => {
                tracing::warn!(component = %self.id, error = %e, "cleanup timed out");
                CleanupOutcome::TimedOut
            }
            Some(Err(e)) => {
                tracing::warn!(component = %self.id, error = %e, "cleanup failed");
                CleanupOutcome::Trapped(e.message().to_string())
            }
        };
        self.retire(instance, outcome);
    }

    /// The one stop, for the actor and for every handle: Ready -> Stopping
    /// -> Terminated with `_cleanup` bounded by `timeout`; Creating, Failed
    /// or Terminated -> Terminated at once; while Starting, the stop is
    /// recorded and this waits until the start has ended and the stop has
    /// been carried out; while another stop runs, this waits for it.
    async fn stop(&self, timeout: Duration) -> Result<(), ComponentError> {
        // Every stop ends Terminated, and a stopped actor holds no
        // instance, a standby included (taken out before it is dropped).
        let standby = self.standby().take();
        drop(standby);
        loop {
            // Decide under the operation lock, so that Ready here means the
            // slot holds the instance and no one else is about to take it.
            let mut slot = self.lock_slot().await;
            let waiting_on = match self.transition(Transition::BeginStop) {
                Ok(a) if a.from == ActorState::Ready => None,
                // Recorded: the start takes it when it completes.
                Ok(a) if a.from == ActorState::Starting => Some(ActorState::Starting),
                Ok(_) => return Ok(()),
                Err(Refused {
                    state: ActorState::Stopping,
                }) => Some(ActorState::Stopping),
                Err(r) => return Err(self.refused("stop", r)),
            };
            if let Some(state) = waiting_on {
                // Register for the next change, then look again: a change
                // made before the registration is seen by the look, any
                // later one wakes the wait.
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                drop(slot);
                if self.state.get() == state {
                    notified.await;
                }
                continue;
            }
            let guard = Unfinished::arm(self, "stop was cancelled");
            if let Some(instance) = slot.take() {
                self.shut_down(instance, timeout).await;
            }
            let _ = guard.finish(Transition::StopFinished);
            return Ok(());
        }
    }
}

/// [`ErrorKind::Stopped`]: a message not handled, the actor being in
/// `state`.
pub(crate) fn stopped(component: &str, state: &ActorState) -> ComponentError {
    ComponentError::new(
        component,
        ErrorKind::Stopped,
        format!("the message was not handled: actor is {}", state.name()),
    )
}

/// [`ErrorKind::MessageTooLarge`] for a message of `len` bytes.
pub(crate) fn too_large(component: &str, len: usize) -> ComponentError {
    ComponentError::new(
        component,
        ErrorKind::MessageTooLarge,
        format!("the message is {len} bytes, over max_message_bytes"),
    )
}

/// A cheap, thread-safe handle on an actor: read its state from any
/// thread, and stop it from any task, while its owner runs `start`,
/// `stop` or `health_check`. It stays valid after the actor is dropped.
#[derive(Clone)]
pub struct ActorHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ActorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorHandle")
            .field("component", &self.shared.id)
            .field("state", &self.shared.state.get())
            .finish()
    }
}

impl ActorHandle {
    /// The actor's current state.
    pub fn state(&self) -> ActorState {
        self.shared.state.get()
    }

    /// The component's name.
    pub fn component(&self) -> &str {
        &self.shared.id
    }

    /// How the last instance ended, as
    /// [`ComponentActor::last_cleanup`] reports it (readable after the
    /// actor moved into its task).
    pub fn last_cleanup(&self) -> Option<CleanupOutcome> {
        self.shared.record().last_cleanup.clone()
    }

    /// The WASI output of the last start, as
    /// [`ComponentActor::wasi_output`] reports it.
    pub fn wasi_output(&self) -> Option<WasiOutput> {
        self.shared.record().wasi.as_ref().map(|o| o.snapshot())
    }

    pub(crate) fn id(&self) -> &Arc<str> {
        &self.shared.id
    }

    pub(crate) fn max_message_bytes(&self) -> u32 {
        self.shared.max_message_bytes
    }

    /// The manifest's bound on one guest call.
    pub(crate) fn max_call_duration(&self) -> Duration {
        self.shared.limits.max_call_duration
    }

    /// Stops the actor, exactly as [`Child::stop`] on the actor does, from
    /// any task: Ready -> Stopping -> Terminated with `_cleanup` bounded by
    /// `timeout`; Creating, Failed or Terminated -> Terminated. While the
    /// actor is Starting, the stop is recorded, the start completes (each
    /// of its guest calls bounded by its deadline), then the actor is
    /// stopped and that `start` returns [`ErrorKind::Cancelled`]; this
    /// waits for all of that. While another stop runs, this waits for it
    /// to finish.
    ///
    /// # Errors
    ///
    /// None today: every state either stops or waits for a stop. The
    /// `Result` is kept for [`ErrorKind::InvalidTransition`] should a state
    /// ever refuse.
    pub async fn stop(&self, timeout: Duration) -> Result<(), ComponentError> {
        self.shared.stop(timeout).await
    }

    /// Asks for a stop without waiting for it (callable from a thread with
    /// no async runtime). While Starting, the stop is recorded and carried
    /// out when the start completes (the actor runs `_cleanup`, bounded by
    /// `max_call_duration`, and ends Terminated; that `start` returns
    /// [`ErrorKind::Cancelled`]). In Creating, Failed or Terminated the
    /// actor is Terminated at once; in Stopping a stop is already under way.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTransition`] in Ready: stopping a running actor
    /// runs `_cleanup`, which needs an async caller; use
    /// [`stop`](Self::stop). The request is never silently dropped.
    pub fn request_stop(&self) -> Result<(), ComponentError> {
        let applied = self
            .shared
            .transition(Transition::RequestStop)
            .map_err(|r| {
                ComponentError::new(
                    &*self.shared.id,
                    ErrorKind::InvalidTransition,
                    format!(
                        "cannot request a stop: actor is {}; stop it with `ActorHandle::stop(timeout).await`",
                        r.state.name()
                    ),
                )
            })?;
        tracing::info!(component = %self.shared.id, state = %applied.from, "stop requested");
        Ok(())
    }
}

/// A WebAssembly module run as a supervised actor.
///
/// ```
/// use std::time::Duration;
/// use component_actor::{ActorState, Child, ComponentActor, ComponentManifest, ComponentSource, Runtime, RuntimeConfig};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let runtime = Runtime::new(RuntimeConfig::default())?;
/// let source = ComponentSource::from_wat(r#"(module (func (export "_start")))"#);
/// let mut actor = ComponentActor::new(&runtime, source, ComponentManifest::new("hello")?);
/// actor.start().await?;
/// assert_eq!(actor.state(), ActorState::Ready);
/// actor.stop(Duration::from_millis(50)).await?;
/// assert_eq!(actor.state(), ActorState::Terminated);
/// # Ok::<(), component_actor::ComponentError>(())
/// # }).unwrap();
/// ```
pub struct ComponentActor {
    runtime: Runtime,
    source: ComponentSource,
    manifest: ComponentManifest,
    shared: Arc<Shared>,
    /// The checked, pre-linked module, kept after the first successful
    /// preparation so restarts skip loading and the cache lookup.
    prepared: Option<Arc<Prepared>>,
    /// How an instance is made, once the module is prepared and a WASI
    /// actor's stdin read (from the manifest's file, on the first start
    /// that needs it; every start after is fed the same bytes).
    recipe: Option<Arc<Recipe>>,
    /// Whether a standby instance is made after every start.
    keep_standby: bool,
}

impl std::fmt::Debug for ComponentActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentActor")
            .field("component", &self.shared.id)
            .field("state", &self.shared.state.get())
            .field("last_cleanup", &self.shared.record().last_cleanup)
            .finish_non_exhaustive()
    }
}

impl ComponentActor {
    /// A new actor in state Creating. Nothing is loaded until `start`; the
    /// source is read once, on the first start that gets past loading.
    pub fn new(runtime: &Runtime, source: ComponentSource, manifest: ComponentManifest) -> Self {
        let shared = Arc::new(Shared {
            id: manifest.name().into(),
            state: StateCell::new(),
            changed: tokio::sync::Notify::new(),
            slot: tokio::sync::Mutex::new(None),
            limits: manifest.limits().clone(),
            max_message_bytes: manifest.mailbox().max_message_bytes,
            record: Mutex::new(Record::default()),
            standby: Mutex::new(None),
        });
        Self {
            runtime: runtime.clone(),
            source,
            manifest,
            shared,
            prepared: None,
            recipe: None,
            keep_standby: false,
        }
    }

    /// Keeps a standby instance (off by default): after every successful
    /// start, the next instance is made in a task of its own (a store
    /// under the manifest's limits, the WASI context, the module
    /// instantiated), so that the next start, a restart after a failure
    /// above all, only has to call `_initialize` and `_start` on it. A
    /// supervised restart then took 0.6 of a warm start, against 1.6
    /// without (docs/supervision.md#figures).
    ///
    /// The costs: a second instance per actor while it runs (its memory,
    /// address space and mappings; under [`Allocation::Pooling`] a second
    /// pool slot), made whether or not a restart ever comes; and the
    /// module's `start` section, if it has one, runs when the standby is
    /// made rather than when the start that uses it begins (a WASI
    /// actor's preopened directories are opened then too). What a standby
    /// writes to stdout or stderr there is the output of the start that
    /// uses it. A standby that could not be made (a `start` section that
    /// traps, memory refused) is discarded, and the start makes its own
    /// instance and reports that failure as any start does. A stop
    /// discards the standby: a stopped actor holds no instance.
    ///
    /// [`Allocation::Pooling`]: crate::Allocation::Pooling
    pub fn with_standby(mut self, keep: bool) -> Self {
        self.keep_standby = keep;
        self
    }

    /// The current state.
    pub fn state(&self) -> ActorState {
        self.shared.state.get()
    }

    /// A handle that reads the state from any thread and can stop the
    /// actor from any task.
    pub fn handle(&self) -> ActorHandle {
        ActorHandle {
            shared: self.shared.clone(),
        }
    }

    /// The component's name (from the manifest).
    pub fn component(&self) -> &str {
        &self.shared.id
    }

    /// The manifest the actor runs under.
    pub fn manifest(&self) -> &ComponentManifest {
        &self.manifest
    }

    /// How the last instance ended: `_cleanup`'s outcome in the last stop
    /// that had an instance to stop, or [`CleanupOutcome::Poisoned`] when
    /// the instance was discarded after a guest call failed.
    pub fn last_cleanup(&self) -> Option<CleanupOutcome> {
        self.shared.record().last_cleanup.clone()
    }

    /// What the guest of the last start wrote to stdout and stderr and the
    /// code it passed to `proc_exit`, as bytes; `None` unless the manifest
    /// grants WASI and a start got as far as building its context. Output
    /// written before a failure (a trap, a deadline, `proc_exit(1)`) is
    /// kept; the next start begins afresh.
    pub fn wasi_output(&self) -> Option<WasiOutput> {
        self.shared.record().wasi.as_ref().map(|o| o.snapshot())
    }

    /// Calls the guest's export `name` with `params` on a Ready actor,
    /// under exactly the guards of `_health`: fuel refilled, the
    /// `max_call_duration` deadline armed, the memory and table limits in
    /// force, the outcome classified. Returns the export's results.
    ///
    /// One call at a time: it waits for any start, stop or other call on
    /// the actor to finish. If the call does not return normally (a trap,
    /// fuel, its deadline, `proc_exit`, or this future is dropped
    /// mid-call), the instance is discarded without `_cleanup` and the
    /// actor goes Failed: no guest code ever runs on a half-run instance.
    ///
    /// ```
    /// use component_actor::{Child, ComponentActor, ComponentManifest, ComponentSource, Runtime, RuntimeConfig, Val};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let runtime = Runtime::new(RuntimeConfig::default())?;
    /// let source = ComponentSource::from_wat(
    ///     r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#,
    /// );
    /// let mut actor = ComponentActor::new(&runtime, source, ComponentManifest::new("adder")?);
    /// actor.start().await?;
    /// let sum = actor.call("add", &[Val::I32(2), Val::I32(40)]).await?;
    /// assert_eq!(sum[0].i32(), Some(42));
    /// # Ok::<(), component_actor::ComponentError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTransition`] unless Ready; [`ErrorKind::NotExported`]
    /// for a name the module does not export as a function and
    /// [`ErrorKind::ExportSignature`] for parameters of other types (both
    /// leave the actor Ready: no guest code ran); otherwise the guest's
    /// failure (`Trap`, `OutOfFuel`, `Deadline`, `MemoryLimit`, `Exit`,
    /// ...), after which the actor is Failed.
    pub async fn call(&self, name: &str, params: &[Val]) -> Result<Vec<Val>, ComponentError> {
        let shared = &*self.shared;
        let slot = shared.lock_slot().await;
        let state = shared.state.get();
        if state != ActorState::Ready {
            return Err(ComponentError::new(
                &*shared.id,
                ErrorKind::InvalidTransition,
                format!("cannot call `{name}`: actor is {}", state.name()),
            ));
        }
        let mut guard = CallGuard {
            shared,
            slot,
            armed: Some(format!("`{name}` was cancelled mid-call").into()),
        };
        let Some(instance) = guard.slot.as_mut() else {
            guard.armed = None;
            return Err(ComponentError::new(
                &*shared.id,
                ErrorKind::InvalidTransition,
                format!("cannot call `{name}`: no instance"),
            ));
        };
        let result = instance.call_named(name, params, &shared.limits).await;
        guard.armed = None;
        match result {
            Ok(values) => Ok(values),
            // Refused before any guest code ran: the instance is intact.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotExported | ErrorKind::ExportSignature
                ) =>
            {
                Err(e)
            }
            Err(e) => {
                guard.crash(e.message().to_string());
                Err(e)
            }
        }
    }

    /// Hands `message` to the guest's `handle-message` (through the message
    /// ABI: `alloc-message`, the bytes written to `memory`, the reply read
    /// back) and returns its reply. Each guest call is guarded as `_health`
    /// is (fuel refilled, the deadline armed, limits in force), and one
    /// call at a time runs on the instance. [`spawn`](Self::spawn) puts a
    /// mailbox in front of this.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Stopped`] unless Ready; [`ErrorKind::MessageTooLarge`]
    /// for a message or reply over `max_message_bytes`,
    /// [`ErrorKind::MessageAbi`] for a pointer the guest returned outside
    /// its memory, and [`ErrorKind::NotExported`] for a module without
    /// `handle-message` (all three leave the actor Ready); otherwise the
    /// guest's failure (`Trap`, `OutOfFuel`, `Deadline`, ...), after which
    /// the actor is Failed.
    pub async fn handle_message(&self, message: &[u8]) -> Result<bytes::Bytes, ComponentError> {
        let shared = &*self.shared;
        let max = shared.max_message_bytes;
        if message.len() > max as usize {
            return Err(too_large(&shared.id, message.len()));
        }
        let slot = shared.lock_slot().await;
        let state = shared.state.get();
        if state != ActorState::Ready {
            return Err(stopped(&shared.id, &state));
        }
        let mut guard = CallGuard {
            shared,
            slot,
            armed: Some("`handle-message` was cancelled mid-call".into()),
        };
        let Some(instance) = guard.slot.as_mut() else {
            guard.armed = None;
            return Err(stopped(&shared.id, &state));
        };
        let result = instance.call_message(message, max, &shared.limits).await;
        guard.armed = None;
        match result {
            Some(Ok(reply)) => Ok(reply),
            None => Err(ComponentError::new(
                &*shared.id,
                ErrorKind::NotExported,
                "the module exports no `handle-message`: it takes no messages",
            )),
            // The guest returned normally: the instance is intact.
            Some(Err(e))
                if matches!(
                    e.kind(),
                    ErrorKind::MessageAbi | ErrorKind::MessageTooLarge | ErrorKind::ExportSignature
                ) =>
            {
                Err(e)
            }
            Some(Err(e)) => {
                guard.crash(e.message().to_string());
                Err(e)
            }
        }
    }

    /// Memory and fuel figures of the live instance, or of the last one
    /// (as it was when it ended) when not running or while another
    /// operation holds the instance.
    pub fn stats(&mut self) -> Option<InstanceStats> {
        if let Ok(slot) = self.shared.slot.try_lock()
            && let Some(instance) = slot.as_ref()
        {
            return Some(instance.stats());
        }
        self.shared.record().last_stats
    }

    /// Loads, checks, instantiates and runs `_start`: everything a start
    /// does between Starting and Ready. The instance is the standby's when
    /// one was made.
    async fn launch(&mut self) -> Result<WasmInstance, ComponentError> {
        // Only an actor that keeps standbys has one to take.
        let standby = match self.keep_standby {
            true => self.shared.standby().take(),
            false => None,
        };
        let made = match standby {
            Some(standby) => standby.take().await,
            None => None,
        };
        let mut instance = match made {
            Some(Made { instance, output }) => {
                if output.is_some() {
                    self.shared.record().wasi = output;
                }
                instance
            }
            None => {
                let recipe = self.recipe()?;
                let output = recipe.output();
                if output.is_some() {
                    // Set before instantiating: what a failed
                    // instantiation wrote is kept.
                    self.shared.record().wasi = output.clone();
                }
                recipe.instantiate(output).await?
            }
        };
        instance.call_start(self.manifest.limits()).await?;
        Ok(instance)
    }

    /// The recipe, made on the first start that gets past loading the
    /// module and reading a WASI actor's stdin.
    fn recipe(&mut self) -> Result<Arc<Recipe>, ComponentError> {
        if let Some(recipe) = &self.recipe {
            return Ok(recipe.clone());
        }
        let prepared = match &self.prepared {
            Some(p) => p.clone(),
            None => {
                let bytes = self.source.load(&self.shared.id)?;
                let p = self.runtime.prepare(&bytes, &self.manifest)?;
                self.prepared = Some(p.clone());
                p
            }
        };
        let wasi = match self.manifest.wasi() {
            None => None,
            Some(config) => Some((config.clone(), wasi::read_stdin(&self.shared.id, config)?)),
        };
        let recipe = Arc::new(Recipe {
            runtime: self.runtime.clone(),
            prepared,
            id: self.shared.id.clone(),
            limits: self.manifest.limits().clone(),
            wasi,
        });
        self.recipe = Some(recipe.clone());
        Ok(recipe)
    }
}

/// Dropping a running actor releases its instance without calling
/// `_cleanup` (there is no executor to run it on); the state moves Ready ->
/// Stopping -> Terminated so that an [`ActorHandle`] that outlives the actor
/// never reports Ready without an instance. A stop a handle is running
/// finishes on its own.
impl Drop for ComponentActor {
    fn drop(&mut self) {
        let standby = self.shared.standby().take();
        drop(standby);
        // Holding the operation lock, Ready means the slot has the instance.
        if let Ok(mut slot) = self.shared.slot.try_lock()
            && self.shared.state.get() == ActorState::Ready
            && self.shared.transition(Transition::BeginStop).is_ok()
        {
            drop(slot.take());
            let _ = self.shared.transition(Transition::StopFinished);
        }
    }
}

/// Puts the state right if a `start` or `stop` future is dropped before it
/// finishes (for example by an outer `tokio::time::timeout`): armed for as
/// long as the state says something is in progress, it applies
/// [`Transition::Abandon`] when dropped, so Starting ends Failed and
/// Stopping ends Terminated. It is disarmed only by the transition that
/// ends the operation.
struct Unfinished<'a> {
    shared: &'a Shared,
    reason: Option<&'static str>,
}

impl<'a> Unfinished<'a> {
    fn arm(shared: &'a Shared, reason: &'static str) -> Self {
        Self {
            shared,
            reason: Some(reason),
        }
    }

    /// The operation ended with a transition already applied. Dropping an
    /// armed guard then would be harmless too (the table refuses Abandon
    /// in Ready), but costs a state-cell lock on every start.
    fn disarm(mut self) {
        self.reason = None;
    }

    /// Ends the operation with `t` and disarms.
    fn finish(mut self, t: Transition) -> Result<Applied, Refused> {
        self.reason = None;
        self.shared.transition(t)
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(reason) = self.reason.take() {
            let _ = self.shared.transition(Transition::Abandon(reason));
        }
    }
}

/// Guards one guest call on the instance in the slot: unless the call
/// returned normally, the instance is discarded (no guest code runs on a
/// half-run instance, `_cleanup` included) and the actor goes Failed.
struct CallGuard<'a> {
    shared: &'a Shared,
    slot: tokio::sync::MutexGuard<'a, Option<WasmInstance>>,
    /// Why the instance is discarded if the guard drops armed (borrowed
    /// where it can be: a guest call allocates nothing for its guard).
    armed: Option<std::borrow::Cow<'static, str>>,
}

impl CallGuard<'_> {
    /// Discards the instance and fails the actor with `reason`.
    fn crash(&mut self, reason: String) {
        self.armed = None;
        if let Some(instance) = self.slot.take() {
            tracing::warn!(component = %self.shared.id, %reason, "instance discarded");
            self.shared
                .retire(instance, CleanupOutcome::Poisoned(reason.clone()));
        }
        let _ = self.shared.transition(Transition::Crashed(reason));
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if let Some(reason) = self.armed.take() {
            self.crash(reason.into_owned());
        }
    }
}

impl Child for ComponentActor {
    type Error = ComponentError;

    /// Creating, Terminated or Failed -> Starting -> Ready.
    ///
    /// Loads and compiles the module (once), checks every import against the
    /// manifest and the lifecycle exports' types, instantiates it under the
    /// limits and calls `_start` if exported. Instantiation (which runs the
    /// module's `start` section) and `_start` are each bounded by
    /// `max_call_duration` and a fresh fuel budget.
    ///
    /// If this future is dropped before it completes, the actor ends
    /// `Failed("start was cancelled")` (or Terminated, if a requested stop
    /// was already running `_cleanup`), with every wasm resource released,
    /// and may be started again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTransition`] in Starting, Ready or Stopping (the
    /// state is unchanged); [`ErrorKind::Cancelled`] when a stop was
    /// requested through an [`ActorHandle`] during the start (the actor is
    /// then Terminated); otherwise any failure leaves the actor
    /// `Failed(reason)` with every wasm resource released, and its kind says
    /// which check, limit or export failed.
    async fn start(&mut self) -> Result<(), ComponentError> {
        let shared = self.shared.clone();
        shared
            .transition(Transition::BeginStart)
            .map_err(|r| shared.refused("start", r))?;
        let guard = Unfinished::arm(&shared, "start was cancelled");
        let launched = self.launch().await;
        let instance = match launched {
            Ok(instance) => instance,
            Err(e) => {
                tracing::warn!(component = %shared.id, kind = %e.kind(), error = %e, "start failed");
                let _ = guard.finish(Transition::StartFailed(e.message().to_string()));
                return Err(e);
            }
        };
        // Ready and an instance in the slot become true together, under the
        // operation lock.
        let mut slot = shared.lock_slot().await;
        match shared.transition(Transition::StartSucceeded) {
            Ok(Applied {
                to: ActorState::Ready,
                ..
            }) => {
                *slot = Some(instance);
                guard.disarm();
                if self.keep_standby
                    && let Some(recipe) = &self.recipe
                {
                    // Under the operation lock: a stop (which discards
                    // the standby) cannot run before this is in place.
                    *shared.standby() = Standby::spawn(recipe.clone());
                }
                Ok(())
            }
            // A stop was requested while starting: honour it now. The guard
            // stays armed, so a drop here still ends Terminated.
            Ok(_) => {
                let timeout = shared.limits.max_call_duration;
                shared.shut_down(instance, timeout).await;
                drop(slot);
                let _ = guard.finish(Transition::StopFinished);
                Err(ComponentError::new(
                    &*shared.id,
                    ErrorKind::Cancelled,
                    "a stop was requested while starting: started, cleaned up and Terminated",
                ))
            }
            // Nothing but this start leaves Starting while its guard is
            // armed; should that ever change, fail rather than keep an
            // instance the state does not own.
            Err(r) => Err(shared.refused("finish the start", r)),
        }
    }

    /// Ready -> Stopping -> Terminated.
    ///
    /// Calls `_cleanup` if exported, bounded by `timeout` even if it never
    /// returns; a timeout or trap there is logged and recorded in
    /// [`last_cleanup`](ComponentActor::last_cleanup), and `stop` still
    /// succeeds with the instance released. In Creating, Failed or
    /// Terminated, `stop` succeeds and leaves Terminated. A stop already
    /// running from an [`ActorHandle`] is waited for. Any `timeout` is
    /// accepted: one too large for the clock (`Duration::MAX`) means no
    /// deadline, and `_cleanup` is then bounded by its fuel alone.
    ///
    /// If this future is dropped before it completes, the actor ends
    /// Terminated with the instance released.
    ///
    /// # Errors
    ///
    /// None today; the `Result` is the [`Child`] contract's.
    async fn stop(&mut self, timeout: Duration) -> Result<(), ComponentError> {
        self.shared.stop(timeout).await
    }

    /// In Ready, calls `_health` if exported: 0 is Healthy, 1 Degraded,
    /// any other answer Failed (the actor stays Ready). Without `_health`,
    /// Ready is Healthy. In any other state: `Failed("not running: <state>")`.
    ///
    /// If `_health` does not return normally (a trap, fuel, its deadline,
    /// or this future is dropped mid-call), the instance is discarded
    /// without `_cleanup` and the actor goes `Failed(reason)`; the check
    /// reports `Failed(reason)`.
    async fn health_check(&self) -> ChildHealth {
        let shared = &*self.shared;
        let slot = shared.lock_slot().await;
        let state = shared.state.get();
        if state != ActorState::Ready {
            return ChildHealth::Failed(format!("not running: {}", state.name()));
        }
        let mut guard = CallGuard {
            shared,
            slot,
            armed: Some("`_health` was cancelled mid-call".into()),
        };
        let Some(instance) = guard.slot.as_mut() else {
            guard.armed = None;
            return ChildHealth::Failed("not running: no instance".into());
        };
        let answer = instance.call_health(&shared.limits).await;
        guard.armed = None;
        match answer {
            None | Some(Ok(0)) => ChildHealth::Healthy,
            Some(Ok(1)) => ChildHealth::Degraded("`_health` returned 1 (degraded)".into()),
            Some(Ok(n)) => ChildHealth::Failed(format!("`_health` returned {n}")),
            Some(Err(e)) => {
                let reason = e.message().to_string();
                guard.crash(reason.clone());
                ChildHealth::Failed(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_outcome_names_are_the_variant_names() {
        for (outcome, name) in [
            (CleanupOutcome::Completed, "Completed"),
            (CleanupOutcome::NotExported, "NotExported"),
            (CleanupOutcome::TimedOut, "TimedOut"),
            (CleanupOutcome::Trapped("x".into()), "Trapped"),
            (CleanupOutcome::Poisoned("x".into()), "Poisoned"),
            (CleanupOutcome::Exited(0), "Exited"),
        ] {
            assert_eq!(outcome.name(), name);
            assert!(format!("{outcome:?}").starts_with(name));
        }
    }

    #[test]
    fn the_actor_and_its_handle_name_the_component_and_show_the_state() {
        let runtime = Runtime::new(crate::RuntimeConfig::default()).unwrap();
        let actor = ComponentActor::new(
            &runtime,
            ComponentSource::from_wat("(module)"),
            ComponentManifest::new("named").unwrap(),
        );
        assert_eq!(actor.component(), "named");
        assert_eq!(actor.handle().component(), "named");
        for shown in [format!("{actor:?}"), format!("{:?}", actor.handle())] {
            assert!(shown.contains("\"named\""), "{shown}");
            assert!(shown.contains("Creating"), "{shown}");
        }
    }

    use crate::test_support::block_on;

    /// `wat/standby_clock.wat`: `age` answers the nanoseconds since the
    /// instance was made (its `start` section read the clock).
    fn clock(runtime: &Runtime, standby: bool) -> ComponentActor {
        let source = ComponentSource::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/wat/standby_clock.wat"
        ));
        let manifest = ComponentManifest::builder("clock")
            .wasi(crate::WasiConfig::default())
            .build()
            .unwrap();
        ComponentActor::new(runtime, source, manifest).with_standby(standby)
    }

    async fn age(actor: &ComponentActor) -> Duration {
        let age = actor.call("age", &[]).await.unwrap()[0].i64().unwrap();
        Duration::from_nanos(u64::try_from(age).unwrap())
    }

    fn has_standby(actor: &ComponentActor) -> bool {
        actor.shared.standby().is_some()
    }

    /// Waits (at most 20 s: "it returns at all") until the standby's task
    /// has ended.
    async fn standby_made(actor: &ComponentActor) {
        let t = std::time::Instant::now();
        while !actor
            .shared
            .standby()
            .as_ref()
            .is_some_and(Standby::is_finished)
        {
            assert!(has_standby(actor), "no standby is being made");
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the standby never ended"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Crashes the actor (`crash` traps): Failed, the instance discarded.
    async fn crash(actor: &ComponentActor) {
        let e = actor.call("crash", &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Trap);
        assert!(matches!(actor.state(), ActorState::Failed(_)));
    }

    const AHEAD: Duration = Duration::from_millis(200);

    #[test]
    fn a_start_takes_the_standby_made_after_the_start_before() {
        block_on(async {
            let runtime = Runtime::new(crate::RuntimeConfig::default()).unwrap();
            let mut actor = clock(&runtime, true);
            assert!(!has_standby(&actor), "none before the first start");
            actor.start().await.unwrap();
            standby_made(&actor).await;
            tokio::time::sleep(AHEAD).await;
            crash(&actor).await;
            assert!(has_standby(&actor), "a failure keeps the standby");
            actor.start().await.unwrap();
            // The instance is the standby, made before the sleep.
            assert!(age(&actor).await >= AHEAD);
            // And the next one is being made.
            assert!(has_standby(&actor));
            standby_made(&actor).await;
            actor.stop(Duration::from_secs(1)).await.unwrap();
        });
    }

    #[test]
    fn without_a_standby_each_start_makes_its_instance() {
        block_on(async {
            let runtime = Runtime::new(crate::RuntimeConfig::default()).unwrap();
            let mut actor = clock(&runtime, false);
            actor.start().await.unwrap();
            tokio::time::sleep(AHEAD).await;
            assert!(!has_standby(&actor));
            crash(&actor).await;
            actor.start().await.unwrap();
            assert!(age(&actor).await < AHEAD);
            assert!(!has_standby(&actor));
        });
    }

    #[test]
    fn a_stop_or_a_drop_discards_the_standby() {
        block_on(async {
            let runtime = Runtime::new(crate::RuntimeConfig::default()).unwrap();
            let mut actor = clock(&runtime, true);
            actor.start().await.unwrap();
            standby_made(&actor).await;
            tokio::time::sleep(AHEAD).await;
            actor.stop(Duration::from_secs(1)).await.unwrap();
            assert!(!has_standby(&actor), "a stopped actor holds no instance");
            // So a start after a stop makes its own.
            actor.start().await.unwrap();
            assert!(age(&actor).await < AHEAD);
            standby_made(&actor).await;
            let handle = actor.handle();
            drop(actor);
            assert!(handle.shared.standby().is_none());
        });
    }

    #[test]
    fn a_standby_that_cannot_be_made_leaves_the_start_to_make_its_own() {
        block_on(async {
            // One pool slot: the live instance holds it, so the standby
            // finds none.
            let runtime = Runtime::new(crate::RuntimeConfig {
                allocation: crate::Allocation::Pooling {
                    slots: 1,
                    max_memory_per_slot: 1 << 20,
                },
                ..Default::default()
            })
            .unwrap();
            let mut actor = clock(&runtime, true);
            actor.start().await.unwrap();
            standby_made(&actor).await;
            tokio::time::sleep(AHEAD).await;
            crash(&actor).await;
            actor.start().await.unwrap();
            assert!(age(&actor).await < AHEAD, "a new instance");
            actor.stop(Duration::from_secs(1)).await.unwrap();
        });
    }

    /// A standby being made when its actor stops or is dropped is cut off
    /// (its task aborted), not left to run to its deadline. The guest's
    /// `start` section creates `made` in its preopen and spins when the
    /// file is already there: the first instance starts, its standby spins
    /// (no fuel cap, a 60 s deadline).
    #[test]
    fn a_standby_still_being_made_is_cut_off_by_a_stop_or_a_drop() {
        const SPINNER: &str = r#"(module
            (import "wasi_snapshot_preview1" "path_open"
              (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 64) "made")
            (func $made
              ;; fd 3, the name at 64 (4 bytes), O_CREAT | O_EXCL, fd at 128.
              (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 4)
                    (i32.const 5) (i64.const 66) (i64.const 0) (i32.const 0) (i32.const 128))
                (then (loop $spin (br $spin)))))
            (start $made))"#;
        let dir = std::env::temp_dir().join(format!("ca-standby-spin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = ComponentManifest::builder("spinner")
            .limits(ResourceLimits {
                max_fuel: None,
                max_call_duration: Duration::from_secs(60),
                ..ResourceLimits::default()
            })
            .wasi(crate::WasiConfig {
                preopens: vec![crate::Preopen {
                    host: dir.clone(),
                    guest: "/".into(),
                    writable: true,
                }],
                ..crate::WasiConfig::default()
            })
            .build()
            .unwrap();
        block_on(async {
            let runtime = Runtime::new(crate::RuntimeConfig::default()).unwrap();
            let tasks = || {
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
            };
            let before = tasks();
            for stop in [true, false] {
                let _ = std::fs::remove_file(dir.join("made"));
                let mut actor = ComponentActor::new(
                    &runtime,
                    ComponentSource::from_wat(SPINNER),
                    manifest.clone(),
                )
                .with_standby(true);
                actor.start().await.unwrap();
                assert_eq!(tasks(), before + 1, "the standby's task");
                tokio::time::sleep(Duration::from_millis(50)).await;
                assert!(has_standby(&actor));
                assert!(!actor.shared.standby().as_ref().unwrap().is_finished());
                if stop {
                    actor.stop(Duration::from_secs(1)).await.unwrap();
                } else {
                    drop(actor);
                }
                // "It returns at all": the spin would last 60 s.
                let t = std::time::Instant::now();
                while tasks() > before {
                    assert!(
                        t.elapsed() < Duration::from_secs(10),
                        "stop {stop}: the standby spins on"
                    );
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The WASI output an actor reports is its current instance's, whether
    /// the start made that instance or took the standby: what the instance
    /// before it wrote is gone. The guest's `start` section writes
    /// "made\n", its `say` export "said\n".
    #[test]
    fn the_wasi_output_is_the_instance_the_start_took() {
        const TALKER: &str = r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
              (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "\10\00\00\00\05\00\00\00")
            (data (i32.const 8) "\18\00\00\00\05\00\00\00")
            (data (i32.const 16) "made\n")
            (data (i32.const 24) "said\n")
            (func $made (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32))))
            (start $made)
            (func (export "say") (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 32))))
            (func (export "crash") unreachable))"#;
        block_on(async {
            let runtime = Runtime::new(crate::RuntimeConfig::default()).unwrap();
            for standby in [true, false] {
                let manifest = ComponentManifest::builder("talker")
                    .wasi(crate::WasiConfig::default())
                    .build()
                    .unwrap();
                let mut actor =
                    ComponentActor::new(&runtime, ComponentSource::from_wat(TALKER), manifest)
                        .with_standby(standby);
                let stdout = |actor: &ComponentActor| actor.wasi_output().unwrap().stdout;
                actor.start().await.unwrap();
                actor.call("say", &[]).await.unwrap();
                assert_eq!(stdout(&actor), b"made\nsaid\n", "standby {standby}");
                if standby {
                    standby_made(&actor).await;
                }
                crash(&actor).await;
                actor.start().await.unwrap();
                assert_eq!(stdout(&actor), b"made\n", "standby {standby}");
                actor.stop(Duration::from_secs(1)).await.unwrap();
            }
        });
    }
}
