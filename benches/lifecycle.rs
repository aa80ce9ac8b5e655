//! Criterion benches of the actor lifecycle, each paired with raw wasmtime
//! doing the same guest work in the same run (see `common`), on-demand and
//! pooling. Each bench times only its phase (`iter_custom`) and asserts the
//! work succeeded. After each pair the bench prints `ours/raw` over all
//! timed iterations.
//!
//! ```text
//! cargo bench --bench lifecycle                  # everything, ~3 min
//! cargo bench --bench lifecycle -- warm_start    # one group
//! cargo bench -- --test                          # smoke: each bench once
//! ```

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use component_actor::{Allocation, Child, ChildHealth, CleanupOutcome};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Slots of the pooling runtimes: enough for the throughput bench's actors.
const SLOTS: u32 = 256;

fn allocations() -> [Allocation; 2] {
    [Allocation::OnDemand, pooling(SLOTS)]
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
}

/// Timed totals per bench id, for the ours/raw line.
static TOTALS: Mutex<BTreeMap<String, (Duration, u64)>> = Mutex::new(BTreeMap::new());

fn record(id: &str, elapsed: Duration, iters: u64) -> Duration {
    let mut t = TOTALS.lock().unwrap();
    let e = t.entry(id.to_string()).or_default();
    e.0 += elapsed;
    e.1 += iters;
    elapsed
}

fn mean(id: &str) -> Option<Duration> {
    let t = TOTALS.lock().unwrap();
    t.get(id).map(|(d, n)| *d / (*n).max(1) as u32)
}

fn report(group: &str) {
    let (Some(ours), Some(raw)) = (
        mean(&format!("{group}/ours")),
        mean(&format!("{group}/raw")),
    ) else {
        return;
    };
    println!(
        "{group}: ours {ours:.2?}, raw wasmtime {raw:.2?}, ours/raw = {:.3} (mean over all timed iterations)",
        ours.as_secs_f64() / raw.as_secs_f64()
    );
}

/// Creating -> Ready on a cached module (a new actor each iteration).
fn warm_start(c: &mut Criterion) {
    let rt = current_thread();
    for allocation in allocations() {
        let group = format!("warm_start/{}", label(allocation));
        let ours = runtime(allocation);
        let bytes = guest();
        let raw = Raw::new(allocation, &bytes);
        rt.block_on(async {
            let mut a = actor(&ours, &bytes);
            start_ready(&mut a).await; // compile and cache
            stop_terminated(&mut a, STOP_TIMEOUT).await;
        });
        let mut g = c.benchmark_group(&group);
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let mut a = actor(&ours, &bytes);
                        let t = Instant::now();
                        let r = a.start().await;
                        timed += t.elapsed();
                        r.expect("start succeeds");
                        stop_terminated(&mut a, STOP_TIMEOUT).await;
                    }
                    record(&format!("{group}/ours"), timed, iters)
                })
            })
        });
        g.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        let i = raw.start().await;
                        timed += t.elapsed();
                        assert!(i.stop(STOP_TIMEOUT).await);
                    }
                    record(&format!("{group}/raw"), timed, iters)
                })
            })
        });
        g.finish();
        report(&group);
    }
}

/// Ready -> Terminated with a quick `_cleanup`.
fn stop(c: &mut Criterion) {
    let rt = current_thread();
    for allocation in allocations() {
        let group = format!("stop/{}", label(allocation));
        let ours = runtime(allocation);
        let bytes = guest();
        let raw = Raw::new(allocation, &bytes);
        let mut g = c.benchmark_group(&group);
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    let mut a = actor(&ours, &bytes);
                    for _ in 0..iters {
                        start_ready(&mut a).await;
                        let t = Instant::now();
                        let r = a.stop(STOP_TIMEOUT).await;
                        timed += t.elapsed();
                        r.expect("stop succeeds");
                        assert_eq!(a.last_cleanup(), Some(CleanupOutcome::Completed));
                    }
                    record(&format!("{group}/ours"), timed, iters)
                })
            })
        });
        g.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let i = raw.start().await;
                        let t = Instant::now();
                        let done = i.stop(STOP_TIMEOUT).await;
                        timed += t.elapsed();
                        assert!(done);
                    }
                    record(&format!("{group}/raw"), timed, iters)
                })
            })
        });
        g.finish();
        report(&group);
    }
}

/// Start + stop of one actor, over and over (the restart path: the actor
/// keeps its prepared module).
fn cycle(c: &mut Criterion) {
    let rt = current_thread();
    for allocation in allocations() {
        let group = format!("start_stop_cycle/{}", label(allocation));
        let ours = runtime(allocation);
        let bytes = guest();
        let raw = Raw::new(allocation, &bytes);
        let mut g = c.benchmark_group(&group);
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut a = actor(&ours, &bytes);
                    let t = Instant::now();
                    for _ in 0..iters {
                        start_ready(&mut a).await;
                        stop_terminated(&mut a, STOP_TIMEOUT).await;
                    }
                    record(&format!("{group}/ours"), t.elapsed(), iters)
                })
            })
        });
        g.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        assert!(raw.start().await.stop(STOP_TIMEOUT).await);
                    }
                    record(&format!("{group}/raw"), t.elapsed(), iters)
                })
            })
        });
        g.finish();
        report(&group);
    }
}

/// `health_check` on a Ready actor (`_health` called in the guest).
fn health(c: &mut Criterion) {
    let rt = current_thread();
    for allocation in allocations() {
        let group = format!("health_check/{}", label(allocation));
        let ours = runtime(allocation);
        let bytes = guest();
        let raw = Raw::new(allocation, &bytes);
        let mut a = actor(&ours, &bytes);
        rt.block_on(start_ready(&mut a));
        let mut i = rt.block_on(raw.start());
        let mut g = c.benchmark_group(&group);
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        assert_eq!(a.health_check().await, ChildHealth::Healthy);
                    }
                    record(&format!("{group}/ours"), t.elapsed(), iters)
                })
            })
        });
        g.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        i.health().await;
                    }
                    record(&format!("{group}/raw"), t.elapsed(), iters)
                })
            })
        });
        g.finish();
        report(&group);
        rt.block_on(stop_terminated(&mut a, STOP_TIMEOUT));
    }
}

/// A request round trip to a spawned echo actor (`Address::request`: the
/// mailbox, the task, `alloc-message` and `handle-message`, the reply),
/// against raw wasmtime doing the same guest work with `call_async`.
fn message(c: &mut Criterion) {
    let rt = current_thread();
    let allocation = Allocation::OnDemand;
    let group = format!("message_round_trip/{}", label(allocation));
    let ours = runtime(allocation);
    let bytes = echo_guest();
    let raw = Raw::new(allocation, &bytes);
    let actor = rt.block_on(echo_actor(&ours, &bytes, 1024));
    let address = {
        let _in_runtime = rt.enter();
        actor.spawn().expect("spawn")
    };
    let mut i = rt.block_on(RawEcho::start(&raw));
    let mut g = c.benchmark_group(&group);
    g.bench_function("ours", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    assert_eq!(
                        &address.request(&b"ping"[..]).await.expect("reply")[..],
                        b"ping"
                    );
                }
                record(&format!("{group}/ours"), t.elapsed(), iters)
            })
        })
    });
    g.bench_function("raw", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    assert_eq!(&i.message(b"ping").await[..], b"ping");
                }
                record(&format!("{group}/raw"), t.elapsed(), iters)
            })
        })
    });
    g.finish();
    report(&group);
    rt.block_on(address.stop(STOP_TIMEOUT)).expect("stop");
}

/// First start of a module never seen before: compile, link, instantiate,
/// `_start`. Raw: `Module::from_binary` + `instantiate_pre` + the same start.
fn cold_start(c: &mut Criterion) {
    let rt = current_thread();
    let mut next = 0u64;
    for allocation in allocations() {
        let group = format!("cold_start/{}", label(allocation));
        let ours = runtime(allocation);
        let raw = Raw::new(allocation, &guest());
        let mut g = c.benchmark_group(&group);
        g.sample_size(20);
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        next += 1;
                        let bytes = unique_guest(next);
                        let mut a = actor(&ours, &bytes);
                        let t = Instant::now();
                        let r = a.start().await;
                        timed += t.elapsed();
                        r.expect("cold start succeeds");
                        stop_terminated(&mut a, STOP_TIMEOUT).await;
                    }
                    record(&format!("{group}/ours"), timed, iters)
                })
            })
        });
        g.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        next += 1;
                        let bytes = unique_guest(next);
                        let t = Instant::now();
                        let pre = Raw::prepare(&raw.engine, &bytes);
                        let i = RawInstance::start(&raw.engine, &pre).await;
                        timed += t.elapsed();
                        assert!(i.stop(STOP_TIMEOUT).await);
                    }
                    record(&format!("{group}/raw"), timed, iters)
                })
            })
        });
        g.finish();
        report(&group);
    }
}

/// Stop with a `_cleanup` that never returns and a 10 ms timeout; prints
/// how far past the timeout the stop returned (p50, p99).
fn hanging_stop(c: &mut Criterion) {
    let rt = current_thread();
    for allocation in allocations() {
        let group = format!("hanging_cleanup_stop_10ms/{}", label(allocation));
        let ours = runtime(allocation);
        let bytes = hanging();
        let raw = Raw::unfuelled(allocation, &bytes);
        let ours_samples = Mutex::new(Vec::new());
        let raw_samples = Mutex::new(Vec::new());
        let mut g = c.benchmark_group(&group);
        g.sample_size(10).measurement_time(Duration::from_secs(4));
        g.bench_function("ours", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    let mut a = hanging_actor(&ours, &bytes);
                    for _ in 0..iters {
                        start_ready(&mut a).await;
                        let t = Instant::now();
                        let r = a.stop(HANG_TIMEOUT).await;
                        let e = t.elapsed();
                        timed += e;
                        r.expect("stop succeeds");
                        assert_eq!(a.last_cleanup(), Some(CleanupOutcome::TimedOut));
                        ours_samples.lock().unwrap().push(e);
                    }
                    record(&format!("{group}/ours"), timed, iters)
                })
            })
        });
        g.bench_function("raw", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let i = raw.start().await;
                        let t = Instant::now();
                        let done = i.stop(HANG_TIMEOUT).await;
                        let e = t.elapsed();
                        timed += e;
                        assert!(!done, "a hanging _cleanup cannot complete");
                        raw_samples.lock().unwrap().push(e);
                    }
                    record(&format!("{group}/raw"), timed, iters)
                })
            })
        });
        g.finish();
        report(&group);
        let over = |v: &Mutex<Vec<Duration>>, p| {
            let mut v = v.lock().unwrap();
            if v.is_empty() {
                return Duration::ZERO;
            }
            percentile(&mut v, p).saturating_sub(HANG_TIMEOUT)
        };
        println!(
            "{group}: past the 10 ms timeout: ours p50 {:.2?} p99 {:.2?}; raw p50 {:.2?} p99 {:.2?}",
            over(&ours_samples, 50.0),
            over(&ours_samples, 99.0),
            over(&raw_samples, 50.0),
            over(&raw_samples, 99.0),
        );
    }
}

/// Start+stop cycles per second with N actors, each its own task, on a
/// 2-worker multi-thread tokio runtime.
fn throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    for allocation in allocations() {
        let ours = runtime(allocation);
        let bytes = guest();
        let raw = Arc::new(Raw::new(allocation, &bytes));
        for n in [2usize, 64] {
            let group = format!("throughput/{}/{n}_actors", label(allocation));
            let mut g = c.benchmark_group(&group);
            g.throughput(Throughput::Elements(n as u64));
            // The same n actors throughout, each started once before
            // timing: the figure is steady-state restarts, not first starts.
            let mut actors: Vec<_> = (0..n).map(|_| actor(&ours, &bytes)).collect();
            rt.block_on(async {
                for a in &mut actors {
                    start_ready(a).await;
                    stop_terminated(a, STOP_TIMEOUT).await;
                }
            });
            let actors = Mutex::new(actors);
            g.bench_function(BenchmarkId::new("ours", n), |b| {
                b.iter_custom(|iters| {
                    let taken = std::mem::take(&mut *actors.lock().unwrap());
                    rt.block_on(async {
                        let t = Instant::now();
                        let tasks: Vec<_> = taken
                            .into_iter()
                            .map(|mut a| {
                                tokio::spawn(async move {
                                    for _ in 0..iters {
                                        start_ready(&mut a).await;
                                        stop_terminated(&mut a, STOP_TIMEOUT).await;
                                    }
                                    a
                                })
                            })
                            .collect();
                        let mut back = Vec::with_capacity(n);
                        for task in tasks {
                            back.push(task.await.expect("actor task"));
                        }
                        let elapsed = t.elapsed();
                        *actors.lock().unwrap() = back;
                        record(&format!("{group}/ours"), elapsed, iters)
                    })
                })
            });
            g.bench_function(BenchmarkId::new("raw", n), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let t = Instant::now();
                        let tasks: Vec<_> = (0..n)
                            .map(|_| {
                                let raw = raw.clone();
                                tokio::spawn(async move {
                                    for _ in 0..iters {
                                        assert!(raw.start().await.stop(STOP_TIMEOUT).await);
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.expect("raw task");
                        }
                        record(&format!("{group}/raw"), t.elapsed(), iters)
                    })
                })
            });
            g.finish();
            report(&group);
            for side in ["ours", "raw"] {
                if let Some(per_iter) = mean(&format!("{group}/{side}")) {
                    println!(
                        "{group}: {side} {:.0} start+stop cycles/s",
                        n as f64 / per_iter.as_secs_f64()
                    );
                }
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = warm_start, stop, cycle, health, message, cold_start, hanging_stop, throughput
}
criterion_main!(benches);
