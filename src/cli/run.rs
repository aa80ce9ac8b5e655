//! `component-actor run FILE`: start, health check, stop, with each
//! transition's time, memory, fuel and the cleanup outcome.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use component_actor::{Child, ChildHealth, ComponentActor, ComponentSource, ErrorKind};
use serde::Serialize;

use super::logs::{Capture, Captured};
use super::{
    BadInput, ErrorDoc, Exit, ExitCodeField, ModuleHeader, StatsDoc, human_bytes, human_duration,
    ms, say,
};

/// What `run` was asked to do.
pub struct Args {
    /// The module (`.wat` text or a binary).
    pub file: PathBuf,
    /// The manifest, if any.
    pub manifest: Option<PathBuf>,
    /// How long `_cleanup` may take.
    pub stop_timeout: Duration,
}

/// The `run --json` document.
#[derive(Serialize)]
struct RunDoc {
    #[serde(flatten)]
    header: ModuleHeader,
    stop_timeout_ms: f64,
    started: bool,
    start: StepDoc,
    health: Option<HealthDoc>,
    stop: StopDoc,
    transitions: Vec<TransitionDoc>,
    logs: Vec<LogDoc>,
    exit_code: ExitCodeField,
}

#[derive(Serialize)]
struct StepDoc {
    ok: bool,
    duration_ms: f64,
    error: Option<ErrorDoc>,
    stats: Option<StatsDoc>,
}

#[derive(Serialize)]
struct HealthDoc {
    status: &'static str,
    reason: Option<String>,
    duration_ms: f64,
    stats: Option<StatsDoc>,
}

#[derive(Serialize)]
struct StopDoc {
    ok: bool,
    duration_ms: f64,
    error: Option<ErrorDoc>,
    cleanup: Option<&'static str>,
    cleanup_reason: Option<String>,
    state: String,
    stats: Option<StatsDoc>,
}

#[derive(Serialize)]
struct TransitionDoc {
    at_ms: f64,
    from: String,
    to: String,
}

#[derive(Serialize)]
struct LogDoc {
    at_ms: f64,
    message: String,
}

/// Runs the module once and prints what happened.
///
/// # Errors
///
/// [`BadInput`] if the module file or the manifest cannot be used.
pub fn main(args: Args, json: bool, capture: Option<Capture>) -> Result<Exit, BadInput> {
    super::require_file(&args.file, "module")?;
    let manifest = super::load_manifest(&args.file, args.manifest.as_deref())?;
    let runtime = super::runtime()?;
    let rt = super::tokio_current_thread()?;
    let capture = capture.unwrap_or_default();
    let mut actor = ComponentActor::new(
        &runtime,
        ComponentSource::from_file(&args.file),
        manifest.clone(),
    );

    capture.take();
    let t0 = Instant::now();
    let started = rt.block_on(actor.start());
    let start_time = t0.elapsed();
    if let Err(e) = &started
        && e.kind() == ErrorKind::Load
    {
        // The file vanished or became unreadable since it was checked.
        return Err(BadInput::from_error(e));
    }
    let start_stats = actor.stats().map(StatsDoc::from);
    let health = match &started {
        Ok(()) => {
            let at = t0.elapsed();
            let t = Instant::now();
            let h = rt.block_on(actor.health_check());
            Some((at, h, t.elapsed(), actor.stats().map(StatsDoc::from)))
        }
        Err(_) => None,
    };
    let t = Instant::now();
    let stopped = rt.block_on(actor.stop(args.stop_timeout));
    let stop_time = t.elapsed();
    let stop_stats = actor.stats().map(StatsDoc::from);
    let cleanup = actor.last_cleanup();
    let events = capture.take();

    let at = |i: Instant| i.saturating_duration_since(t0);
    let name = |state: &str| state.split('(').next().unwrap_or(state).to_string();
    let transitions: Vec<TransitionDoc> = events
        .iter()
        .filter_map(|(i, c)| match c {
            Captured::Transition { from, to } => Some(TransitionDoc {
                at_ms: ms(at(*i)),
                from: name(from),
                to: name(to),
            }),
            Captured::GuestLog(_) => None,
        })
        .collect();
    let logs: Vec<LogDoc> = events
        .iter()
        .filter_map(|(i, c)| match c {
            Captured::GuestLog(m) => Some(LogDoc {
                at_ms: ms(at(*i)),
                message: m.clone(),
            }),
            Captured::Transition { .. } => None,
        })
        .collect();

    let exit = if started.is_ok() {
        Exit::Success
    } else {
        Exit::ModuleFailed
    };
    let doc = RunDoc {
        header: ModuleHeader::new("run", &args.file, args.manifest.as_deref(), &manifest),
        stop_timeout_ms: ms(args.stop_timeout),
        started: started.is_ok(),
        start: StepDoc {
            ok: started.is_ok(),
            duration_ms: ms(start_time),
            error: started.as_ref().err().map(ErrorDoc::of),
            stats: if started.is_ok() { start_stats } else { None },
        },
        health: health.as_ref().map(|(_, h, took, stats)| {
            let (status, reason) = match h {
                ChildHealth::Healthy => ("Healthy", None),
                ChildHealth::Degraded(r) => ("Degraded", Some(r.clone())),
                ChildHealth::Failed(r) => ("Failed", Some(r.clone())),
            };
            HealthDoc {
                status,
                reason,
                duration_ms: ms(*took),
                stats: *stats,
            }
        }),
        stop: StopDoc {
            ok: stopped.is_ok(),
            duration_ms: ms(stop_time),
            error: stopped.as_ref().err().map(ErrorDoc::of),
            cleanup: cleanup.as_ref().map(|c| c.name()),
            cleanup_reason: match &cleanup {
                Some(component_actor::CleanupOutcome::Trapped(r)) => Some(r.clone()),
                _ => None,
            },
            state: actor.state().name().to_string(),
            stats: if started.is_ok() { stop_stats } else { None },
        },
        transitions,
        logs,
        exit_code: ExitCodeField(exit),
    };
    if json {
        super::print_json(&doc);
    } else {
        let detail = started
            .as_ref()
            .err()
            .map(super::detail)
            .unwrap_or_default();
        print_text(
            &doc,
            &args,
            &manifest,
            health.as_ref().map(|h| h.0),
            &detail,
        );
    }
    Ok(exit)
}

fn print_text(
    doc: &RunDoc,
    args: &Args,
    manifest: &component_actor::ComponentManifest,
    health_at: Option<Duration>,
    detail: &[String],
) {
    doc.header.say_title(manifest);
    say(format!(
        "  stop timeout {}",
        human_duration(args.stop_timeout)
    ));
    say("");
    say(format!(
        "{:>9}  {:<26}  {:>9}  {:>10}  {:>10}  {:>10}",
        "at", "event", "took", "memory", "peak", "fuel used"
    ));
    // (at, event, took, stats)
    let mut rows: Vec<(f64, String, Option<f64>, Option<StatsDoc>)> = Vec::new();
    for t in &doc.transitions {
        let (took, stats) = match t.to.as_str() {
            "Ready" | "Failed" => (Some(doc.start.duration_ms), doc.start.stats),
            "Terminated" if t.from == "Stopping" => (Some(doc.stop.duration_ms), doc.stop.stats),
            _ => (None, None),
        };
        rows.push((t.at_ms, format!("{} -> {}", t.from, t.to), took, stats));
    }
    if let (Some(h), Some(at)) = (&doc.health, health_at) {
        rows.push((
            ms(at),
            format!("health: {}", h.status),
            Some(h.duration_ms),
            h.stats,
        ));
    }
    for l in &doc.logs {
        rows.push((l.at_ms, format!("guest log: {}", l.message), None, None));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let time = |ms: f64| human_duration(Duration::from_secs_f64(ms.max(0.0) / 1e3));
    for (at, event, took, stats) in rows {
        let (mem, peak, fuel) = match stats {
            Some(s) => (
                human_bytes(s.memory_bytes),
                human_bytes(s.peak_memory_bytes),
                s.fuel_consumed.to_string(),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        say(format!(
            "{:>9}  {:<26}  {:>9}  {:>10}  {:>10}  {:>10}",
            time(at),
            event,
            took.map(time).unwrap_or_default(),
            mem,
            peak,
            fuel
        ));
    }
    say("");
    if let Some(h) = &doc.health
        && let Some(r) = &h.reason
    {
        say(format!("health    {}: {r}", h.status));
    }
    match &doc.start.error {
        Some(e) => {
            say(format!("start failed: {}: {}", e.kind, e.message));
            for line in detail {
                say(format!("  {line}"));
            }
            if !e.denied.is_empty() {
                say(format!("  denied imports: {}", e.denied.join(", ")));
                say("  (`component-actor check` prints the manifest line that permits them)");
            }
        }
        None => {
            let cleanup = match (&doc.stop.cleanup, &doc.stop.cleanup_reason) {
                (Some(c), Some(r)) => format!("{c} ({r})"),
                (Some(c), None) => c.to_string(),
                (None, _) => "none".into(),
            };
            say(format!("cleanup   {cleanup}"));
            if let Some(e) = &doc.stop.error {
                say(format!("stop failed: {}: {}", e.kind, e.message));
            }
            say(format!(
                "result    started; health {}; stopped ({}); cleanup {}",
                doc.health.as_ref().map(|h| h.status).unwrap_or("-"),
                doc.stop.state,
                doc.stop.cleanup.unwrap_or("none")
            ));
        }
    }
}
