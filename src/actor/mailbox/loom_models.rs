//! loom model of the mailbox protocol of [`super`]: a sender admits a
//! message ([`accepts`] on the real [`StateCell`]) and then enqueues it,
//! racing the actor's task, which handles messages, carries out a stop
//! (queued messages answered Stopped, then Ready -> Stopping ->
//! Terminated) and, once every address is gone, closes the mailbox and
//! answers what is left. The channel is modelled as a queue under a lock
//! (tokio's `mpsc` is linearizable; loom cannot see inside tokio under our
//! cfg). In every interleaving: each accepted message is answered exactly
//! once, a refused one never, and none is handled once the stop began.

use std::collections::VecDeque;

use loom::sync::{Arc, Mutex};
use loom::thread;

use super::accepts;
use crate::actor::state::{ActorState, StateCell, Transition};
use crate::sync::loom_model as model;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Handled,
    Stopped,
}

/// The channel, and (under the same lock, to keep the model small) the
/// record of what happened to each message.
#[derive(Default)]
struct Mailbox {
    queue: VecDeque<u32>,
    closed: bool,
    stop_requested: bool,
    accepted: Vec<u32>,
    refused: Vec<u32>,
    answers: Vec<(u32, Answer)>,
}

struct Actor {
    state: StateCell,
    mailbox: Mutex<Mailbox>,
}

impl Actor {
    fn ready() -> Self {
        let state = StateCell::new();
        state.apply(Transition::BeginStart).unwrap();
        state.apply(Transition::StartSucceeded).unwrap();
        Self {
            state,
            mailbox: Mutex::new(Mailbox::default()),
        }
    }

    /// `Address::try_send`: admit on the state, then enqueue unless closed.
    fn send(&self, id: u32) {
        let admitted = accepts(&self.state.get());
        let mut m = self.mailbox.lock().unwrap();
        if admitted && !m.closed {
            m.queue.push_back(id);
            m.accepted.push(id);
        } else {
            m.refused.push(id);
        }
    }

    fn answer(&self, id: u32, answer: Answer) {
        self.mailbox.lock().unwrap().answers.push((id, answer));
    }

    /// `refuse_queued`: every message queued now answered Stopped.
    fn refuse_queued(&self) {
        let mut m = self.mailbox.lock().unwrap();
        while let Some(id) = m.queue.pop_front() {
            m.answers.push((id, Answer::Stopped));
        }
    }

    /// The stop the task runs: the queue answered, then the transitions.
    fn stop(&self) {
        self.refuse_queued();
        if self.state.apply(Transition::BeginStop).is_ok() {
            let _ = self.state.apply(Transition::StopFinished);
        }
    }

    /// One turn of the task's loop: control first, else one message,
    /// handled only while Ready (`handle_message`'s check), else Stopped.
    fn turn(&self) {
        let (stop, next) = {
            let mut m = self.mailbox.lock().unwrap();
            if std::mem::take(&mut m.stop_requested) {
                (true, None)
            } else {
                (false, m.queue.pop_front())
            }
        };
        if stop {
            self.stop();
        } else if let Some(id) = next {
            let answer = if self.state.get() == ActorState::Ready {
                Answer::Handled
            } else {
                Answer::Stopped
            };
            self.answer(id, answer);
        }
    }

    /// Every address is gone: close, answer the rest, stop.
    fn exit(&self) {
        self.mailbox.lock().unwrap().closed = true;
        self.stop();
    }
}

/// A sender sends two messages while another address asks for a stop and
/// the task takes three turns; then every address is dropped.
#[test]
fn sends_racing_a_stop_are_each_answered_exactly_once() {
    model("sends_racing_a_stop_are_each_answered_exactly_once", || {
        let actor = Arc::new(Actor::ready());
        let sender = {
            let actor = actor.clone();
            thread::spawn(move || {
                actor.send(0);
                actor.send(1);
            })
        };
        let stopper = {
            let actor = actor.clone();
            thread::spawn(move || actor.mailbox.lock().unwrap().stop_requested = true)
        };
        for _ in 0..3 {
            actor.turn();
        }
        sender.join().unwrap();
        stopper.join().unwrap();
        // A stop asked for but not yet taken is still carried out.
        actor.turn();
        actor.exit();
        let ledger = actor.mailbox.lock().unwrap();
        let mut all: Vec<u32> = ledger
            .accepted
            .iter()
            .chain(&ledger.refused)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1], "every send was either accepted or refused");
        for id in &ledger.accepted {
            let n = ledger.answers.iter().filter(|(a, _)| a == id).count();
            assert_eq!(n, 1, "accepted message {id} answered {n} times");
        }
        for id in &ledger.refused {
            assert!(
                ledger.answers.iter().all(|(a, _)| a != id),
                "refused message {id} was answered"
            );
        }
        // Handled ones come first: nothing is handled after a Stopped.
        let first_stopped = ledger
            .answers
            .iter()
            .position(|(_, a)| *a == Answer::Stopped);
        if let Some(i) = first_stopped {
            assert!(
                ledger.answers[i..]
                    .iter()
                    .all(|(_, a)| *a == Answer::Stopped),
                "{:?}",
                ledger.answers
            );
        }
        assert_eq!(actor.state.get(), ActorState::Terminated);
    });
}

/// The last two addresses are dropped while messages are queued: the task
/// sees the mailbox close, and every queued message is answered Stopped.
#[test]
fn dropping_every_address_answers_the_queue() {
    model("dropping_every_address_answers_the_queue", || {
        let actor = Arc::new(Actor::ready());
        let senders: Vec<_> = (0..2)
            .map(|id| {
                let actor = actor.clone();
                thread::spawn(move || actor.send(id))
            })
            .collect();
        actor.turn();
        for s in senders {
            s.join().unwrap();
        }
        actor.exit();
        let ledger = actor.mailbox.lock().unwrap();
        assert_eq!(ledger.accepted.len(), 2, "the actor was Ready throughout");
        let mut answered: Vec<u32> = ledger.answers.iter().map(|(id, _)| *id).collect();
        answered.sort_unstable();
        assert_eq!(answered, [0, 1]);
        assert_eq!(actor.state.get(), ActorState::Terminated);
    });
}
