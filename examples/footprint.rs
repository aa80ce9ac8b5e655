//! Memory per idle Ready actor: starts 10,000 actors on one runtime (each
//! instantiated, `_start` run, left Ready) and reads the process's resident
//! and virtual size from `/proc/self/status` before and after. Raw wasmtime
//! does the same with 10,000 live stores. On-demand and pooling, each in its
//! own process so one measurement cannot inherit another's heap.
//!
//! ```text
//! cargo run --release --example footprint              # all four, ~2 s
//! cargo run --release --example footprint -- 1000      # fewer actors
//! cargo run --release --example footprint -- --check   # ci/perf's bounds
//! ```
//!
//! With `--check`, exits 1 unless every run succeeds and ours stays within
//! `MAX_RSS_KIB` per actor and `MAX_RSS_RATIO` of raw wasmtime.

#[path = "../benches/common/mod.rs"]
mod common;

use std::process::{Command, ExitCode};

use common::*;
use component_actor::{ActorState, Allocation, Child};

const DEFAULT_ACTORS: u32 = 10_000;
/// Issue 4's target: resident memory per idle Ready actor.
const MAX_RSS_KIB: f64 = 24.0;
/// Ours against raw wasmtime, resident per instance.
const MAX_RSS_RATIO: f64 = 1.5;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--one") {
        let n: u32 = args[4].parse().expect("count");
        measure(&args[2], &args[3], n);
        return ExitCode::SUCCESS;
    }
    let check = args.iter().any(|a| a == "--check");
    let n: u32 = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ACTORS);
    println!("{n} idle instances per run; KiB per instance = (after - before) / {n}");
    println!(
        "{:<6} {:<10} {:>12} {:>14} {:>12} {:>14}",
        "side", "alloc", "RSS KiB/inst", "virt KiB/inst", "RSS total MiB", "virt total GiB"
    );
    let mut ok = true;
    for alloc in ["on-demand", "pooling"] {
        let mut rss = Vec::new();
        for side in ["ours", "raw"] {
            let out = Command::new(&args[0])
                .args(["--one", side, alloc, &n.to_string()])
                .output()
                .expect("run child");
            if !out.status.success() {
                ok = false;
                println!("{side:<6} {alloc:<10} failed:");
                for line in String::from_utf8_lossy(&out.stderr).lines().take(3) {
                    println!("    {line}");
                }
                continue;
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                match line.strip_prefix("rss_kib_per_instance=") {
                    Some(v) => rss.push(v.parse::<f64>().expect("rss figure")),
                    None => println!("{line}"),
                }
            }
        }
        if let [ours, raw] = rss[..] {
            let ratio = ours / raw;
            let pass = ours <= MAX_RSS_KIB && ratio <= MAX_RSS_RATIO;
            println!(
                "{alloc}: resident per actor ours {ours:.1} KiB, raw {raw:.1} KiB, ratio {ratio:.2} \
                 (bounds <= {MAX_RSS_KIB} KiB, <= {MAX_RSS_RATIO}x): {}",
                if pass { "ok" } else { "FAIL" }
            );
            ok &= pass || !check;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn measure(side: &str, alloc: &str, n: u32) {
    let allocation = match alloc {
        "pooling" => Allocation::Pooling {
            slots: n + 1,
            max_memory_per_slot: MAX_MEMORY as u64,
        },
        _ => Allocation::OnDemand,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let bytes = guest();
    let (before, after) = rt.block_on(async {
        match side {
            "raw" => {
                let raw = Raw::new(allocation, &bytes);
                // Warm up: first instance, then measure from here.
                assert!(raw.start().await.stop(STOP_TIMEOUT).await);
                let mut live = Vec::with_capacity(n as usize);
                let before = status();
                for _ in 0..n {
                    live.push(raw.start().await);
                }
                let after = status();
                for i in live.iter_mut().take(3) {
                    i.health().await;
                }
                (before, after)
            }
            _ => {
                let ours = runtime(allocation);
                let mut warm = actor(&ours, &bytes);
                start_ready(&mut warm).await;
                stop_terminated(&mut warm, STOP_TIMEOUT).await;
                let mut live = Vec::with_capacity(n as usize);
                // The actors themselves count: created after the baseline.
                let before = status();
                for _ in 0..n {
                    let mut a = actor(&ours, &bytes);
                    a.start().await.expect("start succeeds");
                    live.push(a);
                }
                let after = status();
                assert!(live.iter().all(|a| a.state() == ActorState::Ready));
                (before, after)
            }
        }
    });
    let per = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / f64::from(n);
    println!("rss_kib_per_instance={}", per(after.0, before.0));
    println!(
        "{side:<6} {alloc:<10} {:>12.1} {:>14.1} {:>12.1} {:>14.1}",
        per(after.0, before.0),
        per(after.1, before.1),
        after.0 as f64 / 1024.0,
        after.1 as f64 / (1024.0 * 1024.0),
    );
}
