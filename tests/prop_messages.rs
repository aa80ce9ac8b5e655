//! Model-based property test of the message path, through the public API:
//! random sequences of `try_send`, `request`, a `send` cancelled while the
//! mailbox is full, dropped deliveries, guest traps, health checks, starts
//! and stops, on one spawned actor (`wat/message_counter_or_trap.wat`: a
//! message starting with `!` traps, any other adds one and is answered with
//! the count) with a random mailbox capacity. A reference model predicts
//! every refusal and every answer; at the end every accepted message must
//! have been answered exactly as predicted. The count in each reply shows
//! that no message was handled twice or lost.
//!
//! The tokio runtime has one thread, so the actor's task runs only while
//! the test awaits: what is queued when is decided by the sequence.

mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use support::cases;

use component_actor::{
    ActorState, Address, ComponentActor, ComponentManifest, ComponentSource, Delivery, ErrorKind,
    MailboxConfig, Runtime, RuntimeConfig,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// `try_send`; `true`: a message that traps.
    TrySend(bool),
    /// `request` (waits for its answer, and so for everything queued).
    Request(bool),
    /// `send` polled once: with room it is accepted, on a full mailbox it
    /// is pending, and is dropped (never to be handled).
    CancelledSend,
    /// Drops the oldest unanswered delivery: its message is still handled.
    DropDelivery,
    /// Awaits every delivery, then a health check.
    Health,
    /// Awaits every delivery, then `start`.
    Start,
    /// `stop`: queued messages are answered Stopped.
    Stop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // One message in eight traps.
        4 => prop::bool::weighted(0.125).prop_map(Op::TrySend),
        2 => prop::bool::weighted(0.125).prop_map(Op::Request),
        1 => Just(Op::CancelledSend),
        1 => Just(Op::DropDelivery),
        1 => Just(Op::Health),
        1 => Just(Op::Start),
        1 => Just(Op::Stop),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Reply(u32),
    Error(ErrorKind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    Creating,
    Ready,
    Failed,
    Terminated,
}

struct Model {
    state: St,
    count: u32,
    capacity: usize,
    queue: VecDeque<(u64, bool)>,
}

impl Model {
    fn accepts(&self) -> bool {
        self.state == St::Ready
    }

    /// The task handles the queue, in order.
    fn drain(&mut self, predicted: &mut Vec<(u64, Answer)>) {
        while let Some((id, trap)) = self.queue.pop_front() {
            let answer = match (self.state, trap) {
                (St::Ready, true) => {
                    self.state = St::Failed;
                    Answer::Error(ErrorKind::Trap)
                }
                (St::Ready, false) => {
                    self.count += 1;
                    Answer::Reply(self.count)
                }
                _ => Answer::Error(ErrorKind::Stopped),
            };
            predicted.push((id, answer));
        }
    }
}

fn observed(result: Result<bytes::Bytes, component_actor::ComponentError>) -> Answer {
    match result {
        Ok(reply) => Answer::Reply(std::str::from_utf8(&reply).unwrap().parse().unwrap()),
        Err(e) => Answer::Error(e.kind()),
    }
}

fn message(trap: bool) -> &'static str {
    if trap { "!" } else { "add" }
}

fn state_of(state: ActorState) -> St {
    match state {
        ActorState::Creating => St::Creating,
        ActorState::Ready => St::Ready,
        ActorState::Failed(_) => St::Failed,
        ActorState::Terminated => St::Terminated,
        other => panic!("in-between state {other} seen between steps"),
    }
}

async fn bounded<F: Future>(f: F) -> Result<F::Output, TestCaseError> {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .map_err(|_| TestCaseError::fail("an operation did not return within 30 s"))
}

/// Lets the task handle everything queued and checks the answers kept.
/// A dropped delivery cannot be awaited, so when one is outstanding a
/// request is sent behind it (and modelled like any other message): its
/// answer comes after every message queued before it.
async fn settle(
    address: &Address,
    next_id: &mut u64,
    outstanding: &mut VecDeque<(u64, Option<Delivery>)>,
    model: &mut Model,
    answered: &mut Vec<(u64, Answer)>,
    predicted: &mut Vec<(u64, Answer)>,
) -> Result<(), TestCaseError> {
    if outstanding.iter().any(|(_, d)| d.is_none()) && model.accepts() {
        let id = *next_id;
        *next_id += 1;
        model.queue.push_back((id, false));
        let result = bounded(address.request("add")).await?;
        answered.push((id, observed(result)));
    }
    model.drain(predicted);
    while let Some((id, delivery)) = outstanding.pop_front() {
        if let Some(d) = delivery {
            answered.push((id, observed(bounded(d).await?)));
        }
    }
    Ok(())
}

fn run_case(rt: &Runtime, capacity: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let manifest = ComponentManifest::builder("counter")
            .mailbox(MailboxConfig {
                capacity,
                ..MailboxConfig::default()
            })
            .build()
            .unwrap();
        let wat = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/wat/message_counter_or_trap.wat"
        ))
        .unwrap();
        let address: Address = ComponentActor::new(rt, ComponentSource::from_wat(wat), manifest)
            .spawn()
            .unwrap();
        let mut model = Model {
            state: St::Creating,
            count: 0,
            capacity,
            queue: VecDeque::new(),
        };
        let mut next_id = 0u64;
        // Deliveries not awaited yet (None: dropped), in send order.
        let mut outstanding: VecDeque<(u64, Option<Delivery>)> = VecDeque::new();
        let mut answered = Vec::new();
        let mut predicted = Vec::new();
        for &op in std::iter::once(&Op::Start).chain(ops) {
            match op {
                Op::TrySend(trap) => {
                    let id = next_id;
                    next_id += 1;
                    match address.try_send(message(trap)) {
                        Ok(d) => {
                            prop_assert!(model.accepts(), "accepted while {:?}", model.state);
                            prop_assert!(
                                model.queue.len() < model.capacity,
                                "accepted past capacity"
                            );
                            model.queue.push_back((id, trap));
                            outstanding.push_back((id, Some(d)));
                        }
                        Err(e) => {
                            let want = if !model.accepts() {
                                ErrorKind::Stopped
                            } else {
                                prop_assert_eq!(model.queue.len(), model.capacity);
                                ErrorKind::MailboxFull
                            };
                            prop_assert_eq!(e.kind(), want, "{}", e);
                            prop_assert_eq!(&e.into_message()[..], message(trap).as_bytes());
                        }
                    }
                }
                Op::Request(trap) => {
                    let id = next_id;
                    next_id += 1;
                    let result = bounded(address.request(message(trap))).await?;
                    if model.accepts() {
                        // Everything queued before it is handled first.
                        model.queue.push_back((id, trap));
                        model.drain(&mut predicted);
                        answered.push((id, observed(result)));
                        // Their deliveries are answered by now; check them later.
                    } else {
                        prop_assert_eq!(observed(result), Answer::Error(ErrorKind::Stopped));
                    }
                }
                Op::CancelledSend => {
                    let mut send = pin!(address.send("add"));
                    let mut cx = Context::from_waker(Waker::noop());
                    match send.as_mut().poll(&mut cx) {
                        Poll::Pending => {
                            prop_assert!(
                                model.accepts() && model.queue.len() == model.capacity,
                                "send waited with room in the mailbox"
                            );
                        }
                        Poll::Ready(Ok(d)) => {
                            prop_assert!(model.accepts() && model.queue.len() < model.capacity);
                            let id = next_id;
                            next_id += 1;
                            model.queue.push_back((id, false));
                            outstanding.push_back((id, Some(d)));
                        }
                        Poll::Ready(Err(e)) => {
                            prop_assert!(!model.accepts(), "{}", e);
                            prop_assert_eq!(e.kind(), ErrorKind::Stopped);
                        }
                    }
                }
                Op::DropDelivery => {
                    if let Some((_, d)) = outstanding.iter_mut().find(|(_, d)| d.is_some()) {
                        *d = None;
                    }
                }
                Op::Health => {
                    settle(
                        &address,
                        &mut next_id,
                        &mut outstanding,
                        &mut model,
                        &mut answered,
                        &mut predicted,
                    )
                    .await?;
                    let health = bounded(address.health_check()).await?;
                    let healthy = health == component_actor::ChildHealth::Healthy;
                    prop_assert_eq!(healthy, model.state == St::Ready, "{:?}", health);
                }
                Op::Start => {
                    settle(
                        &address,
                        &mut next_id,
                        &mut outstanding,
                        &mut model,
                        &mut answered,
                        &mut predicted,
                    )
                    .await?;
                    let result = bounded(address.start()).await?;
                    if model.state == St::Ready {
                        prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidTransition);
                    } else {
                        prop_assert!(result.is_ok(), "{:?}", result);
                        model.state = St::Ready;
                        model.count = 0;
                    }
                }
                Op::Stop => {
                    bounded(address.stop(Duration::from_millis(100)))
                        .await?
                        .unwrap();
                    for (id, _) in model.queue.drain(..) {
                        predicted.push((id, Answer::Error(ErrorKind::Stopped)));
                    }
                    model.state = St::Terminated;
                }
            }
            prop_assert_eq!(state_of(address.state()), model.state, "after {:?}", op);
        }
        settle(
            &address,
            &mut next_id,
            &mut outstanding,
            &mut model,
            &mut answered,
            &mut predicted,
        )
        .await?;
        // Every delivery that was kept was answered as the model says.
        for (id, answer) in &answered {
            let want = predicted.iter().find(|(p, _)| p == id).map(|(_, a)| a);
            prop_assert_eq!(Some(answer), want, "message {}", id);
        }
        let mut ids: Vec<u64> = predicted.iter().map(|(id, _)| *id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), n, "a message was answered twice");
        bounded(address.stop(Duration::from_millis(100)))
            .await?
            .unwrap();
        Ok(())
    })
}

#[test]
fn every_message_is_answered_exactly_as_the_model_says() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: cases(500),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop_messages.txt",
        ))),
        ..Config::default()
    });
    let strategy = (1usize..=4, proptest::collection::vec(op(), 1..40));
    let result = runner.run(&strategy, |(capacity, ops)| run_case(&rt, capacity, &ops));
    if let Err(e) = result {
        panic!("{e}");
    }
}
