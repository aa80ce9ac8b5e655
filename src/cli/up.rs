//! `component-actor up TREE.toml`: build the supervision tree a TOML file
//! declares, start it and keep it running, showing each child's state live,
//! until Ctrl-C, SIGTERM or `--for-ms`; then stop it (children in reverse
//! order, each within its shutdown) and print the final states. With
//! `--message PATH=TEXT` (repeatable), each TEXT is sent to the actor at
//! PATH once the tree is running, and its answer printed.
//!
//! On a terminal the live view is one line per child, redrawn in place
//! (indicatif bars on the shared [`MultiProgress`]); off a terminal it is
//! one plain line per event on stderr. `--json` writes JSON lines on
//! stdout: one per event, one per message answer, and a last one with the
//! final status and every child's report.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Address, ChildReport, ComponentError, EventKind, Runtime, Supervisor,
    SupervisorEvent, SupervisorSpec, SupervisorStatus,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::run::{MessageDoc, answer};
use super::{BadInput, Exit, SCHEMA_VERSION, escape, human_duration, ms, say};

/// The longest `--for-ms` (seven days).
const MAX_FOR_MS: u64 = 7 * 24 * 3_600_000;

/// How often the live view is redrawn between events.
const TICK: Duration = Duration::from_millis(200);

/// How long the answers of messages still in flight are waited for once
/// the tree is down (a stopped actor answers at once).
const LAST_ANSWERS: Duration = Duration::from_secs(1);

/// How long a `--message` waits for its actor to be restarted.
const RESTART_WAIT: Duration = Duration::from_secs(2);

/// The label of the root supervisor (whose event path is `""`).
const ROOT: &str = "(root)";

/// The arguments of `up`.
#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// The supervision tree (TOML; the format is in docs/cli.md).
    #[arg(value_name = "TREE.toml")]
    pub tree: PathBuf,
    /// Stop MS milliseconds after the tree is running, as Ctrl-C does
    /// (0..=604800000) [default: run until Ctrl-C or SIGTERM]
    #[arg(long = "for-ms", value_name = "MS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_FOR_MS),
          allow_negative_numbers = true)]
    pub for_ms: Option<u64>,
    /// Once the tree is running, send TEXT (as UTF-8 bytes) to the actor at
    /// PATH (`counter`, `pipeline/source`) and print its answer; repeatable,
    /// sent one after another in the order given (one to an actor that is
    /// down, after a trap, waits up to 2 s for its restart). A failed
    /// message does not change the exit code (the supervisors handle it).
    #[arg(long = "message", value_name = "PATH=TEXT", value_parser = parse_message)]
    pub messages: Vec<MessageArg>,
}

/// One `--message PATH=TEXT`.
#[derive(Debug, Clone)]
pub struct MessageArg {
    path: String,
    text: String,
}

fn parse_message(arg: &str) -> Result<MessageArg, String> {
    match arg.split_once('=') {
        Some((path, text)) if !path.is_empty() => Ok(MessageArg {
            path: path.to_string(),
            text: text.to_string(),
        }),
        _ => {
            Err("expected PATH=TEXT, PATH an actor's path in the tree (pipeline/source=hi)".into())
        }
    }
}

/// One JSON line per event.
#[derive(Serialize)]
struct EventLine<'a> {
    schema_version: u32,
    event: &'a SupervisorEvent,
    /// When the supervisor saw it or made it happen, since the tree was
    /// built.
    at_ms: f64,
}

/// One JSON line per `--message` answer.
#[derive(Serialize)]
struct MessageLine<'a> {
    schema_version: u32,
    message: &'a Answer,
}

/// A `--message` and its answer: the actor's path and a `run --message`
/// answer.
#[derive(Serialize)]
struct Answer {
    path: String,
    #[serde(flatten)]
    doc: MessageDoc,
}

/// The last JSON line.
#[derive(Serialize)]
struct FinalLine<'a> {
    schema_version: u32,
    command: &'static str,
    tree: String,
    /// `Stopped` or `Failed`.
    status: &'static str,
    /// Why it failed; `null` when stopped.
    reason: Option<&'a str>,
    /// `SIGINT`, `SIGTERM` or `for-ms`; `null` when the tree did not start
    /// or gave up.
    stopped_by: Option<&'static str>,
    elapsed_ms: f64,
    children: &'a [ChildReport],
    /// The start error when the tree did not start.
    error: Option<&'a ComponentError>,
    exit_code: Exit,
}

/// Runs the tree until it is asked to stop or gives up.
///
/// # Errors
///
/// [`BadInput`] if the tree file is missing, unreadable or invalid (a bad
/// manifest in it too), or a `--message` names no actor of the tree.
pub fn main(args: &UpArgs, json: bool, bars: &MultiProgress) -> Result<Exit, BadInput> {
    super::require_file(&args.tree, "supervision tree")?;
    let spec = SupervisorSpec::from_file(&args.tree).map_err(|e| bad_tree(&args.tree, &e))?;
    let runtime = super::runtime()?;
    let rt = super::tokio_current_thread()?;
    rt.block_on(up(&runtime, spec, args, json, bars))
}

/// A tree file's error as bad input: its own errors name the tree, a
/// manifest's the manifest.
fn bad_tree(path: &Path, e: &ComponentError) -> BadInput {
    use component_actor::ErrorKind;
    match e.kind() {
        ErrorKind::Manifest if e.component() == "<supervision tree>" => BadInput::new(
            e.kind().as_str(),
            format!("invalid supervision tree {}", e.message()),
        ),
        ErrorKind::Config => BadInput::new(
            e.kind().as_str(),
            format!(
                "invalid supervision tree {}: {}",
                path.display(),
                e.message()
            ),
        ),
        _ => BadInput::from_error(e),
    }
}

/// Why the running tree ended.
enum End {
    /// A signal or `--for-ms`: stop it.
    Asked(&'static str),
    /// It went down on its own (gave up).
    Down,
}

async fn up(
    runtime: &Runtime,
    spec: SupervisorSpec,
    args: &UpArgs,
    json: bool,
    bars: &MultiProgress,
) -> Result<Exit, BadInput> {
    let (events_to, mut events) = mpsc::unbounded_channel();
    let tree =
        Supervisor::with_events(runtime, spec, events_to).map_err(|e| bad_tree(&args.tree, &e))?;
    let targets = args
        .messages
        .iter()
        .map(|m| match tree.address(&m.path) {
            Some(address) => Ok((address, m.clone())),
            None => {
                let actors: Vec<String> = tree
                    .children()
                    .into_iter()
                    .filter(|c| !c.supervisor)
                    .map(|c| c.path)
                    .collect();
                Err(BadInput::usage(format!(
                    "--message: no actor at `{}` in {} (its actors: {})",
                    m.path,
                    args.tree.display(),
                    actors.join(", ")
                )))
            }
        })
        .collect::<Result<Vec<_>, BadInput>>()?;
    // Listening before the start: a signal during it is then handled
    // (once the start is over) instead of killing the process.
    let mut signals =
        Signals::new().map_err(|e| BadInput::usage(format!("cannot listen for signals: {e}")))?;
    let t0 = Instant::now();
    let mut view = View::new(&tree, &args.tree, json, bars, t0);

    let started = tree.start().await;
    view.drain(&mut events, &tree);
    if let Err(e) = started {
        view.finish();
        let status = tree.status();
        eprintln!("error: {}", escape(&format!("the tree did not start: {e}")));
        view.report(&tree, &status, None, Some(&e), Exit::ModuleFailed);
        return Ok(Exit::ModuleFailed);
    }

    let (down_to, down) = watch::channel(false);
    let mut answers = send_messages(targets, down, t0);
    let for_ms = tokio::time::sleep(Duration::from_millis(args.for_ms.unwrap_or(0)));
    tokio::pin!(for_ms);
    let mut tick = tokio::time::interval(TICK);
    let end = loop {
        tokio::select! {
            Some(event) = events.recv() => view.event(&event, &tree),
            Some(answer) = answers.recv() => view.answer(&answer),
            _ = tick.tick() => view.refresh(&tree),
            signal = signals.recv() => break End::Asked(signal),
            () = &mut for_ms, if args.for_ms.is_some() => break End::Asked("for-ms"),
            _ = tree.wait() => break End::Down,
        }
    };
    if let End::Asked(_) = end {
        // Still drawing the events of the stop as they come.
        let stop = tree.stop();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                Some(event) = events.recv() => view.event(&event, &tree),
            }
        }
    }
    view.drain(&mut events, &tree);
    down_to.send_replace(true);
    let until = tokio::time::Instant::now() + LAST_ANSWERS;
    while let Ok(Some(answer)) = tokio::time::timeout_at(until, answers.recv()).await {
        view.answer(&answer);
    }
    view.finish();

    // A stop that came while the root was giving up leaves it Stopped:
    // its GaveUp event still says it failed.
    let status = match view.gave_up.take() {
        Some(reason) => SupervisorStatus::Failed(reason),
        None => tree.status(),
    };
    let (exit, stopped_by) = match (&status, end) {
        (SupervisorStatus::Failed(reason), _) => {
            eprintln!(
                "error: {}",
                escape(&format!("the supervisor gave up: {reason}"))
            );
            (Exit::ModuleFailed, None)
        }
        (_, End::Asked(by)) => (Exit::Success, Some(by)),
        (_, End::Down) => (Exit::Success, None),
    };
    view.report(&tree, &status, stopped_by, None, exit);
    Ok(exit)
}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from when it is made.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        Ok(Self {})
    }

    /// Waits for the next one; returns its name.
    #[cfg(unix)]
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> &'static str {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        "SIGINT"
    }
}

/// Sends each message in order from a task of its own (so the view stays
/// live while an actor works), each waiting for its answer; the answers
/// come out of the receiver, which closes after the last.
fn send_messages(
    targets: Vec<(Address, MessageArg)>,
    down: watch::Receiver<bool>,
    t0: Instant,
) -> mpsc::UnboundedReceiver<Answer> {
    let (to, from) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for (address, m) in targets {
            wait_until_running(&address, &down).await;
            let at = t0.elapsed();
            let t = Instant::now();
            let result = address.request(m.text.clone().into_bytes()).await;
            let doc = answer(&m.text, result, at, t.elapsed());
            if to.send(Answer { path: m.path, doc }).is_err() {
                return;
            }
        }
    });
    from
}

/// Waits (up to [`RESTART_WAIT`], and not once the tree is `down`) while
/// the actor is down, as it is until its supervisor restarts it after a
/// trap (of the previous message, say): a message to it meanwhile would be
/// refused. One that is Starting is not waited for: its mailbox keeps the
/// message until it is Ready.
async fn wait_until_running(address: &Address, down: &watch::Receiver<bool>) {
    let actor_down = || {
        matches!(
            address.state(),
            ActorState::Failed(_) | ActorState::Stopping | ActorState::Terminated
        )
    };
    let t = Instant::now();
    while actor_down() && !*down.borrow() && t.elapsed() < RESTART_WAIT {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What the user sees while the tree runs, and the report at the end.
struct View {
    json: bool,
    live: Live,
    tree_file: String,
    t0: Instant,
    /// The reason of the root's `GaveUp` event, if it gave up.
    gave_up: Option<String>,
}

enum Live {
    /// A terminal: a line for the root, then one per child, redrawn in place.
    Bars {
        multi: MultiProgress,
        root: ProgressBar,
        children: Vec<ProgressBar>,
        width: usize,
    },
    /// Not a terminal: one line per event on stderr.
    Plain,
    /// Not a terminal, under `--json`: the events are on stdout already.
    Quiet,
}

impl View {
    fn new(tree: &Supervisor, file: &Path, json: bool, bars: &MultiProgress, t0: Instant) -> Self {
        let live = if std::io::stderr().is_terminal() {
            let line = |template| {
                let style = ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bars.add(ProgressBar::new_spinner().with_style(style))
            };
            let reports = tree.children();
            Live::Bars {
                multi: bars.clone(),
                root: line("{spinner} {wide_msg}"),
                children: reports.iter().map(|_| line("  {wide_msg}")).collect(),
                width: reports.iter().map(|c| c.path.len()).max().unwrap_or(0),
            }
        } else if json {
            Live::Quiet
        } else {
            Live::Plain
        };
        let view = Self {
            json,
            live,
            tree_file: file.display().to_string(),
            t0,
            gave_up: None,
        };
        view.refresh(tree);
        view
    }

    /// Writes to stdout with the bars (if any) out of the way.
    fn out(&self, write: impl FnOnce()) {
        match &self.live {
            Live::Bars { multi, .. } => multi.suspend(write),
            _ => write(),
        }
    }

    fn event(&mut self, event: &SupervisorEvent, tree: &Supervisor) {
        if let (true, EventKind::GaveUp { reason }) = (event.path.is_empty(), &event.what) {
            self.gave_up = Some(reason.clone());
        }
        if self.json {
            let line = EventLine {
                schema_version: SCHEMA_VERSION,
                event,
                at_ms: ms(event.at.saturating_duration_since(self.t0)),
            };
            self.out(|| super::print_json_line(&line));
        }
        match self.live {
            Live::Bars { .. } => self.refresh(tree),
            Live::Plain => eprintln!("up: {}", escape(&describe(event))),
            Live::Quiet => {}
        }
    }

    /// Shows every event already sent.
    fn drain(&mut self, events: &mut mpsc::UnboundedReceiver<SupervisorEvent>, tree: &Supervisor) {
        while let Ok(event) = events.try_recv() {
            self.event(&event, tree);
        }
    }

    fn answer(&self, a: &Answer) {
        if self.json {
            let line = MessageLine {
                schema_version: SCHEMA_VERSION,
                message: a,
            };
            self.out(|| super::print_json_line(&line));
            return;
        }
        let sent = format!("message {} \"{}\"", a.path, a.doc.message);
        let line = match (&a.doc.reply, &a.doc.error) {
            (_, Some(e)) => format!("{sent} failed: {}: {}", e.kind(), e.message()),
            (reply, None) => format!("{sent} -> \"{}\"", reply.as_deref().unwrap_or("")),
        };
        self.out(|| say(line));
    }

    /// Redraws the live lines (a terminal only).
    fn refresh(&self, tree: &Supervisor) {
        let Live::Bars {
            root,
            children,
            width,
            ..
        } = &self.live
        else {
            return;
        };
        root.set_message(format!(
            "{}  {}  {}s",
            escape(&self.tree_file),
            tree.status().name(),
            self.t0.elapsed().as_secs()
        ));
        root.tick();
        for (bar, c) in children.iter().zip(tree.children()) {
            let last = c
                .last_exit
                .as_deref()
                .map(|e| format!("  last exit: {}", escape(e)))
                .unwrap_or_default();
            bar.set_message(format!(
                "{:<width$}  {:<10}  restarts {}{last}",
                escape(&c.path),
                c.state,
                c.restarts,
            ));
        }
    }

    /// Removes the live lines.
    fn finish(&self) {
        if let Live::Bars { root, children, .. } = &self.live {
            root.finish_and_clear();
            for bar in children {
                bar.finish_and_clear();
            }
        }
    }

    /// The final states: a table on stdout, or the last JSON line.
    fn report(
        &self,
        tree: &Supervisor,
        status: &SupervisorStatus,
        stopped_by: Option<&'static str>,
        error: Option<&ComponentError>,
        exit: Exit,
    ) {
        let children = tree.children();
        let elapsed = self.t0.elapsed();
        let reason = match status {
            SupervisorStatus::Failed(r) => Some(r.as_str()),
            _ => None,
        };
        if self.json {
            super::print_json_line(&FinalLine {
                schema_version: SCHEMA_VERSION,
                command: "up",
                tree: self.tree_file.clone(),
                status: status.name(),
                reason,
                stopped_by,
                elapsed_ms: ms(elapsed),
                children: &children,
                error,
                exit_code: exit,
            });
            return;
        }
        if error.is_some() {
            // The start error is the one line on stderr.
            return;
        }
        let how = match (reason, stopped_by) {
            (Some(_), _) => "gave up".to_string(),
            (None, Some("for-ms")) => "stopped (--for-ms)".to_string(),
            (None, Some(signal)) => format!("stopped ({signal})"),
            (None, None) => status.name().to_string(),
        };
        say(format!(
            "up {}: {how} after {}",
            self.tree_file,
            human_duration(Duration::from_millis(elapsed.as_millis() as u64))
        ));
        let mut table = super::table(["path", "state", "restarts", "last exit"], &[2]);
        for c in children {
            super::add_row(
                &mut table,
                [
                    c.path,
                    c.state.to_string(),
                    c.restarts.to_string(),
                    c.last_exit.unwrap_or_default(),
                ],
            );
        }
        super::say_table(&table);
    }
}

/// An event as one line of text: `counter: Restarting (restart 1)`.
fn describe(event: &SupervisorEvent) -> String {
    let path = if event.path.is_empty() {
        ROOT
    } else {
        &event.path
    };
    let what = match &event.what {
        EventKind::Started => "Started".to_string(),
        EventKind::Exited { abnormal: None } => "Exited normally".to_string(),
        EventKind::Exited {
            abnormal: Some(reason),
        } => format!("Exited: {reason}"),
        EventKind::Unhealthy {
            consecutive,
            health,
        } => format!("Unhealthy ({consecutive} in a row): {health}"),
        EventKind::Restarting { restarts } => format!("Restarting (restart {restarts})"),
        EventKind::StartFailed {
            kind,
            permanent,
            error,
        } => format!(
            "StartFailed: {kind}{}: {error}",
            if *permanent { " (permanent)" } else { "" }
        ),
        EventKind::GaveUp { reason } => format!("GaveUp: {reason}"),
        EventKind::Stopped => "Stopped".to_string(),
    };
    format!("{path}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_path_equals_text() {
        let m = parse_message("pipeline/source=a=b").unwrap();
        assert_eq!(
            (m.path.as_str(), m.text.as_str()),
            ("pipeline/source", "a=b")
        );
        let m = parse_message("counter=").unwrap();
        assert_eq!((m.path.as_str(), m.text.as_str()), ("counter", ""));
        assert!(parse_message("=text").is_err());
        assert!(parse_message("no-equals").is_err());
    }

    #[test]
    fn events_read_as_one_line() {
        let event = |path: &str, what| SupervisorEvent {
            path: path.into(),
            what,
            at: Instant::now(),
        };
        assert_eq!(describe(&event("", EventKind::Started)), "(root): Started");
        assert_eq!(
            describe(&event("a/b", EventKind::Restarting { restarts: 2 })),
            "a/b: Restarting (restart 2)"
        );
        assert_eq!(
            describe(&event(
                "a",
                EventKind::Exited {
                    abnormal: Some("trap".into())
                }
            )),
            "a: Exited: trap"
        );
    }
}
