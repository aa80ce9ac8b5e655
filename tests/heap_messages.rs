//! Heap gate (dhat) for the message path: 100,000 requests to one spawned
//! echo actor (`wat/message_echo.wat`), then 1,000 actors each started,
//! spawned, sent one message and stopped. After a warm-up the live heap
//! must end exactly where it started (0 bytes, 0 blocks), and a request
//! may cost at most `MAX_ALLOCATIONS_PER_MESSAGE` heap allocations (the
//! message is a static `Bytes`: what is counted is the mailbox's one-shot
//! answer channel and the copied reply). Its own test binary, so the dhat
//! allocator sees only this test. `HEAP_GATE_MESSAGES` raises the count.

mod heap_support;

use std::time::Duration;

use bytes::Bytes;
use component_actor::{
    ActorState, Child, ComponentActor, ComponentManifest, Runtime, RuntimeConfig,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// What a request costs today: wasmtime boxes a fiber closure for each of
/// the two `call_async`s (`alloc-message`, `handle-message`), the reply is
/// copied out, and the answer travels in a one-shot channel: 4. Raw
/// wasmtime doing the same guest work makes 3. Issue 12 asks for 2, which
/// needs one guest call per message and no one-shot allocation: not met.
const MAX_ALLOCATIONS_PER_MESSAGE: f64 = 4.0;
const MESSAGES: u64 = 100_000;
const ACTORS: u64 = 1_000;
const MESSAGE: Bytes = Bytes::from_static(b"ping");
const STOP: Duration = Duration::from_millis(100);

fn messages() -> u64 {
    std::env::var("HEAP_GATE_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MESSAGES)
        .max(MESSAGES)
}

/// Live heap (bytes, blocks) and allocations so far.
fn heap() -> (i64, i64, u64) {
    let s = dhat::HeapStats::get();
    (s.curr_bytes as i64, s.curr_blocks as i64, s.total_blocks)
}

#[test]
fn messages_and_actor_cycles_return_the_heap_to_its_baseline() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let manifest = ComponentManifest::new("echo").unwrap();
    let actor = || {
        ComponentActor::new(
            &runtime,
            heap_support::fixture("message_echo.wat"),
            manifest.clone(),
        )
    };
    let one_cycle = || async {
        let mut a = actor();
        a.start().await.expect("start");
        let address = a.spawn().expect("spawn");
        assert_eq!(address.request(MESSAGE).await.expect("reply"), MESSAGE);
        address.stop(STOP).await.expect("stop");
        assert_eq!(address.state(), ActorState::Terminated);
        drop(address);
        // The task ends once the last address is gone.
        tokio::task::yield_now().await;
    };

    let mut echo = actor();
    let address = tokio.block_on(async {
        echo.start().await.expect("start");
        for _ in 0..20 {
            one_cycle().await;
        }
        let address = echo.spawn().expect("spawn");
        for _ in 0..1000 {
            assert_eq!(address.request(MESSAGE).await.expect("reply"), MESSAGE);
        }
        address
    });
    heap_support::settle();

    // 1. Messages.
    let n = messages();
    let before = heap();
    tokio.block_on(async {
        for _ in 0..n {
            assert_eq!(address.request(MESSAGE).await.expect("reply"), MESSAGE);
        }
    });
    let after = heap();
    let per_message = (after.2 - before.2) as f64 / n as f64;
    println!(
        "heap gate messages: {n} requests, live heap growth {} bytes in {} blocks, {per_message:.2} allocations per message",
        after.0 - before.0,
        after.1 - before.1
    );
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (0, 0),
        "the live heap grew over {n} messages"
    );
    assert!(
        per_message <= MAX_ALLOCATIONS_PER_MESSAGE,
        "{per_message} allocations per message, budget {MAX_ALLOCATIONS_PER_MESSAGE}"
    );

    // 2. Actors started, spawned, messaged, stopped.
    let before = heap();
    tokio.block_on(async {
        for _ in 0..ACTORS {
            one_cycle().await;
        }
    });
    let after = heap();
    println!(
        "heap gate actor cycles: {ACTORS} actors started, messaged and stopped, live heap growth {} bytes in {} blocks, {:.1} allocations per actor",
        after.0 - before.0,
        after.1 - before.1,
        (after.2 - before.2) as f64 / ACTORS as f64
    );
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (0, 0),
        "the live heap grew over {ACTORS} actors"
    );
    tokio.block_on(async { address.stop(STOP).await.expect("stop") });
}
