//! Logging: `tracing` events go to stderr, filtered by `RUST_LOG` (default
//! `warn`; `error` for `suite` and `soak`, which provoke or repeat failures
//! on purpose and report them in their own output: a warning per fixture or
//! per cycle would bury it). While a progress bar is on screen, each log
//! line is written with the bar hidden, so the two do not garble each other. For `run`, a second layer records the actor's state transitions
//! and the guest's `host::log` lines, whatever `RUST_LOG` says, so they can be
//! printed with their times.
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

use indicatif::ProgressBar;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

/// The progress bar on screen, if any.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Registers (or with `None`, forgets) the progress bar log lines must not
/// garble.
pub fn set_progress_bar(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(PoisonError::into_inner) = bar;
}

/// Stderr, with the progress bar (if any) hidden while a line is written.
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
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

/// What the capture layer saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    /// An actor changed state.
    Transition {
        /// The state left (`Creating`).
        from: String,
        /// The state entered (`Starting`, or `Failed(reason)`).
        to: String,
    },
    /// The guest logged a line through `host::log`.
    GuestLog(String),
}

/// Events recorded since [`Capture::take`] was last called, each with when
/// it happened.
#[derive(Clone, Default)]
pub struct Capture {
    events: Arc<Mutex<Vec<(Instant, Captured)>>>,
}

impl Capture {
    /// Everything recorded so far, oldest first; the record is emptied.
    pub fn take(&self) -> Vec<(Instant, Captured)> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

impl Fields {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = Some(value),
            "from" => self.from = Some(value),
            "to" => self.to = Some(value),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let captured = if event.metadata().target() == "component_actor::guest" {
            Captured::GuestLog(fields.message.unwrap_or_default())
        } else {
            match (fields.message.as_deref(), fields.from, fields.to) {
                (Some("state transition"), Some(from), Some(to)) => {
                    Captured::Transition { from, to }
                }
                _ => return,
            }
        };
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Instant::now(), captured));
    }
}

/// Installs the stderr logger, filtered by `RUST_LOG` or else `default`,
/// and, when `capture` is true, the capture layer (returned). An unparsable
/// `RUST_LOG` falls back to `default` with a note on stderr.
pub fn init(default: &str, capture: bool) -> Option<Capture> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: ignoring RUST_LOG={spec:?} ({e}); logging at {default}");
            EnvFilter::new(default)
        }),
        _ => EnvFilter::new(default),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .fmt_fields(EscapedFields)
        .with_writer(|| BarAwareStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let recorder = capture.then(Capture::default);
    let layer = recorder.clone().map(|c| {
        c.with_filter(
            Targets::new()
                .with_target("component_actor::actor", Level::INFO)
                .with_target("component_actor::guest", Level::INFO),
        )
    });
    // `try_init` fails only if a subscriber is already set; the CLI sets one.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(layer)
        .try_init();
    recorder
}
