//! What a component is allowed to do: [`ComponentManifest`], its
//! [`ResourceLimits`] and its [`PermissionManifest`], in code or as TOML.
//!
//! ```toml
//! [component]
//! name = "echo"
//!
//! [limits]                    # every key optional; defaults shown
//! max_memory_bytes = 16777216 # all linear memories together
//! max_table_elements = 10000  # all tables together
//! max_fuel = 10000000         # per guest call; "none" for no fuel cap
//! max_call_duration_ms = 100  # wall clock per guest call
//! max_module_bytes = 67108864 # size of the WebAssembly binary
//!
//! [permissions]
//! # Each permitted import is one exact (module, name) pair, written either
//! # "module::name" (only when that is unambiguous: exactly one `::`, with
//! # something on each side) or as a table, which can name any pair:
//! imports = ["host::log", { module = "a::b", name = "c" }]
//!
//! [wasi]                      # present: wasi_snapshot_preview1 is linked
//! args = ["-e", "print(1)"]   # argv after argv[0]; argv[0] is the component name
//! env = { KEY = "value" }     # the guest's whole environment; nothing inherited
//! stdin = "input.bin"         # optional file fed as stdin; default empty
//! preopens = [ { host = "data", guest = "/data", writable = false } ]
//! max_output_bytes = 1048576  # per stream; past it output is dropped and flagged
//!
//! [mailbox]                   # every key optional; defaults shown
//! capacity = 1024             # messages queued before try_send is MailboxFull
//! max_message_bytes = 65536   # largest message, and largest reply
//! ```
//!
//! Relative `stdin` and `preopens` host paths are relative to the
//! manifest's folder ([`ComponentManifest::from_file`]), or to the working
//! directory for [`ComponentManifest::from_toml_str`].
//!
//! Unknown keys are errors, and so are limits that cannot be meant: zero or
//! more than 4 GiB of memory, zero or more than 100 million table elements,
//! zero fuel, a deadline of zero or over an hour, a module cap of zero or
//! over 1 GiB; and so is an import string such as `"a::b::c"` that could
//! name two different pairs (write it as a table).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{ComponentError, ErrorKind};
use crate::import_path::{import_label, import_toml_entry, split_import_path, toml_string};

/// The largest `max_memory_bytes` a manifest may ask for (4 GiB, the whole
/// 32-bit address space of a linear memory).
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;
/// The largest `max_table_elements` a manifest may ask for.
pub const MAX_TABLE_ELEMENTS: u64 = 100_000_000;
/// The longest `max_call_duration` a manifest may ask for (one hour).
pub const MAX_CALL_DURATION: Duration = Duration::from_secs(3600);
/// The largest `max_module_bytes` a manifest may ask for (1 GiB).
pub const MAX_MODULE_BYTES: u64 = 1 << 30;
/// The largest `[wasi] max_output_bytes` a manifest may ask for (64 MiB
/// per stream: captured output is held in memory).
pub const MAX_OUTPUT_BYTES: u64 = 64 << 20;
/// The largest `[mailbox] capacity` a manifest may ask for.
pub const MAX_MAILBOX_CAPACITY: usize = 1 << 20;
/// The largest `[mailbox] max_message_bytes` a manifest may ask for
/// (16 MiB: each message is copied into guest memory).
pub const MAX_MESSAGE_BYTES: u32 = 16 << 20;
pub use crate::import_path::WASI_MODULE;

/// Limits enforced on one actor's store and on each of its guest calls.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Bytes of linear memory, summed over all of the instance's memories.
    /// Instantiation fails with [`ErrorKind::MemoryLimit`] above it;
    /// `memory.grow` past it returns -1 to the guest.
    pub max_memory_bytes: u64,
    /// Table elements, summed over all of the instance's tables.
    pub max_table_elements: u64,
    /// Fuel for each guest call (instantiation, `_start`, `_health`,
    /// `_cleanup`), refilled before every call. `None`: no fuel cap; the
    /// deadline alone bounds each call.
    pub max_fuel: Option<u64>,
    /// Wall-clock time for each guest call, enforced even for a guest that
    /// never returns. From 1 ms to [`MAX_CALL_DURATION`].
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "max_call_duration_ms",
            serialize_with = "crate::ser::whole_ms"
        )
    )]
    pub max_call_duration: Duration,
    /// Size of the module's WebAssembly binary (after parsing text). A
    /// larger module is refused with [`ErrorKind::ModuleTooLarge`] before
    /// it is read further or compiled.
    pub max_module_bytes: u64,
}

impl Default for ResourceLimits {
    /// 16 MiB of memory, 10,000 table elements, 10 million fuel and 100 ms
    /// per call, modules up to 64 MiB.
    fn default() -> Self {
        Self {
            max_memory_bytes: 16 << 20,
            max_table_elements: 10_000,
            max_fuel: Some(10_000_000),
            max_call_duration: Duration::from_millis(100),
            max_module_bytes: 64 << 20,
        }
    }
}

impl ResourceLimits {
    /// Checks that every limit is one that can be meant.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] naming the first absurd limit.
    pub fn validate(&self, component: &str) -> Result<(), ComponentError> {
        let bad = |msg: String| Err(ComponentError::new(component, ErrorKind::Manifest, msg));
        if self.max_memory_bytes == 0 || self.max_memory_bytes > MAX_MEMORY_BYTES {
            return bad(format!(
                "max_memory_bytes = {} is outside 1..={MAX_MEMORY_BYTES}",
                self.max_memory_bytes
            ));
        }
        if self.max_table_elements == 0 || self.max_table_elements > MAX_TABLE_ELEMENTS {
            return bad(format!(
                "max_table_elements = {} is outside 1..={MAX_TABLE_ELEMENTS}",
                self.max_table_elements
            ));
        }
        if self.max_fuel == Some(0) {
            return bad("max_fuel = 0 would stop every call; use \"none\" for no fuel cap".into());
        }
        // Whole milliseconds, as a manifest writes them (and as --json shows
        // them): under 1 ms would read back as 0.
        if self.max_call_duration < Duration::from_millis(1)
            || self.max_call_duration > MAX_CALL_DURATION
        {
            return bad(format!(
                "max_call_duration = {:?} is outside 1 ms..=1 h",
                self.max_call_duration
            ));
        }
        if self.max_module_bytes == 0 || self.max_module_bytes > MAX_MODULE_BYTES {
            return bad(format!(
                "max_module_bytes = {} is outside 1..={MAX_MODULE_BYTES}",
                self.max_module_bytes
            ));
        }
        Ok(())
    }
}

/// The imports a component may link: each an exact `(module, name)` pair,
/// and, when the manifest has a `[wasi]` table, every import from
/// [`WASI_MODULE`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PermissionManifest {
    imports: BTreeSet<(String, String)>,
    wasi: bool,
}

impl PermissionManifest {
    /// Whether `name` may be imported from `module`. The pair is compared
    /// exactly: permitting `("a::b", "c")` does not permit `("a", "b::c")`.
    /// With WASI granted, every name from [`WASI_MODULE`] is permitted.
    pub fn allows(&self, module: &str, name: &str) -> bool {
        (self.wasi && module == WASI_MODULE)
            || self.imports.iter().any(|(m, n)| m == module && n == name)
    }

    /// Whether the manifest grants WASI preview1 (has a `[wasi]` table).
    pub fn wasi(&self) -> bool {
        self.wasi
    }

    /// The permitted imports as `(module, name)`, sorted.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str)> {
        self.imports.iter().map(|(m, n)| (m.as_str(), n.as_str()))
    }
}

/// WASI preview1 granted to an actor: the manifest's `[wasi]` table.
/// Everything the guest sees comes from here; nothing is inherited from the
/// host process (no environment, no arguments, no stdio, no network).
/// Clocks and random numbers are granted with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasiConfig {
    /// The arguments after `argv[0]` (which is the component's name).
    pub args: Vec<String>,
    /// The guest's whole environment.
    pub env: BTreeMap<String, String>,
    /// A file whose bytes are the guest's stdin (read at each start);
    /// `None`: stdin is empty.
    pub stdin: Option<PathBuf>,
    /// Host directories the guest may open files in, by guest path.
    pub preopens: Vec<Preopen>,
    /// Bytes of stdout, and of stderr, kept per start; the guest's output
    /// past it is dropped (the guest keeps running) and reported as
    /// truncated. At most [`MAX_OUTPUT_BYTES`].
    pub max_output_bytes: u64,
}

impl Default for WasiConfig {
    /// No arguments, no environment, empty stdin, no preopens, 1 MiB of
    /// output per stream.
    fn default() -> Self {
        Self {
            args: Vec::new(),
            env: BTreeMap::new(),
            stdin: None,
            preopens: Vec::new(),
            max_output_bytes: 1 << 20,
        }
    }
}

/// One host directory a WASI guest may use, and where it sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preopen {
    /// The host directory.
    pub host: PathBuf,
    /// The path the guest opens it by (for example `/data`).
    pub guest: String,
    /// Whether the guest may create, write, rename and remove in it; a
    /// read-only preopen refuses all of that.
    #[serde(default)]
    pub writable: bool,
}

impl WasiConfig {
    /// Checks every field; [`ManifestBuilder::build`] calls it.
    fn validate(&self, component: &str) -> Result<(), ComponentError> {
        let bad = |msg: String| Err(ComponentError::new(component, ErrorKind::Manifest, msg));
        if let Some(a) = self.args.iter().find(|a| a.contains('\0')) {
            return bad(format!("wasi.args entry {} has a NUL byte", toml_string(a)));
        }
        for (k, v) in &self.env {
            if k.is_empty() || k.contains(['=', '\0']) {
                return bad(format!(
                    "wasi.env key {} must be non-empty, without `=` or NUL",
                    toml_string(k)
                ));
            }
            if v.contains('\0') {
                return bad(format!("wasi.env.{k} has a NUL byte"));
            }
        }
        let mut seen = BTreeSet::new();
        for p in &self.preopens {
            if p.guest.is_empty() || p.guest.contains('\0') {
                return bad(format!(
                    "wasi.preopens guest path {} must be non-empty, without NUL",
                    toml_string(&p.guest)
                ));
            }
            if !seen.insert(p.guest.as_str()) {
                return bad(format!(
                    "wasi.preopens names guest path {} twice",
                    toml_string(&p.guest)
                ));
            }
        }
        if self.max_output_bytes > MAX_OUTPUT_BYTES {
            return bad(format!(
                "wasi.max_output_bytes = {} is over {MAX_OUTPUT_BYTES}",
                self.max_output_bytes
            ));
        }
        Ok(())
    }

    /// Relative host paths made relative to `base` instead.
    fn relative_to(mut self, base: &Path) -> Self {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = self.stdin.as_mut() {
            join(p);
        }
        for p in &mut self.preopens {
            join(&mut p.host);
        }
        self
    }
}

/// The actor's mailbox: the manifest's `[mailbox]` table.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailboxConfig {
    /// Messages that may wait in the mailbox; past it `try_send` is
    /// [`ErrorKind::MailboxFull`] and `send` waits. From 1 to
    /// [`MAX_MAILBOX_CAPACITY`].
    pub capacity: usize,
    /// The largest message, and the largest reply, in bytes. From 1 to
    /// [`MAX_MESSAGE_BYTES`].
    pub max_message_bytes: u32,
}

impl Default for MailboxConfig {
    /// 1,024 messages of up to 64 KiB.
    fn default() -> Self {
        Self {
            capacity: 1024,
            max_message_bytes: 64 << 10,
        }
    }
}

impl MailboxConfig {
    /// Checks both fields; [`ManifestBuilder::build`] calls it.
    fn validate(&self, component: &str) -> Result<(), ComponentError> {
        let bad = |msg: String| Err(ComponentError::new(component, ErrorKind::Manifest, msg));
        if self.capacity == 0 || self.capacity > MAX_MAILBOX_CAPACITY {
            return bad(format!(
                "mailbox.capacity = {} is outside 1..={MAX_MAILBOX_CAPACITY}",
                self.capacity
            ));
        }
        if self.max_message_bytes == 0 || self.max_message_bytes > MAX_MESSAGE_BYTES {
            return bad(format!(
                "mailbox.max_message_bytes = {} is outside 1..={MAX_MESSAGE_BYTES}",
                self.max_message_bytes
            ));
        }
        Ok(())
    }
}

/// A component's name, limits and permissions.
///
/// In TOML ([`from_toml_str`](Self::from_toml_str), [`from_file`](Self::from_file)):
///
/// ```toml
/// [component]
/// name = "echo"
///
/// [limits]                    # every key optional; defaults shown
/// max_memory_bytes = 16777216 # all linear memories together
/// max_table_elements = 10000  # all tables together
/// max_fuel = 10000000         # per guest call; "none" for no fuel cap
/// max_call_duration_ms = 100  # wall clock per guest call
/// max_module_bytes = 67108864 # size of the WebAssembly binary
///
/// [permissions]
/// # Each permitted import is one exact (module, name) pair, written either
/// # "module::name" (only when that is unambiguous: exactly one `::`, with
/// # something on each side) or as a table, which can name any pair:
/// imports = ["host::log", { module = "a::b", name = "c" }]
///
/// [mailbox]                   # every key optional; defaults shown
/// capacity = 1024             # messages queued before try_send is MailboxFull
/// max_message_bytes = 65536   # largest message, and largest reply
/// ```
///
/// Unknown keys are errors, and so are limits that cannot be meant: zero or
/// more than 4 GiB of memory, zero or more than 100 million table elements,
/// zero fuel, a deadline of zero or over an hour, a module cap of zero or
/// over 1 GiB; and so is an import string such as `"a::b::c"` that could
/// name two different pairs (write it as a table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentManifest {
    name: String,
    limits: ResourceLimits,
    permissions: PermissionManifest,
    wasi: Option<WasiConfig>,
    mailbox: MailboxConfig,
}

impl ComponentManifest {
    /// A manifest with default limits and no permitted imports.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] if `name` is empty or blank.
    pub fn new(name: impl Into<String>) -> Result<Self, ComponentError> {
        Self::builder(name).build()
    }

    /// A builder starting from default limits and no permitted imports;
    /// [`ManifestBuilder::build`] validates the result. Every manifest,
    /// whether built in code or parsed from TOML, goes through it.
    pub fn builder(name: impl Into<String>) -> ManifestBuilder {
        ManifestBuilder {
            name: name.into(),
            limits: ResourceLimits::default(),
            permissions: PermissionManifest::default(),
            wasi: None,
            mailbox: MailboxConfig::default(),
        }
    }

    /// The component's name, used in every error and log event.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limits.
    pub fn limits(&self) -> &ResourceLimits {
        &self.limits
    }

    /// The permissions.
    pub fn permissions(&self) -> &PermissionManifest {
        &self.permissions
    }

    /// The WASI grant (the `[wasi]` table), if any.
    pub fn wasi(&self) -> Option<&WasiConfig> {
        self.wasi.as_ref()
    }

    /// The mailbox's capacity and message size (the `[mailbox]` table).
    pub fn mailbox(&self) -> &MailboxConfig {
        &self.mailbox
    }

    /// Parses the TOML form shown on [`ComponentManifest`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] for malformed TOML, an unknown key, an import
    /// not written `module::name`, or an absurd limit.
    pub fn from_toml_str(text: &str) -> Result<Self, ComponentError> {
        let doc: TomlManifest = toml::from_str(text).map_err(|e| {
            ComponentError::new("<manifest>", ErrorKind::Manifest, toml_error_line(text, &e))
                .with_source(e)
        })?;
        let name = doc.component.name;
        let l = doc.limits;
        let defaults = ResourceLimits::default();
        let limits = ResourceLimits {
            max_memory_bytes: l.max_memory_bytes.unwrap_or(defaults.max_memory_bytes),
            max_table_elements: l.max_table_elements.unwrap_or(defaults.max_table_elements),
            max_fuel: match l.max_fuel {
                None => defaults.max_fuel,
                Some(Fuel::Amount(n)) => Some(n),
                Some(Fuel::Word(w)) if w == "none" => None,
                Some(Fuel::Word(w)) => {
                    return Err(ComponentError::new(
                        name,
                        ErrorKind::Manifest,
                        format!("max_fuel = \"{w}\": expected a number or \"none\""),
                    ));
                }
            },
            max_call_duration: l
                .max_call_duration_ms
                .map(Duration::from_millis)
                .unwrap_or(defaults.max_call_duration),
            max_module_bytes: l.max_module_bytes.unwrap_or(defaults.max_module_bytes),
        };
        let mut builder = ComponentManifest::builder(name.clone()).limits(limits);
        if let Some(w) = doc.wasi {
            let defaults = WasiConfig::default();
            builder = builder.wasi(WasiConfig {
                args: w.args,
                env: w.env,
                stdin: w.stdin,
                preopens: w.preopens,
                max_output_bytes: w.max_output_bytes.unwrap_or(defaults.max_output_bytes),
            });
        }
        if let Some(m) = doc.mailbox {
            let defaults = MailboxConfig::default();
            builder = builder.mailbox(MailboxConfig {
                capacity: m.capacity.unwrap_or(defaults.capacity),
                max_message_bytes: m.max_message_bytes.unwrap_or(defaults.max_message_bytes),
            });
        }
        for import in doc.permissions.imports {
            match import {
                TomlImport::Pair { module, name } => builder = builder.allow_import(module, name),
                TomlImport::Path(path) => match split_import_path(&path) {
                    Some((m, n)) => builder = builder.allow_import(m, n),
                    None => {
                        return Err(ComponentError::new(
                            name,
                            ErrorKind::Manifest,
                            format!(
                                "permissions.imports entry {} is not one `module::name` pair; \
                                 write it as {{ module = \"...\", name = \"...\" }}",
                                toml_string(&path)
                            ),
                        ));
                    }
                },
            }
        }
        builder.build()
    }

    /// Reads and parses a TOML manifest file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Load`] if the file cannot be read, else as
    /// [`from_toml_str`](Self::from_toml_str).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ComponentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ComponentError::new(
                "<manifest>",
                ErrorKind::Load,
                format!("cannot read manifest {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
        let mut manifest = Self::from_toml_str(&text).map_err(|e| {
            let msg = format!("{}: {}", path.display(), e.message());
            let component = e.component().to_string();
            ComponentError::new(component, e.kind(), msg).with_source(e)
        })?;
        if let Some(base) = path.parent() {
            manifest.wasi = manifest.wasi.map(|w| w.relative_to(base));
        }
        Ok(manifest)
    }
}

/// Builds a [`ComponentManifest`]; [`build`](Self::build) is the one place
/// a manifest is validated.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ManifestBuilder {
    name: String,
    limits: ResourceLimits,
    permissions: PermissionManifest,
    wasi: Option<WasiConfig>,
    mailbox: MailboxConfig,
}

impl ManifestBuilder {
    /// Replaces the limits (checked by [`build`](Self::build)).
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Permits importing `name` from `module`, exactly that pair (for
    /// example `("host", "log")`).
    pub fn allow_import(mut self, module: impl Into<String>, name: impl Into<String>) -> Self {
        self.permissions
            .imports
            .insert((module.into(), name.into()));
        self
    }

    /// Grants WASI preview1 as `wasi` says (checked by [`build`](Self::build)):
    /// every import from [`WASI_MODULE`] is then permitted and linked.
    pub fn wasi(mut self, wasi: WasiConfig) -> Self {
        self.permissions.wasi = true;
        self.wasi = Some(wasi);
        self
    }

    /// Replaces the mailbox's capacity and message size (checked by
    /// [`build`](Self::build)).
    pub fn mailbox(mut self, mailbox: MailboxConfig) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// The manifest, if every field is one that can be meant.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Manifest`] naming the first problem: an empty name, an
    /// empty module or name in a permitted import, or an absurd limit (see
    /// [`ResourceLimits::validate`]).
    pub fn build(self) -> Result<ComponentManifest, ComponentError> {
        if self.name.trim().is_empty() {
            return Err(ComponentError::new(
                "<manifest>",
                ErrorKind::Manifest,
                "component.name is empty",
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err(ComponentError::new(
                "<manifest>",
                ErrorKind::Manifest,
                format!(
                    "component.name {} has a control character (every error and log line names the component)",
                    toml_string(&self.name)
                ),
            ));
        }
        self.limits.validate(&self.name)?;
        if let Some((m, n)) = self
            .permissions
            .imports
            .iter()
            .find(|(m, n)| m.is_empty() || n.is_empty())
        {
            return Err(ComponentError::new(
                self.name,
                ErrorKind::Manifest,
                format!(
                    "permitted import {} has an empty module or name",
                    import_label(m, n)
                ),
            ));
        }
        if let Some(w) = &self.wasi {
            w.validate(&self.name)?;
        }
        self.mailbox.validate(&self.name)?;
        Ok(ComponentManifest {
            name: self.name,
            limits: self.limits,
            permissions: self.permissions,
            wasi: self.wasi,
            mailbox: self.mailbox,
        })
    }
}

/// A TOML parse error of `text` in one line: the message and where
/// (`unknown field `x` (line 3: `x = 1`)`).
pub(crate) fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim();
    let at = e
        .span()
        .map(|s| {
            let start = s.start.min(text.len());
            let line = text[..start].matches('\n').count() + 1;
            let source_line = text.lines().nth(line - 1).unwrap_or("").trim();
            format!(" (line {line}: `{source_line}`)")
        })
        .unwrap_or_default();
    format!("{msg}{at}")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlManifest {
    component: TomlComponent,
    #[serde(default)]
    limits: TomlLimits,
    #[serde(default)]
    permissions: TomlPermissions,
    wasi: Option<TomlWasi>,
    mailbox: Option<TomlMailbox>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TomlMailbox {
    capacity: Option<usize>,
    max_message_bytes: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TomlWasi {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    stdin: Option<PathBuf>,
    #[serde(default)]
    preopens: Vec<Preopen>,
    max_output_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlComponent {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TomlLimits {
    max_memory_bytes: Option<u64>,
    max_table_elements: Option<u64>,
    max_fuel: Option<Fuel>,
    max_call_duration_ms: Option<u64>,
    max_module_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Fuel {
    Amount(u64),
    Word(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TomlPermissions {
    #[serde(default)]
    imports: Vec<TomlImport>,
}

/// One `permissions.imports` entry: `"module::name"` or
/// `{ module = "...", name = "..." }`.
enum TomlImport {
    Path(String),
    Pair { module: String, name: String },
}

impl<'de> Deserialize<'de> for TomlImport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TomlImport;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a \"module::name\" string or a { module = \"...\", name = \"...\" } table",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TomlImport, E> {
                Ok(TomlImport::Path(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TomlImport, A::Error> {
                use serde::de::Error as _;
                let (mut module, mut name) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "module" => &mut module,
                        "name" => &mut name,
                        other => return Err(A::Error::unknown_field(other, &["module", "name"])),
                    };
                    if slot.is_some() {
                        return Err(A::Error::custom(format!("duplicate field `{key}`")));
                    }
                    *slot = Some(map.next_value::<String>()?);
                }
                Ok(TomlImport::Pair {
                    module: module.ok_or_else(|| A::Error::missing_field("module"))?,
                    name: name.ok_or_else(|| A::Error::missing_field("name"))?,
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl PermissionManifest {
    /// The `imports = [...]` line of a manifest's `[permissions]` table
    /// that permits exactly these imports (each pair round-trips).
    pub fn toml_line(&self) -> String {
        let entries: Vec<String> = self
            .imports
            .iter()
            .map(|(m, n)| import_toml_entry(m, n))
            .collect();
        format!("imports = [{}]", entries.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_line_round_trips_every_pair_control_characters_included() {
        let m = ComponentManifest::builder("rt")
            .allow_import("host", "log")
            .allow_import("a::b", "c")
            .allow_import("bell\u{7}", "tab\tquote\"")
            .build()
            .unwrap();
        let line = m.permissions().toml_line();
        assert!(line.starts_with("imports = ["), "{line}");
        // A control character is written as an escape, never raw.
        assert!(
            line.contains("\\u0007") && !line.contains('\u{7}'),
            "{line}"
        );
        let back = ComponentManifest::from_toml_str(&format!(
            "[component]\nname = \"rt\"\n[permissions]\n{line}\n"
        ))
        .unwrap();
        assert_eq!(back.permissions(), m.permissions(), "{line}");
    }

    #[test]
    fn the_wasi_output_cap_holds_at_its_bound_and_not_one_past() {
        let with = |max_output_bytes| {
            ComponentManifest::builder("w")
                .wasi(WasiConfig {
                    max_output_bytes,
                    ..WasiConfig::default()
                })
                .build()
        };
        assert!(with(MAX_OUTPUT_BYTES).is_ok());
        let e = with(MAX_OUTPUT_BYTES + 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Manifest, "{e}");
    }

    #[test]
    fn parses_the_documented_form() {
        let m = ComponentManifest::from_toml_str(
            r#"
            [component]
            name = "echo"
            [limits]
            max_memory_bytes = 1048576
            max_call_duration_ms = 50
            [permissions]
            imports = ["host::log"]
            "#,
        )
        .unwrap();
        assert_eq!(m.name(), "echo");
        assert_eq!(m.limits().max_memory_bytes, 1 << 20);
        assert_eq!(m.limits().max_call_duration, Duration::from_millis(50));
        assert_eq!(m.limits().max_table_elements, 10_000);
        assert_eq!(m.limits().max_fuel, Some(10_000_000));
        assert!(m.permissions().allows("host", "log"));
        assert!(!m.permissions().allows("host", "lo"));
        assert!(!m.permissions().allows("hos", "tlog"));
        assert_eq!(
            m.permissions().imports().collect::<Vec<_>>(),
            [("host", "log")]
        );
    }

    #[test]
    fn fuel_none_means_no_cap() {
        let m = ComponentManifest::from_toml_str(
            "[component]\nname = \"a\"\n[limits]\nmax_fuel = \"none\"\n",
        )
        .unwrap();
        assert_eq!(m.limits().max_fuel, None);
    }

    #[test]
    fn rejects_bad_manifests_with_a_manifest_error() {
        for (text, needle) in [
            ("[component]\nname = \"a\"\nextra = 1\n", "unknown field"),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_memory_bytes = -1\n",
                "line 4: `max_memory_bytes = -1`",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_memory_bytes = 0\n",
                "max_memory_bytes",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_memory_bytes = 9999999999999\n",
                "max_memory_bytes",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_fuel = 0\n",
                "max_fuel",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_fuel = \"lots\"\n",
                "max_fuel",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_call_duration_ms = 0\n",
                "max_call_duration",
            ),
            (
                "[component]\nname = \"a\"\n[limits]\nmax_table_elements = 0\n",
                "max_table_elements",
            ),
            (
                "[component]\nname = \"a\"\n[permissions]\nimports = [\"log\"]\n",
                "module::name",
            ),
            (
                "[component]\nname = \"a\"\n[permissions]\nimports = [42]\n",
                "expected a \"module::name\" string or a { module = \"...\", name = \"...\" } table",
            ),
            ("[component]\nname = \"\"\n", "empty"),
            ("[limits]\n", "component"),
            ("not toml", ""),
        ] {
            let e = ComponentManifest::from_toml_str(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{text}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    /// Every bounded limit is accepted exactly at its bound and refused
    /// one unit past it (and at one unit, accepted).
    #[test]
    fn each_limit_holds_at_its_bound_and_not_one_past() {
        let with = |f: &dyn Fn(&mut ResourceLimits)| {
            let mut l = ResourceLimits::default();
            f(&mut l);
            ComponentManifest::builder("a")
                .limits(l)
                .build()
                .map(|_| ())
        };
        type Set<'a> = &'a dyn Fn(&mut ResourceLimits, bool);
        let cases: [(&str, Set); 4] = [
            ("memory", &|l, past| {
                l.max_memory_bytes = MAX_MEMORY_BYTES + u64::from(past)
            }),
            ("tables", &|l, past| {
                l.max_table_elements = MAX_TABLE_ELEMENTS + u64::from(past)
            }),
            ("duration", &|l, past| {
                l.max_call_duration = MAX_CALL_DURATION + Duration::from_nanos(u64::from(past))
            }),
            ("module", &|l, past| {
                l.max_module_bytes = MAX_MODULE_BYTES + u64::from(past)
            }),
        ];
        for (what, set) in cases {
            assert!(with(&|l| set(l, false)).is_ok(), "{what} at its bound");
            let e = with(&|l| set(l, true)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{what} one past: {e}");
        }
        let smallest = with(&|l| {
            l.max_memory_bytes = 1;
            l.max_table_elements = 1;
            l.max_fuel = Some(1);
            l.max_call_duration = Duration::from_millis(1);
            l.max_module_bytes = 1;
        });
        assert!(smallest.is_ok(), "{smallest:?}");
        let e = with(&|l| l.max_call_duration = Duration::from_micros(999)).unwrap_err();
        assert!(e.to_string().contains("outside 1 ms..=1 h"), "{e}");
    }

    #[test]
    fn limits_built_in_code_are_validated_like_toml() {
        let bad = [
            ResourceLimits {
                max_fuel: Some(0),
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_memory_bytes: 0,
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_table_elements: 0,
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_call_duration: Duration::ZERO,
                ..ResourceLimits::default()
            },
            ResourceLimits {
                max_call_duration: Duration::MAX,
                ..ResourceLimits::default()
            },
        ];
        for limits in bad {
            let e = ComponentManifest::builder("a")
                .limits(limits.clone())
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{limits:?}");
        }
        for name in ["", "  "] {
            let e = ComponentManifest::new(name).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest);
        }
        let e = ComponentManifest::builder("a")
            .allow_import("", "log")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Manifest);
        assert!(ComponentManifest::new("a").is_ok());
    }

    #[test]
    fn an_import_path_with_multibyte_characters_splits_without_panicking() {
        assert_eq!(split_import_path("é\u{202e}::ñ"), Some(("é\u{202e}", "ñ")));
        assert_eq!(split_import_path("\u{202e}é"), None);
        assert_eq!(split_import_path("é::é::é"), None);
    }

    #[test]
    fn permissions_are_exact_pairs() {
        let m = ComponentManifest::builder("a")
            .allow_import("a::b", "c")
            .build()
            .unwrap();
        assert!(m.permissions().allows("a::b", "c"));
        assert!(!m.permissions().allows("a", "b::c"));
    }

    /// Issue 9, defect 6: a string is accepted only when it names one pair
    /// unambiguously; the table form names any pair exactly.
    #[test]
    fn import_strings_must_be_unambiguous_and_the_table_form_is_exact() {
        let doc = |imports: &str| {
            format!("[component]\nname = \"a\"\n[permissions]\nimports = {imports}\n")
        };
        for bad in [
            r#"["a::b::c"]"#,
            r#"["a:::b"]"#,
            r#"["::b"]"#,
            r#"["a::"]"#,
            r#"["log"]"#,
        ] {
            let e = ComponentManifest::from_toml_str(&doc(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{bad}");
            assert!(e.to_string().contains("module::name"), "{bad}: {e}");
            assert!(e.to_string().contains("{ module = "), "{bad}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let m = ComponentManifest::from_toml_str(&doc(
            r#"["host::log", { module = "a::b", name = "c" }, { module = "a", name = "b::c" }]"#,
        ))
        .unwrap();
        assert_eq!(
            m.permissions().imports().collect::<Vec<_>>(),
            [("a", "b::c"), ("a::b", "c"), ("host", "log")]
        );
        for bad in [
            r#"[{ module = "a" }]"#,
            r#"[{ module = "a", name = "b", extra = 1 }]"#,
            r#"[{ module = "", name = "b" }]"#,
            r#"[3]"#,
        ] {
            let e = ComponentManifest::from_toml_str(&doc(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest, "{bad}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    /// Issue 9, defect 7: every field is validated, however the manifest
    /// was made.
    #[test]
    fn every_field_is_validated_in_code_and_in_toml() {
        for bytes in [0, MAX_MODULE_BYTES + 1] {
            let e = ComponentManifest::builder("a")
                .limits(ResourceLimits {
                    max_module_bytes: bytes,
                    ..ResourceLimits::default()
                })
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest);
            assert!(e.to_string().contains("max_module_bytes"), "{e}");
        }
        assert_eq!(ResourceLimits::default().max_module_bytes, 64 << 20);
        let e = ComponentManifest::new("two\nlines").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Manifest);
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = ComponentManifest::from_toml_str(
            "[component]\nname = \"a\"\n[limits]\nmax_module_bytes = 0\n",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Manifest);
        assert!(
            e.to_string().contains("max_module_bytes = 0 is outside"),
            "{e}"
        );
        let m = ComponentManifest::from_toml_str(
            "[component]\nname = \"a\"\n[limits]\nmax_module_bytes = 1024\n",
        )
        .unwrap();
        assert_eq!(m.limits().max_module_bytes, 1024);
    }

    #[test]
    fn the_mailbox_table_is_read_and_validated_in_code_and_in_toml() {
        let m = ComponentManifest::from_toml_str(
            "[component]\nname = \"a\"\n[mailbox]\ncapacity = 8\n",
        )
        .unwrap();
        assert_eq!(m.mailbox().capacity, 8);
        assert_eq!(m.mailbox().max_message_bytes, 64 << 10);
        assert_eq!(
            ComponentManifest::new("a").unwrap().mailbox(),
            &MailboxConfig::default()
        );
        for (capacity, bytes, needle) in [
            (0, 1, "mailbox.capacity = 0 is outside"),
            (MAX_MAILBOX_CAPACITY + 1, 1, "mailbox.capacity"),
            (1, 0, "mailbox.max_message_bytes = 0 is outside"),
            (1, MAX_MESSAGE_BYTES + 1, "mailbox.max_message_bytes"),
        ] {
            let config = MailboxConfig {
                capacity,
                max_message_bytes: bytes,
            };
            let e = ComponentManifest::builder("a")
                .mailbox(config)
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Manifest);
            assert!(e.to_string().contains(needle), "{e}");
            let text = format!(
                "[component]\nname = \"a\"\n[mailbox]\ncapacity = {capacity}\nmax_message_bytes = {bytes}\n"
            );
            let e = ComponentManifest::from_toml_str(&text).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        for (capacity, bytes) in [(1, 1), (MAX_MAILBOX_CAPACITY, MAX_MESSAGE_BYTES)] {
            let config = MailboxConfig {
                capacity,
                max_message_bytes: bytes,
            };
            let m = ComponentManifest::builder("a")
                .mailbox(config)
                .build()
                .unwrap();
            assert_eq!(m.mailbox(), &config);
        }
        let e =
            ComponentManifest::from_toml_str("[component]\nname = \"a\"\n[mailbox]\nsize = 8\n")
                .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn missing_file_is_a_load_error() {
        let e = ComponentManifest::from_file("/nonexistent/m.toml").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Load);
    }
}
