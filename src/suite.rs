//! The conformance suite: fixtures that each declare their expected
//! lifecycle outcome in a header, run through start, health check and stop.
//!
//! A fixture is a `.wat` file (or a `.wasm` file, which has no header and is
//! expected to start, be healthy and stop). Header lines are comments at the
//! top of a `.wat` file:
//!
//! ```text
//! ;; @describe: what the fixture shows
//! ;; @expect-start: ok | <ErrorKind>            (required)
//! ;; @expect-health: healthy | degraded | failed
//! ;; @expect-cleanup: completed | not-exported | timed-out | trapped | poisoned
//! ;; @expect-denied: module::name, module::name
//! ;; @manifest: sidecar.toml                     (relative to the fixture)
//! ;; @source: file | binary | empty | truncate:N | magic:HEX
//! ;; @stop-timeout-ms: N                         (default 100)
//! ;; @expect-stdout: text                        (a WASI guest's stdout; \n \t \0 \\ \xHH)
//! ;; @message: text                              (sent after the start, in order; escapes as above)
//! ;; @expect-reply: text | error <ErrorKind>     (one per @message, after it)
//! ```
//!
//! Messages are handed to the actor one at a time after a successful
//! start ([`ComponentActor::handle_message`]), before the health check.
//!
//! `@source` turns one WAT file into a binary input: `binary` feeds the
//! compiled bytes through [`ComponentSource::from_bytes`], `truncate:N`
//! keeps the first N bytes, `magic:HEX` replaces the first bytes, and
//! `empty` feeds zero bytes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::{
    ActorState, Child, ChildHealth, CleanupOutcome, ComponentActor, ComponentError,
    ComponentManifest, ComponentSource, ErrorKind, Runtime,
};

/// A fixture file could not be read or its header is malformed.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// The fixture file.
    pub path: PathBuf,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for FixtureError {}

/// The health a fixture expects, without the reason.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthKind {
    /// [`ChildHealth::Healthy`].
    Healthy,
    /// [`ChildHealth::Degraded`].
    Degraded,
    /// [`ChildHealth::Failed`].
    Failed,
}

impl HealthKind {
    /// The kind of a health result.
    pub fn of(health: &ChildHealth) -> Self {
        match health {
            ChildHealth::Healthy => HealthKind::Healthy,
            ChildHealth::Degraded(_) => HealthKind::Degraded,
            ChildHealth::Failed(_) => HealthKind::Failed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            HealthKind::Healthy => "healthy",
            HealthKind::Degraded => "degraded",
            HealthKind::Failed => "failed",
        }
    }
}

impl FromStr for HealthKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "healthy" => Ok(HealthKind::Healthy),
            "degraded" => Ok(HealthKind::Degraded),
            "failed" => Ok(HealthKind::Failed),
            _ => Err(format!("unknown health `{s}` (healthy, degraded, failed)")),
        }
    }
}

/// The cleanup outcome a fixture expects, without the reason.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupKind {
    /// [`CleanupOutcome::Completed`].
    Completed,
    /// [`CleanupOutcome::NotExported`].
    NotExported,
    /// [`CleanupOutcome::TimedOut`].
    TimedOut,
    /// [`CleanupOutcome::Trapped`].
    Trapped,
    /// [`CleanupOutcome::Poisoned`]: a guest call failed and the instance
    /// was discarded without `_cleanup`.
    Poisoned,
    /// [`CleanupOutcome::Exited`]: the guest had called `proc_exit`.
    Exited,
}

impl CleanupKind {
    /// The kind of a cleanup outcome.
    pub fn of(outcome: &CleanupOutcome) -> Self {
        match outcome {
            CleanupOutcome::Completed => CleanupKind::Completed,
            CleanupOutcome::NotExported => CleanupKind::NotExported,
            CleanupOutcome::TimedOut => CleanupKind::TimedOut,
            CleanupOutcome::Trapped(_) => CleanupKind::Trapped,
            CleanupOutcome::Poisoned(_) => CleanupKind::Poisoned,
            CleanupOutcome::Exited(_) => CleanupKind::Exited,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            CleanupKind::Completed => "completed",
            CleanupKind::NotExported => "not-exported",
            CleanupKind::TimedOut => "timed-out",
            CleanupKind::Trapped => "trapped",
            CleanupKind::Poisoned => "poisoned",
            CleanupKind::Exited => "exited",
        }
    }
}

impl FromStr for CleanupKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "completed" => Ok(CleanupKind::Completed),
            "not-exported" => Ok(CleanupKind::NotExported),
            "timed-out" => Ok(CleanupKind::TimedOut),
            "trapped" => Ok(CleanupKind::Trapped),
            "poisoned" => Ok(CleanupKind::Poisoned),
            "exited" => Ok(CleanupKind::Exited),
            _ => Err(format!(
                "unknown cleanup `{s}` (completed, not-exported, timed-out, trapped, poisoned, exited)"
            )),
        }
    }
}

/// How a fixture's file becomes the source given to the actor.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMode {
    /// [`ComponentSource::from_file`] on the fixture itself.
    File,
    /// The fixture compiled to a binary, through [`ComponentSource::from_bytes`].
    Binary,
    /// Zero bytes.
    Empty,
    /// The binary cut to its first N bytes.
    Truncate(usize),
    /// The binary with its first bytes replaced by these.
    Magic(Vec<u8>),
}

/// What a fixture expects.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// `Ok` or the kind `start` fails with.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::start"))]
    pub start: Result<(), ErrorKind>,
    /// The health check result, when the start succeeds.
    pub health: Option<HealthKind>,
    /// The cleanup outcome, when the start succeeds.
    pub cleanup: Option<CleanupKind>,
    /// The denied imports, when the start is refused for permissions.
    pub denied: Option<Vec<String>>,
    /// What a WASI guest writes to stdout (lossy UTF-8), whether or not
    /// the start succeeds.
    pub stdout: Option<String>,
    /// The messages sent after the start, each with its expected reply
    /// (lossy UTF-8) or the kind of error that answers it.
    pub messages: Vec<(String, Result<String, ErrorKind>)>,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.start {
            Err(kind) => write!(f, "{kind}"),
            Ok(()) => {
                f.write_str("ok")?;
                if let Some(h) = self.health {
                    write!(f, "/{}", h.as_str())?;
                }
                if let Some(c) = self.cleanup {
                    write!(f, "/{}", c.as_str())?;
                }
                Ok(())
            }
        }
    }
}

/// One fixture: a file and what it expects.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The fixture file.
    pub path: PathBuf,
    /// The file name without its extension.
    pub name: String,
    /// The `@describe` line.
    pub describe: String,
    /// The expected outcome.
    pub expect: Expectation,
    /// The sidecar manifest, if any.
    pub manifest: Option<PathBuf>,
    /// How the file becomes the actor's source.
    pub source: SourceMode,
    /// The timeout given to `stop`.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "stop_timeout_ms", serialize_with = "crate::ser::ms")
    )]
    pub stop_timeout: Duration,
    /// The fixture's text and its sidecar manifest's, when the fixture was
    /// given in memory ([`from_memory`]) rather than read from `path`.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub bundled: Option<Bundled>,
}

/// A fixture held in memory: its own text, and its sidecar manifest's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundled {
    /// The fixture's WebAssembly text, header included.
    pub text: String,
    /// The text of the `@manifest` sidecar, if the fixture names one.
    pub manifest: Option<String>,
}

impl Fixture {
    /// Reads a fixture file and parses its header.
    ///
    /// # Errors
    ///
    /// A [`FixtureError`] if the file cannot be read or a header line is malformed.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, FixtureError> {
        let path = path.into();
        let err = |message: String| FixtureError {
            path: path.clone(),
            message,
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut fixture = Fixture {
            name,
            describe: String::new(),
            expect: Expectation {
                start: Ok(()),
                health: None,
                cleanup: None,
                denied: None,
                stdout: None,
                messages: Vec::new(),
            },
            manifest: None,
            source: SourceMode::File,
            stop_timeout: Duration::from_millis(100),
            path: path.clone(),
            bundled: None,
        };
        if path.extension().is_some_and(|e| e == "wasm") {
            fixture.describe = "binary module without a header".into();
            return Ok(fixture);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read: {e}")))?;
        fixture.read_header(&text)?;
        Ok(fixture)
    }

    /// A fixture given in memory: `path` names it (its stem is the name,
    /// `@manifest` is resolved beside it), `text` is its WebAssembly text
    /// with the header, and `manifest` the text of its sidecar if it names
    /// one. Nothing is read from the file system.
    ///
    /// # Errors
    ///
    /// A [`FixtureError`] if a header line is malformed.
    pub fn parse(
        path: impl Into<PathBuf>,
        text: &str,
        manifest: Option<&str>,
    ) -> Result<Self, FixtureError> {
        let path = path.into();
        let mut fixture = Fixture {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            describe: String::new(),
            expect: Expectation {
                start: Ok(()),
                health: None,
                cleanup: None,
                denied: None,
                stdout: None,
                messages: Vec::new(),
            },
            manifest: None,
            source: SourceMode::File,
            stop_timeout: Duration::from_millis(100),
            path,
            bundled: Some(Bundled {
                text: text.to_string(),
                manifest: manifest.map(str::to_string),
            }),
        };
        fixture.read_header(text)?;
        Ok(fixture)
    }

    /// Reads the `;; @` header of `text` into `self`.
    fn read_header(&mut self, text: &str) -> Result<(), FixtureError> {
        let path = self.path.clone();
        let fixture = self;
        let err = |message: String| FixtureError {
            path: path.clone(),
            message,
        };
        let mut saw_start = false;
        let mut pending: Option<String> = None;
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix(";;") else {
                continue;
            };
            let Some(directive) = rest.trim().strip_prefix('@') else {
                continue;
            };
            let (key, value) = directive
                .split_once(':')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| err(format!("header line `{}` has no `:`", line.trim())))?;
            match key {
                "describe" => fixture.describe = value.to_string(),
                "expect-start" => {
                    saw_start = true;
                    fixture.expect.start = if value == "ok" {
                        Ok(())
                    } else {
                        Err(value.parse::<ErrorKind>().map_err(|e| err(e.to_string()))?)
                    };
                }
                "expect-health" => fixture.expect.health = Some(value.parse().map_err(err)?),
                "expect-cleanup" => fixture.expect.cleanup = Some(value.parse().map_err(err)?),
                "expect-denied" => {
                    fixture.expect.denied =
                        Some(value.split(',').map(|s| s.trim().to_string()).collect())
                }
                "expect-stdout" => fixture.expect.stdout = Some(unescape(value).map_err(err)?),
                "message" => {
                    if pending.is_some() {
                        return Err(err("`@message` without an `@expect-reply` after it".into()));
                    }
                    pending = Some(unescape(value).map_err(err)?);
                }
                "expect-reply" => {
                    let message = pending.take().ok_or_else(|| {
                        err("`@expect-reply` without a `@message` before it".into())
                    })?;
                    let reply = match value.strip_prefix("error ") {
                        Some(kind) => Err(kind
                            .trim()
                            .parse::<ErrorKind>()
                            .map_err(|e| err(e.to_string()))?),
                        None => Ok(unescape(value).map_err(err)?),
                    };
                    fixture.expect.messages.push((message, reply));
                }
                "manifest" => {
                    fixture.manifest = Some(path.parent().unwrap_or(Path::new(".")).join(value))
                }
                "stop-timeout-ms" => {
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| err(format!("stop-timeout-ms `{value}` is not a number")))?;
                    fixture.stop_timeout = Duration::from_millis(ms);
                }
                "source" => fixture.source = parse_source(value).map_err(err)?,
                other => return Err(err(format!("unknown header `@{other}`"))),
            }
        }
        if !saw_start {
            return Err(err("missing `;; @expect-start:` header".into()));
        }
        if pending.is_some() {
            return Err(err("`@message` without an `@expect-reply` after it".into()));
        }
        Ok(())
    }

    /// The manifest the fixture runs under: its sidecar, or a default one
    /// named after the fixture.
    ///
    /// # Errors
    ///
    /// The sidecar's load or parse error.
    pub fn manifest(&self) -> Result<ComponentManifest, ComponentError> {
        let bundled = self.bundled.as_ref().and_then(|b| b.manifest.as_deref());
        match (&self.manifest, bundled) {
            (Some(_), Some(text)) => ComponentManifest::from_toml_str(text),
            (Some(path), None) => ComponentManifest::from_file(path),
            (None, _) => ComponentManifest::new(self.name.clone()),
        }
    }

    /// The source the actor is given.
    ///
    /// # Errors
    ///
    /// The fixture's own WAT does not parse (for a binary-producing `@source`).
    pub fn source(&self) -> Result<ComponentSource, FixtureError> {
        let text = self.bundled.as_ref().map(|b| b.text.as_str());
        let binary = || {
            match text {
                Some(text) => wat::parse_str(text),
                None => wat::parse_file(&self.path),
            }
            .map_err(|e| FixtureError {
                path: self.path.clone(),
                message: format!("@source needs valid WAT: {e}"),
            })
        };
        Ok(match &self.source {
            SourceMode::File => match text {
                Some(text) => ComponentSource::from_wat(text),
                None => ComponentSource::from_file(&self.path),
            },
            SourceMode::Empty => ComponentSource::from_bytes(Vec::new()),
            SourceMode::Binary => ComponentSource::from_bytes(binary()?),
            SourceMode::Truncate(n) => {
                let mut b = binary()?;
                b.truncate(*n);
                ComponentSource::from_bytes(b)
            }
            SourceMode::Magic(m) => {
                let mut b = binary()?;
                for (dst, src) in b.iter_mut().zip(m) {
                    *dst = *src;
                }
                ComponentSource::from_bytes(b)
            }
        })
    }
}

fn parse_source(value: &str) -> Result<SourceMode, String> {
    Ok(match value.split_once(':') {
        None if value == "file" => SourceMode::File,
        None if value == "binary" => SourceMode::Binary,
        None if value == "empty" => SourceMode::Empty,
        Some(("truncate", n)) => SourceMode::Truncate(
            n.trim()
                .parse()
                .map_err(|_| format!("truncate length `{n}` is not a number"))?,
        ),
        Some(("magic", hex)) => {
            let hex = hex.trim();
            if hex.is_empty() || hex.len() % 2 != 0 {
                return Err(format!("magic `{hex}` is not an even number of hex digits"));
            }
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| format!("magic `{hex}` is not hex"))?;
            SourceMode::Magic(bytes)
        }
        _ => return Err(format!("unknown @source `{value}`")),
    })
}

/// An `@expect-stdout` value: `\n`, `\t`, `\0`, `\\` and `\xHH` escapes.
fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("`\\x{hex}` in @expect-stdout is not two hex digits"))?;
                out.push(char::from(byte));
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}` in @expect-stdout (\\n \\t \\0 \\\\ \\xHH)",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

/// Every fixture (`.wat` and `.wasm`) in `dir`, sorted by name; the first
/// broken one is the error. For a bundled suite that must be whole (a test):
/// to run what loads and report each broken fixture, use [`discover_each`].
///
/// # Errors
///
/// The directory cannot be read, or a fixture's header is missing or
/// malformed.
pub fn discover(dir: &Path) -> Result<Vec<Fixture>, FixtureError> {
    discover_each(dir)?.into_iter().collect()
}

/// Every fixture file (`.wat` and `.wasm`) in `dir`, sorted by name, each
/// loaded on its own: a file without a header, or with a malformed one, is
/// its own [`FixtureError`] (naming the file and the reason) and does not
/// stop the others from loading.
///
/// # Errors
///
/// Only the directory itself cannot be read.
pub fn discover_each(dir: &Path) -> Result<Vec<Result<Fixture, FixtureError>>, FixtureError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FixtureError {
        path: dir.to_path_buf(),
        message: format!("cannot read fixture directory: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wat" || e == "wasm"))
        .collect();
    paths.sort();
    Ok(paths.into_iter().map(Fixture::load).collect())
}

/// Every fixture of an in-memory folder, sorted by path, each parsed on its
/// own as [`discover_each`] does: `files` are (path, text) pairs, the `.wat`
/// ones fixtures and the others (`.toml`) the sidecar manifests they may
/// name. This is how a binary runs fixtures it carries (`include_str!`)
/// from any folder. A fixture naming a sidecar that is not among `files` is
/// its own [`FixtureError`].
pub fn from_memory(files: &[(&str, &str)]) -> Vec<Result<Fixture, FixtureError>> {
    let mut fixtures: Vec<&(&str, &str)> = files
        .iter()
        .filter(|(path, _)| Path::new(path).extension().is_some_and(|e| e == "wat"))
        .collect();
    fixtures.sort_by_key(|(path, _)| *path);
    fixtures
        .into_iter()
        .map(|&(path, text)| {
            let fixture = Fixture::parse(path, text, None)?;
            let Some(sidecar) = &fixture.manifest else {
                return Ok(fixture);
            };
            match files.iter().find(|(p, _)| Path::new(p) == sidecar) {
                Some((_, manifest)) => Fixture::parse(path, text, Some(manifest)),
                None => Err(FixtureError {
                    path: PathBuf::from(path),
                    message: format!("manifest {} is not among the files", sidecar.display()),
                }),
            }
        })
        .collect()
}

/// What running a fixture through the lifecycle produced.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// `Ok` or the kind `start` failed with.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::start"))]
    pub start: Result<(), ErrorKind>,
    /// The start error's one-line message.
    pub start_error: Option<String>,
    /// The denied imports of the start error.
    pub denied: Vec<String>,
    /// The state right after `start` returned.
    pub state_after_start: ActorState,
    /// The answer to each `@message` (only sent when the start
    /// succeeded): the reply as lossy UTF-8, or the error's kind and
    /// message.
    pub replies: Vec<Result<String, (ErrorKind, String)>>,
    /// The health check result (only run when the start succeeded).
    pub health: Option<ChildHealth>,
    /// The cleanup outcome of the stop.
    pub cleanup: Option<CleanupOutcome>,
    /// The stop error, if `stop` failed (it never should).
    pub stop_error: Option<String>,
    /// What a WASI guest wrote to stdout (lossy UTF-8); `None` without WASI.
    pub stdout: Option<String>,
    /// The state after `stop` returned.
    pub state_after_stop: ActorState,
    /// How long `start` took.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "start_ms", serialize_with = "crate::ser::ms")
    )]
    pub start_time: Duration,
    /// How long `stop` took.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "stop_ms", serialize_with = "crate::ser::ms")
    )]
    pub stop_time: Duration,
}

impl Observation {
    /// The observed outcome in the same words as [`Expectation`]'s `Display`.
    pub fn summary(&self) -> String {
        match self.start {
            Err(kind) => kind.to_string(),
            Ok(()) => {
                let mut s = "ok".to_string();
                if let Some(h) = &self.health {
                    s += "/";
                    s += HealthKind::of(h).as_str();
                }
                if let Some(c) = &self.cleanup {
                    s += "/";
                    s += CleanupKind::of(c).as_str();
                }
                s
            }
        }
    }
}

/// Runs one fixture: start, health check (if started), stop.
///
/// # Errors
///
/// The fixture's sidecar manifest or binary-producing source is broken:
/// a fault in the fixture, not in the module under test.
pub async fn run(runtime: &Runtime, fixture: &Fixture) -> Result<Observation, FixtureError> {
    let manifest = fixture.manifest().map_err(|e| FixtureError {
        path: fixture.path.clone(),
        message: format!("manifest: {e}"),
    })?;
    let source = fixture.source()?;
    let mut actor = ComponentActor::new(runtime, source, manifest);
    let t = Instant::now();
    let started = actor.start().await;
    let start_time = t.elapsed();
    let state_after_start = actor.state();
    let mut replies = Vec::new();
    if started.is_ok() {
        for (message, _) in &fixture.expect.messages {
            replies.push(
                actor
                    .handle_message(message.as_bytes())
                    .await
                    .map(|r| String::from_utf8_lossy(&r).into_owned())
                    .map_err(|e| (e.kind(), e.message().to_string())),
            );
        }
    }
    let health = match started {
        Ok(()) => Some(actor.health_check().await),
        Err(_) => None,
    };
    let t = Instant::now();
    let stopped = actor.stop(fixture.stop_timeout).await;
    let stop_time = t.elapsed();
    Ok(Observation {
        start: started.as_ref().map(|_| ()).map_err(ComponentError::kind),
        start_error: started.as_ref().err().map(ToString::to_string),
        denied: started
            .as_ref()
            .err()
            .map(|e| {
                e.denied_imports()
                    .into_iter()
                    .map(|(m, n)| crate::import_label(m, n))
                    .collect()
            })
            .unwrap_or_default(),
        state_after_start,
        replies,
        health,
        cleanup: actor.last_cleanup(),
        stop_error: stopped.err().map(|e| e.to_string()),
        stdout: actor
            .wasi_output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
        state_after_stop: actor.state(),
        start_time,
        stop_time,
    })
}

/// Every way `observed` differs from what `fixture` expects, and every
/// lifecycle invariant it breaks; empty when it conforms.
pub fn mismatches(fixture: &Fixture, observed: &Observation) -> Vec<String> {
    let want = &fixture.expect;
    let mut out = Vec::new();
    if observed.start != want.start {
        out.push(format!(
            "start: expected {}, got {}{}",
            match want.start {
                Ok(()) => "ok".to_string(),
                Err(k) => k.to_string(),
            },
            match observed.start {
                Ok(()) => "ok".to_string(),
                Err(k) => k.to_string(),
            },
            observed
                .start_error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
    }
    match observed.start {
        Ok(()) => {
            if observed.state_after_start != ActorState::Ready {
                out.push(format!("state after start: {}", observed.state_after_start));
            }
            for (i, ((message, want), got)) in
                want.messages.iter().zip(&observed.replies).enumerate()
            {
                let same = match (want, got) {
                    (Ok(a), Ok(b)) => a == b,
                    (Err(a), Err((b, _))) => a == b,
                    _ => false,
                };
                if !same {
                    out.push(format!(
                        "message {} {message:?}: expected {}, got {}",
                        i + 1,
                        match want {
                            Ok(r) => format!("reply {r:?}"),
                            Err(k) => format!("error {k}"),
                        },
                        match got {
                            Ok(r) => format!("reply {r:?}"),
                            Err((k, m)) => format!("error {k} ({m})"),
                        }
                    ));
                }
            }
            if let Some(h) = want.health {
                let got = observed.health.as_ref().map(HealthKind::of);
                if got != Some(h) {
                    out.push(format!(
                        "health: expected {}, got {:?}",
                        h.as_str(),
                        observed.health
                    ));
                }
            }
            if let Some(c) = want.cleanup {
                let got = observed.cleanup.as_ref().map(CleanupKind::of);
                if got != Some(c) {
                    out.push(format!(
                        "cleanup: expected {}, got {:?}",
                        c.as_str(),
                        observed.cleanup
                    ));
                }
            }
        }
        Err(_) => {
            if !matches!(observed.state_after_start, ActorState::Failed(_)) {
                out.push(format!(
                    "state after failed start: {}",
                    observed.state_after_start
                ));
            }
        }
    }
    if let Some(denied) = &want.denied
        && &observed.denied != denied
    {
        out.push(format!(
            "denied imports: expected {denied:?}, got {:?}",
            observed.denied
        ));
    }
    if let Some(want) = &want.stdout
        && observed.stdout.as_ref() != Some(want)
    {
        out.push(format!(
            "stdout: expected {want:?}, got {:?}",
            observed.stdout
        ));
    }
    if let Some(e) = &observed.stop_error {
        out.push(format!("stop failed: {e}"));
    }
    if observed.state_after_stop != ActorState::Terminated {
        out.push(format!("state after stop: {}", observed.state_after_stop));
    }
    out
}
