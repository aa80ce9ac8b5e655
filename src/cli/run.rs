//! `component-actor run FILE`: start, health check, stop, with each
//! transition's time, memory, fuel and the cleanup outcome; under a
//! manifest with `[wasi]`, what the guest wrote to stdout and stderr and
//! its exit code; with `--invoke NAME [ARGS...]`, one call of an export
//! between the start and the health check; with `--message TEXT`
//! (repeatable), the started actor spawned into its task and each message
//! sent through its [`Address`](component_actor::Address), in order, before
//! the health check and the stop (both then through the address too).

use std::time::{Duration, Instant};

use component_actor::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentError,
    ComponentManifest, ComponentSource, ErrorKind, InstanceStats, Val, WasiOutput,
};
use serde::Serialize;
use tokio::runtime::Runtime as Tokio;

use super::logs::{Seen, Timeline};
use super::{BadInput, Exit, ModuleArgs, ModuleHeader, human_bytes, human_duration, ms, say};

/// `--invoke NAME [ARGS...]`: call one export of the started module.
///
/// ARGS are positional, after FILE, so options may come anywhere:
/// `run f.wasm --invoke divide 1 0 --json` and `run f.wasm --json --invoke
/// divide 1 0` are the same. A negative number is an ARG (`--invoke f -5`);
/// anything else starting with `-` (`-inf`, `-5:i64`) goes after `--`:
/// `run f.wasm --invoke f -- -inf -5:i64`.
#[derive(clap::Args, Debug)]
pub struct InvokeArgs {
    /// After a successful start, and before the health check and the stop,
    /// call export NAME with ARGS; a failed call exits 1.
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,
    /// The arguments of --invoke, each an integer (i32 if it fits, else
    /// i64), a decimal number, `inf` or `nan` (f64), or any of them with a
    /// type suffix: `42:i64`, `1.5:f32`, `7:i32`, `2:f64` (`:i32` takes
    /// up to 4294967295 and `:i64` up to 18446744073709551615 as bit patterns).
    #[arg(
        value_name = "ARGS",
        requires = "invoke",
        allow_negative_numbers = true
    )]
    pub invoke_args: Vec<String>,
}

/// `--message TEXT`: messages for the started actor.
#[derive(clap::Args, Debug)]
pub struct MessageArgs {
    /// After a successful start, spawn the actor into its own task and send
    /// it TEXT (as UTF-8 bytes) through its mailbox, waiting for the reply;
    /// repeatable, sent one after another in the order given (the health
    /// check and the stop then go through the actor's address too). Exit
    /// code 1 when any message is answered with an error. A TEXT starting
    /// with `-` is written `--message=-TEXT`. Not with --invoke.
    #[arg(long = "message", value_name = "TEXT", conflicts_with = "invoke")]
    pub messages: Vec<String>,
}

/// The `run --json` document.
///
/// `wasi` is `null` unless the manifest has a `[wasi]` table; then it is
/// what the guest wrote (stdout and stderr as lossy UTF-8 text, each
/// flagged when output past `max_output_bytes` was dropped) and its
/// `proc_exit` code (`null` when it never called `proc_exit`), from the
/// start and every guest call after it. `invoke` is `null` unless
/// `--invoke` was given and the start succeeded (otherwise nothing was
/// called). `messages` is `null` unless `--message` was given and the start
/// succeeded; then one [`MessageDoc`] per message, in the order sent.
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
    wasi: Option<WasiDoc>,
    invoke: Option<Invoke>,
    messages: Option<Vec<MessageDoc>>,
    exit_code: Exit,
}

/// One `--message` and its answer: the reply as (lossy UTF-8) text and as
/// its exact bytes in lowercase hex, two digits a byte (`"70696e67"`; hex as
/// a `v128` value is), or the typed error (`reply` and `reply_hex` then
/// `null`).
///
/// `up --message` reports its answers in the same shape.
#[derive(Serialize)]
pub(super) struct MessageDoc {
    pub(super) message: String,
    ok: bool,
    pub(super) reply: Option<String>,
    reply_hex: Option<String>,
    pub(super) error: Option<ComponentError>,
    duration_ms: f64,
    #[serde(skip)]
    at: Duration,
}

/// [`WasiOutput`] in JSON: the bytes as (lossy UTF-8) text.
#[derive(Serialize)]
struct WasiDoc {
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    stdout_truncated: bool,
    stderr_truncated: bool,
}

impl From<WasiOutput> for WasiDoc {
    fn from(out: WasiOutput) -> Self {
        // Destructured, not read field by field: a field added to
        // `WasiOutput` fails to compile here until the document has it.
        let WasiOutput {
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            exit_code,
        } = out;
        Self {
            exit_code,
            stdout: text(stdout),
            stderr: text(stderr),
            stdout_truncated,
            stderr_truncated,
        }
    }
}

/// Guest bytes as text for a report: exact when they are UTF-8, else with
/// each invalid sequence replaced by U+FFFD.
fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The `--invoke` call: what was called with what, and what came back.
#[derive(Serialize)]
struct Invoke {
    name: String,
    args: Vec<Value>,
    ok: bool,
    results: Vec<Value>,
    error: Option<ComponentError>,
    duration_ms: f64,
    #[serde(skip)]
    at: Duration,
    #[serde(skip)]
    stats: Option<InstanceStats>,
}

/// One WebAssembly value in a report: its type and its value (a JSON
/// number for integers and finite floats; `"NaN"`, `"inf"`, `"-inf"` for
/// the others, a hex string for a v128, `null` or `"non-null"` for a reference).
#[derive(Serialize)]
struct Value {
    #[serde(rename = "type")]
    ty: &'static str,
    value: Number,
    #[serde(skip)]
    text: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Number {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Null,
}

impl Value {
    fn of(v: &Val) -> Self {
        let float = |x: f64, n: Number| {
            if x.is_finite() {
                n
            } else {
                Number::Text(format!("{x:?}"))
            }
        };
        let reference = |ty, present: bool| {
            let (value, text) = if present {
                (Number::Text("non-null".into()), "non-null")
            } else {
                (Number::Null, "null")
            };
            Self {
                ty,
                value,
                text: text.into(),
            }
        };
        let (ty, value, text) = match v {
            Val::I32(x) => ("i32", Number::I32(*x), x.to_string()),
            Val::I64(x) => ("i64", Number::I64(*x), x.to_string()),
            Val::F32(bits) => {
                let x = f32::from_bits(*bits);
                ("f32", float(f64::from(x), Number::F32(x)), format!("{x:?}"))
            }
            Val::F64(bits) => {
                let x = f64::from_bits(*bits);
                ("f64", float(x, Number::F64(x)), format!("{x:?}"))
            }
            Val::V128(x) => {
                let hex = format!("0x{:032x}", x.as_u128());
                ("v128", Number::Text(hex.clone()), hex)
            }
            Val::FuncRef(f) => return reference("funcref", f.is_some()),
            Val::ExternRef(r) => return reference("externref", r.is_some()),
            Val::AnyRef(r) => return reference("anyref", r.is_some()),
            Val::ExnRef(r) => return reference("exnref", r.is_some()),
            _ => return reference("ref", true),
        };
        Self { ty, value, text }
    }

    /// `i32 42`, as the text output shows it.
    fn show(&self) -> String {
        format!("{} {}", self.ty, self.text)
    }
}

/// Parses one `--invoke` argument (see [`InvokeArgs::invoke_args`]).
///
/// # Errors
///
/// A usage error naming the argument.
fn parse_arg(arg: &str) -> Result<Val, BadInput> {
    let bad = |why: &str| {
        BadInput::usage(format!(
            "invalid --invoke argument '{arg}': {why} (an integer, a decimal number, inf or nan, optionally with :i32, :i64, :f32 or :f64)"
        ))
    };
    let (num, ty) = match arg.rsplit_once(':') {
        Some((num, ty)) => (num, Some(ty)),
        None => (arg, None),
    };
    let integer = {
        let digits = num.strip_prefix(['+', '-']).unwrap_or(num);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let int = |lo: i128, hi: i128, what: &str| {
        num.parse::<i128>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| bad(&format!("out of range for {what}")))
    };
    let float = || num.parse::<f64>().map_err(|_| bad("not a number"));
    match ty {
        None if integer => {
            let v = int(i64::MIN.into(), i64::MAX.into(), "i64")?;
            // `v` is within i64 here, and within i32 when it fits.
            Ok(i32::try_from(v).map_or(Val::I64(v as i64), Val::I32))
        }
        None => float().map(|x| Val::F64(x.to_bits())),
        Some("i32") if integer => Ok(Val::I32(
            int(i32::MIN.into(), u32::MAX.into(), "i32")? as i32
        )),
        Some("i64") if integer => Ok(Val::I64(
            int(i64::MIN.into(), u64::MAX.into(), "i64")? as i64
        )),
        Some("i32" | "i64") => Err(bad("not an integer")),
        Some("f32") => num
            .parse::<f32>()
            .map(|x| Val::F32(x.to_bits()))
            .map_err(|_| bad("not a number")),
        Some("f64") => float().map(|x| Val::F64(x.to_bits())),
        Some(other) => Err(bad(&format!("unknown type suffix ':{other}'"))),
    }
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
/// [`BadInput`] if the module file or the manifest cannot be used, or an
/// `--invoke` argument cannot be parsed (checked before anything runs).
pub fn main(
    args: &ModuleArgs,
    invoke: &InvokeArgs,
    messages: &MessageArgs,
    stop_timeout: Duration,
    json: bool,
    timeline: Option<Timeline>,
) -> Result<Exit, BadInput> {
    let params = invoke
        .invoke_args
        .iter()
        .map(|a| parse_arg(a))
        .collect::<Result<Vec<Val>, BadInput>>()?;
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
    let invoked = invoke
        .invoke
        .as_deref()
        .filter(|_| started.is_ok())
        .map(|name| {
            let at = t0.elapsed();
            let t = Instant::now();
            let result = rt.block_on(actor.call(name, &params));
            let duration_ms = ms(t.elapsed());
            let (results, error) = match result {
                Ok(values) => (values.iter().map(Value::of).collect(), None),
                Err(e) => (Vec::new(), Some(e)),
            };
            Invoke {
                name: name.to_string(),
                args: params.iter().map(Value::of).collect(),
                ok: error.is_none(),
                results,
                error,
                duration_ms,
                at,
                stats: actor.stats(),
            }
        });
    // With --message the actor moves into its task; its handle still
    // reads the cleanup outcome and the WASI output.
    let (health, stopped, stop_time, end) = if started.is_ok() && !messages.messages.is_empty() {
        let handle = actor.handle();
        let (health, stopped, stop_time, sent, state) =
            send_messages(&rt, actor, &messages.messages, t0, stop_timeout);
        (
            health,
            stopped,
            stop_time,
            End {
                cleanup: handle.last_cleanup(),
                state,
                stats: None,
                wasi: handle.wasi_output(),
                messages: Some(sent),
            },
        )
    } else {
        let health = started.is_ok().then(|| {
            let at = t0.elapsed();
            let t = Instant::now();
            let (status, reason) = health_of(rt.block_on(actor.health_check()));
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
        (
            health,
            stopped,
            stop_time,
            End {
                cleanup: actor.last_cleanup(),
                state: actor.state(),
                stats: actor.stats().filter(|_| started.is_ok()),
                // Read after the stop: everything the start and the calls wrote.
                wasi: actor.wasi_output(),
                messages: None,
            },
        )
    };
    let cleanup = end.cleanup;

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

    let exit = Exit::from_ok(
        started.is_ok()
            && invoked.as_ref().is_none_or(|i| i.ok)
            && end.messages.iter().flatten().all(|m| m.ok),
    );
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
            state: end.state.name(),
            stats: end.stats,
        },
        transitions,
        logs,
        wasi: manifest
            .wasi()
            .map(|_| WasiDoc::from(end.wasi.unwrap_or_default())),
        invoke: invoked,
        messages: end.messages,
        exit_code: exit,
    };
    if json {
        super::print_json(&doc);
    } else {
        print_text(&doc, &manifest, stop_timeout);
    }
    Ok(exit)
}

/// What is known of the actor after the stop.
struct End {
    /// `None` with --message: the outcome stays in the actor's task.
    cleanup: Option<CleanupOutcome>,
    state: ActorState,
    stats: Option<InstanceStats>,
    wasi: Option<WasiOutput>,
    messages: Option<Vec<MessageDoc>>,
}

/// A health check's status name and reason.
fn health_of(h: ChildHealth) -> (&'static str, Option<String>) {
    match h {
        ChildHealth::Healthy => ("Healthy", None),
        ChildHealth::Degraded(r) => ("Degraded", Some(r)),
        ChildHealth::Failed(r) => ("Failed", Some(r)),
    }
}

/// Spawns the started `actor` and, through its address, sends each of
/// `messages` in order (each waiting for its answer), checks its health
/// and stops it. Returns the health, the stop's result and time, each
/// message's answer and the state the actor ended in.
fn send_messages(
    rt: &Tokio,
    actor: ComponentActor,
    messages: &[String],
    t0: Instant,
    stop_timeout: Duration,
) -> (
    Option<Health>,
    Result<(), ComponentError>,
    Duration,
    Vec<MessageDoc>,
    ActorState,
) {
    rt.block_on(async {
        let address = match actor.spawn() {
            Ok(address) => address,
            // Only outside a tokio runtime, and this is inside one.
            Err(e) => {
                let sent = messages
                    .iter()
                    .map(|m| {
                        let e = ComponentError::new(e.component(), e.kind(), e.message());
                        answer(m, Err(e), t0.elapsed(), Duration::ZERO)
                    })
                    .collect();
                return (None, Ok(()), Duration::ZERO, sent, ActorState::Terminated);
            }
        };
        let mut sent = Vec::with_capacity(messages.len());
        for m in messages {
            let at = t0.elapsed();
            let t = Instant::now();
            let result = address.request(m.clone().into_bytes()).await;
            sent.push(answer(m, result, at, t.elapsed()));
        }
        let at = t0.elapsed();
        let t = Instant::now();
        let (status, reason) = health_of(address.health_check().await);
        let health = Health {
            status,
            reason,
            duration_ms: ms(t.elapsed()),
            stats: None,
            at,
        };
        let t = Instant::now();
        let stopped = address.stop(stop_timeout).await;
        let stop_time = t.elapsed();
        (Some(health), stopped, stop_time, sent, address.state())
    })
}

/// `message`'s answer as a [`MessageDoc`]: sent `at` (since the run
/// began), answered after `took`.
pub(super) fn answer(
    message: &str,
    result: Result<bytes::Bytes, ComponentError>,
    at: Duration,
    took: Duration,
) -> MessageDoc {
    let (reply, reply_hex, error) = match result {
        Ok(reply) => {
            let hex = reply.iter().fold(String::new(), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            });
            (Some(text(reply.to_vec())), Some(hex), None)
        }
        Err(e) => (None, None, Some(e)),
    };
    MessageDoc {
        message: message.to_string(),
        ok: error.is_none(),
        reply,
        reply_hex,
        error,
        duration_ms: ms(took),
        at,
    }
}

fn print_text(doc: &RunDoc, manifest: &ComponentManifest, stop_timeout: Duration) {
    doc.header.say_title(manifest);
    say(format!("  stop timeout {}", human_duration(stop_timeout)));
    say("");
    // (at, event, took, stats), in time order.
    let mut rows: Vec<(f64, String, Option<f64>, Option<InstanceStats>)> = Vec::new();
    for t in &doc.transitions {
        let (took, stats) = match &t.states {
            (ActorState::Starting, ActorState::Ready | ActorState::Failed(_)) => {
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
    if let Some(i) = &doc.invoke {
        let event = match &i.error {
            None => format!("invoke {}: ok", i.name),
            Some(e) => format!("invoke {}: {}", i.name, e.kind()),
        };
        rows.push((ms(i.at), event, Some(i.duration_ms), i.stats));
    }
    for (n, m) in doc.messages.iter().flatten().enumerate() {
        let event = match &m.error {
            None => format!("message {}: ok", n + 1),
            Some(e) => format!("message {}: {}", n + 1, e.kind()),
        };
        rows.push((ms(m.at), event, Some(m.duration_ms), None));
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
    if let Some(w) = &doc.wasi {
        say_stream("stdout", &w.stdout, w.stdout_truncated);
        say_stream("stderr", &w.stderr, w.stderr_truncated);
        match w.exit_code {
            Some(code) => say(format!("exit code {code} (proc_exit)")),
            None => say("exit code none (the guest did not call proc_exit)"),
        }
    }
    if let Some(i) = &doc.invoke {
        let args: Vec<String> = i.args.iter().map(Value::show).collect();
        let call = format!("invoke {}({})", i.name, args.join(", "));
        match &i.error {
            None => {
                let results: Vec<String> = i.results.iter().map(Value::show).collect();
                say(format!("{call} -> [{}]", results.join(", ")));
            }
            Some(e) => say(format!("{call} failed: {}: {}", e.kind(), e.message())),
        }
    }
    // Guest bytes as text, escaped by `say` as WASI output and guest logs are.
    for (n, m) in doc.messages.iter().flatten().enumerate() {
        let sent = format!("message {} \"{}\"", n + 1, m.message);
        match (&m.reply, &m.error) {
            (_, Some(e)) => say(format!("{sent} failed: {}: {}", e.kind(), e.message())),
            (reply, None) => say(format!("{sent} -> \"{}\"", reply.as_deref().unwrap_or(""))),
        }
    }
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
            let invoked = match &doc.invoke {
                Some(i) if i.ok => format!("; invoke {} ok", i.name),
                Some(i) => format!("; invoke {} FAILED", i.name),
                None => String::new(),
            };
            let messages = doc.messages.as_deref().unwrap_or_default();
            let failed = messages.iter().filter(|m| !m.ok).count();
            let invoked = match (messages.len(), failed) {
                (0, _) => invoked,
                (n, 0) => format!("{invoked}; {n} message{} answered", plural(n)),
                (n, f) => format!("{invoked}; {f} of {n} message{} FAILED", plural(n)),
            };
            say(format!(
                "result    started{invoked}; health {}; stopped ({}); cleanup {cleanup}",
                doc.health.as_ref().map(|h| h.status).unwrap_or("-"),
                doc.stop.state,
            ));
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A guest's stdout or stderr as a block: a heading with its size, then
/// each line indented, escaped by [`say`] as guest log text is.
fn say_stream(name: &str, text: &str, truncated: bool) {
    let cut = if truncated {
        " (truncated: output past max_output_bytes was dropped)"
    } else {
        ""
    };
    if text.is_empty() {
        say(format!("{name}    empty{cut}"));
        return;
    }
    // Split at line feeds only: a `\r` is guest text, shown escaped.
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').collect();
    say(format!(
        "{name}    {} line{}, {}{cut}",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        human_bytes(text.len() as u64)
    ));
    for line in lines {
        say(format!("  | {line}"));
    }
}
