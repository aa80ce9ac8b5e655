//! Message figures: request round trip against raw wasmtime doing the same
//! guest work (`alloc-message`, the bytes written, `handle-message`, the
//! reply copied out, each call with `TypedFunc::call_async`), in
//! alternating blocks; throughput of one actor and of many on a 2-worker
//! runtime; and resident memory per idle actor with a mailbox, at scale.
//!
//! ```text
//! cargo run --release --example messages                  # round trip + throughput, ~10 s
//! cargo run --release --example messages -- --scale 100000  # 100,000 live actors
//! cargo run --release --example messages -- --scale 100000 --pooling
//! cargo run --release --example messages -- --scale 100000 --memory-reservation 262144
//! cargo run --release --example messages -- --scale 10000 --raw  # raw wasmtime, the same state
//! cargo run --release --example messages -- --check       # ci/perf's bound on the round trip
//! ```
//!
//! The round trip is measured twice: with the caller a spawned task (an
//! actor or a request handler calling another actor) and with the caller
//! `block_on` itself, whose scheduler also polls tokio's I/O driver (an
//! `epoll_wait`) between a request and its answer. Both sides of each ratio
//! are measured from the same caller. Also printed: the floor of any
//! mailbox with a task per actor, a round trip to a task that answers at
//! once with no guest (a bounded tokio mpsc carrying a oneshot, as ours
//! does), and what that floor plus raw's guest work comes to against raw.
//!
//! With `--check`, exits 1 unless the round trip p50 with the caller a task
//! stays within `MAX_ROUND_TRIP_RATIO` of raw (measured once more if not;
//! the better run counts): a regression bound, not issue 12's goal of 2x,
//! which is not met. Throughput is reported, not gated: an absolute rate is a
//! property of the machine.

#[path = "../benches/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::*;
use component_actor::{Address, Allocation, ComponentActor, Delivery};

/// Issue 12's goal: a request round trip within 2x of raw wasmtime. Not
/// met: with the caller a task, 2.52-2.71x (0.83-0.84 us against 0.31-0.33
/// us); with the caller `block_on`, 3.41-3.70x. The guest call alone is
/// 1.25-1.39x raw; the mailbox and the two task switches add about 0.38 us.
const GOAL_ROUND_TRIP_RATIO: f64 = 2.0;
/// The gate, on the ratio with the caller a task: a regression bound over
/// the measured 2.52-2.71x (2.85-3.42x before `ComponentError` was boxed,
/// 3.42 in a clean-clone CI run).
const MAX_ROUND_TRIP_RATIO: f64 = 5.0;
const MESSAGE: &[u8] = b"ping";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--scale") {
        let n: usize = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        let reservation = args
            .iter()
            .position(|a| a == "--memory-reservation")
            .map(|i| {
                args.get(i + 1)
                    .and_then(|b| b.parse::<u64>().ok())
                    .expect("--memory-reservation BYTES")
            });
        let pooled = args.iter().any(|a| a == "--pooling");
        if args.iter().any(|a| a == "--raw") {
            scale_raw(n, pooled);
        } else {
            scale(n, pooled, reservation);
        }
        return ExitCode::SUCCESS;
    }
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        let n: usize = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        profile(n);
        return ExitCode::SUCCESS;
    }
    let check = args.iter().any(|a| a == "--check");
    let (mut ratio, mut from_block_on) = round_trip();
    if check && ratio > MAX_ROUND_TRIP_RATIO {
        println!("round trip ratio {ratio:.2} past {MAX_ROUND_TRIP_RATIO}; measuring once more");
        let (again, again_block_on) = round_trip();
        if again < ratio {
            (ratio, from_block_on) = (again, again_block_on);
        }
    }
    if !check {
        throughput();
    }
    let pass = ratio <= MAX_ROUND_TRIP_RATIO;
    println!(
        "message round trip p50 ratio, caller a task: {ratio:.2} (bound <= {MAX_ROUND_TRIP_RATIO}; issue 12's goal {GOAL_ROUND_TRIP_RATIO}, {}); caller block_on: {from_block_on:.2} (reported): {}",
        if ratio <= GOAL_ROUND_TRIP_RATIO {
            "met"
        } else {
            "not met"
        },
        if pass { "ok" } else { "FAIL" }
    );
    if pass || !check {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
}

fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio")
}

/// Round trip p50 and p99, ours (`Address::request` to a spawned actor on
/// the same one-thread runtime) against raw, in alternating blocks, twice:
/// with the caller a spawned task (as an actor or a request handler calls
/// another actor) and with the caller `block_on` itself. Returns the p50
/// ratios (from a task, from `block_on`).
fn round_trip() -> (f64, f64) {
    let rt = current_thread();
    rt.block_on(async {
        let ours = runtime(Allocation::OnDemand);
        let bytes = echo_guest();
        let address = echo_actor(&ours, &bytes, 1024)
            .await
            .spawn()
            .expect("spawn");
        let raw = Raw::new(Allocation::OnDemand, &bytes);
        let mut raw_echo = RawEcho::start(&raw).await;
        for _ in 0..1000 {
            assert_eq!(&address.request(MESSAGE).await.expect("reply")[..], MESSAGE);
            assert_eq!(&raw_echo.message(MESSAGE).await[..], MESSAGE);
        }
        let row = |name: &str, p: f64, o: &mut Vec<Duration>, r: &mut Vec<Duration>| {
            let (a, b) = (percentile(o, p), percentile(r, p));
            let ratio = a.as_secs_f64() / b.as_secs_f64();
            println!("{name:<34} ours {a:>10.2?}  raw {b:>10.2?}  ratio {ratio:.2}");
            ratio
        };
        // The caller a task: both sides measured inside the same spawned task.
        let a = address.clone();
        let (mut o, mut r, raw_echo) = tokio::spawn(async move {
            let (o, r) = round_trip_samples(&a, &mut raw_echo).await;
            (o, r, raw_echo)
        })
        .await
        .expect("the measuring task");
        let mut raw_echo = raw_echo;
        let from_task = row("round trip p50 (caller a task)", 50.0, &mut o, &mut r);
        row("round trip p99 (caller a task)", 99.0, &mut o, &mut r);
        let mut hops = tokio::spawn(task_round_trips()).await.expect("the floor");
        let (hop, raw50) = (percentile(&mut hops, 50.0), percentile(&mut r, 50.0));
        println!(
            "task round trip, no guest (the floor) p50 {hop:.2?}: floor + raw = {:.2}x raw",
            (hop + raw50).as_secs_f64() / raw50.as_secs_f64()
        );
        // The caller `block_on`: between the request and its answer tokio's
        // one-thread scheduler also polls its I/O driver (an `epoll_wait`).
        let (mut o, mut r) = round_trip_samples(&address, &mut raw_echo).await;
        let from_block_on = row("round trip p50 (caller block_on)", 50.0, &mut o, &mut r);
        row("round trip p99 (caller block_on)", 99.0, &mut o, &mut r);
        // The guest call alone, without the mailbox: `handle_message` on an
        // actor that is not spawned.
        let direct = echo_actor(&ours, &bytes, 1024).await;
        let (mut d, mut r) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            for _ in 0..100 {
                let (t, reply) = time(direct.handle_message(MESSAGE)).await;
                assert_eq!(&reply.expect("reply")[..], MESSAGE);
                d.push(t);
            }
            for _ in 0..100 {
                let (t, reply) = time(raw_echo.message(MESSAGE)).await;
                assert_eq!(&reply[..], MESSAGE);
                r.push(t);
            }
        }
        row("handle_message p50", 50.0, &mut d, &mut r);
        address.stop(STOP_TIMEOUT).await.expect("stop");
        (from_task, from_block_on)
    })
}

/// 20,000 timed round trips from the calling task to a task that answers
/// at once, through a bounded mpsc carrying a oneshot (what a mailbox with
/// a task per actor cannot do without), every answer checked.
async fn task_round_trips() -> Vec<Duration> {
    type Ask = (bytes::Bytes, tokio::sync::oneshot::Sender<bytes::Bytes>);
    let (to, mut inbox) = tokio::sync::mpsc::channel::<Ask>(1024);
    tokio::spawn(async move {
        while let Some((message, reply)) = inbox.recv().await {
            let _ = reply.send(message);
        }
    });
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t = Instant::now();
        let (reply, answer) = tokio::sync::oneshot::channel();
        to.send((bytes::Bytes::from_static(MESSAGE), reply))
            .await
            .expect("the answering task");
        let echoed = answer.await.expect("an answer");
        samples.push(t.elapsed());
        assert_eq!(&echoed[..], MESSAGE);
    }
    samples
}

/// 20,000 timed requests through `address` and 20,000 timed raw messages,
/// in alternating blocks of 100, every reply checked.
async fn round_trip_samples(
    address: &Address,
    raw_echo: &mut RawEcho,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut o, mut r) = (Vec::with_capacity(20_000), Vec::with_capacity(20_000));
    for _ in 0..200 {
        for _ in 0..100 {
            let (t, reply) = time(address.request(MESSAGE)).await;
            assert_eq!(&reply.expect("reply")[..], MESSAGE);
            o.push(t);
        }
        for _ in 0..100 {
            let (t, reply) = time(raw_echo.message(MESSAGE)).await;
            assert_eq!(&reply[..], MESSAGE);
            r.push(t);
        }
    }
    (o, r)
}

/// Pipelined `send`s (up to `window` unanswered per sender), `per_actor`
/// messages to each of `actors` actors, one sender task each.
async fn pipeline(addresses: &[Address], per_actor: usize, window: usize) -> Duration {
    let t = Instant::now();
    let tasks: Vec<_> = addresses
        .iter()
        .cloned()
        .map(|a| {
            tokio::spawn(async move {
                let mut pending: std::collections::VecDeque<Delivery> =
                    std::collections::VecDeque::with_capacity(window);
                for _ in 0..per_actor {
                    if pending.len() == window {
                        let reply = pending.pop_front().expect("pending").await;
                        assert_eq!(&reply.expect("reply")[..], MESSAGE);
                    }
                    pending.push_back(a.send(MESSAGE).await.expect("send"));
                }
                for d in pending {
                    assert_eq!(&d.await.expect("reply")[..], MESSAGE);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("sender");
    }
    t.elapsed()
}

fn throughput() {
    let rt = two_workers();
    rt.block_on(async {
        let ours = runtime(Allocation::OnDemand);
        let bytes = echo_guest();
        for (actors, per_actor) in [(1, 200_000), (2, 100_000), (100, 2_000), (1000, 200)] {
            let mut addresses = Vec::new();
            for _ in 0..actors {
                let actor: ComponentActor = echo_actor(&ours, &bytes, 1024).await;
                addresses.push(actor.spawn().expect("spawn"));
            }
            pipeline(&addresses, per_actor / 10, 256).await; // warm up
            let took = pipeline(&addresses, per_actor, 256).await;
            let total = actors * per_actor;
            println!(
                "throughput {actors:>5} actor(s), 2 workers: {:>10.0} messages/s ({total} in {took:.2?})",
                total as f64 / took.as_secs_f64()
            );
            for a in &addresses {
                a.stop(STOP_TIMEOUT).await.expect("stop");
            }
        }
    });
}

/// The process's memory mappings, or why they cannot be counted.
fn maps() -> Result<usize, std::io::Error> {
    std::fs::read_to_string("/proc/self/maps").map(|m| m.lines().count())
}

/// The allocation of a scale run of `n` instances: on-demand, or a pool of
/// `n + 1` slots of 256 KiB (the echo guest's memory is 128 KiB).
fn scale_allocation(n: usize, pooled: bool) -> Allocation {
    if pooled {
        Allocation::Pooling {
            slots: n as u32 + 1,
            max_memory_per_slot: 256 << 10,
        }
    } else {
        Allocation::OnDemand
    }
}

/// `n` live actors, each spawned with a mailbox and having answered one
/// message, then idle: resident and virtual memory per actor. With
/// `reservation`, `RuntimeConfig::memory_reservation` is set to it.
fn scale(n: usize, pooled: bool, reservation: Option<u64>) {
    let rt = current_thread();
    rt.block_on(async {
        let allocation = scale_allocation(n, pooled);
        println!(
            "allocation: {}, memory reservation: {}",
            label(allocation),
            reservation.map_or("wasmtime's".to_string(), |b| format!("{b} bytes"))
        );
        let ours = component_actor::Runtime::new(component_actor::RuntimeConfig {
            allocation,
            epoch_tick: TICK,
            memory_reservation: reservation,
            ..component_actor::RuntimeConfig::default()
        })
        .expect("runtime");
        let bytes = echo_guest();
        // Warm up: the module compiled and cached, one actor through it all.
        let first = echo_actor(&ours, &bytes, 1024).await.spawn().expect("spawn");
        assert_eq!(&first.request(MESSAGE).await.expect("reply")[..], MESSAGE);
        first.stop(STOP_TIMEOUT).await.expect("stop");
        let (rss0, virt0) = status();
        let maps0 = maps().expect("/proc/self/maps");
        let t = Instant::now();
        let mut live = Vec::with_capacity(n);
        for i in 0..n {
            let address = match echo_actor_checked(&ours, &bytes).await {
                Ok(a) => a,
                Err(e) => {
                    println!("actor {i} failed to start: {e}");
                    break;
                }
            };
            match address.request(MESSAGE).await {
                Ok(reply) => assert_eq!(&reply[..], MESSAGE),
                Err(e) => {
                    println!("actor {i} failed its message: {e}");
                    break;
                }
            }
            live.push(address);
        }
        let took = t.elapsed();
        let (rss1, virt1) = status();
        // Reading the file needs a mapping of its own, which a process at
        // vm.max_map_count cannot get.
        let mappings = match maps() {
            Ok(now) => format!("{} memory mappings more ({now} in all)", now.saturating_sub(maps0)),
            Err(e) => format!("mappings not counted ({e}: /proc/self/maps needs one more)"),
        };
        let count = live.len();
        let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / count as f64;
        println!(
            "{count} live actors (each spawned, one message answered) in {took:.2?}: resident {:.1} KiB per actor, \
             virtual {:.1} KiB per actor, {mappings}",
            per(rss0, rss1),
            per(virt0, virt1),
        );
        println!(
            "rss_kib_per_actor={:.1} virt_kib_per_actor={:.1}",
            per(rss0, rss1),
            per(virt0, virt1)
        );
        let t = Instant::now();
        for a in &live {
            a.stop(STOP_TIMEOUT).await.expect("stop");
        }
        println!("stopped {count} in {:.2?}", t.elapsed());
    });
}

/// The baseline of [`scale`]: `n` raw wasmtime stores of the echo guest
/// (fuel and epoch interruption on, as in ours), each having handled one message
/// (`alloc-message`, the bytes written, `handle-message`, the reply copied
/// out), then idle: resident memory per store. Everything an idle actor
/// holds past this is the actor's own (its task, mailbox, control channel
/// and bookkeeping).
fn scale_raw(n: usize, pooled: bool) {
    let rt = current_thread();
    rt.block_on(async {
        let allocation = scale_allocation(n, pooled);
        println!("raw wasmtime, allocation: {}", label(allocation));
        let raw = Raw::new(allocation, &echo_guest());
        let mut first = RawEcho::start(&raw).await;
        assert_eq!(&first.message(MESSAGE).await[..], MESSAGE);
        // The echo guest has no `_cleanup`: its stores are dropped.
        drop(first);
        let (rss0, virt0) = status();
        let mut live = Vec::with_capacity(n);
        for _ in 0..n {
            let mut echo = RawEcho::start(&raw).await;
            assert_eq!(&echo.message(MESSAGE).await[..], MESSAGE);
            live.push(echo);
        }
        let (rss1, virt1) = status();
        let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / n as f64;
        println!(
            "{n} raw stores (each having handled one message): resident {:.1} KiB per store, \
             virtual {:.1} KiB per store",
            per(rss0, rss1),
            per(virt0, virt1),
        );
        println!("rss_kib_per_store={:.1}", per(rss0, rss1));
    });
}

async fn echo_actor_checked(
    rt: &component_actor::Runtime,
    bytes: &std::sync::Arc<[u8]>,
) -> Result<Address, component_actor::ComponentError> {
    use component_actor::{Child, ComponentManifest, ComponentSource};
    let mut actor = ComponentActor::new(
        rt,
        ComponentSource::Bytes(bytes.clone()),
        ComponentManifest::new("echo")?,
    );
    actor.start().await?;
    actor.spawn()
}

/// `n` requests back to back, for a profiler (`perf record`).
fn profile(n: usize) {
    let rt = current_thread();
    rt.block_on(async {
        let ours = runtime(Allocation::OnDemand);
        let bytes = echo_guest();
        let address = echo_actor(&ours, &bytes, 1024)
            .await
            .spawn()
            .expect("spawn");
        let t = Instant::now();
        for _ in 0..n / 10 {
            assert_eq!(&address.request(MESSAGE).await.expect("reply")[..], MESSAGE);
        }
        println!("{} requests from block_on in {:.2?}", n / 10, t.elapsed());
        let a = address.clone();
        let took = tokio::spawn(async move {
            let t = Instant::now();
            for _ in 0..n {
                assert_eq!(&a.request(MESSAGE).await.expect("reply")[..], MESSAGE);
            }
            t.elapsed()
        })
        .await
        .unwrap();
        println!("{n} requests from a task in {took:.2?}");
    });
}
