//! Logging: `tracing` events go to stderr, filtered by `RUST_LOG` (default
//! `warn`; `error` for `suite` and `soak`, which provoke or repeat failures
//! on purpose and report them in their own output: a warning per fixture or
//! per cycle would bury it). Each log line is written through the
//! [`MultiProgress`] the progress bars are drawn on, so a line and a bar do
//! not garble each other. For `run`, a second layer, the [`Timeline`],
//! records the actor's state transitions (as [`ActorState`]s, from the
//! event's `from` and `to` fields) and the guest's `host::log` lines,
//! whatever `RUST_LOG` says, so they can be printed with their times.
//!
//! Every field of a stderr log line (the message and each `name=value`) is
//! shown through [`super::escape`]: guest text (a `host::log` line, an
//! error quoting an import name) cannot break the line, forge another one or
//! drive the terminal. What the capture layer records stays exact, for the
//! JSON.

use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use component_actor::ActorState;
use indicatif::MultiProgress;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

/// Stderr, written with the progress bars (if any) hidden meanwhile.
#[derive(Clone)]
struct BarAwareStderr(MultiProgress);

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The stderr layer's field formatter: the message as is, every other field
/// as `name=value`, separated by spaces (as tracing's default), each escaped.
/// Fields from the `log` crate bridge (`log.target`, ...) are already in the
/// line's target and skipped, as tracing's default formatter does.
struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            result: Ok(()),
            first: true,
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    result: fmt::Result,
    first: bool,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let gap = if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        };
        let value = super::escape(value);
        self.result = match name {
            "message" => write!(self.writer, "{gap}{value}"),
            name => write!(
                self.writer,
                "{gap}{}={value}",
                name.strip_prefix("r#").unwrap_or(name)
            ),
        };
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, &format!("{value:?}"));
    }
}

/// What the timeline layer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// An actor changed state.
    Transition {
        /// The state left.
        from: ActorState,
        /// The state entered.
        to: ActorState,
    },
    /// The guest logged a line through `host::log`.
    GuestLog(String),
}

/// A `tracing` layer recording state transitions and guest log lines,
/// each with when it happened.
#[derive(Clone, Default)]
pub struct Timeline {
    events: Arc<Mutex<Vec<(Instant, Seen)>>>,
}

impl Timeline {
    /// Everything recorded so far, oldest first; the record is emptied.
    pub fn take(&self) -> Vec<(Instant, Seen)> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The fields the timeline reads.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "from" => &mut self.from,
            "to" => &mut self.to,
            _ => return,
        };
        *slot = Some(format!("{value:?}"));
    }
}

/// The state whose `Display` text is `text` (`Ready`, `Failed(reason)`).
fn state(text: &str) -> Option<ActorState> {
    use ActorState::*;
    let failed = Failed(String::new());
    [Creating, Starting, Ready, Stopping, Terminated]
        .into_iter()
        .find(|s| s.to_string() == text)
        .or_else(|| {
            let reason = text.strip_prefix(failed.name())?.strip_prefix('(')?;
            Some(Failed(reason.strip_suffix(')')?.to_string()))
        })
}

impl<S: Subscriber> Layer<S> for Timeline {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let seen = if event.metadata().target() == GUEST_TARGET {
            Seen::GuestLog(fields.message.unwrap_or_default())
        } else {
            // A transition is the actor's event with a `from` and a `to` state.
            let (Some(from), Some(to)) = (fields.from, fields.to) else {
                return;
            };
            let (Some(from), Some(to)) = (state(&from), state(&to)) else {
                return;
            };
            Seen::Transition { from, to }
        };
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Instant::now(), seen));
    }
}

/// The target of the guest's `host::log` lines.
const GUEST_TARGET: &str = "component_actor::guest";

/// Installs the stderr logger, filtered by `RUST_LOG` or else `default` and
/// written around the bars of `bars`, and, when `timeline` is true, the
/// [`Timeline`] layer (returned). An unparsable `RUST_LOG` falls back to
/// `default` with a note on stderr.
pub fn init(default: &str, bars: MultiProgress, timeline: bool) -> Option<Timeline> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: ignoring RUST_LOG={spec:?} ({e}); logging at {default}");
            EnvFilter::new(default)
        }),
        _ => EnvFilter::new(default),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .fmt_fields(EscapedFields)
        .with_writer(move || BarAwareStderr(bars.clone()))
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let recorder = timeline.then(Timeline::default);
    let layer = recorder.clone().map(|t| {
        t.with_filter(
            Targets::new()
                .with_target("component_actor::actor", Level::INFO)
                .with_target(GUEST_TARGET, Level::INFO),
        )
    });
    // `try_init` fails only if a subscriber is already set; the CLI sets one.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(layer)
        .try_init();
    recorder
}
