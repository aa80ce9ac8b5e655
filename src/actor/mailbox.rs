//! The message path: an actor moved into a task of its own, and the
//! [`Address`] callers reach it by.
//!
//! The task owns the [`ComponentActor`] and does one thing at a time: a
//! control request (start, stop, health), or one message from the bounded
//! mailbox. Control travels on a channel of its own, read first, so a full
//! mailbox never delays a stop.
//!
//! Accounting: every message the mailbox accepts (a `try_send` or `send`
//! that returned a [`Delivery`]) is answered exactly once, through the
//! one-shot channel that travels with it: with the guest's reply, or with a
//! typed error. A message handled while the actor is not Ready is answered
//! [`ErrorKind::Stopped`]; a stop answers every message queued when it
//! begins with `Stopped` before `_cleanup` runs; and a message dropped
//! unanswered (its task ended: the tokio runtime shut down) reaches its
//! sender as `Stopped` too, since the one-shot channel says so.
//! `loom_models` checks that protocol.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::actor::child::{Child, ChildHealth};
use crate::actor::component_actor::{ActorHandle, ComponentActor, stopped, too_large};
use crate::actor::state::ActorState;
use crate::error::{ComponentError, ErrorKind};

#[cfg(all(test, component_actor_loom))]
mod loom_models;

/// The answer to one message: the reply, or why there is none.
type Answer = Result<Bytes, ComponentError>;

/// One accepted message and where its answer goes.
struct Envelope {
    message: Bytes,
    reply: oneshot::Sender<Answer>,
}

/// A request to the task that is not a message.
enum Control {
    /// Answered with the instance's number (see [`Exit`]) once Ready.
    Start(oneshot::Sender<Result<u64, ComponentError>>),
    Stop(Duration, oneshot::Sender<Result<(), ComponentError>>),
    Health(oneshot::Sender<ChildHealth>),
}

/// Whether the mailbox takes a message while the actor is in `state`: in
/// Starting (it is handled once Ready) and in Ready.
pub(crate) fn accepts(state: &ActorState) -> bool {
    matches!(state, ActorState::Starting | ActorState::Ready)
}

/// A message the mailbox did not accept, given back with the reason
/// ([`ErrorKind::MailboxFull`], [`ErrorKind::Stopped`] or
/// [`ErrorKind::MessageTooLarge`]).
#[derive(Debug)]
pub struct SendError {
    error: ComponentError,
    message: Bytes,
}

impl SendError {
    /// Why the message was not accepted.
    pub fn error(&self) -> &ComponentError {
        &self.error
    }

    /// The kind of [`error`](Self::error).
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// The message, given back.
    pub fn into_message(self) -> Bytes {
        self.message
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<SendError> for ComponentError {
    fn from(e: SendError) -> Self {
        e.error
    }
}

/// The answer to one accepted message, as a future: the guest's reply
/// (empty when it gave none), or the typed error that ended the message.
/// Dropping it does not withdraw the message; the answer is discarded.
#[derive(Debug)]
#[must_use = "a delivery does nothing unless awaited; drop it to ignore the answer"]
pub struct Delivery {
    answer: oneshot::Receiver<Answer>,
    component: Arc<str>,
}

impl Future for Delivery {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        let Self { answer, component } = &mut *self;
        Pin::new(answer).poll(cx).map(|answer| {
            answer.unwrap_or_else(|_| {
                Err(ComponentError::new(
                    &**component,
                    ErrorKind::Stopped,
                    "the message was not answered: the actor's task ended (its runtime shut down)",
                ))
            })
        })
    }
}

/// The way to an actor running in its own task ([`ComponentActor::spawn`]):
/// send it messages, and start, stop or health-check it. Cheap to clone,
/// `Send` and `Sync`; the actor is stopped when the last clone is dropped
/// (its `_cleanup` bounded by `max_call_duration`, messages still queued
/// answered [`ErrorKind::Stopped`]).
///
/// ```
/// use std::time::Duration;
/// use component_actor::{Child, ComponentActor, ComponentManifest, ComponentSource, Runtime, RuntimeConfig};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let runtime = Runtime::new(RuntimeConfig::default())?;
/// // An echo actor: the reply is the message itself.
/// let source = ComponentSource::from_wat(r#"(module
///     (memory (export "memory") 1)
///     (func (export "alloc-message") (param i32) (result i32) i32.const 0)
///     (func (export "handle-message") (param $ptr i32) (param $len i32) (result i64)
///         (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
///                 (i64.extend_i32_u (local.get $len)))))"#);
/// let mut actor = ComponentActor::new(&runtime, source, ComponentManifest::new("echo")?);
/// actor.start().await?;
/// let address = actor.spawn()?;
/// assert_eq!(&address.request("ping").await?[..], b"ping");
/// address.stop(Duration::from_millis(50)).await?;
/// # Ok::<(), component_actor::ComponentError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Address {
    mailbox: mpsc::Sender<Envelope>,
    control: mpsc::UnboundedSender<Control>,
    handle: ActorHandle,
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Address")
            .field("component", &self.handle.component())
            .field("state", &self.handle.state())
            .field(
                "queued",
                &(self.mailbox.max_capacity() - self.mailbox.capacity()),
            )
            .finish()
    }
}

impl Address {
    /// The actor's state.
    pub fn state(&self) -> ActorState {
        self.handle.state()
    }

    /// The component's name.
    pub fn component(&self) -> &str {
        self.handle.component()
    }

    /// A handle on the actor's state (valid after the task has ended).
    pub fn handle(&self) -> &ActorHandle {
        &self.handle
    }

    /// Messages waiting in the mailbox now (the one being handled is not
    /// counted).
    pub fn queued(&self) -> usize {
        self.mailbox.max_capacity() - self.mailbox.capacity()
    }

    /// Refuses a message the actor will not take: too large, or the actor
    /// not Starting or Ready.
    fn admit(&self, message: Bytes) -> Result<Bytes, SendError> {
        let component = self.handle.component();
        let error = if message.len() > self.handle.max_message_bytes() as usize {
            too_large(component, message.len())
        } else {
            let state = self.handle.state();
            if accepts(&state) {
                return Ok(message);
            }
            stopped(component, &state)
        };
        Err(SendError { error, message })
    }

    fn enqueue(&self, permit: mpsc::Permit<'_, Envelope>, message: Bytes) -> Delivery {
        let (reply, answer) = oneshot::channel();
        permit.send(Envelope { message, reply });
        Delivery {
            answer,
            component: self.handle.id().clone(),
        }
    }

    /// Puts `message` in the mailbox without waiting; await the
    /// [`Delivery`] for the answer.
    ///
    /// # Errors
    ///
    /// The message comes back in a [`SendError`]: [`ErrorKind::MailboxFull`]
    /// when the mailbox holds `capacity` messages, [`ErrorKind::Stopped`]
    /// unless the actor is Starting or Ready, [`ErrorKind::MessageTooLarge`]
    /// past `max_message_bytes`.
    pub fn try_send(&self, message: impl Into<Bytes>) -> Result<Delivery, SendError> {
        let message = self.admit(message.into())?;
        match self.mailbox.try_reserve() {
            Ok(permit) => Ok(self.enqueue(permit, message)),
            Err(mpsc::error::TrySendError::Full(())) => Err(SendError {
                error: ComponentError::new(
                    self.component(),
                    ErrorKind::MailboxFull,
                    format!(
                        "the mailbox is full ({} messages)",
                        self.mailbox.max_capacity()
                    ),
                ),
                message,
            }),
            Err(mpsc::error::TrySendError::Closed(())) => Err(SendError {
                error: stopped(self.component(), &self.handle.state()),
                message,
            }),
        }
    }

    /// Puts `message` in the mailbox, waiting while it is full
    /// (backpressure); await the [`Delivery`] for the answer. Messages from
    /// one sender are handled in the order sent.
    ///
    /// Cancellation-safe: if this future is dropped before it returns, the
    /// message was not put in the mailbox, and it is never handled.
    ///
    /// # Errors
    ///
    /// As [`try_send`](Self::try_send), except that a full mailbox is
    /// waited for rather than refused.
    pub async fn send(&self, message: impl Into<Bytes>) -> Result<Delivery, SendError> {
        let message = self.admit(message.into())?;
        let permit = match self.mailbox.try_reserve() {
            Ok(permit) => permit,
            Err(_) => match self.mailbox.reserve().await {
                Ok(permit) => permit,
                Err(_) => {
                    return Err(SendError {
                        error: stopped(self.component(), &self.handle.state()),
                        message,
                    });
                }
            },
        };
        // The actor may have stopped while this waited for room.
        let message = self.admit(message)?;
        Ok(self.enqueue(permit, message))
    }

    /// Sends `message` ([`send`](Self::send)) and waits for the reply.
    ///
    /// # Errors
    ///
    /// Why the message was not accepted, or the typed error that ended it:
    /// the guest's failure (`Trap`, `OutOfFuel`, `Deadline`, ...: the actor
    /// is then Failed), [`ErrorKind::Stopped`] if the actor stopped first,
    /// [`ErrorKind::NotExported`] for a module without `handle-message`,
    /// [`ErrorKind::MessageAbi`] or [`ErrorKind::MessageTooLarge`] for a
    /// bad reply.
    pub async fn request(&self, message: impl Into<Bytes>) -> Result<Bytes, ComponentError> {
        self.send(message).await?.await
    }

    /// Asks the task for `op` and waits for its answer; `None` when the
    /// task has ended.
    async fn control<T>(&self, op: impl FnOnce(oneshot::Sender<T>) -> Control) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.control.send(op(reply)).ok()?;
        answer.await.ok()
    }

    /// Starts the actor ([`Child::start`]) in its task: messages sent while
    /// it starts wait, and are handled once it is Ready (or answered
    /// [`ErrorKind::Stopped`] if the start fails).
    ///
    /// # Errors
    ///
    /// As [`Child::start`]; [`ErrorKind::Stopped`] if the task has ended.
    pub async fn start(&self) -> Result<(), ComponentError> {
        self.start_instance().await.map(drop)
    }

    /// [`start`](Self::start), answered with the number of the instance
    /// started, which its [`Exit`] will carry.
    pub(crate) async fn start_instance(&self) -> Result<u64, ComponentError> {
        match self.control(Control::Start).await {
            Some(result) => result,
            None => Err(stopped(self.component(), &self.state())),
        }
    }

    /// Stops the actor: the message being handled finishes, every message
    /// still queued is answered [`ErrorKind::Stopped`], then `_cleanup`
    /// runs, bounded by `timeout` ([`Child::stop`]). Messages sent after
    /// that are refused with `Stopped`. If this future is dropped, the stop
    /// still completes in the task.
    ///
    /// # Errors
    ///
    /// As [`Child::stop`].
    pub async fn stop(&self, timeout: Duration) -> Result<(), ComponentError> {
        match self.control(|reply| Control::Stop(timeout, reply)).await {
            Some(result) => result,
            // The task is gone (its runtime shut down): stop what is left.
            None => self.handle.stop(timeout).await,
        }
    }

    /// The actor's health ([`Child::health_check`]), asked after the
    /// message being handled (not behind the queued ones).
    pub async fn health_check(&self) -> ChildHealth {
        match self.control(Control::Health).await {
            Some(health) => health,
            None => ChildHealth::Failed(format!("not running: {}", self.state().name())),
        }
    }
}

impl ComponentActor {
    /// Moves the actor into a task of the current tokio runtime and returns
    /// its [`Address`]: a bounded mailbox (the manifest's `[mailbox]`) in
    /// front of [`handle_message`](Self::handle_message), with start, stop
    /// and health on a channel of their own. The actor keeps its state (a
    /// started actor stays Ready). Dropping the last address stops it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when called outside a tokio runtime.
    pub fn spawn(self) -> Result<Address, ComponentError> {
        spawn(self, None)
    }
}

/// How an instance of a spawned actor ended without its task being asked
/// to stop it by [`Control::Stop`] alone: what a supervisor watches.
#[derive(Debug, Clone)]
pub(crate) struct Exit {
    /// The watcher's number for the actor.
    pub child: usize,
    /// Which instance ended: 1 for the first one started, and so on.
    pub instance: u64,
    /// `None` for a normal end (a stop: Terminated), the reason for an
    /// abnormal one (Failed: a guest call trapped, ran out of fuel or past
    /// its deadline).
    pub abnormal: Option<String>,
}

/// Where a spawned actor reports the end of each of its instances.
#[derive(Debug, Clone)]
pub(crate) struct ExitSink {
    pub child: usize,
    pub to: mpsc::UnboundedSender<Exit>,
}

/// Moves `actor` into a task of the current tokio runtime; with `exits`,
/// the end of every instance it starts is reported there.
pub(crate) fn spawn(
    actor: ComponentActor,
    exits: Option<ExitSink>,
) -> Result<Address, ComponentError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        ComponentError::new(
            actor.component(),
            ErrorKind::Config,
            "spawn needs a tokio runtime: call it from within one",
        )
    })?;
    let (mailbox, messages) = mpsc::channel(actor.manifest().mailbox().capacity);
    let (control, requests) = mpsc::unbounded_channel();
    let handle = actor.handle();
    runtime.spawn(run(actor, messages, requests, Watch::new(exits)));
    Ok(Address {
        mailbox,
        control,
        handle,
    })
}

/// Answers every message queued now with [`ErrorKind::Stopped`].
fn refuse_queued(actor: &ComponentActor, messages: &mut mpsc::Receiver<Envelope>) {
    while let Ok(e) = messages.try_recv() {
        let _ = e
            .reply
            .send(Err(stopped(actor.component(), &ActorState::Stopping)));
    }
}

/// Hands one message to the guest and its answer to the sender.
async fn deliver(actor: &ComponentActor, e: Envelope, watch: &mut Watch) {
    let answer = actor.handle_message(&e.message).await;
    // Only a failed call can have ended the instance; its end is reported
    // before the answer, so a sender that sees the error knows the
    // supervisor has been told.
    if answer.is_err() {
        watch.look(actor);
    }
    let _ = e.reply.send(answer);
}

/// The task's count of instances, and the report of how each one ended.
struct Watch {
    exits: Option<ExitSink>,
    /// Instances started so far (the number of the current one).
    instance: u64,
    /// Whether the current instance is running (its end not yet reported).
    live: bool,
}

impl Watch {
    fn new(exits: Option<ExitSink>) -> Self {
        Self {
            exits,
            instance: 0,
            live: false,
        }
    }

    /// A start made an instance Ready: its number.
    fn started(&mut self) -> u64 {
        self.instance += 1;
        self.live = true;
        self.instance
    }

    /// Reports the end of the current instance if the actor's state says
    /// it has ended.
    fn look(&mut self, actor: &ComponentActor) {
        if !self.live {
            return;
        }
        let abnormal = match actor.state() {
            ActorState::Failed(reason) => Some(reason),
            ActorState::Terminated => None,
            _ => return,
        };
        self.live = false;
        if let Some(sink) = &self.exits {
            let _ = sink.to.send(Exit {
                child: sink.child,
                instance: self.instance,
                abnormal,
            });
        }
    }
}

/// Messages handled in one go when the mailbox holds several (measured:
/// throughput across 100 actors 0.52 -> 1.15 million messages per second).
const BATCH: usize = 32;

/// The actor's task: control first, then one message at a time, until the
/// last address is dropped; then the actor is stopped.
///
/// Start and stop are boxed: their futures (3.1 and 2.4 KB) would
/// otherwise sit inline in every actor's task, which is allocated once
/// per actor and lives as long as it: 3.9 KB against 2.0 KB boxed
/// (resident per idle actor 21.2 -> 19.3 KiB, measured with
/// `cargo run --release --example messages -- --scale 10000`). They are
/// rare beside messages, and one allocation is small beside a start. A
/// health check's future is smaller than a message's and stays inline.
async fn run(
    mut actor: ComponentActor,
    mut messages: mpsc::Receiver<Envelope>,
    mut requests: mpsc::UnboundedReceiver<Control>,
    mut watch: Watch,
) {
    loop {
        tokio::select! {
            biased;
            request = requests.recv() => match request {
                Some(Control::Start(reply)) => {
                    // A start from Ready is refused and changes nothing.
                    watch.look(&actor);
                    let result = Box::pin(actor.start()).await.map(|()| watch.started());
                    let _ = reply.send(result);
                }
                Some(Control::Stop(timeout, reply)) => {
                    refuse_queued(&actor, &mut messages);
                    let result = Box::pin(actor.stop(timeout)).await;
                    watch.look(&actor);
                    let _ = reply.send(result);
                }
                Some(Control::Health(reply)) => {
                    let health = actor.health_check().await;
                    watch.look(&actor);
                    let _ = reply.send(health);
                }
                None => break,
            },
            envelope = messages.recv() => match envelope {
                Some(first) => {
                    deliver(&actor, first, &mut watch).await;
                    // Up to BATCH - 1 more without a trip through `select!`,
                    // while no control request waits; then back through it
                    // (and tokio's cooperative budget), so a busy actor does
                    // not starve the other tasks of its thread.
                    for _ in 1..BATCH {
                        if !requests.is_empty() {
                            break;
                        }
                        match messages.try_recv() {
                            Ok(next) => deliver(&actor, next, &mut watch).await,
                            Err(_) => break,
                        }
                    }
                }
                None => break,
            },
        }
    }
    // Every address is gone: stop, with the same accounting as `stop`.
    messages.close();
    refuse_queued(&actor, &mut messages);
    let timeout = actor.manifest().limits().max_call_duration;
    let _ = Box::pin(actor.stop(timeout)).await;
    watch.look(&actor);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ComponentManifest, ComponentSource, Runtime, RuntimeConfig};

    /// Every actor's task holds its `run` future for as long as the actor
    /// lives. Start's and stop's futures inline would make it 3.9 KB; boxed,
    /// it is about 2 KB (a message's guest call is most of it).
    #[test]
    fn an_actors_task_does_not_hold_start_or_stop_inline() {
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let actor = ComponentActor::new(
            &runtime,
            ComponentSource::from_wat("(module)"),
            ComponentManifest::new("small").unwrap(),
        );
        let (_mailbox, messages) = mpsc::channel(1);
        let (_control, requests) = mpsc::unbounded_channel();
        let task = run(actor, messages, requests, Watch::new(None));
        let size = std::mem::size_of_val(&task);
        assert!(size <= 2560, "the actor task's future is {size} bytes");
    }
}
