//! `component-actor run FILE`: start, health check, stop, with each
//! transition's time, memory, fuel and the cleanup outcome.

use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentError,
    ComponentManifest, ComponentSource, ErrorKind, InstanceStats,
};
use serde::Serialize;

use super::logs::{Seen, Timeline};
use super::{BadInput, Exit, ModuleArgs, ModuleHeader, human_bytes, human_duration, ms, say};

/// The `run --json` document.
#[derive(Serialize)]
struct RunDoc<'a> {
    #[serde(flatten)]
    header: ModuleHeader<'a>,
    component: &'a str,
    stop_timeout_ms: f64,
    started: bool,
    start: Step<'a>,
    health: Option<Health>,
    stop: Stop<'a>,
    transitions: Vec<TransitionDoc>,
    logs: Vec<LogDoc>,
    exit_code: Exit,
}

#[derive(Serialize)]
struct Step<'a> {
    ok: bool,
    duration_ms: f64,
    error: Option<&'a ComponentError>,
    stats: Option<InstanceStats>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    reason: Option<String>,
    duration_ms: f64,
    stats: Option<InstanceStats>,
    #[serde(skip)]
    at: Duration,
}

#[derive(Serialize)]
struct Stop<'a> {
    ok: bool,
    duration_ms: f64,
    error: Option<&'a ComponentError>,
    cleanup: Option<&'static str>,
    cleanup_reason: Option<&'a str>,
    state: &'static str,
    stats: Option<InstanceStats>,
}

/// A transition in JSON: the states' names.
#[derive(Serialize)]
struct TransitionDoc {
    at_ms: f64,
    from: &'static str,
    to: &'static str,
    #[serde(skip)]
    states: (ActorState, ActorState),
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
pub fn main(
    args: &ModuleArgs,
    stop_timeout: Duration,
    json: bool,
    timeline: Option<Timeline>,
) -> Result<Exit, BadInput> {
    super::require_file(&args.file, "module")?;
    let manifest = super::load_manifest(&args.file, args.manifest.as_deref())?;
    let runtime = super::runtime()?;
    let rt = super::tokio_current_thread()?;
    let timeline = timeline.unwrap_or_default();
    let mut actor = ComponentActor::new(
        &runtime,
        ComponentSource::from_file(&args.file),
        manifest.clone(),
    );

    timeline.take();
    let t0 = Instant::now();
    let started = rt.block_on(actor.start());
    let start_time = t0.elapsed();
    if let Err(e) = &started
        && e.kind() == ErrorKind::Load
    {
        // The file vanished or became unreadable since it was checked.
        return Err(BadInput::from_error(e));
    }
    let start_stats = actor.stats().filter(|_| started.is_ok());
    let health = started.is_ok().then(|| {
        let at = t0.elapsed();
        let t = Instant::now();
        let (status, reason) = match rt.block_on(actor.health_check()) {
            ChildHealth::Healthy => ("Healthy", None),
            ChildHealth::Degraded(r) => ("Degraded", Some(r)),
            ChildHealth::Failed(r) => ("Failed", Some(r)),
        };
        Health {
            status,
            reason,
            duration_ms: ms(t.elapsed()),
            stats: actor.stats(),
            at,
        }
    });
    let t = Instant::now();
    let stopped = rt.block_on(actor.stop(stop_timeout));
    let stop_time = t.elapsed();
    let cleanup = actor.last_cleanup();

    let at = |i: Instant| ms(i.saturating_duration_since(t0));
    let mut transitions = Vec::new();
    let mut logs = Vec::new();
    for (i, seen) in timeline.take() {
        match seen {
            Seen::Transition { from, to } => transitions.push(TransitionDoc {
                at_ms: at(i),
                from: from.name(),
                to: to.name(),
                states: (from, to),
            }),
            Seen::GuestLog(message) => logs.push(LogDoc {
                at_ms: at(i),
                message,
            }),
        }
    }

    let exit = Exit::from_ok(started.is_ok());
    let doc = RunDoc {
        header: ModuleHeader::new("run", &args.file, args.manifest.as_deref(), &manifest),
        component: manifest.name(),
        stop_timeout_ms: ms(stop_timeout),
        started: started.is_ok(),
        start: Step {
            ok: started.is_ok(),
            duration_ms: ms(start_time),
            error: started.as_ref().err(),
            stats: start_stats,
        },
        health,
        stop: Stop {
            ok: stopped.is_ok(),
            duration_ms: ms(stop_time),
            error: stopped.as_ref().err(),
            cleanup: cleanup.as_ref().map(CleanupOutcome::name),
            cleanup_reason: match &cleanup {
                Some(CleanupOutcome::Trapped(r)) => Some(r),
                _ => None,
            },
            state: actor.state().name(),
            stats: actor.stats().filter(|_| started.is_ok()),
        },
        transitions,
        logs,
        exit_code: exit,
    };
    if json {
        super::print_json(&doc);
    } else {
        print_text(&doc, &manifest, stop_timeout);
    }
    Ok(exit)
}

fn print_text(doc: &RunDoc, manifest: &ComponentManifest, stop_timeout: Duration) {
    doc.header.say_title(manifest);
    say(format!("  stop timeout {}", human_duration(stop_timeout)));
    say("");
    // (at, event, took, stats), in time order.
    let mut rows: Vec<(f64, String, Option<f64>, Option<InstanceStats>)> = Vec::new();
    for t in &doc.transitions {
        let (took, stats) = match &t.states {
            (_, ActorState::Ready | ActorState::Failed(_)) => {
                (Some(doc.start.duration_ms), doc.start.stats)
            }
            (ActorState::Stopping, ActorState::Terminated) => {
                (Some(doc.stop.duration_ms), doc.stop.stats)
            }
            _ => (None, None),
        };
        rows.push((t.at_ms, format!("{} -> {}", t.from, t.to), took, stats));
    }
    if let Some(h) = &doc.health {
        let event = format!("health: {}", h.status);
        rows.push((ms(h.at), event, Some(h.duration_ms), h.stats));
    }
    for l in &doc.logs {
        rows.push((l.at_ms, format!("guest log: {}", l.message), None, None));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let time = |ms: f64| human_duration(Duration::from_secs_f64(ms.max(0.0) / 1e3));
    let mut table = super::table(
        ["at", "event", "took", "memory", "peak", "fuel used"],
        &[0, 2, 3, 4, 5],
    );
    for (at, event, took, stats) in rows {
        let figures = stats.map(|s| {
            [
                human_bytes(s.memory_bytes),
                human_bytes(s.peak_memory_bytes),
                s.fuel_consumed.to_string(),
            ]
        });
        let [mem, peak, fuel] = figures.unwrap_or_default();
        let took = took.map(time).unwrap_or_default();
        super::add_row(&mut table, [time(at), event, took, mem, peak, fuel]);
    }
    super::say_table(&table);
    say("");
    if let Some(h) = &doc.health
        && let Some(r) = &h.reason
    {
        say(format!("health    {}: {r}", h.status));
    }
    match doc.start.error {
        Some(e) => {
            say(format!("start failed: {}: {}", e.kind(), e.message()));
            for line in super::detail(e) {
                say(format!("  {line}"));
            }
            let denied = e.denied_imports();
            if !denied.is_empty() {
                let labels: Vec<String> = denied
                    .into_iter()
                    .map(|(m, n)| component_actor::import_label(m, n))
                    .collect();
                say(format!("  denied imports: {}", labels.join(", ")));
                say("  (`component-actor check` prints the manifest line that permits them)");
            }
        }
        None => {
            let cleanup = doc.stop.cleanup.unwrap_or("none");
            match doc.stop.cleanup_reason {
                Some(r) => say(format!("cleanup   {cleanup} ({r})")),
                None => say(format!("cleanup   {cleanup}")),
            }
            if let Some(e) = doc.stop.error {
                say(format!("stop failed: {}: {}", e.kind(), e.message()));
            }
            say(format!(
                "result    started; health {}; stopped ({}); cleanup {cleanup}",
                doc.health.as_ref().map(|h| h.status).unwrap_or("-"),
                doc.stop.state,
            ));
        }
    }
}
