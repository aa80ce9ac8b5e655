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
//! The worker is `wat/supervised_worker.wat`; a `!` message traps it. Two
//! workers restart in alternating blocks: one as children are by default,
//! one that keeps a standby instance (`ChildSpec::standby`: the next
//! instance is made in the background after each start, so a restart only
//! calls `_start` on it). A restart sample is the time between two of the supervisor's events: the
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
//! `MAX_RESTART_RATIO` of the warm start's, and the restart with a standby
//! within `MAX_STANDBY_RATIO` (measured once more if not; the better run
//! counts).

#[path = "../benches/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use component_actor::{
    Address, Allocation, Child, ChildSpec, ComponentActor, ComponentManifest, ComponentSource,
    ErrorKind, EventKind, Supervisor, SupervisorEvent, SupervisorSpec,
};

/// Issue 13's goal: a restart within 1.2x of a plain warm start. Met by a
/// child with a standby (0.6x). Not by default: measured 1.43-1.71x. A
/// start right after a trap is itself 1.17-1.24x a warm start, for raw
/// wasmtime too (printed beside ours); the rest is the decision and the
/// two task switches of a restart (supervisor -> actor task ->
/// supervisor).
const GOAL_RESTART_RATIO: f64 = 1.2;
/// The gate, by default: a regression bound over the measured 1.4-2.0x.
const MAX_RESTART_RATIO: f64 = 3.0;
/// The gate with a standby: the goal itself, about twice the measured
/// 0.6x.
const MAX_STANDBY_RATIO: f64 = GOAL_RESTART_RATIO;
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
    let (mut ratio, mut standby) = tokio.block_on(restart_latency());
    if check && (ratio > MAX_RESTART_RATIO || standby > MAX_STANDBY_RATIO) {
        println!(
            "restart ratios {ratio:.2} / {standby:.2} past {MAX_RESTART_RATIO} / {MAX_STANDBY_RATIO}; measuring once more"
        );
        let (again, again_standby) = tokio.block_on(restart_latency());
        (ratio, standby) = (ratio.min(again), standby.min(again_standby));
    }
    tokio.block_on(many(1_000));
    let verdict = |r: f64| {
        if r <= GOAL_RESTART_RATIO {
            "goal met"
        } else {
            "goal not met"
        }
    };
    println!(
        "restart p50 ratio {ratio:.2} (goal {GOAL_RESTART_RATIO}, gate {MAX_RESTART_RATIO}): {}",
        verdict(ratio)
    );
    println!(
        "restart p50 ratio with a standby {standby:.2} (goal {GOAL_RESTART_RATIO}, gate {MAX_STANDBY_RATIO}): {}",
        verdict(standby)
    );
    let mut code = ExitCode::SUCCESS;
    if check && ratio > MAX_RESTART_RATIO {
        println!("FAILED: restart p50 ratio {ratio:.2} > {MAX_RESTART_RATIO}");
        code = ExitCode::FAILURE;
    }
    if check && standby > MAX_STANDBY_RATIO {
        println!("FAILED: restart p50 ratio with a standby {standby:.2} > {MAX_STANDBY_RATIO}");
        code = ExitCode::FAILURE;
    }
    code
}

/// Restart and warm-start samples in alternating blocks; prints them and
/// returns the p50 ratios of a restart, by default and with a standby, to
/// a warm start.
async fn restart_latency() -> (f64, f64) {
    let rt = runtime(Allocation::OnDemand);
    let bytes = worker_bytes();
    // Never gives up: more than 1,000,000 restarts in a second cannot happen.
    let spec = SupervisorSpec::new()
        .intensity(1_000_000, Duration::from_secs(1))
        .child(worker("w", &bytes))
        .child(worker("s", &bytes).standby(true));
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let tree = Supervisor::with_events(&rt, spec, events).expect("tree");
    tree.start().await.expect("start");
    let w = tree.address("w").expect("w");
    let standby = tree.address("s").expect("s");
    let mut with_standby = Vec::new();
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
            let (trap, restart, decision) = crash(&tree, &w, &mut seen).await;
            f.push(trap);
            r.push(restart);
            d.push(decision);
        }
        let mut b = Vec::with_capacity(BLOCK);
        for _ in 0..BLOCK {
            b.push(crash(&tree, &standby, &mut seen).await.1);
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
            with_standby.extend(b);
            starts.extend(s);
            after_trap.extend(a);
            traps.extend(f);
            decisions.extend(d);
        }
    }
    for child in tree.children() {
        assert_eq!(
            child.restarts as usize,
            (ROUNDS + 1) * BLOCK,
            "{}",
            child.path
        );
    }
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
    let (b50, b99) = (
        percentile(&mut with_standby, 50.0),
        percentile(&mut with_standby, 99.0),
    );
    println!("restart of a child with a standby instance:     p50 {b50:?}, p99 {b99:?}");
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
    let standby = b50.as_secs_f64() / s50.as_secs_f64();
    println!(
        "ratio restart with a standby / warm start: p50 {standby:.2}, p99 {:.2}",
        b99.as_secs_f64() / s99.as_secs_f64()
    );
    (ratio, standby)
}

/// Traps the worker at `child` and waits for its restart: the trapping
/// request, the restart (its `Exited` to its next `Started`) and the
/// decision (`Exited` to `Restarting`). The restarted worker must answer
/// as a new instance does (its counter back at 1).
async fn crash(
    tree: &Supervisor,
    child: &Address,
    seen: &mut tokio::sync::mpsc::UnboundedReceiver<SupervisorEvent>,
) -> (Duration, Duration, Duration) {
    while seen.try_recv().is_ok() {}
    let t = Instant::now();
    let failed = child.request("!").await.expect_err("`!` traps");
    let trap = t.elapsed();
    assert_eq!(failed.kind(), ErrorKind::Trap);
    tree.report().await;
    let (mut exited, mut restarting, mut started) = (None, None, None);
    while let Ok(e) = seen.try_recv() {
        assert_eq!(e.path, child.component(), "only this child restarts");
        match e.what {
            EventKind::Exited { .. } => exited = Some(e.at),
            EventKind::Restarting { .. } => restarting = Some(e.at),
            EventKind::Started if exited.is_some() => started = Some(e.at),
            _ => {}
        }
    }
    let exited = exited.expect("Exited");
    let restart = started.expect("Started") - exited;
    let decision = restarting.expect("Restarting") - exited;
    assert_eq!(&child.request("add").await.expect("restarted")[..], b"1");
    (trap, restart, decision)
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
