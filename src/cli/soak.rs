//! `component-actor soak FILE --cycles N`: N start/stop cycles, their
//! latency percentiles, throughput, and a leak verdict from resident memory
//! and the number of memory mappings before and after.
//!
//! How it runs: C workers (`--concurrency`) each own one actor. Each worker
//! first does one warm-up cycle (not counted: it compiles the module and
//! fills the caches); then the process's resident memory and mapping count
//! are read ("before"), the workers share the N measured cycles between
//! them, and the figures are read again ("after") while the stopped actors
//! still exist. A cycle is one `start` then one `stop`; with `--messages
//! M`, one `start`, M messages (each a request and its reply, one after
//! another), then one `stop`; the warm-up cycle sends them too.
//!
//! Every cycle must behave like the warm-up: a cycle whose start fails,
//! whose message is answered with an error, whose stop fails, that does
//! not end Terminated, or whose cleanup outcome differs from the warm-up's
//! is a *mismatch*.
//!
//! Each worker's actor is spawned into its own task after the warm-up's
//! start, and every cycle goes through its [`Address`]:
//! start, the messages (request round trips through the mailbox), stop;
//! the cleanup outcome is read from its handle.
//!
//! The leak verdict: see [`LeakBound`].

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Address, Allocation, Child, ComponentActor, ComponentError, ComponentManifest,
    ComponentSource, ErrorKind, RuntimeConfig,
};
use hdrhistogram::Histogram;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{BadInput, Exit, ModuleArgs, ModuleHeader, human_duration, ms, say};

/// The largest `--cycles`.
const MAX_CYCLES: u64 = 10_000_000;
/// The largest `--messages`.
const MAX_MESSAGES: u64 = 1_000_000;
/// The largest `--concurrency`.
const MAX_CONCURRENCY: u64 = 1024;
/// The longest start or stop the latency histograms hold (four hours: a
/// start and a stop are each at most an hour per guest call); a longer one
/// is counted as this.
const MAX_NANOS: u64 = 4 * 3600 * 1_000_000_000;

/// When growth counts as a leak.
///
/// A leaked instance keeps at least one memory mapping (its linear memory,
/// or its stack or tables), so an instance leaked per cycle grows the
/// mapping count by at least one per cycle; growth in resident memory
/// catches leaks of plain heap. Allocators keep freed memory and the
/// mapping count moves with thread stacks and arenas, so small growth is
/// noise. The verdict is:
///
/// - `inconclusive` when the figures cannot be read (no `/proc`);
/// - `leak` when the mapping count grew by more than [`LeakBound::MAPS`],
///   or resident memory grew by more than [`LeakBound::RSS_KIB`] KiB;
/// - `inconclusive` otherwise when fewer than [`LeakBound::MIN_CYCLES`]
///   cycles were measured;
/// - `none` otherwise.
///
/// Measured on this crate's fixtures: one worker usually grows by 8 KiB and
/// no mappings (1000 to 200,000 cycles), at worst by about 600 KiB and 4
/// mappings; several workers by 250-550 KiB and 3-4 mappings (per-thread
/// allocator arenas). None of it depends on the cycle count.
/// A leak of L bytes per cycle is therefore caught once cycles x L exceeds
/// 2 MiB: the default 1000 cycles catch 2 KiB per cycle (a leaked instance
/// with a touched page of linear memory is more, and also leaks a mapping);
/// raise `--cycles` to catch smaller leaks.
pub struct LeakBound;

impl LeakBound {
    /// Fewest measured cycles for a conclusive verdict.
    pub const MIN_CYCLES: u64 = 100;
    /// Mapping-count growth tolerated.
    pub const MAPS: i64 = 16;
    /// Resident-memory growth tolerated, in KiB.
    pub const RSS_KIB: i64 = 2048;
}

/// What `soak` runs besides the module and the stop timeout.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Measured start/stop cycles (1..=10000000).
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_CYCLES),
          allow_negative_numbers = true)]
    cycles: u64,
    /// Workers, each restarting its own actor (1..=1024).
    #[arg(long, value_name = "C", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=MAX_CONCURRENCY),
          allow_negative_numbers = true)]
    concurrency: u64,
    /// Use the pooling allocator: one slot per worker, each holding the
    /// manifest's max_memory_bytes (on-demand if the pool cannot be
    /// reserved; the report says which was used).
    #[arg(long)]
    pooling: bool,
    /// Messages per cycle, sent after the start and answered one by one
    /// before the stop (0..=1000000); a message answered with an error is
    /// a mismatch of its cycle. Adds the message latency percentiles.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=MAX_MESSAGES),
          allow_negative_numbers = true)]
    messages: u64,
    /// The text of every --messages message (as UTF-8 bytes).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "ping",
        requires = "messages"
    )]
    message_text: String,
}

/// The `soak --json` document.
#[derive(Serialize)]
struct SoakDoc<'a> {
    #[serde(flatten)]
    header: ModuleHeader<'a>,
    component: &'a str,
    stop_timeout_ms: f64,
    cycles: u64,
    concurrency: u64,
    /// `on-demand` or `pooling`: what the runtime used (a pool that could
    /// not be reserved falls back to on-demand: the soak asks for that).
    allocation: &'static str,
    warmup_cycles: u64,
    /// Messages per cycle (`--messages`), and their text (`null` when 0).
    messages_per_cycle: u64,
    message_text: Option<&'a str>,
    /// The warm-up's failure (its start, or one of its messages); everything
    /// below is null when set.
    error: Option<ComponentError>,
    /// What failed in the warm-up: `"start"` or `"message"`; `null` when
    /// nothing did.
    error_during: Option<&'static str>,
    elapsed_ms: Option<f64>,
    cycles_per_second: Option<f64>,
    start_ms: Option<Percentiles>,
    stop_ms: Option<Percentiles>,
    /// Each message's round trip; `null` without `--messages`.
    message_ms: Option<Percentiles>,
    cleanup: BTreeMap<String, u64>,
    mismatches: Option<MismatchDoc>,
    memory: Option<MemoryDoc>,
    leak: Option<LeakDoc>,
    exit_code: Exit,
}

/// Percentiles in milliseconds, from a histogram of three significant
/// digits: each figure is within 0.1% of the exact one.
#[derive(Serialize, Clone, Copy, Debug)]
struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

#[derive(Serialize)]
struct MismatchDoc {
    count: u64,
    by_reason: BTreeMap<String, u64>,
    first: Option<String>,
}

#[derive(Serialize)]
struct MemoryDoc {
    rss_before_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    rss_growth_kib: Option<i64>,
    maps_before: Option<u64>,
    maps_after: Option<u64>,
    maps_growth: Option<i64>,
}

#[derive(Serialize)]
struct LeakDoc {
    verdict: &'static str,
    reason: String,
    maps_bound: i64,
    rss_bound_kib: i64,
    min_cycles: u64,
}

/// What the workers measured, shared by all of them. Its histograms have
/// a fixed size, allocated before the "before" figures are read: the
/// soak's own memory does not grow with the cycle count.
struct Tally {
    /// Start and stop times in nanoseconds.
    start: Histogram<u64>,
    stop: Histogram<u64>,
    /// Message round trips in nanoseconds.
    message: Histogram<u64>,
    cleanup: BTreeMap<String, u64>,
    mismatches: u64,
    by_reason: BTreeMap<String, u64>,
    first: Option<String>,
}

impl Tally {
    fn new() -> Self {
        let histogram =
            || Histogram::new_with_bounds(1, MAX_NANOS, 3).expect("1 ns to 4 h, 3 digits: valid");
        Self {
            start: histogram(),
            stop: histogram(),
            message: histogram(),
            cleanup: BTreeMap::new(),
            mismatches: 0,
            by_reason: BTreeMap::new(),
            first: None,
        }
    }

    fn record(&mut self, start: Duration, stop: Duration) {
        self.start.saturating_record(nanos(start));
        self.stop.saturating_record(nanos(stop));
    }

    fn mismatch(&mut self, cycle: u64, reason: String, detail: String) {
        self.mismatches += 1;
        if self.first.is_none() {
            self.first = Some(format!("cycle {cycle}: {detail}"));
        }
        *self.by_reason.entry(reason).or_default() += 1;
    }
}

/// A duration in whole nanoseconds for a histogram, at least 1.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// The process's resident memory and mapping count.
#[derive(Debug, Clone, Copy)]
struct Mem {
    rss_kib: Option<u64>,
    maps: Option<u64>,
}

impl Mem {
    fn now() -> Self {
        let rss_kib = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            });
        let maps = std::fs::read_to_string("/proc/self/maps")
            .ok()
            .map(|s| s.lines().count() as u64);
        Self { rss_kib, maps }
    }
}

/// Runs the soak and prints the report; the progress bar is drawn on `bars`.
///
/// # Errors
///
/// [`BadInput`] if the module file or the manifest cannot be used.
pub fn main(
    module: &ModuleArgs,
    args: &SoakArgs,
    stop_timeout: Duration,
    json: bool,
    bars: &MultiProgress,
) -> Result<Exit, BadInput> {
    super::require_file(&module.file, "module")?;
    let manifest = super::load_manifest(&module.file, module.manifest.as_deref())?;
    let workers = args.concurrency.clamp(1, MAX_CONCURRENCY);
    let allocation = if args.pooling {
        Allocation::Pooling {
            // `workers` is at most MAX_CONCURRENCY.
            slots: u32::try_from(workers).unwrap_or(u32::MAX),
            max_memory_per_slot: manifest.limits().max_memory_bytes,
        }
    } else {
        Allocation::OnDemand
    };
    // The soak measures whichever allocation it gets and reports which one
    // ran (`allocation`), so it asks for the fallback explicitly: a pool
    // that cannot be reserved runs on-demand instead of failing the soak.
    let runtime = super::runtime_with(RuntimeConfig {
        allocation,
        pooling_fallback: true,
        ..RuntimeConfig::default()
    })?;
    let rt = if workers == 1 {
        super::tokio_current_thread()?
    } else {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(usize::try_from(workers).unwrap_or(usize::MAX));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(|e| BadInput::usage(format!("cannot start the async runtime: {e}")))?
    };

    let mut doc = SoakDoc {
        header: ModuleHeader::new("soak", &module.file, module.manifest.as_deref(), &manifest),
        component: manifest.name(),
        stop_timeout_ms: ms(stop_timeout),
        cycles: args.cycles,
        concurrency: workers,
        allocation: super::allocation_name(runtime.allocation()),
        warmup_cycles: workers,
        messages_per_cycle: args.messages,
        message_text: (args.messages > 0).then_some(args.message_text.as_str()),
        error: None,
        error_during: None,
        elapsed_ms: None,
        cycles_per_second: None,
        start_ms: None,
        stop_ms: None,
        message_ms: None,
        cleanup: BTreeMap::new(),
        mismatches: None,
        memory: None,
        leak: None,
        exit_code: Exit::ModuleFailed,
    };

    let message = bytes::Bytes::from(args.message_text.clone().into_bytes());
    // Warm-up: one cycle per worker; its cleanup outcome is what every
    // measured cycle must match.
    let mut actors = Vec::new();
    let mut baseline: Option<&'static str> = None;
    for _ in 0..workers {
        let mut actor = ComponentActor::new(
            &runtime,
            ComponentSource::from_file(&module.file),
            manifest.clone(),
        );
        if let Err(e) = rt.block_on(actor.start()) {
            if e.kind() == ErrorKind::Load {
                return Err(BadInput::from_error(&e));
            }
            doc.error = Some(e);
            doc.error_during = Some("start");
            finish(&doc, &manifest, json);
            return Ok(Exit::ModuleFailed);
        }
        let address = {
            let _in_runtime = rt.enter();
            actor.spawn().expect("spawned inside the runtime")
        };
        if let Err(e) = rt.block_on(send(&address, &message, args.messages, |_| ())) {
            let _ = rt.block_on(address.stop(stop_timeout));
            doc.error = Some(e);
            doc.error_during = Some("message");
            finish(&doc, &manifest, json);
            return Ok(Exit::ModuleFailed);
        }
        let _ = rt.block_on(address.stop(stop_timeout));
        let outcome = address
            .handle()
            .last_cleanup()
            .map(|c| c.name())
            .unwrap_or("none");
        baseline.get_or_insert(outcome);
        actors.push(address);
    }
    let baseline = baseline.unwrap_or("none");

    let progress = Progress::new(args.cycles, json, bars);
    let tally = Arc::new(Mutex::new(Tally::new()));

    let before = Mem::now();
    let t = Instant::now();
    let results = rt.block_on(async {
        let mut handles = Vec::new();
        for (i, actor) in actors.drain(..).enumerate() {
            // Worker i runs cycles i, i + C, i + 2C, ...
            let work = Work {
                first: i as u64,
                cycles: share(args.cycles, workers, i as u64),
                workers,
                timeout: stop_timeout,
                messages: args.messages,
                message: message.clone(),
                baseline,
                tally: Arc::clone(&tally),
                progress: progress.clone(),
            };
            handles.push(tokio::spawn(work.run(actor)));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    });
    let elapsed = t.elapsed();
    let after = Mem::now();
    progress.bar.finish_and_clear();

    let mut total = std::mem::replace(
        &mut *tally.lock().unwrap_or_else(PoisonError::into_inner),
        Tally::new(),
    );
    let mut kept = Vec::new();
    for r in results {
        match r {
            Ok(actor) => kept.push(actor),
            Err(e) => total.mismatch(0, "worker failed".into(), format!("worker failed: {e}")),
        }
    }
    drop(kept);

    let measured = total.start.len();
    doc.elapsed_ms = Some(ms(elapsed));
    doc.cycles_per_second = Some(if elapsed.is_zero() {
        0.0
    } else {
        (measured as f64 / elapsed.as_secs_f64() * 10.0).round() / 10.0
    });
    doc.start_ms = percentiles(&total.start);
    doc.stop_ms = percentiles(&total.stop);
    doc.message_ms = percentiles(&total.message);
    doc.cleanup = total.cleanup;
    doc.mismatches = Some(MismatchDoc {
        count: total.mismatches,
        by_reason: total.by_reason,
        first: total.first,
    });
    let growth = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => Some(b as i64 - a as i64),
        _ => None,
    };
    let rss_growth = growth(before.rss_kib, after.rss_kib);
    let maps_growth = growth(before.maps, after.maps);
    doc.memory = Some(MemoryDoc {
        rss_before_kib: before.rss_kib,
        rss_after_kib: after.rss_kib,
        rss_growth_kib: rss_growth,
        maps_before: before.maps,
        maps_after: after.maps,
        maps_growth,
    });
    let leak = verdict(measured, rss_growth, maps_growth);
    let exit = Exit::from_ok(total.mismatches == 0 && leak.verdict != "leak");
    doc.leak = Some(leak);
    doc.exit_code = exit;
    finish(&doc, &manifest, json);
    Ok(exit)
}

/// How many of `cycles` worker `i` of `workers` runs.
fn share(cycles: u64, workers: u64, i: u64) -> u64 {
    cycles / workers + u64::from(i < cycles % workers)
}

/// One worker's share of the soak, and where it reports.
struct Work {
    first: u64,
    cycles: u64,
    workers: u64,
    timeout: Duration,
    messages: u64,
    message: bytes::Bytes,
    baseline: &'static str,
    tally: Arc<Mutex<Tally>>,
    progress: Progress,
}

impl Work {
    async fn run(self, actor: Address) -> Address {
        for k in 0..self.cycles {
            let cycle = self.first + k * self.workers;
            let t = Instant::now();
            let started = actor.start().await;
            let start_time = t.elapsed();
            // Each round trip goes into the histogram as it ends: nothing
            // that grows with --messages is allocated after "before".
            let record = |d| {
                let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
                tally.message.saturating_record(nanos(d));
            };
            let answered = match &started {
                Ok(()) => send(&actor, &self.message, self.messages, record).await,
                Err(_) => Ok(()),
            };
            let t = Instant::now();
            let stopped = actor.stop(self.timeout).await;
            let stop_time = t.elapsed();
            let cleanup = actor
                .handle()
                .last_cleanup()
                .map(|c| c.name())
                .unwrap_or("none");
            let differs = mismatch(
                &started,
                &answered,
                &stopped,
                &actor.state(),
                cleanup,
                self.baseline,
            );
            {
                let mut tally = self.tally.lock().unwrap_or_else(PoisonError::into_inner);
                tally.record(start_time, stop_time);
                if started.is_ok() {
                    *tally.cleanup.entry(cleanup.to_string()).or_default() += 1;
                }
                if let Some((reason, detail)) = differs {
                    tally.mismatch(cycle, reason, detail);
                }
            }
            self.progress.inc();
            // Let other workers (and the progress bar) run on a busy executor.
            tokio::task::yield_now().await;
        }
        actor
    }
}

/// Sends `count` copies of `message` to the started actor, one after
/// another, passing each round trip's time to `record`; stops at the first
/// message answered with an error and returns it.
async fn send(
    actor: &Address,
    message: &bytes::Bytes,
    count: u64,
    mut record: impl FnMut(Duration),
) -> Result<(), ComponentError> {
    for _ in 0..count {
        let t = Instant::now();
        actor.request(message.clone()).await?;
        record(t.elapsed());
    }
    Ok(())
}

/// How a cycle differs from the warm-up, as (reason to count, detail);
/// `None` when it behaved the same.
///
/// A failed message comes before how the stop went: a trap also poisons
/// the instance, which changes the cleanup outcome.
fn mismatch(
    started: &Result<(), ComponentError>,
    answered: &Result<(), ComponentError>,
    stopped: &Result<(), ComponentError>,
    state: &ActorState,
    cleanup: &str,
    baseline: &str,
) -> Option<(String, String)> {
    match (started, stopped, state) {
        (Err(e), _, _) => Some((
            format!("start failed: {}", e.kind()),
            format!("start failed: {}: {}", e.kind(), e.message()),
        )),
        _ if answered.is_err() => answered.as_ref().err().map(|e| {
            (
                format!("message failed: {}", e.kind()),
                format!("message failed: {}: {}", e.kind(), e.message()),
            )
        }),
        (_, Err(e), _) => Some((
            format!("stop failed: {}", e.kind()),
            format!("stop failed: {}: {}", e.kind(), e.message()),
        )),
        (_, _, state) if *state != ActorState::Terminated => Some((
            format!("ended {}", state.name()),
            format!("ended {state} instead of Terminated"),
        )),
        _ if cleanup != baseline => Some((
            format!("cleanup {cleanup}"),
            format!("cleanup {cleanup}, but the warm-up's was {baseline}"),
        )),
        _ => None,
    }
}

/// The percentiles of a histogram of nanoseconds, in milliseconds; `None`
/// when it is empty.
fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    if h.is_empty() {
        return None;
    }
    let ms = |nanos: u64| nanos as f64 / 1e6;
    Some(Percentiles {
        p50: ms(h.value_at_quantile(0.50)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
        mean: h.mean() / 1e6,
    })
}

fn verdict(measured: u64, rss_growth: Option<i64>, maps_growth: Option<i64>) -> LeakDoc {
    let rss_bound = LeakBound::RSS_KIB;
    let doc = |verdict, reason: String| LeakDoc {
        verdict,
        reason,
        maps_bound: LeakBound::MAPS,
        rss_bound_kib: rss_bound,
        min_cycles: LeakBound::MIN_CYCLES,
    };
    let (Some(rss), Some(maps)) = (rss_growth, maps_growth) else {
        return doc(
            "inconclusive",
            "resident memory or mappings cannot be read (no /proc)".into(),
        );
    };
    if maps > LeakBound::MAPS {
        return doc(
            "leak",
            format!(
                "mappings grew by {maps} over {measured} cycles (bound {})",
                LeakBound::MAPS
            ),
        );
    }
    if rss > rss_bound {
        return doc(
            "leak",
            format!(
                "resident memory grew by {rss} KiB over {measured} cycles (bound {rss_bound} KiB)"
            ),
        );
    }
    if measured < LeakBound::MIN_CYCLES {
        return doc(
            "inconclusive",
            format!(
                "only {measured} cycles measured; at least {} are needed to tell a per-cycle leak from noise",
                LeakBound::MIN_CYCLES
            ),
        );
    }
    doc(
        "none",
        format!(
            "mappings {maps:+} (bound {}), resident memory {rss:+} KiB (bound {rss_bound} KiB) over {measured} cycles",
            LeakBound::MAPS
        ),
    )
}

fn finish(doc: &SoakDoc, manifest: &ComponentManifest, json: bool) {
    if json {
        return super::print_json(doc);
    }
    doc.header.say_title(manifest);
    say(format!(
        "  cycles    {} measured, concurrency {}, {} allocation, {} warm-up cycle{} not counted, stop timeout {}",
        doc.cycles,
        doc.concurrency,
        doc.allocation,
        doc.warmup_cycles,
        if doc.warmup_cycles == 1 { "" } else { "s" },
        human_duration(Duration::from_secs_f64(doc.stop_timeout_ms / 1e3))
    ));
    if let Some(text) = doc.message_text {
        say(format!(
            "  messages  {} per cycle, each \"{text}\"",
            doc.messages_per_cycle
        ));
    }
    if let Some(e) = &doc.error {
        say(format!(
            "{} failed (warm-up): {}: {}",
            doc.error_during.unwrap_or("start"),
            e.kind(),
            e.message()
        ));
        return;
    }
    let d = |ms: f64| human_duration(Duration::from_secs_f64(ms.max(0.0) / 1e3));
    say("");
    let mut table = super::table(["", "p50", "p95", "p99", "max", "mean"], &[1, 2, 3, 4, 5]);
    let rows = [
        ("start", doc.start_ms),
        ("message", doc.message_ms),
        ("stop", doc.stop_ms),
    ];
    for (label, p) in rows {
        if let Some(p) = p {
            let cells = [p.p50, p.p95, p.p99, p.max, p.mean].map(d);
            super::add_row(&mut table, std::iter::once(label.to_string()).chain(cells));
        }
    }
    super::say_table(&table);
    say("");
    if let (Some(e), Some(c)) = (doc.elapsed_ms, doc.cycles_per_second) {
        say(format!("throughput  {c:.0} cycles/s ({} in total)", d(e)));
    }
    let cleanup: Vec<String> = doc
        .cleanup
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    say(format!("cleanup     {}", cleanup.join(", ")));
    if let Some(m) = &doc.mismatches {
        if m.count == 0 {
            say("mismatches  0 (every cycle behaved like the warm-up)");
        } else {
            let reasons: Vec<String> = m
                .by_reason
                .iter()
                .map(|(k, v)| format!("{k} x{v}"))
                .collect();
            say(format!("mismatches  {} ({})", m.count, reasons.join(", ")));
            if let Some(f) = &m.first {
                say(format!("  first: {f}"));
            }
        }
    }
    if let Some(m) = &doc.memory {
        let v = |x: Option<u64>| x.map(|x| x.to_string()).unwrap_or_else(|| "?".into());
        let g = |x: Option<i64>| x.map(|x| format!("{x:+}")).unwrap_or_else(|| "?".into());
        say(format!(
            "memory      VmRSS {} -> {} KiB ({}), mappings {} -> {} ({})",
            v(m.rss_before_kib),
            v(m.rss_after_kib),
            g(m.rss_growth_kib),
            v(m.maps_before),
            v(m.maps_after),
            g(m.maps_growth)
        ));
    }
    if let Some(l) = &doc.leak {
        say(format!("leak        {}: {}", l.verdict, l.reason));
    }
}

/// The soak's progress: a bar on a terminal (drawn on the [`MultiProgress`]
/// the log lines are written around); off a terminal, a plain line at every
/// tenth, none under `--json`.
#[derive(Clone)]
struct Progress {
    bar: ProgressBar,
    plain: Option<Arc<AtomicU64>>,
}

impl Progress {
    fn new(total: u64, json: bool, bars: &MultiProgress) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let style = ProgressStyle::with_template(
            "{spinner} soak [{bar:40}] {pos}/{len} cycles, {per_sec}, eta {eta}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = if terminal {
            bars.add(ProgressBar::new(total).with_style(style))
        } else {
            ProgressBar::hidden()
        };
        bar.set_length(total);
        let plain = (!terminal && !json).then(|| Arc::new(AtomicU64::new(0)));
        Self { bar, plain }
    }

    fn inc(&self) {
        self.bar.inc(1);
        if let Some(done) = &self.plain {
            let total = self.bar.length().unwrap_or(0);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            let step = (total / 10).max(1);
            if n % step == 0 || n == total {
                eprintln!("soak: {n}/{total} cycles");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_thousandth() {
        let mut tally = Tally::new();
        assert!(percentiles(&tally.start).is_none());
        for ms in (1..=100).rev() {
            tally.record(Duration::from_millis(ms), Duration::from_millis(1));
        }
        let p = percentiles(&tally.start).unwrap();
        let near = |got: f64, want: f64| (got - want).abs() <= want / 1000.0;
        for (got, want) in [(p.p50, 50.0), (p.p95, 95.0), (p.p99, 99.0), (p.max, 100.0)] {
            assert!(near(got, want), "{p:?}");
        }
        assert!(near(p.mean, 50.5), "{p:?}");
        let p = percentiles(&tally.stop).unwrap();
        assert!(near(p.p50, 1.0) && near(p.max, 1.0), "{p:?}");
    }

    /// A histogram's memory is fixed when it is made: a million samples (or
    /// ten million cycles) take no more than one.
    #[test]
    fn the_tally_does_not_grow_with_the_cycles() {
        let mut tally = Tally::new();
        let slots = (tally.start.distinct_values(), tally.stop.distinct_values());
        for i in 0..1_000_000u64 {
            tally.record(
                Duration::from_nanos(i * 7919 % 10_000_000 + 1),
                Duration::from_secs(i % 7200),
            );
        }
        assert_eq!(tally.start.len(), 1_000_000);
        assert_eq!(
            (tally.start.distinct_values(), tally.stop.distinct_values()),
            slots
        );
        // Past the top: counted at the top, not lost and not grown for.
        tally.record(Duration::from_secs(24 * 3600), Duration::ZERO);
        assert_eq!(tally.start.len(), 1_000_001);
        assert_eq!(tally.start.distinct_values(), slots.0);
    }

    #[test]
    fn shares_add_up_to_the_cycles() {
        for (cycles, workers) in [(1000, 1), (101, 3), (2, 5), (10_000_000, 1024)] {
            let total: u64 = (0..workers).map(|i| share(cycles, workers, i)).sum();
            assert_eq!(total, cycles);
            let max = (0..workers)
                .map(|i| share(cycles, workers, i))
                .max()
                .unwrap();
            let min = (0..workers)
                .map(|i| share(cycles, workers, i))
                .min()
                .unwrap();
            assert!(max - min <= 1);
        }
    }

    #[test]
    fn a_cycle_must_behave_like_the_warm_up() {
        let ok = || Ok(());
        let err = |kind| Err(ComponentError::new("c", kind, "it broke"));
        let done = ActorState::Terminated;
        assert_eq!(
            mismatch(&ok(), &ok(), &ok(), &done, "Completed", "Completed"),
            None
        );
        let (reason, detail) = mismatch(
            &err(ErrorKind::Trap),
            &ok(),
            &ok(),
            &done,
            "none",
            "Completed",
        )
        .unwrap();
        assert_eq!(reason, "start failed: Trap");
        assert!(detail.contains("it broke"));
        let (reason, _) = mismatch(
            &ok(),
            &ok(),
            &err(ErrorKind::InvalidTransition),
            &done,
            "Completed",
            "Completed",
        )
        .unwrap();
        assert_eq!(reason, "stop failed: InvalidTransition");
        let (reason, _) = mismatch(
            &ok(),
            &ok(),
            &ok(),
            &ActorState::Ready,
            "Completed",
            "Completed",
        )
        .unwrap();
        assert_eq!(reason, "ended Ready");
        let (reason, detail) =
            mismatch(&ok(), &ok(), &ok(), &done, "TimedOut", "Completed").unwrap();
        assert_eq!(reason, "cleanup TimedOut");
        assert!(detail.contains("warm-up's was Completed"));
        // A message answered with an error, even if the rest went as usual
        // (a trap also poisons the instance: the cleanup differs too).
        let (reason, detail) = mismatch(
            &ok(),
            &err(ErrorKind::Trap),
            &ok(),
            &done,
            "Poisoned",
            "Completed",
        )
        .unwrap();
        assert_eq!(reason, "message failed: Trap");
        assert!(detail.contains("it broke"));
        // A failed start sends no message, and is what is reported.
        let (reason, _) = mismatch(
            &err(ErrorKind::Trap),
            &err(ErrorKind::Stopped),
            &ok(),
            &done,
            "none",
            "Completed",
        )
        .unwrap();
        assert_eq!(reason, "start failed: Trap");
    }

    #[test]
    fn the_leak_verdict_follows_the_documented_bounds() {
        let v = |cycles, rss, maps| verdict(cycles, rss, maps).verdict;
        assert_eq!(v(1000, Some(8), Some(0)), "none");
        assert_eq!(
            v(1000, Some(LeakBound::RSS_KIB), Some(LeakBound::MAPS)),
            "none"
        );
        assert_eq!(v(1000, Some(LeakBound::RSS_KIB + 1), Some(0)), "leak");
        assert_eq!(v(1000, Some(0), Some(LeakBound::MAPS + 1)), "leak");
        assert_eq!(v(1000, Some(-500), Some(-3)), "none");
        // One leaked mapping per cycle is caught at the fewest conclusive cycles.
        assert_eq!(
            v(
                LeakBound::MIN_CYCLES,
                Some(0),
                Some(LeakBound::MIN_CYCLES as i64)
            ),
            "leak"
        );
        assert_eq!(
            v(LeakBound::MIN_CYCLES - 1, Some(0), Some(0)),
            "inconclusive"
        );
        assert_eq!(v(5, Some(LeakBound::RSS_KIB * 2), Some(0)), "leak");
        assert_eq!(v(1000, None, Some(0)), "inconclusive");
        assert_eq!(v(1000, Some(0), None), "inconclusive");
    }
}
