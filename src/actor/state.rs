//! [`ActorState`] and the one place its transitions are decided.
//!
//! ```text
//!   Creating ──start──▶ Starting ──ok──▶ Ready ──stop──▶ Stopping ──▶ Terminated
//!      ▲                   │               │                             │
//!      │                   └──error──▶ Failed(reason) ◀── a guest call   │
//!      │                                   │              was cut off    │
//!   (start again from Creating, Terminated or Failed) ◀──────────────────┘
//! ```
//!
//! A `start` or `stop` whose future is dropped half-way applies
//! [`Transition::Abandon`]: Starting ends Failed, Stopping ends Terminated.
//!
//! [`StateCell`] applies a [`Transition`] atomically: the check of the current
//! state and the change happen under one lock, so two racing starts cannot
//! both win. A stop requested while Starting is remembered and taken when the
//! start completes, so a stop request is never lost and Ready never follows
//! Stopping. This module is what the loom models check.

use std::fmt;

use crate::sync::Mutex;

/// The lifecycle state of an actor.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActorState {
    /// Constructed, never started.
    Creating,
    /// `start` is loading, checking and instantiating the module.
    Starting,
    /// Instantiated, `_start` returned: running.
    Ready,
    /// `stop` is running `_cleanup` and releasing the instance.
    Stopping,
    /// Stopped; every wasm resource released. May be started again.
    Terminated,
    /// `start` failed, with the reason; every wasm resource released. May be
    /// started again.
    Failed(String),
}

impl ActorState {
    /// The state's name without its reason (`"Failed"`).
    pub fn name(&self) -> &'static str {
        match self {
            ActorState::Creating => "Creating",
            ActorState::Starting => "Starting",
            ActorState::Ready => "Ready",
            ActorState::Stopping => "Stopping",
            ActorState::Terminated => "Terminated",
            ActorState::Failed(_) => "Failed",
        }
    }

    /// Whether an instance exists in this state (Ready or Stopping).
    pub fn has_instance(&self) -> bool {
        matches!(self, ActorState::Ready | ActorState::Stopping)
    }

    /// Whether `start` may begin from this state.
    pub fn can_start(&self) -> bool {
        matches!(
            self,
            ActorState::Creating | ActorState::Terminated | ActorState::Failed(_)
        )
    }
}

impl fmt::Display for ActorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActorState::Failed(reason) => write!(f, "Failed({reason})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A requested change of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Creating | Terminated | Failed -> Starting.
    BeginStart,
    /// Starting -> Ready, or Starting -> Stopping when a stop was requested
    /// during the start.
    StartSucceeded,
    /// Starting -> Failed(reason).
    StartFailed(String),
    /// Ready -> Stopping; Creating | Failed | Terminated -> Terminated;
    /// Starting: remembered, taken when the start completes.
    BeginStop,
    /// Stopping -> Terminated.
    StopFinished,
    /// A stop asked for without waiting for it: Starting: remembered, taken
    /// when the start completes; Creating | Failed | Terminated ->
    /// Terminated; Stopping: already under way (unchanged). Refused in Ready,
    /// where only a caller that can run `_cleanup` may stop the actor.
    RequestStop,
    /// A `start` or `stop` future was dropped half-way: Starting ->
    /// Failed(reason), Stopping -> Terminated.
    Abandon(&'static str),
    /// Ready -> Failed(reason): a guest call did not return normally
    /// (trap, deadline, fuel, or its future was dropped), so the instance
    /// was discarded.
    Crashed(String),
}

/// What applying a transition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    /// The state before.
    pub from: ActorState,
    /// The state after (equal to `from` when a stop was only recorded).
    pub to: ActorState,
}

/// The transition was not legal in the current state, which is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The state that refused it.
    pub state: ActorState,
}

/// The pure transition function: the new state and whether a stop is
/// pending afterwards, or `None` when `t` is illegal in `from`.
pub(crate) fn next(
    from: &ActorState,
    stop_pending: bool,
    t: &Transition,
) -> Option<(ActorState, bool)> {
    use ActorState::*;
    match (from, t) {
        (s, Transition::BeginStart) if s.can_start() => Some((Starting, false)),
        (Starting, Transition::StartSucceeded) if stop_pending => Some((Stopping, false)),
        (Starting, Transition::StartSucceeded) => Some((Ready, false)),
        (Starting, Transition::StartFailed(r)) => Some((Failed(r.clone()), false)),
        (Starting, Transition::BeginStop | Transition::RequestStop) => Some((Starting, true)),
        (Ready, Transition::BeginStop) => Some((Stopping, false)),
        (Creating | Terminated | Failed(_), Transition::BeginStop | Transition::RequestStop) => {
            Some((Terminated, false))
        }
        (Stopping, Transition::RequestStop) => Some((Stopping, false)),
        (Stopping, Transition::StopFinished | Transition::Abandon(_)) => Some((Terminated, false)),
        (Starting, Transition::Abandon(r)) => Some((Failed((*r).to_string()), false)),
        (Ready, Transition::Crashed(r)) => Some((Failed(r.clone()), false)),
        _ => None,
    }
}

/// One transition of each kind, for walking the table.
fn every_transition() -> [Transition; 8] {
    [
        Transition::BeginStart,
        Transition::StartSucceeded,
        Transition::StartFailed(String::new()),
        Transition::BeginStop,
        Transition::StopFinished,
        Transition::RequestStop,
        Transition::Abandon(""),
        Transition::Crashed(String::new()),
    ]
}

/// Whether `to` can directly follow `from` by some transition: what an
/// observer may see between two reads. Read off `next`, the one table
/// of transitions (a `Failed` state matches whatever its reason).
pub fn is_legal_step(from: &ActorState, to: &ActorState) -> bool {
    [false, true].into_iter().any(|pending| {
        every_transition().iter().any(|t| {
            next(from, pending, t).is_some_and(|(s, _)| s != *from && s.name() == to.name())
        })
    })
}

#[derive(Debug)]
struct Inner {
    state: ActorState,
    stop_pending: bool,
}

/// An actor's state, shared between the actor and its handles.
#[derive(Debug)]
pub(crate) struct StateCell {
    inner: Mutex<Inner>,
}

impl StateCell {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: ActorState::Creating,
                stop_pending: false,
            }),
        }
    }

    /// The current state.
    pub(crate) fn get(&self) -> ActorState {
        self.lock().state.clone()
    }

    /// Applies `t` atomically, or refuses it leaving the state unchanged.
    pub(crate) fn apply(&self, t: Transition) -> Result<Applied, Refused> {
        let mut inner = self.lock();
        match next(&inner.state, inner.stop_pending, &t) {
            Some((to, pending)) => {
                let from = std::mem::replace(&mut inner.state, to.clone());
                inner.stop_pending = pending;
                Ok(Applied { from, to })
            }
            None => Err(Refused {
                state: inner.state.clone(),
            }),
        }
    }

    fn lock(&self) -> crate::sync::MutexGuardAlias<'_, Inner> {
        // A panic while holding this lock cannot leave `Inner` half-written
        // (both fields are set by plain assignments after `next` returned).
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActorState::*;

    fn states() -> Vec<ActorState> {
        vec![
            Creating,
            Starting,
            Ready,
            Stopping,
            Terminated,
            Failed("x".into()),
        ]
    }

    fn transitions() -> Vec<Transition> {
        every_transition().to_vec()
    }

    #[test]
    fn the_happy_path() {
        let cell = StateCell::new();
        for (t, want) in [
            (Transition::BeginStart, Starting),
            (Transition::StartSucceeded, Ready),
            (Transition::BeginStop, Stopping),
            (Transition::StopFinished, Terminated),
            (Transition::BeginStart, Starting),
            (Transition::StartFailed("no".into()), Failed("no".into())),
            (Transition::BeginStart, Starting),
        ] {
            assert_eq!(cell.apply(t).unwrap().to, want);
            assert_eq!(cell.get(), want);
        }
    }

    #[test]
    fn start_is_refused_while_running() {
        for s in [Starting, Ready, Stopping] {
            assert_eq!(next(&s, false, &Transition::BeginStart), None, "{s}");
        }
        let cell = StateCell::new();
        cell.apply(Transition::BeginStart).unwrap();
        let refused = cell.apply(Transition::BeginStart).unwrap_err();
        assert_eq!(refused.state, Starting);
        assert_eq!(cell.get(), Starting);
    }

    #[test]
    fn stop_during_start_is_taken_when_the_start_completes() {
        let cell = StateCell::new();
        cell.apply(Transition::BeginStart).unwrap();
        let a = cell.apply(Transition::BeginStop).unwrap();
        assert_eq!((a.from, a.to), (Starting, Starting));
        assert_eq!(cell.apply(Transition::StartSucceeded).unwrap().to, Stopping);
        assert_eq!(cell.apply(Transition::StopFinished).unwrap().to, Terminated);
    }

    #[test]
    fn a_stop_request_is_refused_only_in_ready() {
        for s in [Creating, Terminated, Failed("x".into())] {
            assert_eq!(
                next(&s, false, &Transition::RequestStop),
                Some((Terminated, false)),
                "{s}"
            );
        }
        assert_eq!(
            next(&Starting, false, &Transition::RequestStop),
            Some((Starting, true))
        );
        assert_eq!(
            next(&Stopping, false, &Transition::RequestStop),
            Some((Stopping, false))
        );
        assert_eq!(next(&Ready, false, &Transition::RequestStop), None);
    }

    #[test]
    fn an_abandoned_start_fails_and_an_abandoned_stop_terminates() {
        let gone = Transition::Abandon("dropped");
        assert_eq!(
            next(&Starting, true, &gone),
            Some((Failed("dropped".into()), false))
        );
        assert_eq!(next(&Stopping, false, &gone), Some((Terminated, false)));
        for s in [Creating, Ready, Terminated, Failed("x".into())] {
            assert_eq!(next(&s, false, &gone), None, "{s}");
        }
    }

    #[test]
    fn only_a_ready_actor_can_crash() {
        let crash = Transition::Crashed("trap".into());
        assert_eq!(
            next(&Ready, false, &crash),
            Some((Failed("trap".into()), false))
        );
        for s in [Creating, Starting, Stopping, Terminated, Failed("x".into())] {
            assert_eq!(next(&s, false, &crash), None, "{s}");
        }
    }

    #[test]
    fn a_new_start_forgets_an_old_stop_request() {
        let cell = StateCell::new();
        cell.apply(Transition::BeginStart).unwrap();
        cell.apply(Transition::BeginStop).unwrap();
        cell.apply(Transition::StartFailed("x".into())).unwrap();
        cell.apply(Transition::BeginStart).unwrap();
        assert_eq!(cell.apply(Transition::StartSucceeded).unwrap().to, Ready);
    }

    #[test]
    fn stop_when_idle_terminates() {
        for s in [Creating, Terminated, Failed("x".into())] {
            assert_eq!(
                next(&s, false, &Transition::BeginStop),
                Some((Terminated, false))
            );
        }
    }

    #[test]
    fn every_changing_transition_is_a_legal_step_and_nothing_else_is() {
        let mut seen = 0;
        for from in states() {
            for pending in [false, true] {
                for t in transitions() {
                    if let Some((to, _)) = next(&from, pending, &t)
                        && to != from
                    {
                        assert!(is_legal_step(&from, &to), "{from} -> {to}");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen >= 10);
        // Steps no transition makes.
        assert!(is_legal_step(&Ready, &Failed("any reason".into())));
        assert!(is_legal_step(&Failed("a".into()), &Starting));
        for (a, b) in [
            (Failed("a".into()), Failed("b".into())),
            (Terminated, Terminated),
            (Ready, Starting),
            (Stopping, Ready),
            (Terminated, Ready),
            (Creating, Ready),
            (Ready, Terminated),
        ] {
            assert!(!is_legal_step(&a, &b), "{a} -> {b}");
        }
    }

    #[test]
    fn instances_only_exist_in_ready_and_stopping() {
        let with: Vec<_> = states()
            .into_iter()
            .filter(ActorState::has_instance)
            .collect();
        assert_eq!(with, [Ready, Stopping]);
    }
}

#[cfg(all(test, component_actor_loom))]
mod loom_models;
