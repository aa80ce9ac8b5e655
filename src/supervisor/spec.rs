//! What a supervision tree is made of: [`SupervisorSpec`] and
//! [`ChildSpec`], with OTP's restart types, shutdown, strategies and
//! intensity (and OTP's defaults).

use std::time::Duration;

use crate::error::{ComponentError, ErrorKind};
use crate::manifest::ComponentManifest;
use crate::runtime::loader::ComponentSource;

/// When a child that ended is started again (OTP's restart type).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Restart {
    /// Always restarted, however it ended (the default).
    #[default]
    Permanent,
    /// Restarted only after an abnormal end (Failed); a stop (Terminated)
    /// is final.
    Transient,
    /// Never restarted; a sibling's restart that stops it does not start
    /// it again either.
    Temporary,
}

/// How long a child is given to stop (OTP's shutdown): for an actor, the
/// bound on its `_cleanup`, after which the instance is dropped without it.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// At most this long.
    Timeout(Duration),
    /// No bound of its own: a nested supervisor stops its children each
    /// under its own shutdown; an actor's `_cleanup` is still bounded by
    /// its manifest's `max_call_duration`, like every guest call.
    Infinity,
}

impl Shutdown {
    /// OTP's default for a worker: 5 seconds.
    pub const DEFAULT: Shutdown = Shutdown::Timeout(Duration::from_secs(5));
}

/// Which children a restart takes along (OTP's strategies).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Only the child that ended is restarted (the default).
    #[default]
    OneForOne,
    /// Every other child is stopped (in reverse order), then all are
    /// started again in order.
    OneForAll,
    /// The children started after the one that ended are stopped (in
    /// reverse order), then it and they are started again in order.
    RestForOne,
}

/// At most `restarts` restarts within `period` (OTP's intensity and
/// period, default 1 in 5 seconds); one more and the supervisor stops all
/// its children and fails.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Intensity {
    /// Restarts allowed within `period` (0: the first failure is fatal).
    pub restarts: u32,
    /// The sliding window the restarts are counted in.
    pub period: Duration,
}

impl Default for Intensity {
    fn default() -> Self {
        Self {
            restarts: 1,
            period: Duration::from_secs(5),
        }
    }
}

/// Restarting a child that fails its health checks: after
/// `failures_to_restart` consecutive checks that find it
/// [`ChildHealth::Failed`](crate::ChildHealth::Failed) (`Degraded` does not
/// count), it is stopped and restarted as a failure.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HealthPolicy {
    /// Consecutive failed checks that count as a failure (at least 1).
    pub failures_to_restart: u32,
    /// Time between checks.
    pub interval: Duration,
}

/// What a child is.
#[derive(Debug)]
pub enum ChildKind {
    /// A component actor.
    Actor {
        /// The module.
        source: ComponentSource,
        /// Its manifest.
        manifest: ComponentManifest,
    },
    /// A nested supervisor.
    Supervisor(SupervisorSpec),
}

/// One child of a supervisor (OTP's child spec).
#[derive(Debug)]
pub struct ChildSpec {
    pub(crate) id: String,
    pub(crate) kind: ChildKind,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) standby: bool,
}

impl ChildSpec {
    /// An actor child: [`Restart::Permanent`], [`Shutdown::DEFAULT`].
    pub fn actor(
        id: impl Into<String>,
        source: ComponentSource,
        manifest: ComponentManifest,
    ) -> Self {
        Self {
            id: id.into(),
            kind: ChildKind::Actor { source, manifest },
            restart: Restart::Permanent,
            shutdown: Shutdown::DEFAULT,
            standby: false,
        }
    }

    /// A nested supervisor: [`Restart::Permanent`], [`Shutdown::Infinity`]
    /// (OTP's default for a supervisor child).
    pub fn supervisor(id: impl Into<String>, spec: SupervisorSpec) -> Self {
        Self {
            id: id.into(),
            kind: ChildKind::Supervisor(spec),
            restart: Restart::Permanent,
            shutdown: Shutdown::Infinity,
            standby: false,
        }
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the shutdown.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Whether an actor child keeps a standby instance, made after each of
    /// its starts so that its next restart skips instantiation (off by
    /// default; the costs are in [`ComponentActor::with_standby`]). A
    /// supervisor child has none: `Supervisor::new` refuses it.
    ///
    /// [`ComponentActor::with_standby`]: crate::ComponentActor::with_standby
    pub fn standby(mut self, keep: bool) -> Self {
        self.standby = keep;
        self
    }

    /// The child's id, unique among its siblings.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A supervisor: its strategy, intensity, optional health policy and
/// children, started in the order given.
#[derive(Debug, Default)]
pub struct SupervisorSpec {
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) health: Option<HealthPolicy>,
    pub(crate) children: Vec<ChildSpec>,
}

impl SupervisorSpec {
    /// One-for-one, intensity 1 in 5 s, no health restarts, no children.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the intensity: at most `restarts` within `period`.
    pub fn intensity(mut self, restarts: u32, period: Duration) -> Self {
        self.intensity = Intensity { restarts, period };
        self
    }

    /// Restarts a child after `failures_to_restart` consecutive failed
    /// health checks, made every `interval`.
    pub fn health(mut self, failures_to_restart: u32, interval: Duration) -> Self {
        self.health = Some(HealthPolicy {
            failures_to_restart,
            interval,
        });
        self
    }

    /// Adds a child, started after those added before it.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Refuses what cannot be supervised: an empty or duplicate id, an id
    /// with a `/` (it separates the levels of a path), a zero period or
    /// health interval, `failures_to_restart` 0, a standby on a
    /// supervisor child. `path` names this
    /// supervisor in the error.
    pub(crate) fn validate(&self, path: &str) -> Result<(), ComponentError> {
        let bad = |why: String| Err(ComponentError::new(path, ErrorKind::Config, why));
        if self.intensity.period.is_zero() {
            return bad("the intensity period must be longer than zero".into());
        }
        if let Some(h) = self.health {
            if h.failures_to_restart == 0 {
                return bad("health failures_to_restart must be at least 1".into());
            }
            if h.interval.is_zero() {
                return bad("the health interval must be longer than zero".into());
            }
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.children {
            if c.id.is_empty() || c.id.contains('/') {
                return bad(format!(
                    "child id {:?}: must be non-empty, without '/'",
                    c.id
                ));
            }
            if !seen.insert(c.id.as_str()) {
                return bad(format!("two children have the id {:?}", c.id));
            }
            if let ChildKind::Supervisor(spec) = &c.kind {
                if c.standby {
                    return bad(format!(
                        "child {:?}: a standby instance is for actor children, not supervisors",
                        c.id
                    ));
                }
                spec.validate(&join(path, &c.id))?;
            }
        }
        Ok(())
    }
}

/// `parent/id`, or `id` at the root.
pub(crate) fn join(parent: &str, id: &str) -> String {
    if parent.is_empty() {
        id.to_string()
    } else {
        format!("{parent}/{id}")
    }
}
