//! loom models of [`StateCell`](super::StateCell): every interleaving (up to
//! `LOOM_MAX_PREEMPTIONS`) of 2-3 threads applying transitions. Built only
//! with `--cfg component_actor_loom` (which also switches
//! `crate::sync::Mutex` to loom's) and run by `ci/loom`.

use loom::sync::Arc;
use loom::thread;

use crate::sync::loom_model as model;

use super::*;
use ActorState::*;

/// Applies `t`, returning the changing step it made (if any).
fn step(cell: &StateCell, t: Transition) -> Result<Option<(ActorState, ActorState)>, Refused> {
    cell.apply(t)
        .map(|a| (a.from != a.to).then_some((a.from, a.to)))
}

/// Rebuilds the cell's history from the changing steps every thread
/// made: starting at Creating, each step must begin where the previous
/// one ended, every step must be legal, and every step must be used.
fn history(mut steps: Vec<(ActorState, ActorState)>) -> Vec<ActorState> {
    let mut states = vec![Creating];
    while !steps.is_empty() {
        let at = states.last().unwrap().clone();
        let i = steps
            .iter()
            .position(|(from, _)| *from == at)
            .unwrap_or_else(|| panic!("no step continues from {at}: {steps:?}"));
        let (from, to) = steps.remove(i);
        assert!(is_legal_step(&from, &to), "illegal step {from} -> {to}");
        states.push(to);
    }
    states
}

/// Two `start`s race from Creating: exactly one wins, the other is
/// refused seeing Starting, and the cell ends Starting.
#[test]
fn two_starts_race_exactly_one_wins() {
    model("two_starts_race_exactly_one_wins", || {
        let cell = Arc::new(StateCell::new());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || cell.apply(Transition::BeginStart))
        };
        let mine = cell.apply(Transition::BeginStart);
        let theirs = other.join().unwrap();
        let wins = [&mine, &theirs].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{mine:?} {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        assert_eq!(loser.unwrap_err().state, Starting);
        assert_eq!(cell.get(), Starting);
    });
}

/// A stop request races the completion of a start; a third thread
/// watches. Whoever ends up owning the instance finishes the stop (as
/// `ComponentActor` does). The cell always ends Terminated, the stop is
/// never lost, and Ready is never seen after Stopping.
#[test]
fn stop_racing_start_completion_ends_terminated() {
    model("stop_racing_start_completion_ends_terminated", || {
        let cell = Arc::new(StateCell::new());
        cell.apply(Transition::BeginStart).unwrap();
        let starter = {
            let cell = cell.clone();
            thread::spawn(move || {
                let a = cell.apply(Transition::StartSucceeded).unwrap();
                if a.to == Stopping {
                    // A stop was requested while starting: honour it.
                    cell.apply(Transition::StopFinished).unwrap();
                }
            })
        };
        let observer = {
            let cell = cell.clone();
            thread::spawn(move || [cell.get(), cell.get()])
        };
        let a = cell.apply(Transition::BeginStop).unwrap();
        match (&a.from, &a.to) {
            (Ready, Stopping) => {
                cell.apply(Transition::StopFinished).unwrap();
            }
            (Starting, Starting) => {} // recorded; the starter stops
            other => panic!("unexpected stop step {other:?}"),
        }
        starter.join().unwrap();
        let seen = observer.join().unwrap();
        assert_eq!(cell.get(), Terminated);
        let stopping = seen.iter().position(|s| *s == Stopping);
        let ready = seen.iter().rposition(|s| *s == Ready);
        if let (Some(s), Some(r)) = (stopping, ready) {
            assert!(r < s, "Ready after Stopping: {seen:?}");
        }
    });
}

/// One thread drives a start, another requests a stop, a third reads
/// the state three times. The history rebuilt from the steps actually
/// made is a chain of legal steps ending in Ready or Terminated, and the
/// observer's reads appear in it in order.
#[test]
fn observer_sees_only_legal_steps_in_order() {
    model("observer_sees_only_legal_steps_in_order", || {
        let cell = Arc::new(StateCell::new());
        let starter = {
            let cell = cell.clone();
            thread::spawn(move || {
                let mut steps = Vec::new();
                if let Ok(s) = step(&cell, Transition::BeginStart) {
                    steps.extend(s);
                    let a = cell.apply(Transition::StartSucceeded).unwrap();
                    steps.push((a.from, a.to.clone()));
                    if a.to == Stopping {
                        steps.extend(step(&cell, Transition::StopFinished).unwrap());
                    }
                }
                steps
            })
        };
        let observer = {
            let cell = cell.clone();
            thread::spawn(move || [cell.get(), cell.get(), cell.get()])
        };
        let mut steps = Vec::new();
        let a = cell.apply(Transition::BeginStop).unwrap();
        if a.from != a.to {
            steps.push((a.from.clone(), a.to));
        }
        if a.from == Ready {
            steps.extend(step(&cell, Transition::StopFinished).unwrap());
        }
        steps.extend(starter.join().unwrap());
        let seen = observer.join().unwrap();

        let states = history(steps);
        let last = states.last().unwrap();
        assert_eq!(*last, cell.get());
        assert!(
            matches!(last, Ready | Terminated),
            "ended {last}: {states:?}"
        );
        // No state occurs twice in these histories, so "in order" is
        // "at non-decreasing positions".
        let mut at = 0;
        for s in &seen {
            let pos = states
                .iter()
                .position(|h| h == s)
                .unwrap_or_else(|| panic!("observer saw {s}, never in {states:?}"));
            assert!(
                pos >= at,
                "observer saw {seen:?} out of order of {states:?}"
            );
            at = pos;
        }
    });
}

/// A start fails while a stop is requested, and a third thread watches. The
/// cell ends Failed (the stop request dies with the failed start) or
/// Terminated (the stop came after), never Ready or stuck in Starting; the
/// observer's reads appear in the history in order; and a later start is
/// not cut short by the stale stop request.
#[test]
fn failure_during_starting_races_stop() {
    model("failure_during_starting_races_stop", || {
        let cell = Arc::new(StateCell::new());
        let starter = {
            let cell = cell.clone();
            thread::spawn(move || {
                let mut steps = Vec::new();
                if let Ok(s) = step(&cell, Transition::BeginStart) {
                    steps.extend(s);
                    steps.extend(step(&cell, Transition::StartFailed("boom".into())).unwrap());
                }
                steps
            })
        };
        let observer = {
            let cell = cell.clone();
            thread::spawn(move || [cell.get(), cell.get()])
        };
        let a = cell.apply(Transition::BeginStop).unwrap();
        let mut steps: Vec<_> = (a.from != a.to)
            .then_some((a.from, a.to))
            .into_iter()
            .collect();
        steps.extend(starter.join().unwrap());
        let seen = observer.join().unwrap();

        let states = history(steps);
        let last = cell.get();
        assert_eq!(states.last(), Some(&last));
        assert!(
            matches!(&last, Terminated) || last == Failed("boom".into()),
            "ended {last}: {states:?}"
        );
        assert!(!states.contains(&Ready), "{states:?}");
        let mut at = 0;
        for s in &seen {
            let pos = states
                .iter()
                .position(|h| h == s)
                .unwrap_or_else(|| panic!("observer saw {s}, never in {states:?}"));
            assert!(
                pos >= at,
                "observer saw {seen:?} out of order of {states:?}"
            );
            at = pos;
        }
        // A new start from here runs to Ready: no stale stop request.
        cell.apply(Transition::BeginStart).unwrap();
        assert_eq!(cell.apply(Transition::StartSucceeded).unwrap().to, Ready);
    });
}

/// `ActorHandle::request_stop` (a `RequestStop`) races the completion of a
/// start, as a supervisor thread cancelling a start would. The request is
/// taken exactly when it lands while Starting; then the starter stops and
/// the cell ends Terminated. When it is refused, the refusal saw a state
/// other than Starting and the cell ends Ready: a request is never half
/// taken, and never lost once it was reported as taken.
#[test]
fn handle_stop_request_races_start_completion() {
    model("handle_stop_request_races_start_completion", || {
        let cell = Arc::new(StateCell::new());
        cell.apply(Transition::BeginStart).unwrap();
        let starter = {
            let cell = cell.clone();
            thread::spawn(move || {
                let a = cell.apply(Transition::StartSucceeded).unwrap();
                if a.to == Stopping {
                    cell.apply(Transition::StopFinished).unwrap();
                }
                a.to
            })
        };
        let request = cell.apply(Transition::RequestStop);
        let after_start = starter.join().unwrap();
        match request {
            Ok(a) => {
                assert_eq!((a.from, a.to), (Starting, Starting));
                assert_eq!(after_start, Stopping);
                assert_eq!(cell.get(), Terminated);
            }
            Err(refused) => {
                assert_ne!(refused.state, Starting);
                assert_eq!(after_start, Ready);
                assert_eq!(cell.get(), Ready);
            }
        }
    });
}
