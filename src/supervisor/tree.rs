//! The running tree: one task per supervisor, owning its children, and the
//! [`Supervisor`] handle on the root.
//!
//! Every actor child is spawned once, when the tree is built, and keeps its
//! [`Address`] for the tree's whole life: a restart stops and starts the
//! same task's actor, so a caller holding the address reaches each new
//! instance. Messages sent while a child restarts are refused with the
//! typed [`ErrorKind::Stopped`](crate::ErrorKind::Stopped), or wait in its
//! mailbox while it is Starting and are handled once it is Ready.
//!
//! A child's task reports how each instance ended (`Exit`, numbered), so
//! the supervisor acts on the end of the instance it started and ignores
//! the ends it caused itself (a stop it made, a restart of a sibling).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::actor::child::ChildHealth;
use crate::actor::component_actor::ComponentActor;
use crate::actor::mailbox::{self, Address, Exit, ExitSink};
use crate::error::{ComponentError, ErrorKind};
use crate::runtime::engine::Runtime;
use crate::supervisor::rules::RestartWindow;
use crate::supervisor::spec::{
    ChildKind, HealthPolicy, Intensity, Restart, Shutdown, Strategy, SupervisorSpec, join,
};

/// A supervisor's state.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SupervisorStatus {
    /// Built, never started.
    Created,
    /// Starting its children in order.
    Starting,
    /// Every child started; restarting them per its spec.
    Running,
    /// Stopping its children in reverse order.
    Stopping,
    /// Stopped (every child stopped). May be started again.
    Stopped,
    /// Gave up, with the reason: a child did not start, or restarts passed
    /// the intensity. Every child is stopped. May be started again.
    Failed(String),
}

impl SupervisorStatus {
    /// The status's name without its reason (`"Failed"`).
    pub fn name(&self) -> &'static str {
        match self {
            SupervisorStatus::Created => "Created",
            SupervisorStatus::Starting => "Starting",
            SupervisorStatus::Running => "Running",
            SupervisorStatus::Stopping => "Stopping",
            SupervisorStatus::Stopped => "Stopped",
            SupervisorStatus::Failed(_) => "Failed",
        }
    }

    /// Stopped or Failed: nothing runs under the supervisor.
    pub fn is_down(&self) -> bool {
        matches!(
            self,
            SupervisorStatus::Stopped | SupervisorStatus::Failed(_)
        )
    }
}

impl std::fmt::Display for SupervisorStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SupervisorStatus::Failed(reason) => write!(f, "Failed({reason})"),
            other => f.write_str(other.name()),
        }
    }
}

/// Something that happened in a supervision tree, for a live display or a
/// log. `path` names the child (`"workers/echo"`), or the supervisor
/// itself (`""` for the root).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorEvent {
    /// Which child or supervisor.
    pub path: String,
    /// What happened to it.
    pub what: EventKind,
    /// When the supervisor saw it or made it happen (not serialized).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub at: Instant,
}

/// What a [`SupervisorEvent`] reports.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Started (an actor Ready, a supervisor Running).
    Started,
    /// Ended without being asked to by its supervisor: `abnormal` is the
    /// reason of a failure, `None` a stop.
    Exited {
        /// The failure's reason, or `None` for a normal end.
        abnormal: Option<String>,
    },
    /// Failed `consecutive` health checks in a row.
    Unhealthy {
        /// Failed checks in a row.
        consecutive: u32,
        /// What the last one said.
        health: String,
    },
    /// Being restarted: its `restarts`-th restart.
    Restarting {
        /// Restarts of this child so far, this one included.
        restarts: u32,
    },
    /// A start failed.
    StartFailed {
        /// The error's kind.
        kind: ErrorKind,
        /// Whether a retry cannot help ([`ErrorKind::is_permanent`]).
        permanent: bool,
        /// The error.
        error: String,
    },
    /// A supervisor gave up: its children are stopped and it is Failed.
    GaveUp {
        /// Why.
        reason: String,
    },
    /// Stopped by its supervisor (or, for the root, by its owner).
    Stopped,
}

/// One child as [`Supervisor::children`] reports it.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildReport {
    /// Its path from the root (`"workers/echo"`).
    pub path: String,
    /// Whether it is a nested supervisor.
    pub supervisor: bool,
    /// Its state's name: an [`ActorState`](crate::ActorState) name, or a
    /// [`SupervisorStatus`] name.
    pub state: &'static str,
    /// Restarts so far.
    pub restarts: u32,
    /// How its last instance ended, if it ended on its own.
    pub last_exit: Option<String>,
}

/// What a supervisor's handle can read without asking its task.
#[derive(Debug)]
struct Shared {
    path: String,
    /// Bumped on every event anywhere in the tree (shared by all its
    /// supervisors), for [`Supervisor::wait_for_restarts`].
    changes: Arc<watch::Sender<u64>>,
    status: watch::Sender<SupervisorStatus>,
    children: Vec<View>,
    records: Mutex<Vec<Record>>,
}

#[derive(Debug)]
struct View {
    id: String,
    kind: ViewKind,
}

#[derive(Debug)]
enum ViewKind {
    Actor(Address),
    Supervisor(Arc<Shared>),
}

#[derive(Debug, Clone, Default)]
struct Record {
    restarts: u32,
    last_exit: Option<String>,
}

impl Shared {
    fn records(&self) -> MutexGuard<'_, Vec<Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn report(&self, out: &mut Vec<ChildReport>) {
        let records = self.records().clone();
        for (view, record) in self.children.iter().zip(records) {
            let path = join(&self.path, &view.id);
            let (supervisor, state) = match &view.kind {
                ViewKind::Actor(a) => (false, a.state().name()),
                ViewKind::Supervisor(s) => (true, s.status.borrow().name()),
            };
            out.push(ChildReport {
                path,
                supervisor,
                state,
                restarts: record.restarts,
                last_exit: record.last_exit,
            });
            if let ViewKind::Supervisor(s) = &view.kind {
                s.report(out);
            }
        }
    }

    fn address(&self, path: &str) -> Option<Address> {
        let (first, rest) = match path.split_once('/') {
            Some((first, rest)) => (first, Some(rest)),
            None => (path, None),
        };
        let view = self.children.iter().find(|v| v.id == first)?;
        match (&view.kind, rest) {
            (ViewKind::Actor(a), None) => Some(a.clone()),
            (ViewKind::Supervisor(s), Some(rest)) => s.address(rest),
            _ => None,
        }
    }
}

/// A request to a supervisor's task.
enum Control {
    /// Answered with the number of the run started.
    Start(oneshot::Sender<Result<u64, ComponentError>>),
    Stop(oneshot::Sender<()>),
    /// One round of health checks now.
    CheckHealth(oneshot::Sender<()>),
    /// Answered once every exit reported before it has been handled.
    Settle(oneshot::Sender<()>),
}

/// A running supervision tree: start it, stop it, read its children's
/// states and reach them by path.
///
/// Dropping it stops the tree (children in reverse order, each within its
/// shutdown).
///
/// ```
/// use std::time::Duration;
/// use component_actor::{
///     ChildSpec, ComponentManifest, ComponentSource, Runtime, RuntimeConfig, Supervisor,
///     SupervisorSpec,
/// };
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let runtime = Runtime::new(RuntimeConfig::default())?;
/// let spec = SupervisorSpec::new().child(ChildSpec::actor(
///     "counter",
///     ComponentSource::from_file("wat/message_counter_or_trap.wat"),
///     ComponentManifest::new("counter")?,
/// ));
/// let tree = Supervisor::new(&runtime, spec)?;
/// tree.start().await?;
/// let counter = tree.address("counter").unwrap();
/// assert_eq!(&counter.request("add").await?[..], b"1");
/// // `!` traps: the instance is gone, and the supervisor starts a new one
/// // behind the same address.
/// assert!(counter.request("!").await.is_err());
/// tree.wait_for_restarts("counter", 1).await;
/// assert_eq!(&counter.request("add").await?[..], b"1");
/// tree.stop().await;
/// # Ok::<(), component_actor::ComponentError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Supervisor {
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
}

impl Supervisor {
    /// Builds the tree of `spec` in the current tokio runtime: every actor
    /// is created and spawned (nothing is started yet).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for a spec that cannot be supervised (an empty,
    /// duplicate or `/`-holding id, a zero period or health interval), or
    /// when called outside a tokio runtime.
    pub fn new(runtime: &Runtime, spec: SupervisorSpec) -> Result<Self, ComponentError> {
        Self::build(runtime, spec, None)
    }

    /// As [`new`](Self::new), reporting every [`SupervisorEvent`] of the
    /// tree to `events`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_events(
        runtime: &Runtime,
        spec: SupervisorSpec,
        events: mpsc::UnboundedSender<SupervisorEvent>,
    ) -> Result<Self, ComponentError> {
        Self::build(runtime, spec, Some(events))
    }

    fn build(
        runtime: &Runtime,
        spec: SupervisorSpec,
        events: Option<mpsc::UnboundedSender<SupervisorEvent>>,
    ) -> Result<Self, ComponentError> {
        spec.validate("")?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ComponentError::new(
                "supervisor",
                ErrorKind::Config,
                "a supervisor needs a tokio runtime: build it from within one",
            ));
        }
        let changes = Arc::new(watch::Sender::new(0));
        let (control, shared) =
            spawn_supervisor(runtime, spec, String::new(), changes, events, None)?;
        Ok(Self { control, shared })
    }

    /// Starts the children in order. If one does not start, those started
    /// are stopped in reverse order and its error is returned (the
    /// supervisor is then Failed; no restart is attempted, as in OTP).
    ///
    /// # Errors
    ///
    /// The first child's start error; [`ErrorKind::InvalidTransition`] if
    /// the supervisor is not Created, Stopped or Failed.
    pub async fn start(&self) -> Result<(), ComponentError> {
        let (reply, answer) = oneshot::channel();
        let _ = self.control.send(Control::Start(reply));
        match answer.await {
            Ok(result) => result.map(drop),
            Err(_) => Err(gone("")),
        }
    }

    /// Stops the children in reverse order, each within its shutdown, and
    /// waits until they are stopped. A Failed supervisor (its children
    /// already stopped) stays Failed, with its reason.
    pub async fn stop(&self) {
        let (reply, answer) = oneshot::channel();
        let _ = self.control.send(Control::Stop(reply));
        let _ = answer.await;
    }

    /// Runs one round of health checks now, as the health policy's timer
    /// does (nothing without a policy, or unless Running): each running
    /// actor child is checked in order, and one past
    /// `failures_to_restart` consecutive failed checks is restarted.
    /// Only the root's children are checked.
    pub async fn check_health(&self) {
        let (reply, answer) = oneshot::channel();
        let _ = self.control.send(Control::CheckHealth(reply));
        let _ = answer.await;
    }

    /// [`children`](Self::children) once the root has handled every child
    /// end reported before this call (a message answered with a trap
    /// before it, for example: the restart it caused is done).
    pub async fn report(&self) -> Vec<ChildReport> {
        let (reply, answer) = oneshot::channel();
        let _ = self.control.send(Control::Settle(reply));
        let _ = answer.await;
        self.children()
    }

    /// The root's status.
    pub fn status(&self) -> SupervisorStatus {
        self.shared.status.borrow().clone()
    }

    /// Waits until the root is Stopped or Failed, and returns that status.
    pub async fn wait(&self) -> SupervisorStatus {
        let mut status = self.shared.status.subscribe();
        match status.wait_for(SupervisorStatus::is_down).await {
            Ok(s) => s.clone(),
            // The task is gone: it stopped everything first.
            Err(_) => self.status(),
        }
    }

    /// Waits until the child at `path` has been restarted at least
    /// `restarts` times in all, or its supervisor is down, and returns its
    /// report (`None` for no such child).
    pub async fn wait_for_restarts(&self, path: &str, restarts: u32) -> Option<ChildReport> {
        let mut changes = self.shared.changes.subscribe();
        loop {
            changes.borrow_and_update();
            let report = self.children().into_iter().find(|c| c.path == path)?;
            let running =
                report.restarts >= restarts && matches!(report.state, "Ready" | "Running");
            if running || self.status().is_down() {
                return Some(report);
            }
            if changes.changed().await.is_err() {
                return Some(report);
            }
        }
    }

    /// The address of the actor at `path` (`"echo"`, `"workers/echo"`): it
    /// stays valid across the child's restarts.
    pub fn address(&self, path: &str) -> Option<Address> {
        self.shared.address(path)
    }

    /// Every child of the tree, depth first, in start order.
    pub fn children(&self) -> Vec<ChildReport> {
        let mut out = Vec::new();
        self.shared.report(&mut out);
        out
    }
}

fn gone(path: &str) -> ComponentError {
    ComponentError::new(
        if path.is_empty() { "supervisor" } else { path },
        ErrorKind::Stopped,
        "the supervisor's task has ended (its runtime shut down)",
    )
}

/// Builds one supervisor (and, recursively, its nested ones) and spawns
/// its task.
fn spawn_supervisor(
    runtime: &Runtime,
    spec: SupervisorSpec,
    path: String,
    changes: Arc<watch::Sender<u64>>,
    events: Option<mpsc::UnboundedSender<SupervisorEvent>>,
    parent: Option<ExitSink>,
) -> Result<(mpsc::UnboundedSender<Control>, Arc<Shared>), ComponentError> {
    let (exit_to, exits) = mpsc::unbounded_channel();
    let mut slots = Vec::with_capacity(spec.children.len());
    let mut views = Vec::with_capacity(spec.children.len());
    for (index, child) in spec.children.into_iter().enumerate() {
        let sink = ExitSink {
            child: index,
            to: exit_to.clone(),
        };
        let child_path = join(&path, &child.id);
        let (node, view) = match child.kind {
            ChildKind::Actor { source, manifest } => {
                let actor =
                    ComponentActor::new(runtime, source, manifest).with_standby(child.standby);
                let address = mailbox::spawn(actor, Some(sink))?;
                (Node::Actor(address.clone()), ViewKind::Actor(address))
            }
            ChildKind::Supervisor(nested) => {
                let (control, shared) = spawn_supervisor(
                    runtime,
                    nested,
                    child_path.clone(),
                    changes.clone(),
                    events.clone(),
                    Some(sink),
                )?;
                (Node::Supervisor(control), ViewKind::Supervisor(shared))
            }
        };
        views.push(View {
            id: child.id,
            kind: view,
        });
        slots.push(Slot {
            path: child_path,
            node,
            restart: child.restart,
            shutdown: child.shutdown,
            instance: 0,
            running: false,
            done: false,
            unhealthy: 0,
        });
    }
    let shared = Arc::new(Shared {
        path: path.clone(),
        changes,
        status: watch::Sender::new(SupervisorStatus::Created),
        records: Mutex::new(vec![Record::default(); views.len()]),
        children: views,
    });
    let (control, requests) = mpsc::unbounded_channel();
    let task = Task {
        shared: shared.clone(),
        strategy: spec.strategy,
        intensity: spec.intensity,
        health: spec.health,
        slots,
        window: RestartWindow::default(),
        events,
        parent,
        runs: 0,
    };
    tokio::spawn(task.run(requests, exits));
    Ok((control, shared))
}

/// A child as its supervisor's task controls it.
enum Node {
    Actor(Address),
    Supervisor(mpsc::UnboundedSender<Control>),
}

struct Slot {
    path: String,
    node: Node,
    restart: Restart,
    shutdown: Shutdown,
    /// The number of the instance (or run) last started.
    instance: u64,
    /// Started by this supervisor and not known to have ended.
    running: bool,
    /// A temporary child that ended: never started again in this run.
    done: bool,
    /// Consecutive failed health checks.
    unhealthy: u32,
}

impl Node {
    async fn start(&self, path: &str) -> Result<u64, ComponentError> {
        match self {
            Node::Actor(a) => a.start_instance().await,
            Node::Supervisor(control) => {
                let (reply, answer) = oneshot::channel();
                let _ = control.send(Control::Start(reply));
                answer.await.unwrap_or_else(|_| Err(gone(path)))
            }
        }
    }

    async fn stop(&self, shutdown: Shutdown) {
        match self {
            Node::Actor(a) => {
                let timeout = match shutdown {
                    Shutdown::Timeout(t) => t,
                    Shutdown::Infinity => a.handle().max_call_duration(),
                };
                // A stop's only error is a refusal in a state it cannot
                // be in here; the actor is stopped either way.
                let _ = a.stop(timeout).await;
            }
            Node::Supervisor(control) => {
                let (reply, answer) = oneshot::channel();
                let _ = control.send(Control::Stop(reply));
                match shutdown {
                    // Past it the nested supervisor goes on stopping its
                    // children (each bounded by its own shutdown); this
                    // one no longer waits.
                    Shutdown::Timeout(t) => {
                        let _ = tokio::time::timeout(t, answer).await;
                    }
                    Shutdown::Infinity => {
                        let _ = answer.await;
                    }
                }
            }
        }
    }
}

struct Task {
    shared: Arc<Shared>,
    strategy: Strategy,
    intensity: Intensity,
    health: Option<HealthPolicy>,
    slots: Vec<Slot>,
    window: RestartWindow,
    events: Option<mpsc::UnboundedSender<SupervisorEvent>>,
    parent: Option<ExitSink>,
    /// Runs started so far (the number of the current one).
    runs: u64,
}

impl Task {
    fn emit(&self, path: &str, what: EventKind) {
        self.shared.changes.send_modify(|n| *n += 1);
        if let Some(events) = &self.events {
            let _ = events.send(SupervisorEvent {
                path: path.to_string(),
                what,
                at: Instant::now(),
            });
        }
    }

    /// The root's own start and stop; a nested supervisor's are reported
    /// by its parent, as for any child.
    fn emit_own(&self, what: EventKind) {
        if self.parent.is_none() {
            self.emit(&self.shared.path, what);
        }
    }

    fn set_status(&self, status: SupervisorStatus) {
        self.shared.status.send_replace(status);
    }

    fn status(&self) -> SupervisorStatus {
        self.shared.status.borrow().clone()
    }

    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Control>,
        mut exits: mpsc::UnboundedReceiver<Exit>,
    ) {
        let checks = self.health.is_some();
        let every = self
            .health
            .map_or(Duration::from_secs(3600), |h| h.interval);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let running = self.status() == SupervisorStatus::Running;
            tokio::select! {
                // Exits first: a request sent after an exit was reported
                // sees it handled (and a flood of them is bounded by the
                // number of children).
                biased;
                Some(exit) = exits.recv() => {
                    if running {
                        self.on_exit(exit).await;
                    }
                }
                request = requests.recv() => match request {
                    Some(Control::Start(reply)) => {
                        let result = self.start().await;
                        let _ = reply.send(result);
                    }
                    Some(Control::Stop(reply)) => {
                        self.stop().await;
                        let _ = reply.send(());
                    }
                    Some(Control::CheckHealth(reply)) => {
                        if running {
                            self.check_health().await;
                        }
                        let _ = reply.send(());
                    }
                    Some(Control::Settle(reply)) => {
                        let _ = reply.send(());
                    }
                    None => break,
                },
                _ = tick.tick(), if running && checks => {
                    self.check_health().await;
                }
            }
        }
        // The handle (or the parent) is gone: stop everything.
        if !self.status().is_down() {
            self.stop().await;
        }
    }

    /// Starts every child in order; on the first failure stops the started
    /// ones in reverse order and fails.
    async fn start(&mut self) -> Result<u64, ComponentError> {
        let status = self.status();
        if !matches!(
            status,
            SupervisorStatus::Created | SupervisorStatus::Stopped | SupervisorStatus::Failed(_)
        ) {
            return Err(ComponentError::new(
                self.name(),
                ErrorKind::InvalidTransition,
                format!("cannot start: supervisor is {}", status.name()),
            ));
        }
        self.set_status(SupervisorStatus::Starting);
        self.window.clear();
        for slot in &mut self.slots {
            slot.done = false;
        }
        for i in 0..self.slots.len() {
            if let Err(e) = self.start_child(i).await {
                self.stop_children(0..i).await;
                let reason = format!("child {} did not start: {e}", self.slots[i].path);
                self.set_status(SupervisorStatus::Failed(reason));
                return Err(e);
            }
        }
        self.runs += 1;
        self.set_status(SupervisorStatus::Running);
        self.emit_own(EventKind::Started);
        Ok(self.runs)
    }

    fn name(&self) -> &str {
        if self.shared.path.is_empty() {
            "supervisor"
        } else {
            &self.shared.path
        }
    }

    async fn start_child(&mut self, i: usize) -> Result<(), ComponentError> {
        let slot = &mut self.slots[i];
        match slot.node.start(&slot.path).await {
            Ok(instance) => {
                slot.instance = instance;
                slot.running = true;
                slot.unhealthy = 0;
                let path = slot.path.clone();
                self.emit(&path, EventKind::Started);
                Ok(())
            }
            Err(e) => {
                let path = slot.path.clone();
                self.emit(
                    &path,
                    EventKind::StartFailed {
                        kind: e.kind(),
                        permanent: e.kind().is_permanent(),
                        error: e.to_string(),
                    },
                );
                Err(e)
            }
        }
    }

    /// Stops the running children in `range`, in reverse order.
    async fn stop_children(&mut self, range: std::ops::Range<usize>) {
        for i in range.rev() {
            let slot = &mut self.slots[i];
            if slot.running {
                slot.running = false;
                slot.node.stop(slot.shutdown).await;
                let path = slot.path.clone();
                self.emit(&path, EventKind::Stopped);
            }
        }
    }

    async fn stop(&mut self) {
        if self.status().is_down() {
            // Nothing runs: a Failed supervisor keeps its reason.
            return;
        }
        self.set_status(SupervisorStatus::Stopping);
        self.stop_children(0..self.slots.len()).await;
        self.set_status(SupervisorStatus::Stopped);
        self.emit_own(EventKind::Stopped);
    }

    /// A child's instance ended: if it is the one this supervisor started
    /// and still counts as running, apply its restart type and the
    /// strategy.
    async fn on_exit(&mut self, exit: Exit) {
        let Some(slot) = self.slots.get_mut(exit.child) else {
            return;
        };
        if !slot.running || slot.instance != exit.instance {
            return;
        }
        slot.running = false;
        self.ended(exit.child, exit.abnormal).await;
    }

    /// Child `i`'s instance ended (`abnormal`: the reason of a failure):
    /// record it, and restart per its restart type and the strategy.
    async fn ended(&mut self, i: usize, abnormal: Option<String>) {
        let path = self.slots[i].path.clone();
        let restart = self.slots[i].restart;
        let reason = abnormal.clone().unwrap_or_else(|| "stopped".into());
        self.shared.records()[i].last_exit = Some(reason.clone());
        let failed = abnormal.is_some();
        self.emit(&path, EventKind::Exited { abnormal });
        if restart.restarts_after(failed) {
            self.restart(i, format!("{path}: {reason}")).await;
        } else if restart == Restart::Temporary {
            self.slots[i].done = true;
        }
    }

    /// Restarts child `failed` per the strategy, counting each restart
    /// against the intensity; a restart whose start fails is another
    /// failure of that child.
    async fn restart(&mut self, mut failed: usize, mut reason: String) {
        'again: loop {
            if !self.window.admit(Instant::now(), self.intensity) {
                self.give_up(reason).await;
                return;
            }
            let restarts = {
                let mut records = self.shared.records();
                records[failed].restarts += 1;
                records[failed].restarts
            };
            let path = self.slots[failed].path.clone();
            self.emit(&path, EventKind::Restarting { restarts });
            let range = self.strategy.affected(failed, self.slots.len());
            self.stop_children(range.clone()).await;
            for i in range {
                let slot = &mut self.slots[i];
                if i != failed && slot.restart == Restart::Temporary {
                    // A temporary sibling stopped by the strategy stays
                    // stopped.
                    slot.done = true;
                }
                if slot.done || slot.running {
                    continue;
                }
                if let Err(e) = self.start_child(i).await {
                    self.shared.records()[i].last_exit = Some(e.to_string());
                    reason = format!("{}: did not restart: {e}", self.slots[i].path);
                    failed = i;
                    continue 'again;
                }
            }
            return;
        }
    }

    /// Past the intensity: stop every child in reverse order, fail, and
    /// tell the parent.
    async fn give_up(&mut self, last: String) {
        let reason = format!(
            "more than {} restarts in {:?}; last: {last}",
            self.intensity.restarts, self.intensity.period
        );
        self.set_status(SupervisorStatus::Stopping);
        self.stop_children(0..self.slots.len()).await;
        self.emit(
            &self.shared.path,
            EventKind::GaveUp {
                reason: reason.clone(),
            },
        );
        self.set_status(SupervisorStatus::Failed(reason.clone()));
        if let Some(parent) = &self.parent {
            let _ = parent.to.send(Exit {
                child: parent.child,
                instance: self.runs,
                abnormal: Some(reason),
            });
        }
    }

    /// One round of health checks of the running actor children; a child
    /// past `failures_to_restart` consecutive failed checks is stopped and
    /// restarted as a failure.
    async fn check_health(&mut self) {
        let Some(policy) = self.health else { return };
        for i in 0..self.slots.len() {
            if self.status() != SupervisorStatus::Running {
                return;
            }
            let slot = &mut self.slots[i];
            let Node::Actor(address) = &slot.node else {
                continue;
            };
            if !slot.running {
                continue;
            }
            let instance = slot.instance;
            let health = address.health_check().await;
            let slot = &mut self.slots[i];
            // The check itself may have ended the instance (a trap in
            // `_health`): its exit report handles that.
            if !slot.running || slot.instance != instance {
                continue;
            }
            let ChildHealth::Failed(why) = health else {
                slot.unhealthy = 0;
                continue;
            };
            slot.unhealthy += 1;
            let consecutive = slot.unhealthy;
            let path = slot.path.clone();
            self.emit(
                &path,
                EventKind::Unhealthy {
                    consecutive,
                    health: why.clone(),
                },
            );
            if consecutive >= policy.failures_to_restart {
                let slot = &mut self.slots[i];
                slot.running = false;
                slot.node.stop(slot.shutdown).await;
                let reason = format!("unhealthy on {consecutive} consecutive checks: {why}");
                self.ended(i, Some(reason)).await;
            }
        }
    }
}
