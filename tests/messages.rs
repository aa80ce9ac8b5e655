//! The message path through the public API: the mailbox ([`Address`]),
//! the message ABI, and the accounting that answers every accepted message
//! exactly once. Guests are the `wat/message_*.wat` fixtures.

mod support;

use std::future::Future;
use std::pin::pin;
use std::task::Context;
use std::time::Duration;
use support::{block_on, bounded};

use component_actor::{
    ActorState, Address, Child, ChildHealth, ComponentActor, ComponentManifest, ComponentSource,
    Delivery, ErrorKind, MailboxConfig, Runtime, RuntimeConfig,
};

const STOP: Duration = Duration::from_millis(100);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/wat/{name}.wat", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("wat/{name}.wat: {e}"))
}

fn manifest_file(name: &str) -> ComponentManifest {
    ComponentManifest::from_file(format!("{}/wat/{name}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn with_mailbox(capacity: usize) -> ComponentManifest {
    ComponentManifest::builder("mailbox")
        .mailbox(MailboxConfig {
            capacity,
            ..MailboxConfig::default()
        })
        .build()
        .unwrap()
}

async fn started(rt: &Runtime, name: &str, manifest: ComponentManifest) -> Address {
    let mut actor = ComponentActor::new(rt, ComponentSource::from_wat(fixture(name)), manifest);
    actor.start().await.unwrap();
    actor.spawn().unwrap()
}

fn text(reply: &[u8]) -> &str {
    std::str::from_utf8(reply).unwrap()
}

/// Polls `f` once; `true` if it is still pending.
fn pending<F: Future>(f: std::pin::Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    f.poll(&mut cx).is_pending()
}

/// Lets the actor's task run until `done` holds (bounded).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    bounded(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
}

#[test]
fn an_address_is_send_sync_clone_and_small() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Address>();
    fn future_is_send<T: Send>(_: &T) {}
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let address = started(&rt, "message_echo", ComponentManifest::new("echo").unwrap()).await;
        future_is_send(&address.request("x"));
        future_is_send(&address.send("x"));
        assert!(std::mem::size_of::<Address>() <= 32);
    });
}

#[test]
fn an_address_names_its_actor_and_shows_its_state_and_queue() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let address = started(&rt, "message_echo", ComponentManifest::new("echo").unwrap()).await;
        assert_eq!(address.component(), "echo");
        assert_eq!(address.handle().component(), "echo");
        assert_eq!(address.state(), ActorState::Ready);
        assert_eq!(address.queued(), 0);
        let shown = format!("{address:?}");
        assert!(
            shown.contains("\"echo\"") && shown.contains("Ready") && shown.contains("queued: 0"),
            "{shown}"
        );
        address.stop(STOP).await.unwrap();
        assert_eq!(address.state(), ActorState::Terminated);
    });
}

#[test]
fn an_echo_actor_replies_with_each_message_and_a_counter_keeps_state() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let echo = started(&rt, "message_echo", ComponentManifest::new("echo").unwrap()).await;
        for m in ["ping", "", "two\nlines", &"x".repeat(65_536)] {
            assert_eq!(text(&echo.request(m.to_string()).await.unwrap()), m);
        }
        let counter = started(
            &rt,
            "message_counter",
            ComponentManifest::new("counter").unwrap(),
        )
        .await;
        for n in 1..=12 {
            assert_eq!(text(&counter.request("add").await.unwrap()), n.to_string());
        }
        echo.stop(STOP).await.unwrap();
        counter.stop(STOP).await.unwrap();
        assert_eq!(counter.state(), ActorState::Terminated);
    });
}

#[test]
fn messages_from_one_sender_are_handled_in_the_order_sent() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let counter = started(&rt, "message_counter", with_mailbox(64)).await;
        let mut deliveries = Vec::new();
        for _ in 0..64 {
            deliveries.push(counter.try_send("add").unwrap());
        }
        for (i, d) in deliveries.into_iter().enumerate() {
            assert_eq!(text(&d.await.unwrap()), (i + 1).to_string());
        }
    });
}

#[test]
fn try_send_on_a_full_mailbox_is_mailbox_full_with_the_message_back() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let counter = started(&rt, "message_counter", with_mailbox(2)).await;
        // The task has not run yet: both wait in the mailbox.
        let first = counter.try_send("add").unwrap();
        let second = counter.try_send("add").unwrap();
        assert_eq!(counter.queued(), 2);
        let full = counter.try_send("third").unwrap_err();
        assert_eq!(full.kind(), ErrorKind::MailboxFull, "{full}");
        assert!(full.to_string().contains("full (2 messages)"), "{full}");
        // The typed error is the source, for `?` and error reporters.
        let source = std::error::Error::source(&full).expect("a source");
        assert_eq!(source.to_string(), full.error().to_string());
        assert_eq!(&full.into_message()[..], b"third");
        assert_eq!(text(&first.await.unwrap()), "1");
        assert_eq!(text(&second.await.unwrap()), "2");
        // Room again.
        assert_eq!(text(&counter.try_send("add").unwrap().await.unwrap()), "3");
    });
}

#[test]
fn send_waits_for_room_and_a_dropped_send_is_never_handled() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let counter = started(&rt, "message_counter", with_mailbox(1)).await;
        let first = counter.try_send("add").unwrap();
        {
            let mut waiting = pin!(counter.send("add"));
            assert!(
                pending(waiting.as_mut()),
                "send must wait while the mailbox is full"
            );
            // Dropped while waiting: the message was never accepted.
        }
        let mut second = pin!(counter.send("add"));
        assert!(pending(second.as_mut()));
        assert_eq!(text(&first.await.unwrap()), "1");
        let second = bounded("send", second).await.unwrap();
        assert_eq!(
            text(&second.await.unwrap()),
            "2",
            "the dropped send was handled"
        );
        assert_eq!(text(&counter.request("add").await.unwrap()), "3");
    });
}

#[test]
fn a_message_too_large_is_refused_with_the_message_back_and_so_is_a_reply() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let small = started(&rt, "message_echo", manifest_file("mailbox_small")).await;
        let e = small.try_send("hello").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
        assert_eq!(&e.into_message()[..], b"hello");
        let e = small.send("hello").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
        assert_eq!(text(&small.request("four").await.unwrap()), "four");
        let big = started(
            &rt,
            "message_reply_too_large",
            ComponentManifest::new("big").unwrap(),
        )
        .await;
        let e = big.request("hi").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
        assert!(e.message().contains("65537 bytes"), "{e}");
        assert_eq!(big.state(), ActorState::Ready);
    });
}

#[test]
fn a_stopped_or_unstarted_actor_refuses_messages_with_stopped() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let unstarted = ComponentActor::new(
            &rt,
            ComponentSource::from_wat(fixture("message_echo")),
            ComponentManifest::new("echo").unwrap(),
        )
        .spawn()
        .unwrap();
        let e = unstarted.try_send("hi").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Stopped, "{e}");
        assert!(e.to_string().contains("Creating"), "{e}");
        let echo = started(&rt, "message_echo", ComponentManifest::new("echo").unwrap()).await;
        echo.stop(STOP).await.unwrap();
        for e in [
            echo.try_send("hi").unwrap_err(),
            echo.send("hi").await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::Stopped, "{e}");
            assert_eq!(&e.into_message()[..], b"hi");
        }
        assert_eq!(
            echo.request("hi").await.unwrap_err().kind(),
            ErrorKind::Stopped
        );
    });
}

#[test]
fn an_address_starts_restarts_and_health_checks_its_actor() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let counter = ComponentActor::new(
            &rt,
            ComponentSource::from_wat(fixture("message_counter")),
            ComponentManifest::new("counter").unwrap(),
        )
        .spawn()
        .unwrap();
        assert_eq!(counter.state(), ActorState::Creating);
        counter.start().await.unwrap();
        assert_eq!(counter.health_check().await, ChildHealth::Healthy);
        assert_eq!(text(&counter.request("add").await.unwrap()), "1");
        counter.stop(STOP).await.unwrap();
        assert_eq!(counter.state(), ActorState::Terminated);
        // A new instance: its count starts again.
        counter.start().await.unwrap();
        assert_eq!(text(&counter.request("add").await.unwrap()), "1");
        let again = counter.start().await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::InvalidTransition, "{again}");
    });
}

#[test]
fn a_module_without_handle_message_answers_not_exported_and_keeps_running() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let quiet = started(
            &rt,
            "message_not_exported",
            ComponentManifest::new("q").unwrap(),
        )
        .await;
        for _ in 0..3 {
            let e = quiet.request("hi").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotExported, "{e}");
        }
        assert_eq!(quiet.state(), ActorState::Ready);
        assert_eq!(quiet.health_check().await, ChildHealth::Healthy);
    });
}

#[test]
fn a_trap_answers_its_message_and_every_queued_one_gets_stopped_without_running() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let actor = started(&rt, "message_counter_or_trap", with_mailbox(8)).await;
        let before = actor.try_send("add").unwrap();
        let trap = actor.try_send("!").unwrap();
        let after: Vec<Delivery> = (0..3).map(|_| actor.try_send("add").unwrap()).collect();
        assert_eq!(text(&before.await.unwrap()), "1");
        let e = trap.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Trap, "{e}");
        for d in after {
            let e = d.await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Stopped, "{e}");
            assert!(e.to_string().contains("Failed"), "{e}");
        }
        assert!(matches!(actor.state(), ActorState::Failed(_)));
        // A restart is a new instance.
        actor.start().await.unwrap();
        assert_eq!(text(&actor.request("add").await.unwrap()), "1");
    });
}

#[test]
fn deadline_and_fuel_in_handle_message_fail_the_actor() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        for (name, manifest, kind) in [
            (
                "message_spin",
                manifest_file("fuel_unlimited"),
                ErrorKind::Deadline,
            ),
            (
                "message_fuel",
                ComponentManifest::new("f").unwrap(),
                ErrorKind::OutOfFuel,
            ),
        ] {
            let actor = started(&rt, name, manifest).await;
            let e = bounded(name, actor.request("go")).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{name}: {e}");
            assert!(matches!(actor.state(), ActorState::Failed(_)), "{name}");
        }
    });
}

#[test]
fn bad_pointers_from_the_guest_are_message_abi_and_the_actor_stays_ready() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        for name in ["message_bad_alloc_pointer", "message_bad_reply_pointer"] {
            let actor = started(&rt, name, ComponentManifest::new("abi").unwrap()).await;
            let e = actor.request("hello").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MessageAbi, "{name}: {e}");
            assert!(e.message().contains("outside"), "{e}");
            assert_eq!(actor.state(), ActorState::Ready, "{name}");
            assert_eq!(actor.health_check().await, ChildHealth::Healthy, "{name}");
        }
    });
}

#[test]
fn mistyped_or_incomplete_message_exports_fail_the_start() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        for (name, needle) in [
            (
                "message_bad_signature",
                "expected a function [i32 i32] -> [i64]",
            ),
            (
                "message_bad_alloc_signature",
                "expected a function [i32] -> [i32]",
            ),
            ("message_missing_alloc", "needs a function `alloc-message`"),
            (
                "message_missing_memory",
                "needs a memory exported as `memory`",
            ),
        ] {
            let mut actor = ComponentActor::new(
                &rt,
                ComponentSource::from_wat(fixture(name)),
                ComponentManifest::new("m").unwrap(),
            );
            let e = actor.start().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ExportSignature, "{name}: {e}");
            assert!(e.message().contains(needle), "{name}: {e}");
        }
    });
}

#[test]
fn stop_finishes_the_message_in_progress_and_answers_the_queued_ones_stopped() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    // The actor's task on a worker thread of its own and this caller on the
    // test's thread: the caller sees the health answer as soon as it is
    // sent. (On a one-thread runtime the caller is polled only between
    // batches of task polls, up to 61 epoch ticks apart, and a fast machine
    // could finish both queued messages in that time.)
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(async {
        // Capacity 2, no fuel cap, a 10 s deadline.
        let busy = started(&rt, "message_busy", manifest_file("message_slow")).await;
        // ~100 million iterations: long enough to be in progress while the
        // test goes on (the guest yields to tokio every epoch tick).
        let in_progress = busy.try_send(vec![100u8]).unwrap();
        until("the first message to be taken", || busy.queued() == 0).await;
        // Two more, ~255 million iterations each.
        let [second, third] = [
            busy.try_send(vec![255u8]).unwrap(),
            busy.try_send(vec![255u8]).unwrap(),
        ];
        assert_eq!(busy.queued(), 2);
        let health = bounded("health while busy", busy.health_check()).await;
        assert_eq!(health, ChildHealth::Healthy);
        // Health was answered right after the message in progress: at most
        // one queued message has been taken since (it is in progress now).
        assert!(busy.queued() >= 1, "health waited for the queued messages");
        let stop = bounded("stop", busy.stop(STOP)).await;
        assert!(stop.is_ok(), "{stop:?}");
        assert_eq!(text(&in_progress.await.unwrap()), "done");
        match second.await {
            Ok(reply) => assert_eq!(text(&reply), "done"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Stopped, "{e}"),
        }
        let e = third.await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Stopped, "{e}");
        // Answered by the stop itself, before `_cleanup`, not left queued.
        assert!(e.message().ends_with("actor is Stopping"), "{e}");
        assert_eq!(busy.state(), ActorState::Terminated);
    });
}

#[test]
fn a_full_mailbox_does_not_delay_a_stop() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let busy = started(&rt, "message_busy", manifest_file("message_slow")).await;
        let queued: Vec<Delivery> = (0..2).map(|_| busy.try_send(vec![50u8]).unwrap()).collect();
        // The stop is asked for before the task has taken any message: it
        // runs first, and both queued messages are answered Stopped.
        bounded("stop", busy.stop(STOP)).await.unwrap();
        for d in queued {
            assert_eq!(d.await.unwrap_err().kind(), ErrorKind::Stopped);
        }
        assert_eq!(busy.state(), ActorState::Terminated);
    });
}

#[test]
fn dropping_the_last_address_stops_the_actor_and_answers_the_queue() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    block_on(async {
        let counter = started(&rt, "message_counter", with_mailbox(8)).await;
        let handle = counter.handle().clone();
        let clone = counter.clone();
        let queued: Vec<Delivery> = (0..3).map(|_| counter.try_send("add").unwrap()).collect();
        drop(counter);
        assert_eq!(handle.state(), ActorState::Ready, "a clone is still alive");
        drop(clone);
        until("the actor to stop", || {
            handle.state() == ActorState::Terminated
        })
        .await;
        for d in queued {
            assert_eq!(d.await.unwrap_err().kind(), ErrorKind::Stopped);
        }
    });
}

#[test]
fn deliveries_are_answered_stopped_when_the_runtime_shuts_down() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (address, deliveries) = tokio_rt.block_on(async {
        let counter = started(&rt, "message_counter", with_mailbox(8)).await;
        let d: Vec<Delivery> = (0..3).map(|_| counter.try_send("add").unwrap()).collect();
        (counter, d)
    });
    drop(tokio_rt);
    block_on(async {
        for d in deliveries {
            let e = bounded("delivery", d).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Stopped, "{e}");
        }
        // The task is gone; stop still works through the handle.
        address.stop(STOP).await.unwrap();
        assert_eq!(address.state(), ActorState::Terminated);
    });
}

#[test]
fn spawn_outside_a_tokio_runtime_is_a_config_error() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let actor = ComponentActor::new(
        &rt,
        ComponentSource::from_wat(fixture("message_echo")),
        ComponentManifest::new("echo").unwrap(),
    );
    let e = actor.spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
}

#[test]
fn many_senders_on_a_multi_thread_runtime_lose_nothing() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tokio_rt.block_on(async {
        let counter = started(&rt, "message_counter", with_mailbox(16)).await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let c = counter.clone();
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..100 {
                    let d = c.send("add").await.unwrap();
                    let n: u32 = text(&d.await.unwrap()).parse().unwrap();
                    seen.push(n);
                }
                seen
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            let seen = t.await.unwrap();
            // Each sender's messages were handled in its order.
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
            all.extend(seen);
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (1..=800).collect::<Vec<u32>>(),
            "every message exactly once"
        );
        counter.stop(STOP).await.unwrap();
    });
}
