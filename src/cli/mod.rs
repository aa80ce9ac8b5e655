//! The subcommands of the `component-actor` binary and what they share:
//! exit codes, the bad-input error, loading inputs, number formatting and
//! the JSON pieces every report uses.

pub mod check;
pub mod logs;
pub mod run;
pub mod soak;
pub mod suite;
pub mod up;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use comfy_table::Table;
use component_actor::{
    Allocation, ComponentError, ComponentManifest, ErrorKind, ResourceLimits, Runtime,
    RuntimeConfig,
};
use serde::Serialize;

/// The longest `--stop-timeout-ms` (one hour, as for any guest call).
const MAX_STOP_TIMEOUT_MS: u64 = 3_600_000;

/// The module a command runs, and the manifest it runs under.
#[derive(clap::Args, Debug)]
pub struct ModuleArgs {
    /// The module: WebAssembly text (.wat) or binary.
    pub file: PathBuf,
    /// The manifest (TOML) with its limits and permitted imports
    /// [default: default limits, no imports]
    #[arg(long, value_name = "M.toml")]
    pub manifest: Option<PathBuf>,
}

/// How long `_cleanup` may run when stopping.
#[derive(clap::Args, Debug)]
pub struct StopTimeout {
    /// How long `_cleanup` may run when stopping (1..=3600000).
    #[arg(long = "stop-timeout-ms", value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=MAX_STOP_TIMEOUT_MS),
          allow_negative_numbers = true)]
    ms: u64,
}

impl StopTimeout {
    /// The timeout.
    pub fn get(&self) -> Duration {
        Duration::from_millis(self.ms)
    }
}

/// The version of every JSON document's shape; bumped only when a field is
/// removed or changes meaning (adding fields does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

/// The exit codes, as documented in the README. In JSON, the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the module did what was asked (started, was admitted, soaked cleanly).
    Success,
    /// 1: the module failed (start failed, an `--invoke` call or a
    /// `--message` failed, check refused it, a soak cycle failed or a leak
    /// is suspected, a fixture mismatched; a supervision tree did not
    /// start or its root supervisor gave up).
    ModuleFailed,
    /// 2: the input was bad (missing file, unreadable or invalid manifest,
    /// bad arguments); nothing was run.
    BadInput,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::ModuleFailed => 1,
            Exit::BadInput => 2,
        }
    }

    /// Success when `ok`, else the module failed.
    pub fn from_ok(ok: bool) -> Self {
        if ok {
            Exit::Success
        } else {
            Exit::ModuleFailed
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

impl Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// Bad input: one line for the user, exit code 2. In JSON it has the
/// fields of a library error (`denied` and `denied_imports` always empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadInput {
    /// What kind of input was bad: an [`ErrorKind`] name (`Load`,
    /// `Manifest`) or `Usage` for the command line itself.
    pub kind: String,
    /// One line, no trailing period.
    pub message: String,
    denied: [String; 0],
    denied_imports: [String; 0],
}

impl BadInput {
    /// Bad input of `kind` (an [`ErrorKind`] name or `Usage`).
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            denied: [],
            denied_imports: [],
        }
    }

    /// A bad command line.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new("Usage", message)
    }

    /// A bad input reported by the library (an unreadable file, a manifest error).
    pub fn from_error(e: &ComponentError) -> Self {
        let message = match e.kind() {
            ErrorKind::Manifest => format!("invalid manifest {}", e.message()),
            _ => e.message().to_string(),
        };
        Self::new(e.kind().as_str(), message)
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The JSON document printed for bad input under `--json`.
#[derive(Serialize)]
pub struct BadInputDoc<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The subcommand (`suite`, `run`, `check`, `soak`, `up`), or `null` when the
    /// command line could not be parsed far enough to tell.
    pub command: Option<&'a str>,
    /// Always 2.
    pub exit_code: Exit,
    /// What was wrong.
    pub error: &'a BadInput,
}

/// The lines after the first of an error's cause, for the text output:
/// where in a `.wat` file parsing failed (file:line:column, the line, a
/// caret). Empty for other kinds.
pub fn detail(e: &ComponentError) -> Vec<String> {
    use std::error::Error as _;
    if e.kind() != ErrorKind::InvalidWat {
        return Vec::new();
    }
    e.source()
        .map(|s| {
            s.to_string()
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The fields every `run`, `check` and `soak` document starts with:
/// what was run, under which manifest and limits.
#[derive(Serialize)]
pub struct ModuleHeader<'a> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The subcommand.
    pub command: &'static str,
    /// The module file as given.
    pub file: String,
    /// The manifest file as given; `null` for the defaults.
    pub manifest: Option<String>,
    /// The limits and permissions it ran under.
    pub limits: Limits<'a>,
}

/// A manifest's limits and its permitted imports (`module::name`, sorted).
#[derive(Serialize)]
pub struct Limits<'a> {
    #[serde(flatten)]
    limits: &'a ResourceLimits,
    imports: Vec<String>,
}

impl<'a> ModuleHeader<'a> {
    /// The header for `command` run on `file` under `manifest`.
    pub fn new(
        command: &'static str,
        file: &Path,
        manifest_path: Option<&Path>,
        manifest: &'a ComponentManifest,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            command,
            file: file.display().to_string(),
            manifest: manifest_path.map(|p| p.display().to_string()),
            limits: Limits {
                limits: manifest.limits(),
                imports: imports(manifest),
            },
        }
    }

    /// The human output's first lines: what runs as which component, and
    /// under which manifest and limits.
    pub fn say_title(&self, manifest: &ComponentManifest) {
        say(format!(
            "{} {} as `{}`",
            self.command,
            self.file,
            manifest.name()
        ));
        say(format!(
            "  manifest  {}",
            self.manifest
                .as_deref()
                .unwrap_or("none (default limits, no imports permitted)")
        ));
        say(format!("  limits    {}", describe_limits(manifest)));
    }
}

/// The imports a manifest permits, as labels.
fn imports(manifest: &ComponentManifest) -> Vec<String> {
    manifest
        .permissions()
        .imports()
        .map(|(m, n)| component_actor::import_label(m, n))
        .collect()
}

/// A table for the text output: no borders, columns two spaces apart, the
/// first flush left; each cell's text is escaped ([`escape`]) before it is
/// measured, so guest text cannot break the alignment or the terminal.
pub fn table<const N: usize>(header: [&str; N], right_aligned: &[usize]) -> Table {
    let mut table = Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(header);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        if right_aligned.contains(&i) {
            column.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    table
}

/// Adds a row of escaped cells to a [`table`].
pub fn add_row<I: IntoIterator<Item = String>>(table: &mut Table, cells: I) {
    table.add_row(cells.into_iter().map(|c| escape(&c).into_owned()));
}

/// Prints a [`table`], one [`say`] line per row.
pub fn say_table(table: &Table) {
    for line in table.lines() {
        say(line);
    }
}

/// Prints one JSON document (pretty, with a final newline) to stdout.
///
/// The document is written as serde_json made it, not through [`say`]:
/// JSON keeps guest text exact, and serde_json already writes every C0
/// control character as an escape (`\u001b`, `\n`), so no raw line break
/// or escape sequence reaches the terminal from inside a string.
pub fn print_json<T: Serialize>(doc: &T) {
    match serde_json::to_string_pretty(doc) {
        Ok(text) => {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        // Serializing plain structs of strings and numbers cannot fail;
        // say so rather than panic if it ever does.
        Err(e) => eprintln!("error: cannot serialize the report: {e}"),
    }
}

/// Prints one JSON document as one line (compact) to stdout: the JSON
/// lines of `up`, one per event. Exact as [`print_json`]'s documents are.
pub fn print_json_line<T: Serialize>(doc: &T) {
    match serde_json::to_string(doc) {
        Ok(text) => {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        Err(e) => eprintln!("error: cannot serialize the report: {e}"),
    }
}

/// Writes one line of human output to stdout, with its control characters
/// escaped ([`escape`]) and without trailing blanks; a closed pipe (`| head`)
/// is not an error worth a panic, so write errors are ignored.
///
/// Every line of text output goes through here, so guest-controlled text
/// in it (log lines, import and export names, error messages quoting them,
/// file names) cannot break the line, forge another one or drive the
/// terminal.
pub fn say(line: impl fmt::Display) {
    // Escaped before the trim: a trailing `\r` or NEL is guest text to
    // show, not a blank to drop.
    let line = line.to_string();
    let _ = writeln!(std::io::stdout().lock(), "{}", escape(&line).trim_end());
}

/// `text` made safe to show as (part of) one line on a terminal or in a log:
/// every character that could break the line, move the cursor, start an
/// escape sequence or reorder what is shown is replaced by a visible escape.
///
/// - C0 controls, DEL and C1 controls (Unicode category Cc): `\n`, `\r`,
///   `\t`, `\0`, else `\x1b` below U+0080 and `\u{85}` above.
/// - Bidirectional controls (U+061C, U+200E, U+200F, U+202A..=U+202E,
///   U+2066..=U+2069), which reorder the rest of the line ("Trojan Source").
/// - The line and paragraph separators U+2028 and U+2029, which some
///   terminals and viewers break lines at.
/// - Invisible format characters that can hide text: U+200B (zero width
///   space), U+2060..=U+2064 (word joiner, invisible operators), U+FEFF.
///
/// Zero width (non-)joiners (U+200C, U+200D) stay: scripts and emoji need
/// them and they move nothing. A backslash is left as it is, so paths and
/// patterns stay readable: a guest can write text that looks like an escape,
/// but never make the terminal receive the character itself. Borrowed when
/// nothing needs escaping.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) && u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether [`escape`] replaces `c`.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Checks that `path` names a readable regular file, before anything runs.
///
/// # Errors
///
/// [`BadInput`] of kind `Load`, naming the path.
pub fn require_file(path: &Path, what: &str) -> Result<(), BadInput> {
    let bad = |why: String| {
        BadInput::new(
            ErrorKind::Load.as_str(),
            format!("cannot read {what} {}: {why}", path.display()),
        )
    };
    match std::fs::metadata(path) {
        Err(e) => Err(bad(io_reason(&e))),
        Ok(m) if m.is_dir() => Err(bad("is a directory".into())),
        Ok(_) => std::fs::File::open(path)
            .map(drop)
            .map_err(|e| bad(io_reason(&e))),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The manifest a module runs under: `--manifest` if given, else a default
/// one (default limits, no imports permitted) named after the file.
///
/// # Errors
///
/// [`BadInput`] if the manifest file is missing, unreadable or invalid.
pub fn load_manifest(
    module: &Path,
    manifest: Option<&Path>,
) -> Result<ComponentManifest, BadInput> {
    match manifest {
        Some(path) => {
            require_file(path, "manifest")?;
            ComponentManifest::from_file(path).map_err(|e| BadInput::from_error(&e))
        }
        None => ComponentManifest::new(
            module
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "component".into()),
        )
        .map_err(|e| BadInput::from_error(&e)),
    }
}

/// A runtime with the default configuration.
///
/// # Errors
///
/// [`BadInput`] if wasmtime cannot be set up on this machine (reported with
/// exit code 2: nothing about the module was tried).
pub fn runtime() -> Result<Runtime, BadInput> {
    runtime_with(RuntimeConfig::default())
}

/// [`runtime`] with the given configuration.
///
/// # Errors
///
/// As [`runtime`].
pub fn runtime_with(config: RuntimeConfig) -> Result<Runtime, BadInput> {
    Runtime::new(config).map_err(|e| {
        BadInput::new(
            e.kind().as_str(),
            format!("cannot set up the WebAssembly runtime: {}", e.message()),
        )
    })
}

/// The name of an allocation strategy in reports: `on-demand` or `pooling`.
pub fn allocation_name(allocation: Allocation) -> &'static str {
    match allocation {
        Allocation::OnDemand => "on-demand",
        Allocation::Pooling { .. } => "pooling",
    }
}

/// A single-threaded tokio runtime.
///
/// # Errors
///
/// [`BadInput`] if the OS refuses (exit code 2: nothing was run).
pub fn tokio_current_thread() -> Result<tokio::runtime::Runtime, BadInput> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BadInput::usage(format!("cannot start the async runtime: {e}")))
}

/// Milliseconds as a float with nanosecond resolution, for JSON
/// (`4.392598`, not `4.3925980000000004`).
pub fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// A duration for people: `330ns`, `812µs`, `1.25ms`, `100ms`, `2.50s`.
pub fn human_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.0}µs", nanos as f64 / 1e3)
    } else if nanos < 1_000_000_000 {
        if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else {
            format!("{:.2}ms", nanos as f64 / 1e6)
        }
    } else if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else {
        format!("{:.2}s", nanos as f64 / 1e9)
    }
}

/// A byte count for people: `512 B`, `64 KiB`, `16.0 MiB`.
pub fn human_bytes(b: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if b < KIB {
        format!("{b} B")
    } else if b < MIB {
        if b.is_multiple_of(KIB) {
            format!("{} KiB", b / KIB)
        } else {
            format!("{:.1} KiB", b as f64 / KIB as f64)
        }
    } else if b < GIB {
        format!("{:.1} MiB", b as f64 / MIB as f64)
    } else {
        format!("{:.1} GiB", b as f64 / GIB as f64)
    }
}

/// One line describing a manifest's limits for the human output, and
/// whether it grants WASI.
pub fn describe_limits(manifest: &ComponentManifest) -> String {
    let l = manifest.limits();
    let fuel = match l.max_fuel {
        Some(f) => format!("fuel {f}/call"),
        None => "no fuel cap".into(),
    };
    let imports = imports(manifest);
    format!(
        "memory {}, tables {} elements, {fuel}, {}/call, imports [{}]{}",
        human_bytes(l.max_memory_bytes),
        l.max_table_elements,
        human_duration(l.max_call_duration),
        imports.join(", "),
        if manifest.wasi().is_some() {
            ", WASI granted"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let cases = [
            (Duration::from_nanos(330), "330ns"),
            (Duration::from_micros(812), "812µs"),
            (Duration::from_micros(1250), "1.25ms"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_millis(2500), "2.50s"),
            (Duration::from_secs(3600), "3600s"),
        ];
        for (d, s) in cases {
            assert_eq!(human_duration(d), s);
        }
    }

    #[test]
    fn bytes_read_naturally() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (65536, "64 KiB"),
            (1536, "1.5 KiB"),
            (16 << 20, "16.0 MiB"),
            (4 << 30, "4.0 GiB"),
        ];
        for (b, s) in cases {
            assert_eq!(human_bytes(b), s);
        }
    }

    #[test]
    fn escape_replaces_every_character_that_drives_a_terminal() {
        let cases = [
            ("plain text, ünïcödé, 日本, emoji \u{1f600}", None),
            ("zwj \u{1f468}\u{200d}\u{1f469} zwnj \u{200c}", None),
            ("back\\slash", None),
            ("\x1b[2J\nFAKE line\r", Some("\\x1b[2J\\nFAKE line\\r")),
            (
                "a\tb\0c\x07d\x08e\x7ff",
                Some("a\\tb\\0c\\x07d\\x08e\\x7ff"),
            ),
            ("c1 \u{85} \u{9b}31m", Some("c1 \\u{85} \\u{9b}31m")),
            (
                "bidi \u{202e}evil\u{202c} \u{2066}x\u{2069} \u{200f}\u{061c}",
                Some("bidi \\u{202e}evil\\u{202c} \\u{2066}x\\u{2069} \\u{200f}\\u{61c}"),
            ),
            (
                "sep\u{2028}\u{2029} hidden\u{200b}\u{2060}\u{feff}",
                Some("sep\\u{2028}\\u{2029} hidden\\u{200b}\\u{2060}\\u{feff}"),
            ),
        ];
        for (text, want) in cases {
            let got = escape(text);
            match want {
                None => assert!(
                    matches!(got, std::borrow::Cow::Borrowed(t) if t == text),
                    "{text:?} -> {got:?}"
                ),
                Some(want) => assert_eq!(got, want, "{text:?}"),
            }
        }
        // Every C0, DEL and C1 character, one by one.
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let got = escape(&c.to_string()).into_owned();
            assert!(got.starts_with('\\') && got.is_ascii(), "{c:?} -> {got:?}");
            assert!(!got.chars().any(|g| g.is_control()), "{c:?} -> {got:?}");
        }
    }

    #[test]
    fn exit_codes_are_the_documented_ones() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::ModuleFailed.code(), 1);
        assert_eq!(Exit::BadInput.code(), 2);
    }
}
