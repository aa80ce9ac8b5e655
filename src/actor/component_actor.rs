//! [`ComponentActor`]: one WebAssembly module driven through the lifecycle.

use std::sync::Arc;
use std::time::Duration;

use crate::actor::child::{Child, ChildHealth};
use crate::actor::state::{ActorState, Applied, Refused, StateCell, Transition};
use crate::error::{ComponentError, ErrorKind};
use crate::manifest::ComponentManifest;
use crate::runtime::engine::Runtime;
use crate::runtime::instance::{InstanceStats, Prepared, WasmInstance};
use crate::runtime::loader::ComponentSource;

/// How the last `stop` went for the guest's `_cleanup`.
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
}

impl CleanupOutcome {
    /// The outcome's name without its reason (`"TimedOut"`).
    pub fn name(&self) -> &'static str {
        match self {
            CleanupOutcome::Completed => "Completed",
            CleanupOutcome::NotExported => "NotExported",
            CleanupOutcome::TimedOut => "TimedOut",
            CleanupOutcome::Trapped(_) => "Trapped",
        }
    }
}

/// A cheap, thread-safe view of an actor's state, readable from any thread
/// while `start` or `stop` run.
#[derive(Debug, Clone)]
pub struct ActorHandle {
    id: Arc<str>,
    state: Arc<StateCell>,
}

impl ActorHandle {
    /// The actor's current state.
    pub fn state(&self) -> ActorState {
        self.state.get()
    }

    /// The component's name.
    pub fn component(&self) -> &str {
        &self.id
    }

    /// Asks a `start` in progress to stop as soon as it completes: the
    /// actor then runs `_cleanup` (bounded by `max_call_duration`), releases
    /// the instance and ends Terminated, and that `start` returns
    /// [`ErrorKind::Cancelled`]. The start itself still runs to its end
    /// (each of its guest calls is bounded by its deadline).
    ///
    /// Returns whether a start was in progress. In any other state this does
    /// nothing: a running actor is stopped by its owner with
    /// [`Child::stop`].
    pub fn request_stop(&self) -> bool {
        let taken = self.state.apply(Transition::RequestStop).is_ok();
        if taken {
            tracing::info!(component = %self.id, "stop requested while starting");
        }
        taken
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
/// let mut actor = ComponentActor::new(&runtime, source, ComponentManifest::new("hello"));
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
    id: Arc<str>,
    state: Arc<StateCell>,
    /// The checked, pre-linked module, kept after the first successful
    /// preparation so restarts skip loading and the cache lookup.
    prepared: Option<Arc<Prepared>>,
    /// The live instance: `Some` exactly in Ready (and during Stopping).
    /// Behind a lock so `health_check(&self)` can call into the guest.
    instance: tokio::sync::Mutex<Option<WasmInstance>>,
    last_cleanup: Option<CleanupOutcome>,
    last_stats: Option<InstanceStats>,
}

impl std::fmt::Debug for ComponentActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentActor")
            .field("component", &self.id)
            .field("state", &self.state.get())
            .field("last_cleanup", &self.last_cleanup)
            .finish_non_exhaustive()
    }
}

impl ComponentActor {
    /// A new actor in state Creating. Nothing is loaded until `start`; the
    /// source is read once, on the first start that gets past loading.
    pub fn new(runtime: &Runtime, source: ComponentSource, manifest: ComponentManifest) -> Self {
        Self {
            runtime: runtime.clone(),
            source,
            id: manifest.name().into(),
            manifest,
            state: Arc::new(StateCell::new()),
            prepared: None,
            instance: tokio::sync::Mutex::new(None),
            last_cleanup: None,
            last_stats: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> ActorState {
        self.state.get()
    }

    /// A handle whose `state()` can be read from any thread.
    pub fn handle(&self) -> ActorHandle {
        ActorHandle {
            id: self.id.clone(),
            state: self.state.clone(),
        }
    }

    /// The component's name (from the manifest).
    pub fn component(&self) -> &str {
        &self.id
    }

    /// The manifest the actor runs under.
    pub fn manifest(&self) -> &ComponentManifest {
        &self.manifest
    }

    /// How `_cleanup` went in the last `stop` that had an instance to stop.
    pub fn last_cleanup(&self) -> Option<CleanupOutcome> {
        self.last_cleanup.clone()
    }

    /// Memory and fuel figures of the live instance, or of the last one
    /// (as it was when stopped) when not running.
    pub fn stats(&mut self) -> Option<InstanceStats> {
        match self.instance.get_mut() {
            Some(instance) => Some(instance.stats()),
            None => self.last_stats,
        }
    }

    /// Applies a transition and logs it; the one way this type changes state.
    fn transition(&self, t: Transition) -> Result<Applied, Refused> {
        let result = self.state.apply(t);
        if let Ok(a) = &result
            && a.from != a.to
        {
            tracing::info!(component = %self.id, from = %a.from, to = %a.to, "state transition");
        }
        result
    }

    fn refused(&self, op: &str, r: Refused) -> ComponentError {
        ComponentError::new(
            &*self.id,
            ErrorKind::InvalidTransition,
            format!("cannot {op}: actor is {}", r.state.name()),
        )
    }

    /// Loads, checks, instantiates and runs `_start`: everything a start
    /// does between Starting and Ready.
    async fn launch(&mut self) -> Result<WasmInstance, ComponentError> {
        let prepared = match &self.prepared {
            Some(p) => p.clone(),
            None => {
                let bytes = self.source.load(&self.id)?;
                let p = self.runtime.prepare(&bytes, &self.manifest)?;
                self.prepared = Some(p.clone());
                p
            }
        };
        let limits = self.manifest.limits();
        let mut instance =
            WasmInstance::instantiate(&self.runtime, &prepared, self.id.clone(), limits).await?;
        instance.call_start(limits).await?;
        Ok(instance)
    }

    /// Runs `_cleanup` (bounded by `timeout`), records the outcome and
    /// releases the instance.
    async fn shut_down(&mut self, mut instance: WasmInstance, timeout: Duration) {
        let outcome = match instance.call_cleanup(timeout, self.manifest.limits()).await {
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
        self.last_stats = Some(instance.stats());
        self.last_cleanup = Some(outcome);
        drop(instance);
    }
}

/// Dropping a running actor releases its instance without calling
/// `_cleanup` (there is no executor to run it on); the state moves Ready ->
/// Stopping -> Terminated so that an [`ActorHandle`] that outlives the actor
/// never reports Ready without an instance.
impl Drop for ComponentActor {
    fn drop(&mut self) {
        // `&mut self`: no start or stop can be running, so Ready stays Ready
        // between the check and the transition.
        if self.state.get() == ActorState::Ready {
            let _ = self.transition(Transition::BeginStop);
            drop(self.instance.get_mut().take());
            let _ = self.transition(Transition::StopFinished);
        }
    }
}

/// Puts the state cell right if a `start` or `stop` future is dropped
/// before it finishes (for example by an outer `tokio::time::timeout`): the
/// actor must never be left in Starting or Stopping.
struct Unfinished {
    state: Arc<StateCell>,
    /// Built only if the future really is dropped half-way, so the normal
    /// path allocates nothing for it.
    on_drop: Option<fn() -> Transition>,
}

impl Unfinished {
    fn new(state: &Arc<StateCell>, on_drop: fn() -> Transition) -> Self {
        Self {
            state: state.clone(),
            on_drop: Some(on_drop),
        }
    }

    fn disarm(mut self) {
        self.on_drop = None;
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(t) = self.on_drop.take() {
            let _ = self.state.apply(t());
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
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTransition`] in Starting, Ready or Stopping (the
    /// state is unchanged); [`ErrorKind::Cancelled`] when a stop was
    /// requested through [`ActorHandle::request_stop`] during the start (the
    /// actor is then Terminated); otherwise any failure leaves the actor
    /// `Failed(reason)` with every wasm resource released, and its kind says
    /// which check, limit or export failed.
    async fn start(&mut self) -> Result<(), ComponentError> {
        self.transition(Transition::BeginStart)
            .map_err(|r| self.refused("start", r))?;
        let guard = Unfinished::new(&self.state, || {
            Transition::StartFailed("start was cancelled".into())
        });
        let launched = self.launch().await;
        guard.disarm();
        match launched {
            Ok(instance) => match self.transition(Transition::StartSucceeded) {
                Ok(Applied {
                    to: ActorState::Ready,
                    ..
                }) => {
                    *self.instance.get_mut() = Some(instance);
                    Ok(())
                }
                // A stop was requested while starting: honour it now.
                _ => {
                    let timeout = self.manifest.limits().max_call_duration;
                    self.shut_down(instance, timeout).await;
                    let _ = self.transition(Transition::StopFinished);
                    Err(ComponentError::new(
                        &*self.id,
                        ErrorKind::Cancelled,
                        "a stop was requested while starting: started, cleaned up and Terminated",
                    ))
                }
            },
            Err(e) => {
                tracing::warn!(component = %self.id, kind = %e.kind(), error = %e, "start failed");
                let _ = self.transition(Transition::StartFailed(e.message().to_string()));
                Err(e)
            }
        }
    }

    /// Ready -> Stopping -> Terminated.
    ///
    /// Calls `_cleanup` if exported, bounded by `timeout` even if it never
    /// returns; a timeout or trap there is logged and recorded in
    /// [`last_cleanup`](ComponentActor::last_cleanup), and `stop` still
    /// succeeds with the instance released. In Creating, Failed or
    /// Terminated, `stop` succeeds and leaves Terminated.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTransition`] only if another stop is in progress.
    async fn stop(&mut self, timeout: Duration) -> Result<(), ComponentError> {
        let applied = self
            .transition(Transition::BeginStop)
            .map_err(|r| self.refused("stop", r))?;
        if applied.from != ActorState::Ready {
            return Ok(());
        }
        let guard = Unfinished::new(&self.state, || Transition::StopFinished);
        if let Some(instance) = self.instance.get_mut().take() {
            self.shut_down(instance, timeout).await;
        }
        guard.disarm();
        let _ = self.transition(Transition::StopFinished);
        Ok(())
    }

    /// In Ready, calls `_health` if exported: 0 is Healthy, 1 Degraded,
    /// anything else (or a trap, fuel or deadline failure) Failed. Without
    /// `_health`, Ready is Healthy. In any other state: `Failed("not running: <state>")`.
    async fn health_check(&self) -> ChildHealth {
        let state = self.state.get();
        if state != ActorState::Ready {
            return ChildHealth::Failed(format!("not running: {}", state.name()));
        }
        let mut slot = self.instance.lock().await;
        let Some(instance) = slot.as_mut() else {
            return ChildHealth::Failed("not running: no instance".into());
        };
        match instance.call_health(self.manifest.limits()).await {
            None | Some(Ok(0)) => ChildHealth::Healthy,
            Some(Ok(1)) => ChildHealth::Degraded("`_health` returned 1 (degraded)".into()),
            Some(Ok(n)) => ChildHealth::Failed(format!("`_health` returned {n}")),
            Some(Err(e)) => ChildHealth::Failed(e.message().to_string()),
        }
    }
}
